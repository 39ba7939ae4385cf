"""The Markdown report (a CI job summary, a pull-request comment) stays compact:
at most MAX_LISTED new and fixed findings each, the rest and the persisting ones counted."""

from __future__ import annotations

from coroproj.history.markdown import MAX_LISTED, render_markdown
from tests.report.synthetic import synthetic_report


def test_long_lists_are_cut_and_counted() -> None:
    report = synthetic_report(400, 100, 5, lines_per_function=8)
    assert report.comparison is not None
    new, fixed = len(report.comparison.new), len(report.comparison.fixed)
    assert new > MAX_LISTED and fixed > MAX_LISTED
    text = render_markdown(report)
    assert f"### New findings ({new})" in text
    assert f"- … and {new - MAX_LISTED} more (see the HTML report)" in text
    assert f"- … and {fixed - MAX_LISTED} more (see the HTML report)" in text
    persisting = sum(1 for e in report.entries() if e.status == "persisting")
    assert f"{persisting} finding(s) persist from the baseline" in text
    assert text.count("\n- `") == 2 * MAX_LISTED


def test_short_lists_are_complete() -> None:
    report = synthetic_report(20, 5, 3, lines_per_function=8)
    assert report.comparison is not None
    text = render_markdown(report)
    assert "more (see the HTML report)" not in text
    assert text.count("\n- `") == len(report.comparison.new) + len(report.comparison.fixed)
