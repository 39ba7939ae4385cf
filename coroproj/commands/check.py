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
from coroproj.analysis.pipeline import Analysis, AnalysisOptions
from coroproj.commands.inputs import add_input_arguments, analysis_from_args
from coroproj.report.dot import annotated_graph, to_dot
from coroproj.report.text import format_findings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser, paths_help="C files (with -- FLAGS), or files/folders of the project")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--dot", metavar="FILE", help="write the annotated call graph (Graphviz)")
    parser.add_argument("--full-graph", action="store_true",
                        help="keep native functions defined elsewhere in the graph")


def run(args: argparse.Namespace) -> int:
    analysis, options = analysis_from_args(args)
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
