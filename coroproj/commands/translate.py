"""Show a unit after any pass of the CPS translator.

  coroproj translate FILE.c [-o OUT.c] [--stage PASS] [-- COMPILER FLAGS]

Passes: normalize, box, split, lift, convert, emit (the default: the C
that ``coroproj cc --backend cpc`` compiles).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coroproj.errors import UserError
from coroproj.util.files import write_text_atomically


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.c")
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
