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
import contextlib
import functools
import hashlib
import json
import os
import pickle
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from coroproj import __version__
from coroproj.analysis.file_order import dependency_order, per_file_fixpoint, unit_dependencies
from coroproj.analysis.findings import CHECKS, Finding
from coroproj.analysis.inference import BLOCKING, COROUTINE, MIXED
from coroproj.analysis.pipeline import Analysis
from coroproj.analysis.summary import finding_from_json
from coroproj.commands.inputs import (
    Inputs,
    ProjectRequest,
    add_input_arguments,
    analyse_request,
    project_request,
)
from coroproj.project.analyse import unchanged_summaries
from coroproj.project.cache import SummaryCache
from coroproj.report.dot import annotated_graph, to_dot
from coroproj.report.text import format_finding, format_findings
from coroproj.util.files import json_document, write_text_atomically

USAGE = "coroproj check [options] [PATH...] [-- COMPILER-FLAGS]"
DESCRIPTION = """\
Check the coroutine annotations of a whole project, or of C files.

Without --, the project around the current directory (or the first PATH) is
analysed through its compile database (found, or generated from its
SConstruct or Makefile), and PATHs only restrict what is reported.  With --,
the named files are analysed together, with those compiler flags."""
EXAMPLES = (
    "coroproj check                                # the project around here",
    "coroproj check block/ --format sarif -o check.sarif",
    "coroproj check a.c b.c -- -Iinclude -DDEBUG   # files, no database",
)

def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser, paths_help="C files (with -- FLAGS), or files/folders of the project")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                        help="text (GCC-style lines, the default), json, or sarif (for code scanning)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument("--dot", metavar="FILE", help="also write the annotated call graph (Graphviz)")
    parser.add_argument("--full-graph", action="store_true",
                        help="keep native functions defined elsewhere in the graph")
    parser.add_argument("--keep-going", action="store_true",
                        help="report findings even when some units failed to analyse")
    parser.add_argument("--stats", action="store_true", help="print the summary table even when not a TTY")


def run(args: argparse.Namespace) -> int:
    args.started = time.monotonic()
    request = project_request(args)
    memo = None
    if isinstance(request, Inputs):
        inputs = request
    else:
        # An unchanged project gives the report of its last run: nothing read but
        # the dependency index (the --dot graph needs the whole program).
        memo = None if args.dot else RunMemo(request)
        remembered = memo.load() if memo else None
        if remembered is not None:
            return report(remembered, args, None)
        inputs = analyse_request(request, args)
    result = CheckResult.of(inputs)
    if memo is not None:
        memo.store(result)
    return report(result, args, inputs)


def report(result: CheckResult, args: argparse.Namespace, inputs: Inputs | None) -> int:
    """Write what ``check`` writes; ``inputs`` is None for a remembered run."""
    if result.skipped and not args.quiet:
        print(skipped_note(result.skipped), file=sys.stderr)
    if result.overlay_error:
        print(f"coroproj: warning: annotation macros defined away by the project stay invisible "
              f"(no overlay: {result.overlay_error})", file=sys.stderr)
    for failure in result.failures:
        print(format_finding(failure), file=sys.stderr)
    if result.failures and not args.keep_going and args.format == "text":
        print(f"coroproj: {len(result.failures)} unit(s) could not be analysed; the program is "
              "incomplete, so no findings are reported (use --keep-going to see them anyway)",
              file=sys.stderr)
        return 2
    # JSON and SARIF always carry every result: the failed units among them,
    # so that CI never uploads nothing (the exit status still says 2).
    text = render(result, args.format)
    if args.output:
        write_text_atomically(Path(args.output), text)
    elif text:
        sys.stdout.write(text)
    if args.dot and inputs is not None:
        analysis = inputs.analysis
        macros = {kind.value: macro for kind, macro in inputs.options.names.macro.items()}
        graph = annotated_graph(analysis.program, analysis.findings, macros, full=args.full_graph)
        write_text_atomically(Path(args.dot), to_dot(graph))
    console = Console(stderr=True)
    if not args.quiet and (args.stats or console.is_terminal):
        console.print(summary_table(result.statistics))
    if not args.quiet:
        elapsed = _process_age() or time.monotonic() - getattr(args, "started", time.monotonic())
        print(f"{summary_line(result)} in {elapsed:.{2 if elapsed < 1 else 1}f} s", file=sys.stderr)
    return result.exit_status


def _process_age() -> float | None:
    """Seconds since this process started (interpreter start-up included), on Linux."""
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
            now = float(uptime.read().split()[0])
        return max(0.0, now - started_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def summary_line(result: CheckResult) -> str:
    """``892 units, 22634 functions, 169 findings (8 errors, 78 warnings, 83 notes)``."""
    stats = result.statistics
    reported = [f for f in result.findings if not f.suppressed and f.check != "parse-error"]
    levels = ("error", "warning", "note")
    counts = {level: sum(f.severity == level for f in reported) for level in levels}
    detail = ", ".join(f"{n} {level}{'s' if n != 1 else ''}" for level, n in counts.items() if n)
    line = f"{stats['units']} units, {stats['functions']} functions, {len(reported)} findings"
    if detail:
        line += f" ({detail})"
    if result.failures:
        line += f", {len(result.failures)} units not analysed"
    return line


@dataclass
class CheckResult:
    """Everything ``check`` reports, in every format, without the program behind it."""

    findings: list[Finding]
    failures: list[Finding]
    functions: list[dict[str, Any]]
    statistics: dict[str, Any]
    exit_status: int
    root: str | None  # the project root, for SARIF's relative paths
    skipped: list[tuple[str, str]] = field(default_factory=list)
    overlay_error: str | None = None

    @classmethod
    def of(cls, inputs: Inputs) -> CheckResult:
        analysis = inputs.analysis
        project = inputs.project
        return cls(
            findings=list(analysis.findings),
            failures=list(analysis.failures),
            functions=function_list(inputs),
            statistics=statistics(inputs),
            exit_status=analysis.exit_status,
            root=str(project.root) if project else None,
            skipped=list(project.stats.skipped) if project else [],
            overlay_error=project.stats.overlay_error if project else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "findings": [f.to_json() for f in self.findings],
            "failures": [f.to_json() for f in self.failures],
            "functions": self.functions,
            "statistics": self.statistics,
            "exit_status": self.exit_status,
            "root": self.root,
            "skipped": [list(entry) for entry in self.skipped],
            "overlay_error": self.overlay_error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        return cls(
            findings=[finding_from_json(f) for f in data["findings"]],
            failures=[finding_from_json(f) for f in data["failures"]],
            functions=data["functions"],
            statistics=data["statistics"],
            exit_status=int(data["exit_status"]),
            root=data["root"],
            skipped=[(file, reason) for file, reason in data["skipped"]],
            overlay_error=data["overlay_error"],
        )


class RunMemo:
    """The last report of a project whose units, configuration and tool are unchanged.

    Keyed by every unit's summary key (which the dependency index vouches
    for), the analysis configuration and the paths the report is restricted
    to: the same inputs give the same report, so it is replayed instead of
    linking and checking the whole program again.  Kept among the summary
    cache's few run results (``SummaryCache.remember``; a pickle: the cache
    directory is trusted like the build directory).
    """

    def __init__(self, request: ProjectRequest) -> None:
        self.request = request
        self.cache = SummaryCache(request.prepared.cache_dir)

    def key(self) -> str | None:
        summaries = unchanged_summaries(self.request.prepared)
        if summaries is None:
            return None
        prepared = self.request.prepared
        identity = repr((
            "check-run", __version__, prepared.fingerprint, str(prepared.database),
            repr(self.request.config), repr(self.request.options),
            [str(p) for p in self.request.restrict or ()], len(prepared.loaded.skipped),
            [(job.key, key) for job, key in zip(prepared.jobs, summaries, strict=True)],
        ))
        return hashlib.sha256(identity.encode()).hexdigest()

    def load(self) -> CheckResult | None:
        key = self.key()
        body = self.cache.recall(key) if key else None
        if body is None:
            return None
        try:
            result = CheckResult.from_json(pickle.loads(body))
        except Exception:  # a damaged entry is a miss, whatever unpickling raised
            return None
        # Nothing was parsed in this run: say so.
        result.statistics["cached"] = result.statistics["units"] - result.statistics["failed"]
        result.statistics["parsed"] = 0
        return result

    def store(self, result: CheckResult) -> None:
        if result.failures:
            return  # failed units are retried every run
        key = self.key()
        if key is not None:
            # Pickled: a real tree's report lists every function (36,000 on
            # QEMU), and pickle writes and reads it twice as fast as JSON.
            self.cache.remember(key, pickle.dumps(result.to_json(), protocol=pickle.HIGHEST_PROTOCOL))


def skipped_note(skipped: list[tuple[str, str]]) -> str:
    """One line for all the compile-database entries not analysed (other languages, coroproj's runtime)."""
    reasons: dict[str, int] = {}
    for _file, reason in skipped:
        reasons[reason] = reasons.get(reason, 0) + 1
    detail = ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items()))
    return f"coroproj: note: skipped {len(skipped)} compile-database entries ({detail})"


def render(result: CheckResult, format: str) -> str:
    findings = [f for f in result.findings if f.check != "parse-error"]
    if format == "json":
        return json_document(analysis_json(result))
    if format == "sarif":
        from coroproj.report.sarif import to_sarif

        root = Path(result.root) if result.root else Path.cwd()
        log = to_sarif(result.findings, tool_version=__version__, root=root, failures=result.failures)
        return json.dumps(log, indent=2) + "\n"
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
        "files": file_statistics(analysis, inputs.project.cache_dir if inputs.project else None),
    }


def file_statistics(analysis: Analysis, cache_dir: Path | None = None) -> dict[str, int]:
    """How the units depend on each other, and what a per-file tool would pay for it."""
    units = [summary.unit for summary in analysis.summaries]
    groups = _dependency_order(units, unit_dependencies(analysis.summaries), cache_dir)
    per_file = per_file_fixpoint(analysis.program, analysis.summaries, groups)
    return {
        "dependency_groups": len(groups),
        "largest_cycle": max((len(g) for g in groups if len(g) > 1), default=0),
        "per_file_analyses": per_file.rounds,
    }


def _dependency_order(
    units: list[str], edges: list[tuple[str, str]], cache_dir: Path | None
) -> list[list[str]]:
    """``dependency_order`` of the units' graph, remembered by the graph's content.

    Most edits change no unit's dependencies, and ordering them needs
    networkx, whose import alone is a tenth of a second of a one-file run.
    """
    cache = SummaryCache(cache_dir) if cache_dir else None
    key = hashlib.sha256(repr(("unit-order", units, edges)).encode()).hexdigest()
    with contextlib.suppress(ValueError):
        remembered = cache.recall(key) if cache else None
        if remembered is not None:
            return json.loads(remembered)
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(units)
    graph.add_edges_from(edges)
    groups = dependency_order(graph)
    if cache:
        cache.remember(key, json.dumps(groups).encode())
    return groups


def function_list(inputs: Inputs) -> list[dict[str, Any]]:
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
    return functions


def analysis_json(result: CheckResult) -> dict[str, object]:
    return {
        "tool": {"name": "coroproj", "version": __version__},
        "findings": [f.to_json() for f in result.findings],
        "failures": [f.to_json() for f in result.failures],
        "functions": result.functions,
        "summary": result.statistics,
    }


def summary_table(stats: dict[str, Any]) -> Table:
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
    table.add_row("findings", str(sum(findings.values())))
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
    path = file if os.path.isabs(file) else os.path.join(root, file)
    return _real(os.path.dirname(path)).startswith(_real(str(root)).rstrip(os.sep) + os.sep)


@functools.cache
def _real(directory: str) -> str:
    # Functions share a few hundred directories: resolve each once.
    return os.path.realpath(directory) + os.sep
