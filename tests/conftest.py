"""Shared helpers for the test suite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def run_coroproj(
    *args: str, cwd: Path | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the command line as a user would (a separate process)."""
    result = subprocess.run(
        [sys.executable, "-m", "coroproj", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=None,
    )
    if check and result.returncode not in (0, 1):
        raise AssertionError(f"coroproj {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def coroproj_json():
    """Run ``coroproj check --format json`` and return (exit status, parsed JSON)."""

    def run(*args: str, cwd: Path | None = None) -> tuple[int, dict]:
        result = run_coroproj("check", "--format", "json", *args, cwd=cwd)
        assert "Traceback" not in result.stderr, result.stderr
        try:
            data = json.loads(result.stdout)
        except json.JSONDecodeError as error:
            raise AssertionError(f"not JSON: {result.stdout!r}\n{result.stderr}") from error
        return result.returncode, data

    return run
