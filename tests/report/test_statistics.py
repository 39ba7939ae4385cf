"""Table-1 statistics per directory, the SQLite store, and matching by fingerprint."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

from coroproj.analysis.findings import Finding
from coroproj.cli import build_parser
from coroproj.commands.inputs import inputs_from_args
from coroproj.errors import UserError
from coroproj.history.compare import compare
from coroproj.history.statistics import TOTAL, Statistics, compute
from coroproj.history.store import FindingRecord, History, Run
from tests.whole.trees import make_tree


def analyse(root: Path):  # type: ignore[no-untyped-def]
    args = build_parser().parse_args(["check", "-q", "-j", "1", str(root)])
    args.compiler_flags = []
    return inputs_from_args(args).analysis


def test_counts_per_top_level_directory(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", {
        "include/block.h": '#include "compiler.h"\n'
                           "int coroutine_fn co_io(void);\nint blocking_fn sync_io(void);\n",
        "block/io.c": '#include "block.h"\n'
                      "int coroutine_fn co_io(void) { qemu_coroutine_yield(); return 0; }\n"
                      "int blocking_fn sync_io(void) { return 1; }\n"
                      "int helper(void) { return co_io(); }\n",
        "util/hy.c": '#include "compiler.h"\nint qemu_in_coroutine(void);\n'
                     "void coroutine_fn idle(void) { }\n"
                     "void either(void) { if (qemu_in_coroutine()) qemu_coroutine_yield(); }\n",
    })
    stats = compute(analyse(root), root)
    assert set(stats.rows) == {"include", "block", "util", TOTAL}
    assert stats.rows["include"]["coroutine_h"] == 2  # co_io and the primitive in compiler.h
    assert stats.rows["include"]["blocking"] == 1
    expected = {"coroutine_c": 1, "blocking": 1, "functions": 3, "inferred_coroutine": 2, "missing": 1}
    assert {key: stats.rows["block"][key] for key in expected} == expected
    assert (stats.rows["util"]["hybrid"], stats.rows["util"]["spurious"]) == (1, 1)
    assert stats.total["coroutine_c"] == 2 and stats.total["coroutine_h"] == 2
    # helper; not either: its only coroutine call is guarded (implicitly mixed)
    assert stats.checks[TOTAL]["missing"] == 1
    assert stats.checks["block"] == {"missing": 1}
    assert Statistics.from_json(stats.to_json()) == stats


def record(check: str, function: str, file: str, line: int, **extra: object) -> FindingRecord:
    finding = Finding(check, "warning", file, line, 1, function, f"{check} on {function} at {file}:{line}")
    return dataclasses.replace(FindingRecord.of(finding), **extra)


def test_fingerprint_survives_line_shifts_not_renames() -> None:
    a = record("missing", "f", "a.c", 10)
    assert record("missing", "f", "a.c", 99).fingerprint == a.fingerprint
    assert record("missing", "g", "a.c", 10).fingerprint != a.fingerprint
    assert record("missing", "f", "b.c", 10).fingerprint != a.fingerprint
    assert record("spurious", "f", "a.c", 10).fingerprint != a.fingerprint


def test_compare_new_fixed_and_suppressed() -> None:
    stats = Statistics({TOTAL: {"missing": 1}})
    before = Run(1, "t", None, None, stats,
                 [record("missing", "f", "a.c", 3), record("missing", "g", "a.c", 9)])
    now = Run(None, "t", None, None, Statistics({TOTAL: {"missing": 2}}), [
        record("missing", "f", "a.c", 30),                   # moved: same finding
        record("missing", "h", "a.c", 40),                   # new
        record("missing", "k", "a.c", 50, suppressed=True),  # suppressed: not a regression
    ])
    comparison = compare(now, before, "run 1")
    assert [f.function for f in comparison.new] == ["h"]
    assert [f.function for f in comparison.fixed] == ["g"]
    assert comparison.changes == {"missing": (1, 2)}
    assert len(comparison.regressions) == 1
    assert compare(before, before, "itself").new == []


def test_store_round_trip_and_order(tmp_path: Path) -> None:
    path = tmp_path / "h" / "history.db"
    with History(path) as history:
        assert history.latest() is None
        first = Run(None, "2026-01-01T00:00:00+00:00", "abc", "main", Statistics({TOTAL: {"findings": 1}}),
                    [record("missing", "f", "a.c", 3, chain=[{"caller": "f", "callee": "g", "file": "a.c",
                                                               "line": 4, "column": 1, "why": ""}])])
        second = Run(None, "2026-01-02T00:00:00+00:00", None, None, Statistics(), [])
        assert history.add(first) == 1 and history.add(second) == 2
    with History(path) as history:
        assert history.count() == 2
        assert history.latest().id == 2
        previous = history.latest(before=2)
        assert previous.findings == first.findings and previous.git_commit == "abc"
        assert previous.statistics == first.statistics
        assert [run.id for run in history.runs()] == [1, 2]


def test_unusable_database_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "history.db"
    bad.write_text("not a database at all " * 100)
    with pytest.raises(UserError, match="not a usable history database"):
        History(bad)
    newer = tmp_path / "newer.db"
    sqlite3.connect(newer).execute("PRAGMA user_version = 99").connection.commit()
    with pytest.raises(UserError, match="unknown version 99"):
        History(newer)


def test_relocated_database_for_a_revision(tmp_path: Path) -> None:
    from coroproj.history.revision import relocated_database

    current = make_tree(tmp_path / "now", {"a.c": "int a;\n", "new.c": "int n;\n"})
    revision = make_tree(tmp_path / "rev", {"a.c": "int a;\n"}, database=False)
    # The revision's committed database names another checkout: not usable, the current one is.
    (revision / "compile_commands.json").write_text(
        (current / "compile_commands.json").read_text().replace(str(current), "/elsewhere/checkout")
    )
    target = relocated_database(current / "compile_commands.json", current, revision, tmp_path / "db.json")
    entries = json.loads(target.read_text())
    # new.c does not exist in the revision: dropped (its findings are new).
    assert [(e["directory"], e["file"]) for e in entries] == [(str(revision), "a.c")]


def test_report_outside_git_with_its_own_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from coroproj.cli import main

    text = '#include "compiler.h"\nvoid f(void) { qemu_coroutine_yield(); }\n'
    root = make_tree(tmp_path / "t", {"a.c": text})
    database = tmp_path / "elsewhere" / "runs.db"
    assert main(["report", "-q", str(root), "--db", str(database), "--label", "first"]) == 0
    capsys.readouterr()
    assert main(["report", "-q", str(root), "--db", str(database)]) == 0
    out = capsys.readouterr().out
    assert "No new findings since the baseline." in out and "Baseline: run 1 (" in out
    with History(database) as history:
        runs = history.runs()
        assert [(r.label, r.git_commit) for r in runs] == [("first", None), (None, None)]
    assert not (root / ".coroproj" / "history.db").exists()
    assert main(["report", "-q", str(root / "a.c"), "--", f"-I{root / 'include'}"]) == 2
    assert "works on a project" in capsys.readouterr().err
