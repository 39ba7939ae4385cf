"""Incremental runs: counts of parsed and cached units, cache robustness."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.whole.test_fixpoint import CHAIN
from tests.whole.trees import make_tree


def _stats(root: Path, coroproj_json) -> tuple[dict, list]:
    _, data = coroproj_json("-q", "-j", "2", cwd=root)
    findings = sorted((f["check"], f["function"], f["line"]) for f in data["findings"])
    return data["summary"], findings


def _touch(path: Path, text: str | None = None) -> None:
    if text is not None:
        path.write_text(text)
    later = time.time() + 2
    os.utime(path, (later, later))


def test_second_run_parses_nothing_touching_files_reparses_exactly_their_units(
    tmp_path: Path, coroproj_json
) -> None:
    root = make_tree(tmp_path, CHAIN)
    first, findings = _stats(root, coroproj_json)
    assert (first["units"], first["parsed"], first["cached"]) == (3, 3, 0)

    second, again = _stats(root, coroproj_json)
    assert (second["parsed"], second["cached"]) == (0, 3)
    assert again == findings

    _touch(root / "a.c", (root / "a.c").read_text() + "/* edited */\nint unused_global;\n")
    third, _ = _stats(root, coroproj_json)
    assert (third["parsed"], third["cached"]) == (1, 2)

    # c.h is included by c.c and b.c, not by a.c.
    _touch(root / "c.h", (root / "c.h").read_text() + "int c_extra(void);\n")
    fourth, _ = _stats(root, coroproj_json)
    assert (fourth["parsed"], fourth["cached"]) == (2, 1)


def test_corrupt_or_deleted_cache_gives_the_same_findings(tmp_path: Path, coroproj_json) -> None:
    root = make_tree(tmp_path, CHAIN)
    _, expected = _stats(root, coroproj_json)
    cache = root / ".coroproj"
    snapshot = cache / "summaries.snapshot"
    assert snapshot.is_file()
    # A damaged snapshot: the summaries come from their cache entries instead.
    snapshot.write_bytes(snapshot.read_bytes()[:-10])
    summary, findings = _stats(root, coroproj_json)
    assert findings == expected and (summary["parsed"], summary["cached"]) == (0, 3)
    # Truncate every stored summary, the snapshot's and the remembered run results too.
    with sqlite3.connect(cache / "summaries.sqlite3") as connection:
        for table in ("entries", "memos"):
            assert connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            connection.execute(f"UPDATE {table} SET body = substr(body, 1, length(body) / 2)")
    snapshot.write_bytes(snapshot.read_bytes()[: len(snapshot.read_bytes()) // 2])
    summary, findings = _stats(root, coroproj_json)
    assert findings == expected and summary["parsed"] == 3
    for entry in cache.rglob("*"):
        if entry.is_file():
            entry.write_bytes(b"\x00garbage")
    _, findings = _stats(root, coroproj_json)
    assert findings == expected
    subprocess.run(["rm", "-rf", str(cache)], check=True)
    _, findings = _stats(root, coroproj_json)
    assert findings == expected


def test_two_checks_at_once_agree(tmp_path: Path) -> None:
    root = make_tree(tmp_path, CHAIN)
    command = [sys.executable, "-m", "coroproj", "check", "--format", "json", "-q", "-j", "1"]
    runs = [subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [json.loads(run.communicate()[0]) for run in runs]
    keys = [sorted((f["check"], f["function"]) for f in out["findings"]) for out in outputs]
    assert keys[0] == keys[1] == keys[2] and keys[0]


def test_an_edited_unit_is_never_taken_from_the_snapshot_of_an_earlier_run(
    tmp_path: Path, coroproj_json
) -> None:
    root = make_tree(tmp_path, CHAIN)
    _, findings = _stats(root, coroproj_json)
    assert ("missing", "a_top", 2) in findings
    snapshot = (root / ".coroproj" / "summaries.snapshot").read_bytes()
    # a_top stops calling b_step: its `missing` goes, in this run and the next.
    _touch(root / "a.c", '#include "b.h"\nvoid a_top(void) { }\nint main(void) { return 0; }\n')
    for _ in range(2):
        _, edited = _stats(root, coroproj_json)
        assert ("missing", "a_top", 2) not in edited and ("missing", "b_step", 3) in edited
    # One stale entry of three is not worth rewriting the snapshot for.
    assert (root / ".coroproj" / "summaries.snapshot").read_bytes() == snapshot
    _touch(root / "a.c", CHAIN["a.c"])
    _, restored = _stats(root, coroproj_json)
    assert restored == findings


def test_file_statistics_follow_edits_whether_the_unit_order_is_remembered_or_not(
    tmp_path: Path, coroproj_json
) -> None:
    root = make_tree(tmp_path, CHAIN)
    first, _ = _stats(root, coroproj_json)
    assert first["files"] == {"dependency_groups": 3, "largest_cycle": 0, "per_file_analyses": 3}
    # No dependency changes: the remembered order of the units is used.
    _touch(root / "a.c", (root / "a.c").read_text() + "static int unused_here;\n")
    second, _ = _stats(root, coroproj_json)
    assert second["parsed"] == 1 and second["files"] == first["files"]
    # c.c now calls into a.c: a, b, c form one cycle, ordered afresh.
    _touch(root / "c.c", (root / "c.c").read_text() + "void a_top(void);\nvoid c_back(void) { a_top(); }\n")
    third, _ = _stats(root, coroproj_json)
    assert third["files"]["dependency_groups"] == 1 and third["files"]["largest_cycle"] == 3
    subprocess.run(["rm", "-rf", str(root / ".coroproj")], check=True)
    fresh, _ = _stats(root, coroproj_json)
    assert fresh["files"] == third["files"]


def test_a_summary_cache_that_cannot_store_still_gives_the_findings(tmp_path: Path, coroproj_json) -> None:
    # The workers' layouts then travel to the parent instead of being read back from the cache.
    root = make_tree(tmp_path, CHAIN)
    _, expected = _stats(root, coroproj_json)
    subprocess.run(["rm", "-rf", str(root / ".coroproj")], check=True)
    (root / ".coroproj" / "summaries.sqlite3").mkdir(parents=True)
    summary, findings = _stats(root, coroproj_json)
    assert findings == expected and summary["parsed"] == 3
