"""The block layer's C tests under valgrind's memcheck: no invalid access, no use of
uninitialised memory, no block definitely lost — on ucontext and on cpc (the translated
coroutines keep their locals in heap boxes, which must be freed on every path).  The crash test's
error paths (every write failing from some point on) run on ucontext; on cpc it is left out for
time."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

PROGRAMS = {
    "ucontext": ("test-block", "test-raw", "test-cow", "test-cow-crash", "test-throttle"),
    "cpc": ("test-block", "test-raw", "test-cow", "test-throttle"),
}
CASES = [(backend, program) for backend, programs in PROGRAMS.items() for program in programs]
VALGRIND_ERROR = 99
TIMEOUT_SECONDS = 600


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
@pytest.mark.parametrize(("backend", "program"), CASES)
def test_block_c_program_is_memcheck_clean(
    sample_build: Callable[[str], Path], tmp_path: Path, backend: str, program: str
) -> None:
    executable = sample_build(backend) / "tests" / "block" / program
    done = subprocess.run(
        ["valgrind", "-q", f"--error-exitcode={VALGRIND_ERROR}", "--leak-check=full",
         "--errors-for-leak-kinds=definite", str(executable)],
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env={"TMPDIR": str(tmp_path)}, check=False,
    )  # fmt: skip
    assert done.returncode != VALGRIND_ERROR, f"memcheck errors in {program} ({backend}):\n{done.stderr}"
    assert done.returncode == 0, f"{program} ({backend}) failed under valgrind:\n{done.stdout}{done.stderr}"
