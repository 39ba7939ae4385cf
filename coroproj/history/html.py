"""The report as one self-contained HTML page.

No script, no external style sheet, font or image: tables, an inline SVG
trend chart of the counts over the stored history, and for each new
finding the call chain that explains it.  It can be published as a CI
artefact or served from anywhere.
"""

from __future__ import annotations

from html import escape

from coroproj.history.markdown import headline
from coroproj.history.report import TREND_SERIES, Report
from coroproj.history.statistics import COUNTERS, TOTAL
from coroproj.history.store import FindingRecord

_COLOURS = ("#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e")
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; }
.bad { color: #b00020; } .good { color: #1b5e20; }
ol.chain { margin: 0.2em 0 0.8em 0; font-family: monospace; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def _table(table_id: str, header: list[str], rows: list[tuple[list[object], str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for cells, css in rows:
        tds = "".join(
            f'<td class="n">{c}</td>' if isinstance(c, int) else f"<td>{escape(str(c))}</td>" for c in cells
        )
        body.append(f'<tr class="{css}">{tds}</tr>' if css else f"<tr>{tds}</tr>")
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def trend_svg(points: list[tuple[str, dict[str, int]]], width: int = 720, height: int = 260) -> str:
    """A line per counter of ``TREND_SERIES`` over the runs, x = run, y = count."""
    left, right, top, bottom = 48, 170, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1, *(p[1].get(s, 0) for p in points for s in TREND_SERIES)])

    def x(index: int) -> float:
        return left + (plot_w * index / (len(points) - 1) if len(points) > 1 else plot_w / 2)

    def y(value: int) -> float:
        return top + plot_h - plot_h * value / peak

    parts = [
        f'<svg id="trend" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="counts over the stored runs">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 6}" y="{y(peak) + 4:.1f}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{left - 6}" y="{y(0) + 4:.1f}" text-anchor="end" font-size="11">0</text>',
    ]
    step = max(1, len(points) // 12)  # at most a dozen run labels on the axis
    for index, (label, _totals) in enumerate(points):
        if index % step == 0 or index == len(points) - 1:
            parts.append(f'<text x="{x(index):.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                         f'font-size="11">{escape(label)}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" '
                 'font-size="11">run</text>')
    for series, colour in zip(TREND_SERIES, _COLOURS, strict=True):
        coordinates = [(x(i), y(totals.get(series, 0))) for i, (_l, totals) in enumerate(points)]
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in coordinates)
        parts.append(f'<polyline class="series" data-series="{series}" fill="none" stroke="{colour}" '
                     f'stroke-width="2" points="{path}"/>')
        for (a, b), (label, totals) in zip(coordinates, points, strict=True):
            parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}">'
                         f"<title>run {escape(label)}: {escape(COUNTERS[series])} = "
                         f"{totals.get(series, 0)}</title></circle>")
    for index, (series, colour) in enumerate(zip(TREND_SERIES, _COLOURS, strict=True)):
        legend_y = top + 14 + 18 * index
        parts.append(f'<rect x="{left + plot_w + 14}" y="{legend_y - 9}" width="12" height="4" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{left + plot_w + 32}" y="{legend_y}" font-size="12">'
                     f"{escape(COUNTERS[series])}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def _finding(finding: FindingRecord, *, chain: bool) -> str:
    text = (f"<li><code>{escape(finding.file)}:{finding.line}</code> {escape(finding.severity)} "
            f"[{escape(finding.check)}] {escape(finding.message)}")
    if chain and finding.chain:
        steps = "".join(
            f"<li>{escape(s['caller'])} → {escape(s['callee'])} at {escape(s['file'])}:{s['line']}"
            + (f" — {escape(s['why'])}" if s.get("why") else "") + "</li>"
            for s in finding.chain
        )
        text += f'<ol class="chain">{steps}</ol>'
    return text + "</li>"


def render_html(report: Report) -> str:
    run = report.run
    stats = run.statistics
    title = "coroproj report" + (f" — {run.git_commit[:10]}" if run.git_commit else "")
    comparison = report.comparison
    state = "bad" if report.exit_status else "good"
    body = [f"<h1>{escape(title)}</h1>",
            f"<p>{escape(run.created[:19].replace('T', ' '))} UTC"
            + (f", branch {escape(run.git_branch)}" if run.git_branch else "")
            + (f". Baseline: {escape(comparison.baseline)}" if comparison else "") + ".</p>",
            f'<p class="{state}" id="verdict">{escape(headline(report).replace("**", ""))}</p>',
            "<h2>Annotations and findings</h2>"]
    directories = [d for d in stats.rows if d != TOTAL]
    rows: list[tuple[list[object], str]] = [
        ([d, *(stats.rows[d][k] for k in COUNTERS)], "") for d in directories
    ]
    rows.append(([TOTAL, *(stats.total[k] for k in COUNTERS)], "total"))
    body.append(_table("statistics", ["directory", *COUNTERS.values()], rows))
    if stats.checks:
        columns = [d for d in stats.checks if d != TOTAL] + [TOTAL]
        check_ids = sorted({c for row in stats.checks.values() for c in row})
        body.append("<h2>Findings per check</h2>")
        check_rows: list[tuple[list[object], str]] = [
            ([c, *(stats.checks.get(d, {}).get(c, 0) for d in columns)], "") for c in check_ids
        ]
        body.append(_table("checks", ["check", *columns], check_rows))
    body.append(f"<h2>Trend over {len(report.history)} run(s)</h2>")
    body.append(trend_svg(report.trend()))
    if comparison is not None:
        if comparison.changes:
            body.append("<h2>Changes since the baseline</h2>")
            change_rows: list[tuple[list[object], str]] = [
                ([COUNTERS[k], b, n, f"{n - b:+d}"], "") for k, (b, n) in comparison.changes.items()
            ]
            body.append(_table("changes", ["counter", "before", "now", "change"], change_rows))
        body.append(f"<h2>New findings ({len(comparison.new)})</h2>")
        body.append('<ul id="new">' + "".join(_finding(f, chain=True) for f in comparison.new) + "</ul>")
        body.append(f"<h2>Fixed findings ({len(comparison.fixed)})</h2>")
        body.append('<ul id="fixed">' + "".join(_finding(f, chain=False) for f in comparison.fixed) + "</ul>")
    elif report.remark:
        body.append(f"<p>{escape(report.remark)}</p>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(body) + "\n</body></html>\n"
    )
