"""Every finding's status and first-seen run over a history of several runs, in
``report --format json`` as in the HTML page: new, persisting since the start of
its current streak, fixed, and fixed then reintroduced (new again, its first
seen the run that brought it back).  Findings match across runs by fingerprint,
so lines that move change nothing."""

from __future__ import annotations

import json
import re
from collections import Counter
from html import unescape
from pathlib import Path

import pytest

from coroproj.cli import main
from coroproj.history.compare import compare
from coroproj.history.report import Report
from coroproj.history.store import History, Run, streak_starts
from tests.report.synthetic import finding, statistics
from tests.whole.trees import make_tree

HEADER = """\
#include "compiler.h"
int coroutine_fn co_get(int key);
"""

CO_GET = """\
int coroutine_fn co_get(int key)
{
    qemu_coroutine_yield();
    return key;
}
"""


def source(callers: list[str], shift: int = 0) -> str:
    """store.c with a function per name of ``callers`` that calls co_get without being coroutine_fn."""
    lines = ['#include "store.h"', *([""] * shift), CO_GET]
    lines += [f"int {name}(void) {{ return co_get(0); }}\n" for name in callers]
    return "\n".join(lines)


# The callers (each a `missing` finding) of each run, and, after it, what the
# report says of each: (status, first-seen run).
RUNS = [
    (["f_a"], {"f_a": ("new", 1)}),
    (["f_a", "f_b"], {"f_a": ("persisting", 1), "f_b": ("new", 2)}),
    (["f_b"], {"f_a": ("fixed", 1), "f_b": ("persisting", 2)}),
    (["f_a", "f_b"], {"f_a": ("new", 4), "f_b": ("persisting", 2)}),  # f_a reintroduced
]
SHIFTED = {"f_a": ("persisting", 4), "f_b": ("persisting", 2)}  # run 5: lines moved, nothing else


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("statuses") / "proj"


@pytest.fixture(scope="module")
def reports(tree: Path) -> list[tuple[dict, str]]:
    """The JSON and HTML report after each of the runs, then after the shifted one."""
    root = tree
    make_tree(root, {"include/store.h": HEADER, "src/store.c": source([])})
    plan = [(callers, 0) for callers, _ in RUNS] + [(["f_a", "f_b"], 3)]
    results = []
    for number, (callers, shift) in enumerate(plan, 1):
        (root / "src/store.c").write_text(source(callers, shift))
        output = root.parent / f"run{number}"
        main(["report", "-q", "-j", "1", str(root), "--format", "json", "-o", f"{output}.json",
              "--html", f"{output}.html"])
        results.append((json.loads(Path(f"{output}.json").read_text()), Path(f"{output}.html").read_text()))
    return results


def json_statuses(data: dict) -> dict[str, tuple[str, int | None]]:
    return {f["function"]: (f["status"], f["first_seen"]["run"]) for f in data["findings"]}


def html_rows(html: str) -> list[tuple[str, str, str]]:
    """(status, function, first-seen cell) of each row of the page's findings table."""
    table = html[html.index('<table id="findings"'):]
    table = table[table.index("<tbody>"):table.index("</tbody>")]
    rows = []
    for row in table.split("<tr ")[1:]:
        row = row[row.index(">") + 1:]  # past the row's own attributes
        cells = [unescape(re.sub(r"<[^>]*>", "", cell)) for cell in row.split("</td>")[:-1]]
        rows.append((cells[0], cells[5], cells[7]))
    return rows


@pytest.mark.parametrize("number", range(1, len(RUNS) + 2))
def test_status_and_first_seen_of_each_finding(reports: list[tuple[dict, str]], number: int) -> None:
    data, _html = reports[number - 1]
    expected = RUNS[number - 1][1] if number <= len(RUNS) else SHIFTED
    assert json_statuses(data) == expected
    assert data["run"]["id"] == number
    runs = {run["id"]: run["created"] for run in data["history"]}
    assert all(f["first_seen"]["date"] == runs[f["first_seen"]["run"]] for f in data["findings"])


def test_reintroduced_finding_is_a_regression_again(reports: list[tuple[dict, str]]) -> None:
    data, _html = reports[3]
    assert [f["function"] for f in data["comparison"]["new"]] == ["f_a"]
    assert data["exit_status"] == 1


def test_fixed_findings_keep_their_baseline_place(reports: list[tuple[dict, str]]) -> None:
    data, _html = reports[2]
    fixed = [f for f in data["findings"] if f["status"] == "fixed"]
    assert [(f["function"], f["file"], f["check"]) for f in fixed] == [("f_a", "src/store.c", "missing")]
    assert fixed[0]["fingerprint"] == data["comparison"]["fixed"][0]["fingerprint"]


@pytest.mark.parametrize("number", range(1, len(RUNS) + 2))
def test_html_and_json_agree(reports: list[tuple[dict, str]], number: int) -> None:
    data, html = reports[number - 1]
    seen = [f["first_seen"] for f in data["findings"]]
    from_json = [(f["status"], f["function"], f"{s['date'][:10]} (run {s['run']})")
                 for f, s in zip(data["findings"], seen, strict=True)]
    assert html_rows(html) == from_json


def test_a_run_not_recorded_has_no_run_id(reports: list[tuple[dict, str]], tree: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "src/store.c").write_text(source(["f_a", "f_b", "f_c"], 3))
    assert main(["report", "-q", "-j", "1", str(tree), "--format", "json", "--no-record"]) == 1
    data = json.loads(capsys.readouterr().out)
    seen = {f["function"]: (f["status"], f["first_seen"]["run"]) for f in data["findings"]}
    assert seen == {"f_a": ("persisting", 4), "f_b": ("persisting", 2), "f_c": ("new", None)}
    assert data["findings"][0]["first_seen"]["date"] == data["run"]["created"]
    with History(tree / ".coroproj" / "history.db") as history:
        assert history.count() == len(reports)


def test_persisting_only_in_a_git_or_file_baseline_has_no_first_seen() -> None:
    kept = finding("missing", "warning", "a.c", 3, "kept")
    current = Run(None, "2026-12-01T02:00:00+00:00", None, None, statistics(1, 1), [kept])
    baseline = Run(None, "", None, None, statistics(1, 1), [finding("missing", "warning", "a.c", 9, "kept")])
    report = Report(current, compare(current, baseline, "file b.json"), [current])
    assert report.to_json()["findings"] == [{"status": "persisting", "first_seen": None, **kept.to_json()}]


def stored(history: History, day: int, findings: list) -> int:
    return history.add(Run(None, f"2026-11-{day:02d}T02:00:00+00:00", None, None, statistics(0, 0), findings))


def test_streaks_in_the_database(tmp_path: Path) -> None:
    a, b, c = (finding("missing", "warning", "a.c", line, name)
               for line, name in ((3, "a"), (5, "b"), (7, "c")))
    suppressed_c = finding("missing", "warning", "a.c", 7, "c")
    suppressed_c.suppressed = True
    with History(tmp_path / "history.db") as history:
        assert history.streaks() == {}
        stored(history, 1, [a, b, c])
        stored(history, 2, [])  # a run without findings breaks every streak
        stored(history, 3, [a, b, c])
        stored(history, 4, [a, b, suppressed_c])  # silenced is not present: c's streak breaks too
        stored(history, 5, [a, b, c, finding("missing", "warning", "a.c", 9, "a")])  # a second copy of a
        streaks = history.streaks()
    day3, day5 = (3, "2026-11-03T02:00:00+00:00"), (5, "2026-11-05T02:00:00+00:00")
    assert streaks == {a.fingerprint: [day3, day5], b.fingerprint: [day3], c.fingerprint: [day5]}


def test_streak_starts_follow_copies_as_compare_matches_them() -> None:
    counts = [Counter({"x": 2}), Counter({"x": 1}), Counter({"x": 3}), Counter({"x": 2, "y": 1})]
    runs = [(number, f"day {number}", count) for number, count in enumerate(counts, 1)][::-1]
    # The first copy has been there all along, the second since run 3; the third just left.
    assert streak_starts(runs) == {"x": [(1, "day 1"), (3, "day 3")], "y": [(4, "day 4")]}


def test_each_copy_of_a_fingerprint_has_its_own_first_seen() -> None:
    """Three copies of one fingerprint in the baseline, two now: the two persisting copies
    are first seen where their streaks began, the fixed one where its own did."""
    copies = [finding("suspicious-call", "warning", "a.c", line, "f") for line in (3, 6, 9)]
    runs = [(n, f"run {n}", Counter({copies[0].fingerprint: n})) for n in (1, 2, 3)]
    baseline = Run(3, "run 3", None, None, statistics(3, 1), copies)
    current = Run(4, "run 4", None, None, statistics(2, 1), copies[:2])
    report = Report(current, compare(current, baseline, "run 3"), [baseline, current], None,
                    streak_starts(runs[::-1]))
    assert [(e.status, e.finding.line, e.first_run) for e in report.entries()] == [
        ("persisting", 3, 1), ("persisting", 6, 2), ("fixed", 9, 3),
    ]
