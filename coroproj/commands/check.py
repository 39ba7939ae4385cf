"""Check the coroutine annotations of C files.

  coroproj check FILE.c... [-- COMPILER FLAGS]

Each file is preprocessed with the real compiler and the given flags; the
files given together are linked into one program (one file: CoroCheck's
single-unit semantics, trusting the annotations of what it only declares).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from coroproj import __version__
from coroproj.analysis.findings import CHECKS
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
from coroproj.report.dot import annotated_graph, to_dot
from coroproj.report.text import format_findings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="FILE.c", help="C files to analyse")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--dot", metavar="FILE", help="write the annotated call graph (Graphviz)")
    parser.add_argument("--full-graph", action="store_true",
                        help="keep native functions defined elsewhere in the graph")
    add_analysis_arguments(parser)


def add_analysis_arguments(parser: argparse.ArgumentParser) -> None:
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
                       help="function whose result tells coroutine context (default qemu_in_coroutine)")
    group.add_argument("--compiler", default="cc", help="compiler used to preprocess (default cc)")
    group.add_argument("-q", "--quiet", action="store_true", help="no summary, no progress")


def options_from_args(args: argparse.Namespace) -> AnalysisOptions:
    defaults = AttributeNames()
    names = AttributeNames(
        coroutine=tuple(args.coroutine_attr or defaults.coroutine),
        blocking=tuple(args.blocking_attr or defaults.blocking),
        mixed=tuple(args.mixed_attr or defaults.mixed),
    )
    return AnalysisOptions(
        names=names,
        roots=tuple(args.root or DEFAULT_ROOTS),
        hybrid_predicates=tuple(args.hybrid_predicate or DEFAULT_HYBRID_PREDICATES),
        compiler=args.compiler,
    )


def run(args: argparse.Namespace) -> int:
    options = options_from_args(args)
    summaries, failures = [], []
    for path in args.paths:
        if not Path(path).is_file():
            raise UserError(f"coroproj check: {path}: no such file")
        try:
            summaries.append(summarize_unit(path, args.compiler_flags, options))
        except SourceError as error:
            print(str(error), file=sys.stderr)
            failures.append(failure_finding(error))
    analysis = analyse(summaries, options, failures)
    emit(analysis, args, options)
    return analysis.exit_status


def emit(analysis: Analysis, args: argparse.Namespace, options: AnalysisOptions) -> None:
    """Print the findings in the chosen format and write the graph if asked."""
    findings = [f for f in analysis.findings if f.check != "parse-error"]
    if args.format == "json":
        json.dump(analysis_json(analysis, options), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        text = format_findings(findings)
        if text:
            print(text)
    if args.dot:
        macros = {kind.value: macro for kind, macro in options.names.macro.items()}
        graph = annotated_graph(analysis.program, analysis.findings, macros, full=args.full_graph)
        Path(args.dot).write_text(to_dot(graph))


def analysis_json(analysis: Analysis, options: AnalysisOptions) -> dict[str, object]:
    program = analysis.program
    counts = {check: 0 for check in CHECKS}
    for finding in analysis.findings:
        if not finding.suppressed:
            counts[finding.check] += 1
    functions = []
    for symbol, function in sorted(program.functions.items()):
        where = function.location
        if function.indirect or where is None:
            continue
        functions.append(
            {
                "name": function.name,
                "symbol": symbol,
                "file": where.file,
                "line": where.line,
                "defined": bool(function.definitions),
                "written": sorted(function.kinds),
                "inferred": "coroutine" if program.should_be_coroutine(symbol) else "native",
                "root": symbol in program.roots,
                "hybrid": function.hybrid,
            }
        )
    return {
        "tool": {"name": "coroproj", "version": __version__},
        "findings": [f.to_json() for f in analysis.findings],
        "functions": functions,
        "summary": {
            "units": len(analysis.summaries) + len(analysis.failures),
            "failed": len(analysis.failures),
            "functions": len(functions),
            "findings": {k: v for k, v in counts.items() if v},
        },
    }
