"""The cpc build under valgrind memcheck: no invalid access, no leaked continuation or box.

Translated code allocates continuations (the runtime) and boxes (address-taken
locals live in heap cells freed on every exit of their function): a missed
free or a frame read after its continuation moved would show up here.  The
only records tolerated are glibc's thread-local blocks of the thread pool's
worker threads, which are still running (idle) when the program exits.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.sample_project.conftest import SampleBuild

TIMEOUT_SECONDS = 300
ERROR_EXIT = 99
LEAK_RECORD = re.compile(r"^==\d+== (?P<head>[\d,]+ bytes in [\d,]+ blocks are (?P<kind>[a-z ]+) in .*)$")

needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")


def memcheck(program: Path, *arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "valgrind", "--tool=memcheck", f"--error-exitcode={ERROR_EXIT}", "--leak-check=full",
            "--show-leak-kinds=definite,indirect,possible", "--errors-for-leak-kinds=definite,indirect",
            "--track-origins=yes", str(program), *arguments,
        ],
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS, cwd=cwd,
        env={"TMPDIR": str(cwd), "PATH": "/usr/bin:/bin"},
    )


def foreign_leaks(stderr: str) -> list[str]:
    """Leak records that are not the worker threads' thread-local storage."""
    records: list[list[str]] = []
    for line in stderr.splitlines():
        if LEAK_RECORD.match(line):
            records.append([line])
        elif records and line.startswith("==") and line.rstrip().endswith("=="):
            records.append([])  # a blank valgrind line ends a record
        elif records and records[-1]:
            records[-1].append(line)
    return [
        "\n".join(record) for record in records
        if record and not any("pthread_create" in line for line in record)
    ]


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}{result.stderr}"
    assert "ERROR SUMMARY: 0 errors" in result.stderr, result.stderr
    assert foreign_leaks(result.stderr) == [], result.stderr


@needs_valgrind
@pytest.mark.parametrize("program", ["test-coroutine", "test-coroutine-locks"])
def test_coroutine_tests_run_clean(sample_build: SampleBuild, tmp_path: Path, program: str) -> None:
    result = memcheck(sample_build("cpc") / "tests" / program, cwd=tmp_path)
    assert_clean(result)
    assert re.search(r"^ok \S+ \(backend cpc\)$", result.stdout, re.MULTILINE), result.stdout


@needs_valgrind
@pytest.mark.parametrize("driver", ["memory", "cow"])
def test_sample_io_stress_round_runs_clean(sample_build: SampleBuild, tmp_path: Path, driver: str) -> None:
    tools = sample_build("cpc") / "tools"
    if driver == "memory":
        image = ["-f", "memory", "mem:4M"]
    else:
        for command in (
            ["create", "-f", "raw", "base.raw", "4M"],
            ["create", "-f", "cow", "-b", "base.raw", "-o", "cluster_size=16K", "disk.cow"],
        ):
            subprocess.run(
                [str(tools / "sample-img"), *command], cwd=tmp_path, check=True, capture_output=True
            )
        image = ["-f", "cow", "disk.cow"]
    result = memcheck(
        tools / "sample-io", *image,
        "stress", "--workers", "20", "--ops", "300", "--seed", "3", "--region", "64",
        cwd=tmp_path,
    )
    assert_clean(result)
    assert "stress workers=20 ops=300 errors=0" in result.stdout
    if driver == "cow":
        checked = subprocess.run(
            [str(tools / "sample-img"), "check", "disk.cow"], cwd=tmp_path, capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_leaked_box_is_reported() -> None:
    """The leak filter keeps what matters: a lost block outside thread creation is a failure."""
    stderr = (
        "==1== 16 bytes in 1 blocks are definitely lost in loss record 1 of 2\n"
        "==1==    at 0x1: malloc (vg_replace_malloc.c:381)\n"
        "==1==    by 0x2: worker__p1 (x.c:10)\n"
        "==1== \n"
        "==1== 288 bytes in 1 blocks are possibly lost in loss record 2 of 2\n"
        "==1==    at 0x3: calloc (vg_replace_malloc.c:1340)\n"
        "==1==    by 0x4: pthread_create@@GLIBC_2.34 (pthread_create.c:650)\n"
        "==1== \n"
    )
    leaks = foreign_leaks(stderr)
    assert len(leaks) == 1 and "worker__p1" in leaks[0]
