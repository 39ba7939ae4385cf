"""Show a unit after any pass of the CPS translator.

  coroproj translate FILE.c [-o OUT.c] [--stage PASS] [-- COMPILER FLAGS]

Passes: normalize, box, split, lift, convert, emit (the default: the C
that ``coroproj cc --backend cpc`` compiles).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

from coroproj.errors import UserError
from coroproj.util.files import write_text_atomically

USAGE = "coroproj translate [options] FILE.c [-o OUT.c] [--stage PASS] [-- COMPILER-FLAGS]"
DESCRIPTION = """\
Show a C file after a pass of the CPS translator.  Passes: normalize, box,
split, lift, convert, emit (the default: the C that coroproj cc --backend
cpc compiles)."""
EXAMPLES = (
    "coroproj translate block/cow.c -- -Iinclude",
    "coroproj translate t.c --stage split -o t.split.c",
)

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.c", help="the C file to translate")
    parser.add_argument("-o", "--output", metavar="OUT.c", help="write here instead of stdout")
    parser.add_argument("--stage", default=None, metavar="PASS",
                        help="stop after this pass: normalize, box, split, lift, convert or emit")
    parser.add_argument("--compiler", default="cc", help="compiler used to preprocess (default cc)")


def run(args: argparse.Namespace) -> int:
    from coroproj.cps.pipeline import translate
    from coroproj.frontend.preprocess import preprocess
    from coroproj.frontend.unit import parse_unit_text

    source = Path(args.file)
    if not source.is_file():
        raise UserError(f"coroproj translate: {source}: no such file")
    _require_c_source(source, args.compiler_flags)
    text = preprocess(source, args.compiler_flags, compiler=args.compiler)
    unit = parse_unit_text(text, str(source))
    output = translate(
        unit.ast,
        source_name=str(source),
        stage=args.stage,
        extra_annotations=unit.extra_annotations,
    )
    if args.output:
        write_text_atomically(Path(args.output), output)
    else:
        sys.stdout.write(output)
    return 0


# What the compiler itself treats as C (without -x, other names are linker input).
_C_SUFFIXES = (".c", ".h", ".i")


def _require_c_source(source: Path, flags: list[str]) -> None:
    """Refuse what the compiler would not compile as C (a ``.o``, ``/etc/passwd``)."""
    forced_c = "-xc" in flags or ("-x", "c") in itertools.pairwise(flags)
    if not forced_c and source.suffix not in _C_SUFFIXES:
        raise UserError(f"coroproj translate: {source}: not a C source file (expected .c, .h or .i; "
                        "use -- -x c to force)")
    with source.open("rb") as handle:
        if b"\0" in handle.read(8192):
            raise UserError(f"coroproj translate: {source}: not a C source file (binary content)")
