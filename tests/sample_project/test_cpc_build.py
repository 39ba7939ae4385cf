"""``coroproj build --backend cpc`` on the sample project: check, SCons build, binaries listed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sample_project.conftest import BUILD_OUTPUTS, REPO, SAMPLE, SampleBuild

TIMEOUT_SECONDS = 900


def test_coroproj_build_of_the_sample_project_lists_its_binaries(sample_build: SampleBuild) -> None:
    sample_build("cpc")  # shared with the other cpc tests: only the check runs for real here
    done = subprocess.run(
        [sys.executable, "-m", "coroproj", "build", "--backend", "cpc", str(SAMPLE), "-j2", "-q"],
        cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    listed = [Path(line.strip()) for line in done.stdout.splitlines() if line.startswith("  ")]
    names = {path.name for path in listed}
    assert {"test-coroutine", "test-block", "sample-io", "sample-img"} <= names, done.stdout
    assert all((REPO / path).is_file() and "build/cpc/" in path.as_posix() for path in listed)


def test_cpc_build_is_warning_free(sample_build: SampleBuild) -> None:
    """Translated code compiles under the project's -Wall -Wextra without a single warning."""
    sample_build("cpc")
    output = BUILD_OUTPUTS["cpc"]
    assert "warning:" not in output, output


C_TESTS = sorted(
    [f"tests/{path.stem}" for path in (SAMPLE / "tests").glob("test-*.c")]
    + [f"tests/block/{path.stem}" for path in (SAMPLE / "tests" / "block").glob("test-*.c")]
)


@pytest.mark.parametrize("program", C_TESTS)
def test_cpc_c_test_prints_what_ucontext_prints(
    sample_build: SampleBuild, tmp_path: Path, program: str
) -> None:
    outputs = {}
    for backend in ("ucontext", "cpc"):
        scratch = tmp_path / backend
        scratch.mkdir()
        done = subprocess.run(
            [str(sample_build(backend) / program)], capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
            env={"TMPDIR": str(scratch), "PATH": "/usr/bin:/bin"}, cwd=scratch,
        )
        assert done.returncode == 0, f"{program} ({backend}):\n{done.stdout}{done.stderr}"
        outputs[backend] = done.stdout.replace(f"(backend {backend})", "(backend B)")
    assert outputs["ucontext"].strip()
    assert outputs["cpc"] == outputs["ucontext"]


def test_a_suspended_cpc_coroutine_costs_at_most_96_resident_bytes(sample_build: SampleBuild) -> None:
    """The whole cost: Coroutine record, backend word and continuation, in one block of 96 bytes."""
    done = subprocess.run(
        [str(sample_build("cpc") / "tests" / "test-coroutine"), "suspended", "100000"],
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
    )
    assert done.returncode == 0, done.stdout + done.stderr  # all resumed and finished
    match = re.search(r"bytes_per_coroutine=([0-9.]+)", done.stdout)
    assert match is not None, done.stdout
    # exact on Linux >= 4.14 (smaps_rollup); VmRSS elsewhere may be off by ~3 bytes here
    assert float(match.group(1)) < 100, done.stdout
