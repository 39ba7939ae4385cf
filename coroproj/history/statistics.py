"""Annotation statistics of one run, in the shape of the paper's Table 1 and more.

Per top-level directory of the project and in total: ``coroutine_fn``
annotations written in headers and in .c files (each declaration that
carries one: a definition, a prototype), blocking and mixed annotations,
hybrid functions, functions inferred coroutine but not annotated
(``missing``), spurious annotations, and the findings per check id.

Only files inside the project root count; paths are stored relative to it,
so that runs of different checkouts (a CI runner, a temporary worktree)
compare.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coroproj.analysis.findings import Finding
from coroproj.analysis.inference import BLOCKING, COROUTINE, MIXED
from coroproj.analysis.pipeline import Analysis

TOTAL = "(total)"
# The counters, in the order tables show them, with their column titles.
COUNTERS: dict[str, str] = {
    "coroutine_h": "coroutine_fn in .h",
    "coroutine_c": "coroutine_fn in .c",
    "blocking": "blocking",
    "mixed": "mixed",
    "functions": "functions defined",
    "inferred_coroutine": "inferred coroutine",
    "hybrid": "hybrid",
    "missing": "inferred but missing",
    "spurious": "spurious",
    "findings": "findings",
}


@dataclass
class Statistics:
    """Counters per top-level directory (``TOTAL`` for the whole project) and findings per check."""

    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    checks: dict[str, dict[str, int]] = field(default_factory=dict)  # directory -> check -> count

    @property
    def total(self) -> dict[str, int]:
        return self.rows.get(TOTAL, dict.fromkeys(COUNTERS, 0))

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "checks": self.checks}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Statistics:
        return cls(
            rows={d: {k: int(v) for k, v in row.items()} for d, row in data.get("rows", {}).items()},
            checks={d: {k: int(v) for k, v in row.items()} for d, row in data.get("checks", {}).items()},
        )


def relative_file(file: str, root: Path) -> str:
    """``file`` relative to ``root`` (POSIX separators), or unchanged when outside it."""
    path = Path(os.path.abspath(file))
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return file


def relative_findings(findings: list[Finding], root: Path) -> list[Finding]:
    """Copies of ``findings`` with every path relative to ``root``: fingerprints then compare."""
    root = Path(os.path.abspath(root))
    relative = []
    for finding in findings:
        chain = [dataclasses.replace(s, file=relative_file(s.file, root)) for s in finding.chain]
        notes = [dataclasses.replace(n, file=relative_file(n.file, root)) for n in finding.notes]
        relative.append(
            dataclasses.replace(finding, file=relative_file(finding.file, root), chain=chain, notes=notes)
        )
    return relative


def top_directory(relative: str) -> str:
    """The top-level directory a relative path is in (``.`` for files at the root)."""
    parts = relative.split("/")
    return parts[0] if len(parts) > 1 else "."


def compute(analysis: Analysis, root: Path) -> Statistics:
    root = Path(os.path.abspath(root))
    rows: dict[str, Counter[str]] = {}
    checks: dict[str, Counter[str]] = {}

    def count(file: str, counter: str, amount: int = 1) -> None:
        relative = relative_file(file, root)
        if relative == file and Path(file).is_absolute():
            return  # outside the project: a system or third-party header
        for directory in (top_directory(relative), TOTAL):
            rows.setdefault(directory, Counter())[counter] += amount

    program = analysis.program
    seen: set[tuple[str, int, int]] = set()
    for function in program.functions.values():
        if function.indirect:
            continue
        for declaration in (*function.definitions, *function.prototypes):
            place = (declaration.file, declaration.line, declaration.column)
            if place in seen:
                continue
            seen.add(place)
            if COROUTINE in declaration.kinds:
                count(declaration.file, "coroutine_h" if declaration.file.endswith(".h") else "coroutine_c")
            if BLOCKING in declaration.kinds:
                count(declaration.file, "blocking")
            if MIXED in declaration.kinds:
                count(declaration.file, "mixed")
        definition = function.definition
        if definition is not None:
            count(definition.file, "functions")
            if program.should_be_coroutine(function.symbol):
                count(definition.file, "inferred_coroutine")
            if function.hybrid:
                count(definition.file, "hybrid")
    for finding in analysis.findings:
        if finding.suppressed:
            continue
        relative = relative_file(finding.file, root)
        directory = top_directory(relative) if relative != finding.file else "(outside)"
        for key in (directory, TOTAL):
            checks.setdefault(key, Counter())[finding.check] += 1
        if finding.check in ("missing", "spurious"):
            count(finding.file, finding.check)
        count(finding.file, "findings")
    if TOTAL not in rows:
        rows[TOTAL] = Counter()
    return Statistics(
        rows={d: {k: row.get(k, 0) for k in COUNTERS} for d, row in sorted(rows.items())},
        checks={d: dict(sorted(row.items())) for d, row in sorted(checks.items())},
    )
