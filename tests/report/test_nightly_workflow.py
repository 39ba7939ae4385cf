"""docs/nightly.yml: a valid GitHub Actions workflow that restores the history,
reports against the previous run with options coroproj accepts, publishes the
HTML, saves the database, and fails on regressions only."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from coroproj.cli import build_parser

yaml = pytest.importorskip("yaml", reason="PyYAML (the test extra) validates the workflow file")

WORKFLOW = Path(__file__).resolve().parents[2] / "docs" / "nightly.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def index_of(steps: list[dict], predicate) -> int:  # type: ignore[no-untyped-def]
    return next(i for i, step in enumerate(steps) if predicate(step))


def test_runs_nightly_and_on_demand(workflow: dict) -> None:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"]
    assert "workflow_dispatch" in triggers


def test_history_restored_before_the_report_and_saved_after(workflow: dict) -> None:
    report_steps = steps(workflow, "report")
    restore = index_of(report_steps, lambda s: s.get("uses", "").startswith("actions/cache/restore@"))
    run = index_of(report_steps, lambda s: "coroproj report" in s.get("run", ""))
    save = index_of(report_steps, lambda s: s.get("uses", "").startswith("actions/cache/save@"))
    assert restore < run < save
    assert report_steps[restore]["with"]["path"] == report_steps[save]["with"]["path"] == ".coroproj"
    assert report_steps[restore]["with"]["restore-keys"].strip() in report_steps[save]["with"]["key"]
    assert "always()" in report_steps[save]["if"]


def test_report_command_is_one_coroproj_accepts(workflow: dict) -> None:
    script = next(s["run"] for s in steps(workflow, "report") if "coroproj report" in s.get("run", ""))
    command = script[script.index("coroproj report"):].replace("\\\n", " ").splitlines()[0]
    words = shlex.split(command)
    args = build_parser().parse_args(words[1:])
    assert args.baseline == "previous"
    assert args.html_file == "public/index.html"
    assert args.format == "markdown" and args.output == "public/summary.md"
    assert "GITHUB_STEP_SUMMARY" in script


def test_html_published_and_failure_only_on_regression(workflow: dict) -> None:
    uses = [s.get("uses", "") for job in workflow["jobs"] for s in steps(workflow, job)]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    verdict = steps(workflow, "verdict")[0]["run"]
    assert 'test "${{ needs.report.outputs.status }}" = "0"' in verdict
    assert workflow["jobs"]["report"]["steps"][0]["with"]["fetch-depth"] == 0
