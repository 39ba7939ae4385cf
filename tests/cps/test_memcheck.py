"""Translated programs run clean under valgrind memcheck and ASan+UBSan.

No invalid access, and no leak of continuations or of the heap cells of
boxed variables (they are freed on every return of their function).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.cps.harness import HERE, CpsBuilder

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")


@needs_valgrind
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


@pytest.mark.parametrize("program", ["boxing", "misc", "recursion"])
def test_translated_program_is_clean_under_address_and_undefined_sanitizers(
    tmp_path_factory: pytest.TempPathFactory, program: str
) -> None:
    flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-O1"]
    builder = CpsBuilder(tmp_path_factory.mktemp(f"asan-{program}"), flags=flags)
    binary = builder.cpc([HERE / "programs" / f"{program}.c"], program)
    done = subprocess.run([str(binary)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "runtime error" not in done.stderr and "AddressSanitizer" not in done.stderr
