"""The history of runs in SQLite (``.coroproj/history.db`` by default).

One row per run — date, git commit and branch when known, the statistics —
and its findings with their line-independent fingerprints, so that a later
run can tell new findings from fixed ones even when lines moved.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from coroproj.analysis.findings import Finding
from coroproj.errors import UserError
from coroproj.history.statistics import Statistics

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,          -- ISO 8601, UTC
    git_commit TEXT,
    git_branch TEXT,
    label TEXT,                     -- what the run is, e.g. "nightly"
    statistics TEXT NOT NULL        -- JSON of Statistics
);
CREATE TABLE IF NOT EXISTS findings (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,      -- check id + function + file, no line numbers
    check_id TEXT NOT NULL,
    function TEXT NOT NULL,
    file TEXT NOT NULL,             -- relative to the project root
    line INTEGER NOT NULL,
    column INTEGER NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    suppressed INTEGER NOT NULL,
    detail TEXT NOT NULL            -- JSON: witness chain and notes
);
CREATE INDEX IF NOT EXISTS findings_by_run ON findings(run_id);
"""


@dataclass
class FindingRecord:
    """A finding as stored: paths relative to the project root."""

    fingerprint: str
    check: str
    function: str
    file: str
    line: int
    column: int
    severity: str
    message: str
    suppressed: bool = False
    chain: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, finding: Finding) -> FindingRecord:
        return cls(
            fingerprint=finding.fingerprint, check=finding.check, function=finding.function,
            file=finding.file, line=finding.line, column=finding.column, severity=finding.severity,
            message=finding.message, suppressed=finding.suppressed,
            chain=[asdict(step) for step in finding.chain], notes=[asdict(note) for note in finding.notes],
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FindingRecord:
        """From this module's JSON or from ``coroproj check --format json`` findings."""
        fields = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        if "fingerprint" not in fields:
            raise KeyError("fingerprint")
        return cls(**fields)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def counts(self) -> bool:
        """Whether it makes a run fail: a warning or error that is not suppressed."""
        return not self.suppressed and self.severity in ("error", "warning")


@dataclass
class Run:
    id: int | None
    created: str
    git_commit: str | None
    git_branch: str | None
    statistics: Statistics
    findings: list[FindingRecord]
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "created": self.created, "git_commit": self.git_commit,
            "git_branch": self.git_branch, "label": self.label,
            "statistics": self.statistics.to_json(),
            "findings": [f.to_json() for f in self.findings],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Run:
        return cls(
            id=data.get("id"), created=data.get("created", ""), git_commit=data.get("git_commit"),
            git_branch=data.get("git_branch"), label=data.get("label"),
            statistics=Statistics.from_json(data.get("statistics", {})),
            findings=[FindingRecord.from_json(f) for f in data.get("findings", [])],
        )


# fingerprint -> (run id, date) where the streak of its k-th copy began, at index k - 1
Streaks = dict[str, list[tuple[int, str]]]


def streak_starts(runs: Iterable[tuple[int, str, Counter[str]]]) -> Streaks:
    """For each fingerprint of the last run, where its current streak began.

    ``runs``: (id, date, unsuppressed copies per fingerprint), newest first, read
    only as far back as some streak still goes.  A streak is the uninterrupted
    sequence of runs, ending at the last one, that have the finding: one fixed
    and later reintroduced starts a new streak.  Copies count as ``compare``
    matches them, by fingerprint with multiplicity: the k-th copy's streak is
    the runs with at least k, so a second copy added later has its own start.
    """
    newest_first = iter(runs)
    last = next(newest_first, None)
    if last is None:
        return {}
    run_id, created, counts = last
    starts: Streaks = {fp: [(run_id, created)] * copies for fp, copies in counts.items() if copies > 0}
    reaching = {fp: len(levels) for fp, levels in starts.items()}  # copies whose streak goes on back
    while reaching:
        earlier = next(newest_first, None)
        if earlier is None:
            break
        run_id, created, counts = earlier
        for fingerprint, copies in list(reaching.items()):
            reach = min(copies, counts.get(fingerprint, 0))
            starts[fingerprint][:reach] = [(run_id, created)] * reach
            if reach:
                reaching[fingerprint] = reach
            else:
                del reaching[fingerprint]
    return starts


class History:
    """The SQLite store of runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path)
            self.db.execute("PRAGMA foreign_keys = ON")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise UserError(f"{path}: history database of an unknown version {version}")
            with self.db:
                self.db.executescript(_SCHEMA)
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as error:
            raise UserError(f"{path}: not a usable history database: {error}") from None
        except OSError as error:
            raise UserError(f"{path}: cannot open the history database: {error.strerror}") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, run: Run) -> int:
        with self.db:
            cursor = self.db.execute(
                "INSERT INTO runs (created, git_commit, git_branch, label, statistics) "
                "VALUES (?, ?, ?, ?, ?)",
                (run.created, run.git_commit, run.git_branch, run.label,
                 json.dumps(run.statistics.to_json(), sort_keys=True)),
            )
            run_id = int(cursor.lastrowid or 0)
            self.db.executemany(
                "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_finding_row(run_id, f) for f in run.findings],
            )
        run.id = run_id
        return run_id

    def runs(self) -> list[Run]:
        """Every stored run, oldest first, without findings (for trends)."""
        rows = self.db.execute(
            "SELECT id, created, git_commit, git_branch, label, statistics FROM runs ORDER BY id"
        ).fetchall()
        return [_run_of(row, []) for row in rows]

    def latest(self, before: int | None = None) -> Run | None:
        """The last run stored (before run id ``before`` if given), with its findings."""
        query = "SELECT id, created, git_commit, git_branch, label, statistics FROM runs"
        parameters: tuple[int, ...] = ()
        if before is not None:
            query += " WHERE id < ?"
            parameters = (before,)
        row = self.db.execute(query + " ORDER BY id DESC LIMIT 1", parameters).fetchone()
        if row is None:
            return None
        return _run_of(row, self.findings(int(row[0])))

    def findings(self, run_id: int) -> list[FindingRecord]:
        rows = self.db.execute(
            "SELECT fingerprint, check_id, function, file, line, column, severity, message, suppressed, "
            "detail FROM findings WHERE run_id = ? ORDER BY file, line, column", (run_id,)
        ).fetchall()
        records = []
        for row in rows:
            detail = json.loads(row[9])
            records.append(FindingRecord(
                fingerprint=row[0], check=row[1], function=row[2], file=row[3], line=row[4], column=row[5],
                severity=row[6], message=row[7], suppressed=bool(row[8]),
                chain=detail.get("chain", []), notes=detail.get("notes", []),
            ))
        return records

    def streaks(self) -> Streaks:
        """When each finding of the last stored run was first seen in its current streak."""
        runs = self.db.execute("SELECT id, created FROM runs ORDER BY id DESC").fetchall()

        def newest_first() -> Iterator[tuple[int, str, Counter[str]]]:
            for run_id, created in runs:  # a run without findings has none: it ends every streak
                copies = self.db.execute(
                    "SELECT fingerprint, COUNT(*) FROM findings WHERE run_id = ? AND suppressed = 0 "
                    "GROUP BY fingerprint", (run_id,)
                ).fetchall()
                yield int(run_id), created, Counter(dict(copies))

        return streak_starts(newest_first())

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def _finding_row(run_id: int, record: FindingRecord) -> tuple[Any, ...]:
    detail = json.dumps({"chain": record.chain, "notes": record.notes}, sort_keys=True)
    return (run_id, record.fingerprint, record.check, record.function, record.file, record.line,
            record.column, record.severity, record.message, int(record.suppressed), detail)


def _run_of(row: Iterable[Any], findings: list[FindingRecord]) -> Run:
    run_id, created, commit, branch, label, statistics = row
    return Run(int(run_id), created, commit, branch, Statistics.from_json(json.loads(statistics)),
               findings, label)
