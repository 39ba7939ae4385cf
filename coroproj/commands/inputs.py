"""What every analysing command (check, why, graph, fix, report) takes as input.

Two modes:
- files named with ``--`` compiler flags, or files outside any project with
  a compile database: those files are analysed together as one program;
- otherwise the whole project around the current directory (or the given
  paths) is analysed through its compile database, and the paths only
  restrict what is reported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coroproj.analysis.pipeline import (
    DEFAULT_ROOTS,
    Analysis,
    AnalysisOptions,
    analyse,
    failure_finding,
    summarize_unit,
)
from coroproj.analysis.summarize import DEFAULT_HYBRID_PREDICATES
from coroproj.errors import SourceError, UserError
from coroproj.frontend.annotations import AttributeNames


def add_input_arguments(parser: argparse.ArgumentParser, *, paths_help: str) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help=paths_help)
    group = parser.add_argument_group("annotations")
    group.add_argument("--coroutine-attr", action="append", metavar="NAME",
                       help="attribute meaning coroutine function (repeatable; default coroutine_fn, cps)")
    group.add_argument("--blocking-attr", action="append", metavar="NAME",
                       help="attribute meaning blocking function (default blocking_fn, no_coroutine_fn)")
    group.add_argument("--mixed-attr", action="append", metavar="NAME",
                       help="attribute meaning mixed function (default coroutine_mixed_fn)")
    group.add_argument("--root", action="append", metavar="FUNCTION",
                       help=f"coroutine primitive trusted as a root (default {', '.join(DEFAULT_ROOTS)})")
    group.add_argument("--hybrid-predicate", action="append", metavar="FUNCTION",
                       help="function telling whether it runs in a coroutine (default qemu_in_coroutine)")
    group.add_argument("--compiler", default=None, help="compiler used to preprocess (default cc)")
    group.add_argument("-q", "--quiet", action="store_true", help="no summary table, no progress bar")


def options_from_args(args: argparse.Namespace, base: AnalysisOptions | None = None) -> AnalysisOptions:
    """Command-line flags override ``base`` (the project's configuration)."""
    base = base or AnalysisOptions()
    names = base.names
    names = AttributeNames(
        coroutine=tuple(args.coroutine_attr or names.coroutine),
        blocking=tuple(args.blocking_attr or names.blocking),
        mixed=tuple(args.mixed_attr or names.mixed),
    )
    return AnalysisOptions(
        names=names,
        roots=tuple(args.root or base.roots),
        hybrid_predicates=tuple(args.hybrid_predicate or base.hybrid_predicates or
                                DEFAULT_HYBRID_PREDICATES),
        severity=base.severity,
        compiler=args.compiler or base.compiler,
    )


def analyse_files(paths: list[str], flags: list[str], options: AnalysisOptions) -> Analysis:
    """Analyse the named files together as one program."""
    summaries, failures = [], []
    for path in paths:
        if not Path(path).is_file():
            raise UserError(f"coroproj: {path}: no such file")
        try:
            summaries.append(summarize_unit(path, flags, options))
        except SourceError as error:
            print(str(error), file=sys.stderr)
            failures.append(failure_finding(error))
    return analyse(summaries, options, failures)


def analysis_from_args(args: argparse.Namespace) -> tuple[Analysis, AnalysisOptions]:
    files = [p for p in args.paths if Path(p).is_file()]
    if args.paths and (args.compiler_flags or files == args.paths):
        options = options_from_args(args)
        return analyse_files(args.paths, args.compiler_flags, options), options
    if not args.paths:
        raise UserError("coroproj: name the C files to analyse (whole-project mode is not available yet)")
    missing = [p for p in args.paths if not Path(p).exists()]
    raise UserError(f"coroproj: {missing[0] if missing else args.paths[0]}: no such file")
