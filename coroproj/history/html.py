"""The report as one self-contained HTML page.

Nothing is fetched from anywhere: the style, a small script and the data
are inline, so the page can be published as a CI artefact or opened from
disk.  Every finding of the run is listed (new, persisting with the run
its current streak began in, suppressed, fixed) in a table the script sorts and
filters; beside it a table per directory and one per file, and two trend
panels (annotations, findings) over the stored runs, by date.

Source views: the text of each file a finding or a witness-chain step is
in is embedded once, HTML-escaped, in a hidden ``<pre>``.  The script
turns a file into numbered lines only when it is opened (``#f=K`` opens
finding K, ``#f=K&s=S`` step S of its chain, ``#src=I&l=L`` line L of
file I), so a page of hundreds of findings over a large tree loads fast.
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape

from coroproj.history.markdown import headline
from coroproj.history.report import ANNOTATION_SERIES, FINDING_SERIES, Entry, Report
from coroproj.history.statistics import COUNTERS, TOTAL, top_directory
from coroproj.history.store import Run

_COLOURS = ("#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e")
_STATUSES = ("new", "persisting", "suppressed", "fixed")
_SEVERITIES = ("error", "warning", "note")

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em 2em; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; vertical-align: top; }
th { background: #f2f2f2; }
table.sortable th.key { cursor: pointer; user-select: none; }
th.key[aria-sort=ascending]::after { content: " \\25B2"; }
th.key[aria-sort=descending]::after { content: " \\25BC"; }
thead tr.filters th { background: #fafafa; font-weight: normal; }
thead tr.filters input, thead tr.filters select { width: 100%; box-sizing: border-box; font-size: 0.85em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; }
.bad { color: #b00020; } .good { color: #1b5e20; }
#findings td:nth-child(-n+4) { white-space: nowrap; }
.status { font-size: 0.85em; padding: 0 0.3em; border-radius: 3px; }
.s-new { background: #fde0e0; } .s-persisting { background: #fff3cd; }
.s-fixed { background: #dff0d8; } .s-suppressed { background: #eee; }
.trends { display: flex; flex-wrap: wrap; gap: 1em; }
code, pre { font-family: ui-monospace, monospace; }
#source header { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ccc;
                 padding: 0.3em 0; }
#source h2 { font-size: 1.1em; margin: 0.3em 0; }
table.code { border: none; font-family: ui-monospace, monospace; font-size: 0.85em; margin: 0; }
table.code td { border: none; padding: 0 0.5em; white-space: pre; }
table.code td.ln { color: #888; text-align: right; user-select: none; }
table.code tr.finding td { background: #fde0e0; }
table.code tr.hl td { background: #ffe98a; }
.step { display: inline-block; background: #1f77b4; color: #fff; border-radius: 0.8em; padding: 0 0.45em;
        margin-right: 0.4em; font-family: system-ui, sans-serif; }
.bubble { font-family: system-ui, sans-serif; white-space: normal; color: #333; font-size: 0.95em; }
ol.chain li { margin: 0.15em 0; }
"""

_SCRIPT = r"""
"use strict";
const data = JSON.parse(document.getElementById("report-data").textContent);

// Sorting: a click on a header cell sorts its table's body by that column;
// numbers (data-key or cell text) compare as numbers, the rest as text.
function cellKey(row, column) {
  const cell = row.cells[column];
  const key = cell.dataset.key !== undefined ? cell.dataset.key : cell.textContent.trim();
  return key !== "" && !isNaN(key) ? Number(key) : key.toLowerCase();
}
function sortBy(header) {
  const table = header.closest("table"), body = table.tBodies[0];
  const column = header.cellIndex, ascending = header.getAttribute("aria-sort") !== "ascending";
  table.querySelectorAll("th.key").forEach(th => th.removeAttribute("aria-sort"));
  header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const rows = Array.from(body.rows).filter(r => !r.classList.contains("total"));
  rows.sort((a, b) => {
    const x = cellKey(a, column), y = cellKey(b, column);
    const order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
    return ascending ? order : -order;
  });
  const total = body.querySelector("tr.total");
  rows.forEach(r => body.appendChild(r));
  if (total) body.appendChild(total);
}
document.querySelectorAll("table.sortable th.key")
  .forEach(th => th.addEventListener("click", () => sortBy(th)));

// Filtering: a select matches its column exactly, a text box as a substring.
function filterFindings() {
  const table = document.getElementById("findings");
  const filters = Array.from(table.querySelectorAll("tr.filters [data-column]"));
  let shown = 0;
  for (const row of table.tBodies[0].rows) {
    const visible = filters.every(f => {
      const value = f.value.trim().toLowerCase(), cell = row.cells[Number(f.dataset.column)];
      if (value === "") return true;
      const text = (cell.dataset.value || cell.textContent).trim().toLowerCase();
      return f.tagName === "SELECT" ? text === value : text.includes(value);
    });
    row.hidden = !visible;
    if (visible) shown++;
  }
  document.getElementById("shown").textContent = String(shown);
}
document.querySelectorAll("#findings tr.filters [data-column]").forEach(f => {
  f.addEventListener("input", filterFindings);
  f.addEventListener("change", filterFindings);
});

// Source views.
const rendered = new Map();
function escapeText(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
function codeOf(file) {
  if (!rendered.has(file)) {
    const lines = document.getElementById("file-" + file).textContent.split("\n");
    if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
    const table = document.createElement("table");
    table.className = "code";
    table.innerHTML = "<tbody>" + lines.map((text, i) =>
      `<tr id="L${file}-${i + 1}"><td class="ln">${i + 1}</td><td>${escapeText(text)}</td></tr>`).join("") +
      "</tbody>";
    rendered.set(file, table);
  }
  return rendered.get(file);
}
function addBubble(row, html) {
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  bubble.innerHTML = html;
  row.cells[1].appendChild(bubble);
}
function stepHtml(k, s, step) {
  const [file, line, caller, callee, why] = step;
  const where = `${escapeText(data.files[file])}:${line}`;
  return `<span class="step">${s + 1}</span>${escapeText(caller)} calls ${escapeText(callee)}` +
    (why ? ` — ${escapeText(why)}` : "") + ` <a href="#f=${k}&amp;s=${s}">${where}</a>`;
}
// Show line `line` of file `file`, with finding `k`'s line and chain steps marked.
function showSource(file, line, k) {
  const view = document.getElementById("source"), code = codeOf(file);
  code.querySelectorAll(".bubble").forEach(b => b.remove());
  code.querySelectorAll("tr.hl, tr.finding").forEach(r => r.classList.remove("hl", "finding"));
  let title = escapeText(data.files[file]);
  let chain = "";
  if (k !== null) {
    const f = data.findings[k];
    title = `${escapeText(f.severity)} [${escapeText(f.check)}] ${escapeText(f.message)} ` +
      `<a href="#f=${k}">${escapeText(data.files[f.file])}:${f.line}</a>`;
    if (f.chain.length) {
      chain = "<ol class=\"chain\">" + f.chain.map((step, s) => `<li>${stepHtml(k, s, step)}</li>`).join("") +
        "</ol>";
    }
    if (f.file === file) {
      const row = code.querySelector(`#L${file}-${f.line}`);
      if (row) { row.classList.add("finding"); addBubble(row, escapeText(f.message)); }
    }
    f.chain.forEach((step, s) => {
      const row = step[0] === file ? code.querySelector(`#L${file}-${step[1]}`) : null;
      if (row) addBubble(row, stepHtml(k, s, step));
    });
  }
  view.querySelector("h2").innerHTML = title;
  view.querySelector(".chain-steps").innerHTML = chain;
  const holder = view.querySelector(".code-holder");
  holder.replaceChildren(code);
  view.hidden = false;
  document.getElementById("report").hidden = true;
  const target = code.querySelector(`#L${file}-${line}`);
  if (!target) return false;
  target.classList.add("hl");
  target.scrollIntoView({block: "center"});
  return true;
}
// Open what location.hash names; true when it names a line that exists.
function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  const k = params.has("f") ? Number(params.get("f")) : null;
  if (k !== null && data.findings[k]) {
    const f = data.findings[k], s = params.has("s") ? Number(params.get("s")) : null;
    const place = s !== null && f.chain[s] ? f.chain[s] : [f.file, f.line];
    return showSource(place[0], place[1], k);
  }
  if (params.has("src") && data.files[Number(params.get("src"))] !== undefined) {
    return showSource(Number(params.get("src")), Number(params.get("l") || 1), null);
  }
  document.getElementById("source").hidden = true;
  document.getElementById("report").hidden = false;
  const anchor = location.hash.length > 1 ? document.getElementById(location.hash.slice(1)) : null;
  if (anchor) anchor.scrollIntoView();
  return false;
}
window.addEventListener("hashchange", route);
window.coroprojRoute = route;  // for the browser tests: open a link's target synchronously
route();
performance.mark("report-ready");
"""


def _cells(cells: list[object]) -> str:
    return "".join(
        f'<td class="n">{c}</td>' if isinstance(c, int) else f"<td>{escape(str(c))}</td>" for c in cells
    )


def _table(table_id: str, header: list[str], rows: list[tuple[str, str]], *, sortable: bool = True,
           filters: str = "") -> str:
    """A table whose ``rows`` are (cells HTML, row class); every header cell sorts it."""
    head = "".join(f'<th class="key">{escape(h)}</th>' for h in header)
    body = "".join(f'<tr class="{css}">{cells}</tr>' if css else f"<tr>{cells}</tr>" for cells, css in rows)
    css = ' class="sortable"' if sortable else ""
    return (f'<table id="{table_id}"{css}><thead><tr>{head}</tr>{filters}</thead>'
            f"<tbody>{body}</tbody></table>")


def trend_svg(svg_id: str, title: str, history: list[Run], series: tuple[str, ...],
              width: int = 560, height: int = 240) -> str:
    """One panel of the trend: a line per counter of ``series`` over the runs, x = run date."""
    left, right, top, bottom = 44, 150, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1, *(run.statistics.total.get(s, 0) for run in history for s in series)])

    def x(index: int) -> float:
        return left + (plot_w * index / (len(history) - 1) if len(history) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / peak

    parts = [
        f'<svg id="{svg_id}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)} over the stored runs">',
        f'<text x="{left}" y="14" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for value in sorted({0, peak // 2, peak}):
        parts.append(f'<line x1="{left}" y1="{y(value):.1f}" x2="{left + plot_w}" y2="{y(value):.1f}" '
                     f'stroke="{"#888" if value == 0 else "#e4e4e4"}"/>')
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{value}</text>')
    step = max(1, len(history) // 6)  # at most half a dozen dates on the axis
    for index, run in enumerate(history):
        if index % step == 0 or index == len(history) - 1:
            parts.append(f'<text x="{x(index):.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                         f'font-size="11">{escape(run.created[:10])}</text>')
    for series_name, colour in zip(series, _COLOURS, strict=False):
        points = [(x(i), y(run.statistics.total.get(series_name, 0))) for i, run in enumerate(history)]
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in points)
        parts.append(f'<polyline class="series" data-series="{series_name}" fill="none" stroke="{colour}" '
                     f'stroke-width="2" points="{path}"/>')
        for (a, b), run in zip(points, history, strict=True):
            label = f"run {run.id if run.id is not None else '(not stored)'}, {run.created[:16]}"
            if run.git_commit:
                label += f", {run.git_commit[:10]}"
            parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}">'
                         f"<title>{escape(label)}: {escape(COUNTERS[series_name])} = "
                         f"{run.statistics.total.get(series_name, 0)}</title></circle>")
    for index, (series_name, colour) in enumerate(zip(series, _COLOURS, strict=False)):
        legend_y = top + 14 + 18 * index
        parts.append(f'<rect x="{left + plot_w + 14}" y="{legend_y - 9}" width="12" height="4" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{left + plot_w + 32}" y="{legend_y}" font-size="12">'
                     f"{escape(COUNTERS[series_name])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _first_seen(entry: Entry) -> tuple[str, str]:
    """(cell text, sort key) of when a finding was first seen."""
    if entry.first_run is None and not entry.first_date:
        return ("in the baseline", "")
    run = f"run {entry.first_run}" if entry.first_run is not None else "this run"
    return (f"{entry.first_date[:10]} ({run})", entry.first_date)


def _findings_table(entries: list[Entry], file_index: dict[str, int]) -> str:
    columns = ["status", "severity", "check", "directory", "file", "function", "message", "first seen"]
    rows = []
    for k, entry in enumerate(entries):
        f = entry.finding
        where = f"{escape(f.file)}:{f.line}"
        sort_key = f"{escape(f.file)}:{f.line:08d}"
        if entry.status != "fixed" and f.file in file_index:
            where = f'<a href="#f={k}">{where}</a>'
        elif entry.status == "fixed":
            where += " (in the baseline)"  # its line is the baseline's: no source view of today's file
        seen, seen_key = _first_seen(entry)
        directory = top_directory(f.file)
        rows.append((
            f'<td data-value="{entry.status}">'
            f'<span class="status s-{entry.status}">{entry.status}</span></td>'
            f"<td>{escape(f.severity)}</td><td>{escape(f.check)}</td><td>{escape(directory)}</td>"
            f'<td data-key="{sort_key}" data-value="{escape(f.file)}">{where}</td>'
            f"<td>{escape(f.function)}</td><td>{escape(f.message)}</td>"
            f'<td data-key="{escape(seen_key)}">{escape(seen)}</td>', f"s-{entry.status}"))

    def choices(column: int, values: list[str]) -> str:
        options = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
        return f'<th><select data-column="{column}" aria-label="{columns[column]}">' \
               f'<option value="">all</option>{options}</select></th>'

    def text_box(column: int) -> str:
        return f'<th><input type="search" data-column="{column}" placeholder="filter" ' \
               f'aria-label="{columns[column]}"></th>'

    statuses = [s for s in _STATUSES if any(e.status == s for e in entries)]
    severities = sorted({e.finding.severity for e in entries}, key=lambda s: (s not in _SEVERITIES, s))
    filters = ('<tr class="filters">' + choices(0, statuses) + choices(1, severities)
               + choices(2, sorted({e.finding.check for e in entries}))
               + choices(3, sorted({top_directory(e.finding.file) for e in entries}))
               + text_box(4) + text_box(5) + text_box(6) + "<th></th></tr>")
    return _table("findings", columns, rows, filters=filters)


def _files_table(entries: list[Entry], file_index: dict[str, int]) -> str:
    counts: dict[str, Counter[str]] = {}
    first_line: dict[str, int] = {}
    for entry in entries:
        counts.setdefault(entry.finding.file, Counter())[entry.status] += 1
        if entry.status != "fixed":
            counts[entry.finding.file][entry.finding.severity] += 1
            first_line[entry.finding.file] = min(first_line.get(entry.finding.file, entry.finding.line),
                                                 entry.finding.line)
    rows = []
    for file in sorted(counts):
        row = counts[file]
        name = escape(file)
        if file in file_index and file in first_line:
            name = f'<a href="#src={file_index[file]}&amp;l={first_line[file]}">{name}</a>'
        rows.append((f'<td data-key="{escape(file)}">{name}</td>'
                     + _cells([top_directory(file), *(row[k] for k in (*_STATUSES, *_SEVERITIES))]), ""))
    return _table("files", ["file", "directory", *_STATUSES, *_SEVERITIES], rows)


def _page_data(entries: list[Entry], files: list[str], file_index: dict[str, int]) -> str:
    """The JSON the script reads: file names and, per listed finding, its place and chain."""
    findings = []
    for entry in entries:
        f = entry.finding
        chain = [[file_index[s["file"]], s["line"], s["caller"], s["callee"], s.get("why", "")]
                 for s in f.chain if s["file"] in file_index]
        findings.append({"file": file_index.get(f.file, -1), "line": f.line, "check": f.check,
                         "severity": f.severity, "message": f.message, "chain": chain})
    text = json.dumps({"files": files, "findings": findings}, separators=(",", ":"))
    # No "<" at all inside the <script> element: neither "</script>" nor "<!--" can
    # end it early or change how the HTML parser reads it.
    return text.replace("<", "\\u003c")


def render_html(report: Report) -> str:
    run = report.run
    stats = run.statistics
    title = "coroproj report" + (f" — {run.git_commit[:10]}" if run.git_commit else "")
    comparison = report.comparison
    state = "bad" if report.exit_status else "good"
    entries = report.entries()
    files = sorted(report.sources)
    file_index = {file: i for i, file in enumerate(files)}
    tally = Counter(e.status for e in entries)
    body = [f"<h1>{escape(title)}</h1>",
            f"<p>{escape(run.created[:19].replace('T', ' '))} UTC"
            + (f", branch {escape(run.git_branch)}" if run.git_branch else "")
            + (f". Baseline: {escape(comparison.baseline)}" if comparison else "") + ".</p>",
            f'<p class="{state}" id="verdict">{escape(headline(report).replace("**", ""))}</p>']
    if report.remark and comparison is None:
        body.append(f"<p>{escape(report.remark)}</p>")
    body.append(f'<h2 id="findings-title">Findings ({", ".join(f"{tally[s]} {s}" for s in _STATUSES)})</h2>')
    body.append(f'<p>Showing <span id="shown">{len(entries)}</span> of {len(entries)}. '
                "Click a header to sort, a file:line to open its source.</p>")
    body.append(_findings_table(entries, file_index))
    body.append("<h2>Findings per file</h2>")
    body.append(_files_table(entries, file_index))
    body.append("<h2>Annotations and findings per directory</h2>")
    directories = [d for d in stats.rows if d != TOTAL]
    rows = [(_cells([d, *(stats.rows[d][k] for k in COUNTERS)]), "") for d in directories]
    rows.append((_cells([TOTAL, *(stats.total[k] for k in COUNTERS)]), "total"))
    body.append(_table("statistics", ["directory", *COUNTERS.values()], rows))
    if stats.checks:
        columns = [d for d in stats.checks if d != TOTAL] + [TOTAL]
        check_ids = sorted({c for row in stats.checks.values() for c in row})
        body.append("<h2>Findings per check</h2>")
        check_rows = [(_cells([c, *(stats.checks.get(d, {}).get(c, 0) for d in columns)]), "")
                      for c in check_ids]
        body.append(_table("checks", ["check", *columns], check_rows))
    if comparison is not None and comparison.changes:
        body.append("<h2>Changes since the baseline</h2>")
        change_rows = [(_cells([COUNTERS[k], b, n, f"{n - b:+d}"]), "")
                       for k, (b, n) in comparison.changes.items()]
        body.append(_table("changes", ["counter", "before", "now", "change"], change_rows))
    body.append(f"<h2>Trend over {len(report.history)} run(s)</h2>")
    body.append('<div class="trends">'
                + trend_svg("trend-annotations", "Annotations", report.history, ANNOTATION_SERIES)
                + trend_svg("trend-findings", "Findings", report.history, FINDING_SERIES) + "</div>")
    sources = "".join(f'<pre id="file-{i}" hidden>{escape(report.sources[file])}</pre>'
                      for i, file in enumerate(files))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        '<main id="report">' + "\n".join(body) + "</main>\n"
        '<section id="source" hidden><header><a href="#findings-title">← all findings</a>'
        '<h2></h2><div class="chain-steps"></div></header><div class="code-holder"></div></section>\n'
        '<script type="application/json" id="report-data">'
        f"{_page_data(entries, files, file_index)}</script>\n"
        f"{sources}\n<script>{_SCRIPT}</script>\n</body></html>\n"
    )
