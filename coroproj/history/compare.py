"""A run against its baseline: new findings, fixed findings, changed counts.

Findings are matched by fingerprint (check id + function + file), so a
finding whose lines moved is neither new nor fixed.  Suppressed findings
take no part: silencing a finding is not fixing it, and a suppressed one is
not a regression.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from coroproj.history.statistics import COUNTERS
from coroproj.history.store import FindingRecord, Run


@dataclass
class Comparison:
    baseline: str  # what the baseline is, for people: "run 3 (2026-11-27, abc1234)"
    new: list[FindingRecord] = field(default_factory=list)
    fixed: list[FindingRecord] = field(default_factory=list)
    changes: dict[str, tuple[int, int]] = field(default_factory=dict)  # counter -> (before, now)

    @property
    def regressions(self) -> list[FindingRecord]:
        """New findings that make the run fail (warnings and errors)."""
        return [f for f in self.new if f.counts]

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "new": [f.to_json() for f in self.new],
            "fixed": [f.to_json() for f in self.fixed],
            "changes": {k: {"before": b, "now": n} for k, (b, n) in self.changes.items()},
            "regressions": len(self.regressions),
        }


def compare(current: Run, baseline: Run, description: str) -> Comparison:
    now = [f for f in current.findings if not f.suppressed]
    before = [f for f in baseline.findings if not f.suppressed]
    comparison = Comparison(description)
    comparison.new = _beyond(now, Counter(f.fingerprint for f in before))
    comparison.fixed = _beyond(before, Counter(f.fingerprint for f in now))
    total_now, total_before = current.statistics.total, baseline.statistics.total
    if not baseline.statistics.rows:  # a check JSON file: findings only, no counts to compare
        return comparison
    for counter in COUNTERS:
        old, new = total_before.get(counter, 0), total_now.get(counter, 0)
        if old != new:
            comparison.changes[counter] = (old, new)
    return comparison


def matching_order(finding: FindingRecord) -> tuple[str, int, int, str]:
    """The order copies of a fingerprint are matched in: the first ones match, the rest are extra."""
    return (finding.file, finding.line, finding.column, finding.check)


def _beyond(findings: list[FindingRecord], other: Counter[str]) -> list[FindingRecord]:
    """Findings of ``findings`` in excess of the fingerprints counted in ``other``."""
    remaining = Counter(other)
    extra = []
    for finding in sorted(findings, key=matching_order):
        if remaining[finding.fingerprint] > 0:
            remaining[finding.fingerprint] -= 1
        else:
            extra.append(finding)
    return extra


def describe(run: Run) -> str:
    parts = [run.created[:19].replace("T", " ")]
    if run.git_commit:
        parts.append(run.git_commit[:10] + (f" on {run.git_branch}" if run.git_branch else ""))
    return f"run {run.id} ({', '.join(parts)})"
