"""What the HTML report costs: its size, render time and load time in headless Chromium.

Prints numbers, asserts nothing.  By default a synthetic history (30
nightly runs; the last one has 400 findings over 100 files of ~500 lines,
a tenth of them new), rendered and opened R times in Chromium under
Selenium; load = the page's ``report-ready`` mark (set when its script has
wired the tables and routed), and the navigation's load event, medians.

  python3 bench/report_page.py [--findings N] [--files N] [--runs N] [--repeat R]
  python3 bench/report_page.py --from-json report.json --root TREE   # a real run's report
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from coroproj.history.html import render_html  # noqa: E402
from coroproj.history.report import Report, read_sources  # noqa: E402
from coroproj.history.store import Run  # noqa: E402
from tests.report.browser import chromium  # noqa: E402
from tests.report.synthetic import synthetic_report  # noqa: E402


def real_report(path: Path, root: Path) -> Report:
    """The report of a ``coroproj report --json`` file, sources read from ``root``."""
    run = Run.from_json(json.loads(path.read_text())["run"])
    return Report(run, None, [run], "one run", {}, read_sources(root, run.findings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--findings", type=int, default=400)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--from-json", type=Path, help="a `coroproj report --json` file of a real run")
    parser.add_argument("--root", type=Path, help="the tree of that run (its sources are embedded)")
    parser.add_argument("--keep", type=Path, help="also write the page here")
    args = parser.parse_args()
    if args.from_json:
        report = real_report(args.from_json, args.root or Path.cwd())
    else:
        report = synthetic_report(args.findings, args.files, args.runs, lines_per_function=500 * args.files
                                  // max(1, args.findings))
    renders = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        html = render_html(report)
        renders.append(time.perf_counter() - start)
    source_bytes = sum(len(text.encode()) for text in report.sources.values())
    print(f"{len(report.entries())} findings listed, {len(report.sources)} source files embedded "
          f"({source_bytes / 1e6:.2f} MB of source), {len(report.history)} runs")
    print(f"page: {len(html.encode()) / 1e6:.2f} MB, rendered in {statistics.median(renders) * 1000:.0f} ms")
    with tempfile.TemporaryDirectory() as scratch:
        page = Path(scratch) / "report.html"
        page.write_text(html)
        if args.keep:
            args.keep.write_text(html)
        ready, loaded = [], []
        with chromium(Path(scratch) / "profile") as driver:
            for _ in range(args.repeat):
                driver.get("about:blank")
                driver.get(page.as_uri())
                ready.append(driver.execute_script(
                    "return performance.getEntriesByName('report-ready')[0].startTime"))
                loaded.append(driver.execute_script(
                    "return performance.getEntriesByType('navigation')[0].loadEventEnd"))
            start = time.perf_counter()
            driver.execute_script("location.hash = 'f=0'")
            driver.execute_script("return document.querySelector('#source tr.hl') !== null")
            open_source = time.perf_counter() - start
    print(f"Chromium: script ready at {statistics.median(ready):.0f} ms, load event at "
          f"{statistics.median(loaded):.0f} ms (medians of {args.repeat}); "
          f"first source view opened in {open_source * 1000:.0f} ms")


if __name__ == "__main__":
    main()
