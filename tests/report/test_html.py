"""The HTML report's content without a browser: text from the tree is escaped
(a message or a source line cannot inject markup or end the data script), a
finding whose file is not embedded gets no source link, the fixed ones none
either, and the two trend panels each have their own scale."""

from __future__ import annotations

from pathlib import Path

from coroproj.history.html import render_html
from coroproj.history.report import read_sources
from tests.report.synthetic import finding, synthetic_report


def test_text_from_the_tree_is_escaped() -> None:
    report = synthetic_report(6, 2, 2, lines_per_function=8)
    hostile = "</script><script>alert(1)</script>"
    report.run.findings[0].message = hostile
    report.sources["block/unit000.c"] += f"/* {hostile} </pre> */\n"
    html = render_html(report)
    assert hostile not in html and "</pre> */" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the table and the <pre>
    assert "\\u003c/script>\\u003cscript>alert(1)\\u003c/script>" in html  # the JSON for the source view
    assert html.count("<script") == 2  # the data and the page's own script, nothing else


def test_links_only_to_embedded_sources_and_never_for_fixed_findings() -> None:
    report = synthetic_report(6, 2, 2, lines_per_function=8)
    report.run.findings.append(finding("missing", "warning", "/usr/include/stdio.h", 3, "printf"))
    html = render_html(report)
    entries = report.entries()
    outside = next(k for k, e in enumerate(entries) if e.finding.file == "/usr/include/stdio.h")
    assert f'href="#f={outside}"' not in html and "/usr/include/stdio.h:3" in html
    fixed = [k for k, e in enumerate(entries) if e.status == "fixed"]
    assert fixed and all(f'href="#f={k}"' not in html for k in fixed)
    assert html.count("(in the baseline)") >= len(fixed)


def test_trend_panels_have_their_own_scales() -> None:
    report = synthetic_report(8, 4, 3, lines_per_function=8)
    html = render_html(report)
    annotations = html[html.index('<svg id="trend-annotations"'):html.index('<svg id="trend-findings"')]
    findings = html[html.index('<svg id="trend-findings"'):]
    peak_annotations = max(r.statistics.total["coroutine_h"] for r in report.history)
    peak_findings = max(r.statistics.total["findings"] for r in report.history)
    assert f">{peak_annotations}</text>" in annotations and f">{peak_findings}</text>" in findings
    assert f">{peak_annotations}</text>" not in findings[:findings.index("</svg>")]
    assert ">2026-11-01</text>" in annotations and ">2026-11-03</text>" in findings


def test_sources_of_findings_and_their_steps_inside_the_tree(tmp_path: Path) -> None:
    (tmp_path / "block").mkdir()
    (tmp_path / "block/a.c").write_text("int a;\n")
    (tmp_path / "block/b.c").write_text("int b;\n")
    chain = [{"caller": "a", "callee": "b", "file": "block/b.c", "line": 1, "column": 1, "why": ""}]
    findings = [finding("missing", "warning", "block/a.c", 1, "a", chain),
                finding("missing", "warning", "/usr/include/stdio.h", 1, "printf"),
                finding("missing", "warning", "gone.c", 1, "gone")]
    assert read_sources(tmp_path, findings) == {"block/a.c": "int a;\n", "block/b.c": "int b;\n"}
