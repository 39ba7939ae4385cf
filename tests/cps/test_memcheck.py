"""Translated programs run clean under valgrind memcheck.

No invalid access, and no leak of continuations or of the heap cells of
boxed variables (they are freed on every return of their function).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.cps.harness import HERE, CpsBuilder

pytestmark = pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")


@pytest.mark.parametrize("program", ["boxing", "locks", "types"])
def test_translated_program_is_memcheck_clean(builder: CpsBuilder, program: str) -> None:
    binary = builder.cpc(
        [HERE / "programs" / f"{program}.c"], f"{program}-memcheck", with_colock=program == "locks"
    )
    done = subprocess.run(
        [
            "valgrind",
            "-q",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "--error-exitcode=9",
            str(binary),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
