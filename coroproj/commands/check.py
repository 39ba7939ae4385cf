"""Check the coroutine annotations of C files or of a whole project.

  coroproj check [PATH...] [-p BUILD_DIR | --compile-commands FILE] [--format text|json|sarif]
  coroproj check FILE.c... -- COMPILER FLAGS

Without ``--``, the project around the current directory (or the first
PATH) is analysed through its compile database — found, or generated from
its SConstruct or Makefile — and PATHS only restrict what is reported.
With ``--``, the named files are analysed together with those flags.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from coroproj import __version__
from coroproj.analysis.file_order import dependency_order, file_dependency_graph, per_file_fixpoint
from coroproj.analysis.findings import CHECKS
from coroproj.analysis.inference import BLOCKING, COROUTINE, MIXED
from coroproj.analysis.pipeline import Analysis
from coroproj.commands.inputs import Inputs, add_input_arguments, inputs_from_args
from coroproj.report.dot import annotated_graph, to_dot
from coroproj.report.text import format_finding, format_findings
from coroproj.util.files import write_text_atomically


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser, paths_help="C files (with -- FLAGS), or files/folders of the project")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument("--dot", metavar="FILE", help="also write the annotated call graph (Graphviz)")
    parser.add_argument("--full-graph", action="store_true",
                        help="keep native functions defined elsewhere in the graph")
    parser.add_argument("--keep-going", action="store_true",
                        help="report findings even when some units failed to analyse")
    parser.add_argument("--stats", action="store_true", help="print the summary table even when not a TTY")


def run(args: argparse.Namespace) -> int:
    inputs = inputs_from_args(args)
    analysis = inputs.analysis
    if inputs.project and inputs.project.stats.skipped and not args.quiet:
        print(skipped_note(inputs.project.stats.skipped), file=sys.stderr)
    if inputs.project and inputs.project.stats.overlay_error:
        print(f"coroproj: warning: annotation macros defined away by the project stay invisible "
              f"(no overlay: {inputs.project.stats.overlay_error})", file=sys.stderr)
    for failure in analysis.failures:
        print(format_finding(failure), file=sys.stderr)
    if analysis.failures and not args.keep_going:
        print(f"coroproj: {len(analysis.failures)} unit(s) could not be analysed; the program is "
              "incomplete, so no findings are reported (use --keep-going to see them anyway)",
              file=sys.stderr)
        return 2
    report = render(inputs, args.format)
    if args.output:
        write_text_atomically(Path(args.output), report)
    elif report:
        sys.stdout.write(report)
    if args.dot:
        macros = {kind.value: macro for kind, macro in inputs.options.names.macro.items()}
        graph = annotated_graph(analysis.program, analysis.findings, macros, full=args.full_graph)
        write_text_atomically(Path(args.dot), to_dot(graph))
    console = Console(stderr=True)
    if not args.quiet and (args.stats or console.is_terminal):
        console.print(summary_table(inputs))
    return analysis.exit_status


def skipped_note(skipped: list[tuple[str, str]]) -> str:
    """One line for all the compile-database entries that are not C."""
    reasons: dict[str, int] = {}
    for _file, reason in skipped:
        reasons[reason] = reasons.get(reason, 0) + 1
    detail = ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items()))
    return f"coroproj: note: skipped {len(skipped)} compile-database entries that are not C ({detail})"


def render(inputs: Inputs, format: str) -> str:
    analysis = inputs.analysis
    findings = [f for f in analysis.findings if f.check != "parse-error"]
    if format == "json":
        return json.dumps(analysis_json(inputs), indent=2) + "\n"
    if format == "sarif":
        from coroproj.report.sarif import to_sarif

        root = inputs.project.root if inputs.project else Path.cwd()
        return json.dumps(to_sarif(analysis.findings, tool_version=__version__, root=root), indent=2) + "\n"
    text = format_findings(findings)
    return text + "\n" if text else ""


def statistics(inputs: Inputs) -> dict[str, object]:
    analysis = inputs.analysis
    program = analysis.program
    counts = {check: 0 for check in CHECKS}
    suppressed = 0
    for finding in analysis.findings:
        if finding.suppressed:
            suppressed += 1
        else:
            counts[finding.check] += 1
    defined = [f for f in program.functions.values() if f.definitions and not f.indirect]
    if inputs.project:
        # Count the project's own functions, not the static inline ones of system headers
        # (the same count `coroproj report` gives).
        root = inputs.project.root
        defined = [f for f in defined if _inside(f.definitions[0].file, root)]
    stats = inputs.project.stats if inputs.project else None
    return {
        "units": stats.units if stats else len(analysis.summaries) + len(analysis.failures),
        "parsed": stats.parsed if stats else len(analysis.summaries),
        "cached": stats.cached if stats else 0,
        "failed": len(analysis.failures),
        "skipped": len(stats.skipped) if stats else 0,
        "functions": len(defined),
        "written": {
            "coroutine": sum(COROUTINE in f.kinds for f in defined),
            "blocking": sum(BLOCKING in f.kinds for f in defined),
            "mixed": sum(MIXED in f.kinds for f in defined),
        },
        "inferred_coroutine": sum(program.should_be_coroutine(f.symbol) for f in defined),
        "findings": {k: v for k, v in counts.items() if v},
        "suppressed": suppressed,
        "files": file_statistics(analysis),
    }


def file_statistics(analysis: Analysis) -> dict[str, int]:
    """How the units depend on each other, and what a per-file tool would pay for it."""
    groups = dependency_order(file_dependency_graph(analysis.summaries))
    per_file = per_file_fixpoint(analysis.program, analysis.summaries)
    return {
        "dependency_groups": len(groups),
        "largest_cycle": max((len(g) for g in groups if len(g) > 1), default=0),
        "per_file_analyses": per_file.rounds,
    }


def analysis_json(inputs: Inputs) -> dict[str, object]:
    program = inputs.analysis.program
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
        "findings": [f.to_json() for f in inputs.analysis.findings],
        "functions": functions,
        "summary": statistics(inputs),
    }


def summary_table(inputs: Inputs) -> Table:
    stats = statistics(inputs)
    table = Table(title="coroproj check", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("units analysed", str(stats["units"]))
    table.add_row("  parsed / cached / failed", f"{stats['parsed']} / {stats['cached']} / {stats['failed']}")
    table.add_row("functions defined", str(stats["functions"]))
    written = stats["written"]
    assert isinstance(written, dict)
    table.add_row("  written coroutine / blocking / mixed",
                  f"{written['coroutine']} / {written['blocking']} / {written['mixed']}")
    table.add_row("  inferred coroutine", str(stats["inferred_coroutine"]))
    findings = stats["findings"]
    assert isinstance(findings, dict)
    for check, count in findings.items():
        table.add_row(f"findings: {check}", str(count))
    if stats["suppressed"]:
        table.add_row("suppressed", str(stats["suppressed"]))
    files = stats["files"]
    assert isinstance(files, dict)
    table.add_row("file dependency groups (largest cycle)",
                  f"{files['dependency_groups']} ({files['largest_cycle']})")
    table.add_row("  unit analyses a per-file tool needs", str(files["per_file_analyses"]))
    return table


def _inside(file: str, root: Path) -> bool:
    path = Path(file)
    path = path if path.is_absolute() else root / path
    return path.resolve().is_relative_to(root.resolve())
