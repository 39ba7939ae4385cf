"""The report as GitHub-flavoured Markdown (fits a CI job summary)."""

from __future__ import annotations

from coroproj.history.report import Report
from coroproj.history.statistics import COUNTERS, TOTAL
from coroproj.history.store import FindingRecord

# Findings listed per section; the rest are counted.
MAX_LISTED = 20


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return lines


def headline(report: Report) -> str:
    comparison = report.comparison
    if comparison is None:
        return report.remark or "No baseline to compare with."
    regressions = len(comparison.regressions)
    if regressions:
        return f"**{regressions} new finding(s)** since the baseline — a regression."
    return "No new findings since the baseline."


def render_markdown(report: Report) -> str:
    run = report.run
    lines = ["## coroproj report", ""]
    where = [run.created[:19].replace("T", " ") + " UTC"]
    if run.git_commit:
        on_branch = f" on `{run.git_branch}`" if run.git_branch else ""
        where.append(f"commit `{run.git_commit[:10]}`{on_branch}")
    lines.append(", ".join(where) + ".")
    if report.comparison is not None:
        lines.append(f"Baseline: {report.comparison.baseline}.")
    lines += ["", headline(report), "", "### Annotations and findings", ""]
    stats = run.statistics
    directories = [d for d in stats.rows if d != TOTAL]
    rows = [[d, *(stats.rows[d][k] for k in COUNTERS)] for d in directories]
    rows.append([f"**{TOTAL}**", *(f"**{stats.total[k]}**" for k in COUNTERS)])
    lines += _table(["directory", *COUNTERS.values()], rows)
    if stats.checks:
        lines += ["", "### Findings per check", ""]
        columns = [d for d in stats.checks if d != TOTAL] + [TOTAL]
        check_ids = sorted({c for row in stats.checks.values() for c in row})
        lines += _table(["check", *columns],
                        [[c, *(stats.checks.get(d, {}).get(c, 0) for d in columns)] for c in check_ids])
    comparison = report.comparison
    if comparison is not None:
        if comparison.changes:
            lines += ["", "### Changes since the baseline", ""]
            lines += _table(["counter", "before", "now", "change"],
                            [[COUNTERS[k], b, n, f"{n - b:+d}"] for k, (b, n) in comparison.changes.items()])
        persisting = sum(1 for e in report.entries() if e.status == "persisting")
        lines += ["", f"### New findings ({len(comparison.new)})", ""]
        lines += _capped([_finding_item(f) for f in comparison.new])
        lines += ["", f"### Fixed findings ({len(comparison.fixed)})", ""]
        lines += _capped([_finding_item(f, chain=False) for f in comparison.fixed])
        lines += ["", f"{persisting} finding(s) persist from the baseline (listed in the HTML report)."]
    return "\n".join(lines) + "\n"


def _capped(items: list[str]) -> list[str]:
    """At most ``MAX_LISTED`` items: a pull-request comment stays readable after a large change."""
    if not items:
        return ["None."]
    if len(items) <= MAX_LISTED:
        return items
    return [*items[:MAX_LISTED], f"- … and {len(items) - MAX_LISTED} more (see the HTML report)"]


def _finding_item(finding: FindingRecord, *, chain: bool = True) -> str:
    text = f"- `{finding.file}:{finding.line}` {finding.severity} [{finding.check}] {finding.message}"
    if chain and finding.chain:
        steps = " → ".join(
            f"`{s['callee']}` ({s['file']}:{s['line']})" for s in finding.chain
        )
        text += f"\n  - why: `{finding.chain[0]['caller']}` → {steps}"
    return text
