"""The block part of the sample project (block layer, drivers, tools, block tests) is fully
annotated: coroproj check finds nothing in it, and it did analyse every block unit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_project"
BLOCK_DIRECTORIES = (("block",), ("tools",), ("include", "block"), ("tests", "block"))
TIMEOUT_SECONDS = 600


def _in_block_part(path: str) -> bool:
    absolute = Path(path) if Path(path).is_absolute() else SAMPLE / path
    if not absolute.resolve().is_relative_to(SAMPLE):
        return False  # system headers
    parts = absolute.resolve().relative_to(SAMPLE).parts
    return any(parts[: len(prefix)] == prefix for prefix in BLOCK_DIRECTORIES)


def test_coroproj_check_reports_nothing_on_the_block_part() -> None:
    # A fresh database: check takes an existing one as it is.
    generated = subprocess.run(
        [sys.executable, "-m", "SCons", "-C", str(REPO), "-Q", "compiledb"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    result = subprocess.run(
        [sys.executable, "-m", "coroproj", "check", "sample_project", "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    analysed = {Path(function["file"]).name for function in report["functions"] if function["file"]}
    assert {
        "block.c",
        "cow.c",
        "raw.c",
        "memory.c",
        "throttle.c",
        "sample-io.c",
        "sample-img.c",
        "test-cow-crash.c",
    } <= analysed
    coroutine_functions = {
        function["name"]
        for function in report["functions"]
        if function["file"] and _in_block_part(function["file"]) and function["inferred"] == "coroutine"
    }
    block_findings = [
        finding
        for finding in report["findings"]
        if finding["file"] and _in_block_part(finding["file"]) and not finding.get("suppressed")
    ]
    assert block_findings == [], json.dumps(block_findings, indent=2)
    # The drivers' I/O paths really are coroutine code (and annotated as such: no finding above).
    assert {
        "bdrv_co_preadv",
        "cow_allocate_and_write",
        "raw_co_pwritev",
        "memory_co_preadv",
        "throttle_group_co_io_limits_intercept",
        "stress_worker",
    } <= coroutine_functions
