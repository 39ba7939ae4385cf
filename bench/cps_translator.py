"""CPS translator speed: milliseconds per coroutine function.

Translates units of random coroutine programs (the differential tester's
generator: loops, switches, gotos, nested calls, several return types)
and real-looking hand-written ones (tests/cps/programs), and prints, for
each, the median over several runs of

  * the whole ``translate`` call (validate .. emit) per coroutine function,
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
from coroproj.runtime import cpc  # noqa: E402
from tests.cps.harness import INCLUDE  # noqa: E402
from tests.cps.program_generator import batch_source  # noqa: E402


def coroutine_functions(ast: c_ast.FileAST) -> int:
    return sum(
        1 for ext in ast.ext if isinstance(ext, c_ast.FuncDef) and Kind.COROUTINE in kinds_of(ext.decl.type)
    )


def measure(source: Path, runs: int) -> tuple[int, float, float, int]:
    text = preprocess(source, ["-I", str(INCLUDE)])
    parse_times, translate_times = [], []
    functions = 0
    output = ""
    for _ in range(runs):
        start = time.perf_counter()
        unit = parse_unit_text(text, str(source))
        parsed = time.perf_counter()
        output = translate(
            unit.ast,
            source_name=str(source),
            need_cont=sorted(cpc.NEED_CONT_FUNCTIONS),
            yield_name=cpc.YIELD_FUNCTION,
            extra_annotations=unit.extra_annotations,
        )
        done = time.perf_counter()
        functions = coroutine_functions(unit.ast)
        parse_times.append(parsed - start)
        translate_times.append(done - parsed)
    return functions, statistics.median(parse_times), statistics.median(translate_times), len(output)


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
        print(f"{'unit':28} {'functions':>9} {'parse ms':>9} {'translate ms':>12} {'ms/function':>11}")
        total_functions, total_time = 0, 0.0
        for name, source in units:
            functions, parse, work, _ = measure(source, args.runs)
            total_functions += functions
            total_time += work
            print(
                f"{name:28} {functions:9d} {parse * 1000:9.1f} {work * 1000:12.1f} "
                f"{work * 1000 / max(functions, 1):11.2f}"
            )
        print(
            f"{'all':28} {total_functions:9d} {'':9} {total_time * 1000:12.1f} "
            f"{total_time * 1000 / max(total_functions, 1):11.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
