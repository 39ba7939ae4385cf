"""What ``coroproj report`` renders: the run, its comparison, the stored history."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coroproj import __version__
from coroproj.history.compare import Comparison, matching_order
from coroproj.history.statistics import COUNTERS
from coroproj.history.store import FindingRecord, Run, Streaks

# The counters drawn in the trend charts, one panel each: annotations (tens to
# thousands) would flatten findings (a few) on a shared axis.
ANNOTATION_SERIES = ("coroutine_h", "coroutine_c")
FINDING_SERIES = ("missing", "spurious", "findings")
TREND_SERIES = ANNOTATION_SERIES + FINDING_SERIES
# Source files larger than this are not embedded in the HTML page (generated code).
MAX_SOURCE_BYTES = 2_000_000


@dataclass
class Entry:
    """A finding as the report lists it: new, persisting, fixed or suppressed."""

    finding: FindingRecord
    status: str
    first_run: int | None  # None: this run when it is not stored, or a baseline outside the history
    first_date: str  # ISO 8601 of the run its current streak began in, "" when unknown

    def to_json(self) -> dict[str, Any]:
        known = self.first_run is not None or self.first_date
        first_seen = {"run": self.first_run, "date": self.first_date} if known else None
        return {"status": self.status, "first_seen": first_seen, **self.finding.to_json()}


@dataclass
class Report:
    run: Run
    comparison: Comparison | None
    history: list[Run] = field(default_factory=list)  # oldest first, the current run last
    remark: str | None = None  # e.g. why there is no comparison
    # Where the current streak of each finding of the last stored run began (History.streaks).
    streaks: Streaks = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # relative path -> text, for the HTML page

    @property
    def exit_status(self) -> int:
        """1 when the run has findings the baseline did not have (a regression), else 0."""
        return 1 if self.comparison is not None and self.comparison.regressions else 0

    def trend(self) -> list[tuple[str, dict[str, int]]]:
        """(label, totals) per run of the history, for the chart."""
        return [(str(run.id) if run.id is not None else "now", run.statistics.total) for run in self.history]

    def entries(self) -> list[Entry]:
        """Every current finding, new ones first, then persisting and suppressed ones, then the fixed.

        What both the HTML page and the JSON list.  A persisting finding was first
        seen where its streak began; a new one (also one fixed earlier and now
        back) in this run; a fixed one where the streak that just ended began.
        """
        new = {id(f) for f in self.comparison.new} if self.comparison else None
        # The k-th persisting copy of a fingerprint, in compare's matching order, has
        # the k-th streak; the fixed copies of a fingerprint come after its persisting ones.
        copies: Counter[str] = Counter()

        def streak_start(fingerprint: str) -> tuple[int | None, str]:
            copies[fingerprint] += 1
            starts = self.streaks.get(fingerprint, [])
            if copies[fingerprint] > len(starts):
                return None, ""  # only in a baseline from git or a file
            return starts[copies[fingerprint] - 1]

        result = []
        for finding in sorted(self.run.findings, key=matching_order):
            if finding.suppressed:
                status = "suppressed"
            elif new is None or id(finding) in new:
                status = "new"
            else:
                status = "persisting"
            if status == "persisting":
                first_run, first_date = streak_start(finding.fingerprint)
            else:
                first_run, first_date = self.run.id, self.run.created
            result.append(Entry(finding, status, first_run, first_date))
        for finding in self.comparison.fixed if self.comparison else []:
            first_run, first_date = streak_start(finding.fingerprint)
            result.append(Entry(finding, "fixed", first_run, first_date))
        order = ("new", "persisting", "suppressed", "fixed")
        return sorted(result, key=lambda e: order.index(e.status))  # stable: by file and line within

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": {"name": "coroproj", "version": __version__},
            "run": self.run.to_json(),
            "comparison": self.comparison.to_json() if self.comparison else None,
            "remark": self.remark,
            "findings": [entry.to_json() for entry in self.entries()],
            "counters": COUNTERS,
            "history": [
                {"id": run.id, "created": run.created, "git_commit": run.git_commit,
                 "totals": run.statistics.total}
                for run in self.history
            ],
            "exit_status": self.exit_status,
        }


def read_sources(root: Path, findings: list[FindingRecord]) -> dict[str, str]:
    """The text of every project file a finding or a step of its chain is in, for source views."""
    files = {f.file for f in findings} | {s["file"] for f in findings for s in f.chain}
    sources = {}
    for file in sorted(files):
        path = root / file
        if Path(file).is_absolute() or not path.is_file():
            continue  # outside the project (a system header) or gone
        try:
            if path.stat().st_size > MAX_SOURCE_BYTES:
                continue
            sources[file] = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue  # unreadable: the page lists the finding without a source view
    return sources
