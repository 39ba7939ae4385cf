"""Annotation statistics, their history, and regressions against a baseline.

  coroproj report [PATH...] [--db PATH] [--baseline previous|GIT_REV|FILE.json]
                  [--format markdown|html|json] [-o FILE] [--html FILE] [--markdown FILE] [--json FILE]

Analyses the project, stores the run (statistics and findings with
line-independent fingerprints) in the history database, and compares it
with the baseline: the previous stored run, a git revision (analysed in a
temporary worktree) or a JSON file written by ``report --format json`` or
``check --format json``.  Exit status 1 when the run has warnings or errors
that the baseline did not have — a nightly job fails on regressions only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any

from coroproj.analysis.findings import Finding, Note, Step
from coroproj.analysis.pipeline import Analysis
from coroproj.commands.inputs import Inputs, add_input_arguments, inputs_from_args
from coroproj.errors import UserError
from coroproj.history.compare import Comparison, compare, describe
from coroproj.history.html import render_html
from coroproj.history.markdown import render_markdown
from coroproj.history.report import Report, read_sources
from coroproj.history.revision import git_state, relocated_database, resolve_revision, revision_worktree
from coroproj.history.statistics import Statistics, compute, relative_findings
from coroproj.history.store import FindingRecord, History, Run
from coroproj.project.config import load_config
from coroproj.report.text import format_finding
from coroproj.util.files import write_text_atomically

RENDERERS = {
    "markdown": render_markdown,
    "html": render_html,
    "json": lambda report: json.dumps(report.to_json(), indent=2) + "\n",
}


USAGE = "coroproj report [options] [PATH...] [--baseline previous|GIT_REV|FILE.json] [-o FILE]"
DESCRIPTION = """\
Annotation statistics, their history, and regressions against a baseline.
The run is analysed, stored in the history database and compared with the
baseline: the previous stored run, a git revision (analysed in a temporary
worktree) or a JSON file written by report or check --format json.  Exit
status 1 only when the run has warnings or errors the baseline did not have."""
EXAMPLES = (
    "coroproj report --baseline origin/main --html report.html",
    "coroproj report --label nightly --format json -o nightly.json",
)

def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser, paths_help="the project (default: around the current directory)")
    parser.add_argument("--db", type=Path, metavar="PATH",
                        help="the history database (default PROJECT/.coroproj/history.db)")
    parser.add_argument("--baseline", default="previous", metavar="previous|GIT_REV|FILE.json",
                        help="what to compare with (default: the previous stored run)")
    parser.add_argument("--format", choices=tuple(RENDERERS), default="markdown",
                        help="format of the report on stdout or in -o FILE")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    for name in RENDERERS:
        parser.add_argument(f"--{name}", dest=f"{name}_file", metavar="FILE",
                            help=f"also write the {name} report to FILE")
    parser.add_argument("--no-record", action="store_true", help="do not store this run in the history")
    parser.add_argument("--label", help="a label stored with the run (e.g. nightly)")


def run(args: argparse.Namespace) -> int:
    if args.compiler_flags:
        raise UserError("coroproj report: works on a project with a compile database (not on files with --)")
    inputs = _analyse(args)
    if inputs.project is None:
        raise UserError("coroproj report: works on a project with a compile database (not on files with --)")
    root = inputs.project.root
    commit, branch = git_state(root)
    current = run_of(inputs.analysis, root, commit, branch, args.label)
    database = args.db or root / ".coroproj" / "history.db"
    with History(database) as history:
        comparison, remark = _baseline(args, inputs, root, history, current)
        streaks = history.streaks()  # up to the last stored run, before this one joins
        if not args.no_record:
            history.add(current)
            runs = history.runs()
        else:
            runs = [*history.runs(), current]
    report = Report(current, comparison, runs, remark, streaks, read_sources(root, current.findings))
    outputs = {"markdown": args.markdown_file, "html": args.html_file, "json": args.json_file}
    for name, file in outputs.items():
        if file:
            write_text_atomically(Path(file), RENDERERS[name](report))
    text = RENDERERS[args.format](report)
    if args.output:
        write_text_atomically(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return report.exit_status


def run_of(analysis: Analysis, root: Path, commit: str | None, branch: str | None,
           label: str | None = None) -> Run:
    """A run record of an analysis: statistics and findings, paths relative to ``root``."""
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    findings = [FindingRecord.of(f) for f in relative_findings(analysis.findings, root)]
    return Run(None, created, commit, branch, compute(analysis, root), findings, label)


def _analyse(args: argparse.Namespace) -> Inputs:
    inputs = inputs_from_args(args)
    if inputs.analysis.failures:
        for failure in inputs.analysis.failures:
            print(format_finding(failure), file=sys.stderr)
        raise UserError(f"coroproj report: {len(inputs.analysis.failures)} unit(s) could not be analysed; "
                        "an incomplete run is neither stored nor compared")
    return inputs


def _baseline(args: argparse.Namespace, inputs: Inputs, root: Path, history: History,
              current: Run) -> tuple[Comparison | None, str | None]:
    spec = args.baseline
    if spec == "previous":
        previous = history.latest()
        if previous is None:
            return None, "The first run in the history: nothing to compare with yet."
        return compare(current, previous, describe(previous)), None
    path = Path(spec)
    if spec.endswith(".json") or path.is_file():
        return compare(current, _run_from_file(path, root), f"file {spec}"), None
    commit = resolve_revision(root, spec)
    if commit is None:
        raise UserError(f"coroproj report: --baseline {spec}: neither 'previous', a git revision "
                        "of this project, nor a JSON file")
    baseline = _analyse_revision(args, inputs, root, commit)
    return compare(current, baseline, f"git revision {spec} ({commit[:10]})"), None


def _analyse_revision(args: argparse.Namespace, inputs: Inputs, root: Path, commit: str) -> Run:
    """Analyse ``commit`` in a temporary worktree, sharing this project's summary cache."""
    assert inputs.project is not None
    cache_dir = args.cache_dir.resolve() if args.cache_dir else load_config(root).effective_cache_dir()
    with revision_worktree(root, commit, cache_dir) as tree:
        database = relocated_database(inputs.project.database, root, tree,
                                      cache_dir / "baseline-compile_commands.json")
        restrict = [str(tree / Path(p).resolve().relative_to(root)) for p in args.paths
                    if Path(p).resolve().is_relative_to(root)]
        options = argparse.Namespace(**{
            **vars(args), "paths": restrict or [str(tree)], "compile_commands": database,
            "build_dir": None, "cache_dir": cache_dir, "quiet": True,
        })
        try:
            baseline = inputs_from_args(options)
        except UserError as error:
            raise UserError(f"coroproj report: the baseline revision {commit[:10]} could not be "
                            f"analysed: {error}") from None
        if baseline.analysis.failures:
            first = format_finding(baseline.analysis.failures[0]).splitlines()[0]
            raise UserError(f"coroproj report: the baseline revision {commit[:10]} could not be "
                            f"analysed: {first}")
        return run_of(baseline.analysis, tree, commit, None)


def _run_from_file(path: Path, root: Path) -> Run:
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise UserError(f"{path}: cannot read the baseline: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{path}:{error.lineno}:{error.colno}: error: not JSON: {error.msg}") from None
    try:
        if isinstance(data, dict) and isinstance(data.get("run"), dict):  # report --format json
            return Run.from_json(data["run"])
        if isinstance(data, dict) and isinstance(data.get("findings"), list):  # check --format json
            findings = relative_findings([_finding(f) for f in data["findings"]], root)
            return Run(None, "", None, None, Statistics(), [FindingRecord.of(f) for f in findings])
    except (KeyError, TypeError, ValueError) as error:
        raise UserError(f"{path}: not a coroproj report or check JSON file ({error})") from None
    raise UserError(f"{path}: not a coroproj report or check JSON file")


def _finding(data: dict[str, Any]) -> Finding:
    fields = {k: v for k, v in data.items() if k in Finding.__dataclass_fields__}
    fields["chain"] = [Step(**s) for s in data.get("chain", [])]
    fields["notes"] = [Note(**n) for n in data.get("notes", [])]
    return Finding(**fields)
