"""What the analysis reports: findings with their explanation.

A ``Finding`` is independent of any output format; ``coroproj.report``
renders it as GCC-style text, JSON, SARIF or a dot graph.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "note"]

# Every check id of DESIGN.md, with its default severity.
CHECKS: dict[str, Severity] = {
    "missing": "warning",
    "spurious": "note",
    "conflict": "error",
    "wrong-blocking": "warning",
    "forbidden-call": "error",
    "suspicious-call": "warning",
    "wrong-context": "error",
    "pointer-mismatch": "error",
    "proto-mismatch": "warning",
    "hybrid": "warning",
    "parse-error": "error",
    "unused-suppression": "note",
    "misplaced-annotation": "warning",
}

# Checks reported at most once per function and file.  Their messages carry a
# reason (the first call of the witness chain, a definition's line) that can
# change while the finding stays the same, so the fingerprint leaves it out.
ONE_PER_FUNCTION = frozenset(
    {"missing", "spurious", "conflict", "wrong-blocking", "hybrid", "proto-mismatch"}
)
_LINE_NUMBERS = re.compile(r":\d+(?::\d+)?\b")


@dataclass(frozen=True)
class Step:
    """One step of a witness chain: ``caller`` calls ``callee`` at file:line:column."""

    caller: str
    callee: str
    file: str
    line: int
    column: int = 0
    why: str = ""  # e.g. "annotated coroutine_fn, not defined here" for the last step


@dataclass(frozen=True)
class Note:
    file: str
    line: int
    column: int
    message: str


@dataclass
class Finding:
    check: str
    severity: Severity
    file: str
    line: int
    column: int
    function: str  # the function (or variable/symbol) concerned
    message: str
    chain: list[Step] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    suppressed: bool = False
    suppression_reason: str | None = None
    source_line: str | None = None  # the offending line, shown under the message like GCC

    @property
    def fingerprint(self) -> str:
        """Stable across line shifts: check id + function + file (not line numbers).

        Checks that can fire several times in one function (a call, a pointer
        event) add their message without line numbers, to keep those apart.
        """
        detail = "" if self.check in ONE_PER_FUNCTION else _LINE_NUMBERS.sub("", self.message)
        text = f"{self.check}\0{self.function}\0{self.file}\0{detail}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.column, self.check, self.function)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["fingerprint"] = self.fingerprint
        return data
