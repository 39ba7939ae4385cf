"""A scripted git history of a small tree: an annotation removed, then fixed,
then a new missing one.  ``coroproj report --baseline previous`` flags exactly
the regression, the database holds the three runs, the other baselines (a git
revision, a JSON file) agree, and the HTML page renders in headless Chromium."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from coroproj.cli import main
from coroproj.history.store import History
from tests.whole.trees import make_tree

HEADER = """\
#include "compiler.h"
int coroutine_fn co_get(int key);
"""

SOURCE = """\
#include "store.h"

int co_get(int key)
{
    qemu_coroutine_yield();
    return key;
}

int legacy_wait(void) { return co_get(0); }
"""


def git(root: Path, *arguments: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=coroproj", "-c", "user.email=coroproj@example.org", *arguments],
        cwd=root, check=True, capture_output=True, text=True,
    )
    return done.stdout.strip()


def commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def report(root: Path, *extra: str) -> tuple[int, dict]:
    output = root.parent / "report.json"
    status = main(["report", "-q", "-j", "1", str(root), "--json", str(output), "--format", "markdown",
                   "-o", str(root.parent / "report.md"), *extra])
    return status, json.loads(output.read_text())


def fingerprints(items: list[dict]) -> list[tuple[str, str, str]]:
    return [(f["check"], f["function"], f["file"]) for f in items]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three commits, a report after each; what the tests look at."""
    root = tmp_path_factory.mktemp("history") / "proj"
    make_tree(root, {"include/store.h": HEADER, "src/store.c": SOURCE})
    (root / ".gitignore").write_text(".coroproj/\n")
    git(root, "init", "-q", "-b", "main")
    source = root / "src/store.c"
    # 1: the annotation of co_get's definition was removed (proto-mismatch), and
    #    legacy_wait has always lacked one (missing, never fixed).
    commits = [commit(root, "co_get loses its annotation")]
    results = [report(root)]
    # 2: co_get fixed.
    source.write_text(SOURCE.replace("int co_get(int key)", "int coroutine_fn co_get(int key)"))
    commits.append(commit(root, "co_get annotated again"))
    results.append(report(root))
    shutil.copy(root.parent / "report.json", root.parent / "run2.json")
    check_json = str(root.parent / "check2.json")
    assert main(["check", "-q", "-j", "1", str(root), "--format", "json", "-o", check_json]) == 1
    # 3: lines shift (a comment on top) and a new function misses its annotation.
    source.write_text("/* Key-value store. */\n\n" + source.read_text()
                      + "\nint co_put(int key) { return co_get(key) + 1; }\n")
    commits.append(commit(root, "co_put"))
    results.append(report(root))
    return {"root": root, "commits": commits, "results": results}


def test_first_run_has_no_baseline(history: dict) -> None:
    status, data = history["results"][0]
    assert status == 0
    assert data["comparison"] is None
    assert "first run" in data["remark"]
    assert sorted(fingerprints(data["run"]["findings"])) == [
        ("missing", "legacy_wait", "src/store.c"),
        ("proto-mismatch", "co_get", "src/store.c"),
    ]


def test_fixed_finding_is_reported_as_fixed(history: dict) -> None:
    status, data = history["results"][1]
    assert status == 0
    assert fingerprints(data["comparison"]["fixed"]) == [("proto-mismatch", "co_get", "src/store.c")]
    assert data["comparison"]["new"] == []
    assert data["comparison"]["changes"]["coroutine_c"] == {"before": 0, "now": 1}


def test_only_the_regression_is_flagged(history: dict) -> None:
    status, data = history["results"][2]
    assert status == 1
    comparison = data["comparison"]
    # legacy_wait moved two lines down: the same finding, not a new one.
    assert fingerprints(comparison["new"]) == [("missing", "co_put", "src/store.c")]
    assert comparison["fixed"] == []
    assert comparison["regressions"] == 1
    new = comparison["new"][0]
    assert [(s["caller"], s["callee"]) for s in new["chain"]] == [
        ("co_put", "co_get"), ("co_get", "qemu_coroutine_yield"),
    ]
    assert comparison["changes"]["missing"] == {"before": 1, "now": 2}
    markdown = (history["root"].parent / "report.md").read_text()
    assert "**1 new finding(s)**" in markdown
    assert "`src/store.c:13` warning [missing]" in markdown


def test_database_holds_three_runs_with_their_commits(history: dict) -> None:
    with History(history["root"] / ".coroproj" / "history.db") as store:
        runs = store.runs()
        assert [run.git_commit for run in runs] == history["commits"]
        assert {run.git_branch for run in runs} == {"main"}
        assert [len(store.findings(run.id)) for run in runs] == [2, 1, 2]
        assert [run.statistics.total["coroutine_h"] for run in runs] == [2, 2, 2]


def test_git_revision_baseline_agrees(history: dict) -> None:
    root = history["root"]
    status, data = report(root, "--baseline", "HEAD~1", "--no-record")
    assert status == 1
    assert fingerprints(data["comparison"]["new"]) == [("missing", "co_put", "src/store.c")]
    assert data["comparison"]["baseline"].startswith(f"git revision HEAD~1 ({history['commits'][1][:10]}")
    assert not (root / ".coroproj" / "baseline-worktree").exists()
    assert "baseline-worktree" not in git(root, "worktree", "list")
    with History(root / ".coroproj" / "history.db") as store:
        assert store.count() == 3


def test_json_file_baseline_agrees(history: dict) -> None:
    root = history["root"]
    status, data = report(root, "--baseline", str(root.parent / "run2.json"), "--no-record")
    assert status == 1
    assert fingerprints(data["comparison"]["new"]) == [("missing", "co_put", "src/store.c")]


def test_check_json_baseline_agrees(history: dict) -> None:
    root = history["root"]
    status, data = report(root, "--baseline", str(root.parent / "check2.json"), "--no-record")
    assert status == 1
    assert fingerprints(data["comparison"]["new"]) == [("missing", "co_put", "src/store.c")]
    assert data["comparison"]["changes"] == {}  # a check file has findings, not counts


def test_unknown_baseline_is_a_user_error(history: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "-q", str(history["root"]), "--baseline", "no-such-rev", "--no-record"]) == 2
    assert "neither 'previous', a git revision" in capsys.readouterr().err


def test_html_renders_in_headless_chromium(history: dict, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): the HTML page is not rendered")
    page = tmp_path / "report.html"
    status = main(["report", "-q", "-j", "1", str(history["root"]), "--no-record", "--baseline", "HEAD~1",
                   "--format", "html",
                   "-o", str(page)])
    assert status == 1
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    dom = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert '<table id="statistics"' in dom and '<table id="files"' in dom
    assert "<td>(total)</td>" in dom
    # Annotations and findings on separate panels, dated.
    assert '<svg id="trend-annotations"' in dom and '<svg id="trend-findings"' in dom
    assert dom.count('class="series"') == 5
    # Three stored runs plus this one on the x axis of the charts.
    assert dom.count("<circle") == 5 * 4
    assert dom.count(f">{datetime.date.today().isoformat()}</text>") >= 2
    # Every current finding: the new one, and legacy_wait persisting since run 1.
    rows = {row.split("</td>")[5]: row for row in dom.split('<tr class="s-')[1:]}
    assert rows["<td>co_put"].startswith("new")
    assert rows["<td>legacy_wait"].startswith("persisting") and "(run 1)" in rows["<td>legacy_wait"]
    assert 'href="#f=0">src/store.c:13</a>' in dom
    # The source of src/store.c is embedded, escaped, for its source view.
    assert "#include &quot;store.h&quot;" in page.read_text()
    # Self-contained: nothing fetched from anywhere.
    html = page.read_text()
    assert "<script src" not in html and "<link" not in html and "<img" not in html and "@import" not in html
