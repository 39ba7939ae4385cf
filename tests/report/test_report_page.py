"""The HTML report in headless Chromium (Selenium): its sort headers, filters and
source views work, every source link opens an existing line, and the page logs
no console error.  A synthetic report of 30 findings over 6 files, 4 nights."""

from __future__ import annotations

from typing import Any

import pytest

from coroproj.history.html import render_html
from tests.report.browser import browser_paths, chromium, console_errors
from tests.report.synthetic import synthetic_report

pytest.importorskip("selenium", reason="selenium (the test extra) drives Chromium")
if browser_paths() is None:
    pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)",
                allow_module_level=True)

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

STATUS, CHECK, FILE, FUNCTION = 0, 2, 4, 5


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("page")
    report = synthetic_report(30, 6, 4, lines_per_function=12)
    html = directory / "report.html"
    html.write_text(render_html(report))
    with chromium(directory / "profile") as driver:
        driver.get(html.as_uri())
        yield driver, report


def visible_column(driver: Any, column: int) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#findings tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.cells[arguments[0]].textContent.trim())", column)


def header(driver: Any, name: str) -> Any:
    return driver.find_element(By.XPATH, f"//table[@id='findings']//th[@class='key' and text()='{name}']")


def test_every_finding_is_listed_new_first(page: Any) -> None:
    driver, report = page
    statuses = visible_column(driver, STATUS)
    entries = report.entries()
    assert len(statuses) == len(entries) == 30 + len(report.comparison.fixed)
    assert statuses[0] == "new" and statuses[-1] == "fixed"
    assert {"new", "persisting", "fixed"} <= set(statuses)


def test_headers_sort_up_then_down(page: Any) -> None:
    driver, _report = page
    header(driver, "function").click()
    functions = visible_column(driver, FUNCTION)
    assert functions == sorted(functions, key=str.lower)
    header(driver, "function").click()
    assert visible_column(driver, FUNCTION) == sorted(functions, key=str.lower, reverse=True)
    # file:line sorts by file, then by line as a number (9 before 10).
    header(driver, "file").click()
    places = [(p.split(":")[0], int(p.split(":")[1].split()[0])) for p in visible_column(driver, FILE)]
    assert places == sorted(places)


def test_filters_by_status_check_and_text(page: Any) -> None:
    driver, report = page
    status = Select(driver.find_element(By.CSS_SELECTOR, "#findings select[aria-label=status]"))
    status.select_by_value("new")
    assert set(visible_column(driver, STATUS)) == {"new"}
    assert len(visible_column(driver, STATUS)) == len(report.comparison.new)
    assert driver.find_element(By.ID, "shown").text == str(len(report.comparison.new))
    status.select_by_value("")
    check = Select(driver.find_element(By.CSS_SELECTOR, "#findings select[aria-label=check]"))
    check.select_by_value("missing")
    assert set(visible_column(driver, CHECK)) == {"missing"}
    box = driver.find_element(By.CSS_SELECTOR, "#findings input[aria-label=file]")
    box.send_keys("hw/")
    files = visible_column(driver, FILE)
    assert files and all(f.startswith("hw/") for f in files)
    assert set(visible_column(driver, CHECK)) == {"missing"}
    box.clear()
    box.send_keys(" ")  # clear() fires no input event; a blank filter matches everything
    check.select_by_value("")
    assert len(visible_column(driver, STATUS)) == len(report.entries())


def test_every_source_link_opens_an_existing_line(page: Any) -> None:
    driver, _report = page
    # Links of the page, then those of each finding's source view (its chain steps).
    links = driver.execute_script(
        "return Array.from(document.querySelectorAll('#report a')).map(a => a.hash)")
    assert any(h.startswith("#src=") for h in links) and any(h.startswith("#f=") for h in links)
    seen, pending = set(), list(links)
    while pending:
        link = pending.pop()
        if link in seen:
            continue
        seen.add(link)
        opened = driver.execute_script(
            "history.replaceState(null, '', arguments[0]); return window.coroprojRoute()", link)
        assert opened, f"{link} names no line of an embedded file"
        pending += [h for h in driver.execute_script(
            "return Array.from(document.querySelectorAll('#source a')).map(a => a.hash)")
            if h.startswith(("#f=", "#src="))]  # not the way back to the table
    assert any("&s=" in h for h in seen)  # chain steps were followed
    driver.execute_script("history.replaceState(null, '', '#'); window.coroprojRoute()")


def test_source_view_marks_the_line_and_numbers_the_steps(page: Any) -> None:
    driver, report = page
    entries = report.entries()
    k = next(i for i, e in enumerate(entries) if e.finding.chain and e.status != "fixed")
    finding = entries[k].finding
    driver.execute_script(f"location.hash = 'f={k}'")
    view = driver.find_element(By.ID, "source")
    assert view.is_displayed() and not driver.find_element(By.ID, "findings").is_displayed()
    marked = view.find_element(By.CSS_SELECTOR, "tr.hl")
    assert marked.find_element(By.CSS_SELECTOR, "td.ln").text == str(finding.line)
    assert finding.message in marked.text  # the message under the line, escaped: "<here>" shows as text
    steps = view.find_elements(By.CSS_SELECTOR, "ol.chain li")
    assert [s.find_element(By.CSS_SELECTOR, ".step").text for s in steps] == ["1", "2"]
    assert f"{finding.chain[1]['file']}:{finding.chain[1]['line']}" in steps[1].text
    steps[1].find_element(By.TAG_NAME, "a").click()
    # The page routes on the hash change, an event that comes after the click:
    # wait for the view it draws (the one drawn before goes stale meanwhile).
    redrawing = (StaleElementReferenceException, NoSuchElementException)
    WebDriverWait(driver, 10, ignored_exceptions=redrawing).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#source tr.hl td.ln").text == str(finding.chain[1]["line"])
    )
    view = driver.find_element(By.ID, "source")
    marked = view.find_element(By.CSS_SELECTOR, "tr.hl")
    assert "2" in [b.text for b in marked.find_elements(By.CSS_SELECTOR, ".step")]
    assert "<generated> & not compiled" in view.find_element(By.ID, "L" + driver.execute_script(
        "return String(JSON.parse(document.getElementById('report-data').textContent)"
        ".files.indexOf(arguments[0]))", finding.chain[1]["file"]) + "-1").text
    driver.back()
    driver.back()
    assert driver.find_element(By.ID, "findings").is_displayed()


def test_fixed_findings_have_no_source_link(page: Any) -> None:
    driver, _report = page
    fixed_links = driver.execute_script(
        "return Array.from(document.querySelectorAll('#findings tr.s-fixed a')).length")
    assert fixed_links == 0


def test_no_console_errors(page: Any) -> None:
    driver, _report = page
    assert console_errors(driver) == []
