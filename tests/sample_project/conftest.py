"""Fixtures for the sample project: building it once per backend per session.

``sample_build(backend)`` runs ``scons BACKEND=<backend>`` at the repository
root (``-j2``, the machines are small) the first time a backend is asked
for, and returns ``sample_project/build/<backend>``.  A failed build fails
the asking test with SCons's output; later tests asking for the same backend
fail the same way without building again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_project"
STACK_BACKENDS = ("ucontext", "sigaltstack", "thread")
# cpc: the coroutines translated to continuations by `coroproj cc --backend cpc`.
ALL_BACKENDS = (*STACK_BACKENDS, "cpc")
BUILD_TIMEOUT_SECONDS = 900

SampleBuild = Callable[[str], Path]
BUILD_OUTPUTS: dict[str, str] = {}
"""What SCons printed for each backend built in this session (for warning checks)."""


def scons_command(*arguments: str) -> list[str]:
    """SCons run by the interpreter running the tests (the one with coroproj importable)."""
    return [sys.executable, "-m", "SCons", *arguments]


def _build(backend: str) -> tuple[bool, str]:
    try:
        result = subprocess.run(
            scons_command("-C", str(REPO), "-Q", "-j2", f"BACKEND={backend}"),
            capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as timeout:
        return False, f"scons BACKEND={backend} timed out after {timeout.timeout} s"
    output = result.stdout + result.stderr
    return result.returncode == 0, output


@pytest.fixture(scope="session")
def sample_build() -> SampleBuild:
    if shutil.which("gcc") is None:
        pytest.skip("the sample project needs gcc")
    outcomes: dict[str, tuple[bool, str]] = {}

    def build(backend: str) -> Path:
        if backend not in outcomes:
            outcomes[backend] = _build(backend)
            BUILD_OUTPUTS[backend] = outcomes[backend][1]
        ok, output = outcomes[backend]
        if not ok:
            pytest.fail(f"scons BACKEND={backend} failed:\n{output}", pytrace=False)
        return SAMPLE / "build" / backend

    return build
