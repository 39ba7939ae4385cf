"""What ``coroproj report`` renders: the run, its comparison, the stored history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coroproj import __version__
from coroproj.history.compare import Comparison
from coroproj.history.statistics import COUNTERS
from coroproj.history.store import Run

# The counters drawn in the trend chart.
TREND_SERIES = ("coroutine_h", "coroutine_c", "missing", "spurious", "findings")


@dataclass
class Report:
    run: Run
    comparison: Comparison | None
    history: list[Run] = field(default_factory=list)  # oldest first, the current run last
    remark: str | None = None  # e.g. why there is no comparison

    @property
    def exit_status(self) -> int:
        """1 when the run has findings the baseline did not have (a regression), else 0."""
        return 1 if self.comparison is not None and self.comparison.regressions else 0

    def trend(self) -> list[tuple[str, dict[str, int]]]:
        """(label, totals) per run of the history, for the chart."""
        return [(str(run.id) if run.id is not None else "now", run.statistics.total) for run in self.history]

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": {"name": "coroproj", "version": __version__},
            "run": self.run.to_json(),
            "comparison": self.comparison.to_json() if self.comparison else None,
            "remark": self.remark,
            "counters": COUNTERS,
            "history": [
                {"id": run.id, "created": run.created, "git_commit": run.git_commit,
                 "totals": run.statistics.total}
                for run in self.history
            ],
            "exit_status": self.exit_status,
        }
