"""The block layer's C tests (sample_project/tests/block/test-*.c), built and run with every
backend (the stack ones and cpc): each program exits 0 when all its checks pass and prints the
failing one otherwise."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.sample_project.conftest import ALL_BACKENDS

SOURCE_DIR = Path(__file__).resolve().parents[2] / "sample_project" / "tests" / "block"
BACKENDS = ALL_BACKENDS
BLOCK_TESTS = sorted(path.stem for path in SOURCE_DIR.glob("test-*.c"))
TIMEOUT_SECONDS = 120


def test_every_block_area_has_a_c_test() -> None:
    expected = {"test-block", "test-raw", "test-cow", "test-cow-crash", "test-cow-model", "test-throttle"}
    assert expected <= set(BLOCK_TESTS)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("program", BLOCK_TESTS)
def test_block_c_program(
    sample_build: Callable[[str], Path], backend: str, program: str, tmp_path: Path
) -> None:
    executable = sample_build(backend) / "tests" / "block" / program
    assert executable.is_file(), f"{executable} was not built"
    done = subprocess.run(
        [str(executable)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        env={"TMPDIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, f"{program} ({backend}) failed:\n{done.stdout}{done.stderr}"
    passed = [line for line in done.stdout.splitlines() if line.startswith("ok ")]
    assert passed, f"{program} ran no test:\n{done.stdout}"
    assert all(f"(backend {backend})" in line for line in passed)
