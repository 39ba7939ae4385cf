"""CPS translator speed: milliseconds per coroutine function.

Translates units of random coroutine programs (the differential tester's
generator: loops, switches, gotos, nested calls, several return types)
the hand-written test programs (tests/cps/programs) and the sample
project's util/ and block/ units (real code), and prints, for
each, the median over several runs of

  * the passes proper (validate, normalize .. convert) per coroutine function,
  * the whole ``translate`` call of the unit, emit included (it regenerates
    every declaration of the unit, headers too: a per-unit cost),
  * the front-end parse of the same preprocessed text, for scale.

    nice python3 bench/cps_translator.py [--programs N] [--runs R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pycparser import c_ast  # noqa: E402

from coroproj.cps.pipeline import translate  # noqa: E402
from coroproj.frontend.annotations import Kind, kinds_of  # noqa: E402
from coroproj.frontend.preprocess import preprocess  # noqa: E402
from coroproj.frontend.unit import parse_unit_text  # noqa: E402
from tests.cps.harness import INCLUDE  # noqa: E402
from tests.cps.program_generator import batch_source  # noqa: E402


def coroutine_functions(ast: c_ast.FileAST) -> int:
    return sum(
        1 for ext in ast.ext if isinstance(ext, c_ast.FuncDef) and Kind.COROUTINE in kinds_of(ext.decl.type)
    )


SAMPLE = ROOT / "sample_project"


def measure(source: Path, runs: int) -> tuple[int, float, float, float]:
    """(coroutine functions, parse s, passes s (validate .. convert), whole translate s), medians."""
    include = SAMPLE / "include" if SAMPLE in source.parents else INCLUDE
    text = preprocess(source, ["-I", str(include)])
    parse_times, pass_times, total_times = [], [], []
    functions = 0
    for _ in range(runs):
        for stage, times in (("convert", pass_times), (None, total_times)):
            start = time.perf_counter()
            unit = parse_unit_text(text, str(source))
            parsed = time.perf_counter()
            translate(
                unit.ast,
                source_name=str(source),
                stage=stage,
                extra_annotations=unit.extra_annotations,
            )
            times.append(time.perf_counter() - parsed)
            parse_times.append(parsed - start)
            functions = coroutine_functions(unit.ast)
    return (
        functions,
        statistics.median(parse_times),
        statistics.median(pass_times),
        statistics.median(total_times),
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--programs", type=int, default=20, help="random programs in the generated unit")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        generated = Path(scratch) / "random.c"
        generated.write_text(batch_source(1, 0, args.programs))
        units = [("random programs", generated)]
        units += [(f"programs/{p.name}", p) for p in sorted((ROOT / "tests/cps/programs").glob("*.c"))]
        units += [
            (f"sample_project/{p.parent.name}/{p.name}", p)
            for directory in ("util", "block")
            for p in sorted((SAMPLE / directory).glob("*.c"))
            if not p.name.startswith("coroutine-")
        ]
        header = f"{'unit':42} {'functions':>9} {'parse ms':>9} {'passes ms':>9} {'ms/function':>11}"
        print(header + f" {'whole ms':>9}")
        total_functions, total_passes = 0, 0.0
        for name, source in units:
            functions, parse, passes, whole = measure(source, args.runs)
            total_functions += functions
            total_passes += passes
            per_function = f"{passes * 1000 / functions:11.2f}" if functions else f"{'-':>11}"
            print(
                f"{name:42} {functions:9d} {parse * 1000:9.1f} {passes * 1000:9.1f} {per_function} "
                f"{whole * 1000:9.1f}"
            )
        print(
            f"{'all':42} {total_functions:9d} {'':9} {total_passes * 1000:9.1f} "
            f"{total_passes * 1000 / max(total_functions, 1):11.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
