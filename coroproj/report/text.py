"""GCC-style diagnostics, so that editors and CI annotate them.

    path:line:col: warning: message [coroproj-ID]
    path:line:col: note: 'caller' calls 'callee'
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from coroproj.analysis.findings import Finding


def _path(file: str, relative_to: str | None) -> str:
    if relative_to is None:
        return file
    try:
        relative = os.path.relpath(file, relative_to)
    except ValueError:
        return file
    return file if relative.startswith("..") else relative


def _spot(file: str, line: int, column: int, relative_to: str | None) -> str:
    spot = f"{_path(file, relative_to)}:{line}"
    return f"{spot}:{column}" if column else spot


def format_finding(finding: Finding, relative_to: str | None = None) -> str:
    lines = [
        f"{_spot(finding.file, finding.line, finding.column, relative_to)}: "
        f"{finding.severity}: {finding.message} [coroproj-{finding.check}]"
    ]
    if finding.source_line is not None:
        lines.append(f"  {finding.source_line.rstrip()}")
    for step in finding.chain:
        text = f"'{step.caller}' calls '{step.callee}'"
        if step.why:
            text += f", {step.why}"
        lines.append(f"{_spot(step.file, step.line, step.column, relative_to)}: note: {text}")
    for note in finding.notes:
        lines.append(f"{_spot(note.file, note.line, note.column, relative_to)}: note: {note.message}")
    return "\n".join(lines)


def format_findings(findings: Iterable[Finding], relative_to: str | None = None) -> str:
    return "\n".join(
        format_finding(f, relative_to) for f in findings if not f.suppressed
    )
