"""The sample project's util part: its C tests on every stack backend, the
benchmark modes' output, the compilation database and a clean coroproj check.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coroproj.runtime.cpc import translation_digest
from tests.sample_project.conftest import (
    ALL_BACKENDS,
    REPO,
    SAMPLE,
    STACK_BACKENDS,
    SampleBuild,
    scons_command,
)

UTIL_TESTS = sorted(path.stem for path in (SAMPLE / "tests").glob("test-*.c"))
TEST_TIMEOUT_SECONDS = 120
PERF_LINE = re.compile(
    r"^perf (?P<mode>lifecycle|nesting|yield) pool=(?P<pool>on|off) backend=(?P<backend>\w+) "
    r"ns_per_op=(?P<ns>[0-9.]+) iterations=(?P<iterations>\d+)$"
)
SUSPENDED_LINE = re.compile(
    r"^suspended count=(?P<count>\d+) bytes_per_coroutine=(?P<bytes>-?[0-9.]+) backend=(?P<backend>\w+)$"
)
COROUTINE_STACK_SIZE = 1024 * 1024


def run(binary: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *arguments], capture_output=True, text=True, timeout=TEST_TIMEOUT_SECONDS
    )


def test_every_util_test_is_found() -> None:
    assert {"test-coroutine", "test-coroutine-locks", "test-main-loop", "test-thread-pool"} <= set(UTIL_TESTS)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("program", UTIL_TESTS)
def test_util_c_test(sample_build: SampleBuild, backend: str, program: str) -> None:
    binary = sample_build(backend) / "tests" / program
    result = run(binary)
    assert result.returncode == 0, (
        f"{program} ({backend}) exited with {result.returncode}:\n{result.stdout}{result.stderr}"
    )
    passed = re.findall(r"^ok (\S+) \(backend (\w+)\)$", result.stdout, re.MULTILINE)
    assert passed, result.stdout
    assert {name_backend[1] for name_backend in passed} == {backend}


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_perf_prints_one_line_per_pool_setting(sample_build: SampleBuild, backend: str) -> None:
    binary = sample_build(backend) / "tests" / "test-coroutine"
    for mode, iterations in (("lifecycle", "200"), ("nesting", "1000"), ("yield", "200")):
        result = run(binary, "perf", mode, "--iterations", iterations)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        matches = [PERF_LINE.match(line) for line in lines]
        assert all(matches) and len(matches) == 2, result.stdout
        assert [(m["mode"], m["pool"], m["backend"]) for m in matches if m] == [
            (mode, "off", backend), (mode, "on", backend)
        ]
        assert all(float(m["ns"]) > 0 and m["iterations"] == iterations for m in matches if m)


def test_perf_single_pool_setting(sample_build: SampleBuild) -> None:
    binary = sample_build("ucontext") / "tests" / "test-coroutine"
    result = run(binary, "perf", "yield", "--pool", "off", "--iterations", "1000")
    assert result.returncode == 0, result.stderr
    match = PERF_LINE.match(result.stdout.strip())
    assert match and match["pool"] == "off", result.stdout


@pytest.mark.parametrize(
    "arguments",
    [
        ("perf",), ("perf", "jump"), ("perf", "yield", "--pool", "maybe"),
        ("perf", "yield", "--iterations", "0"), ("suspended",), ("suspended", "many"),
    ],
)
def test_perf_usage_errors(sample_build: SampleBuild, arguments: tuple[str, ...]) -> None:
    result = run(sample_build("ucontext") / "tests" / "test-coroutine", *arguments)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip()


@pytest.mark.parametrize("backend", STACK_BACKENDS)
def test_suspended_coroutines_use_only_touched_stack_pages(sample_build: SampleBuild, backend: str) -> None:
    result = run(sample_build(backend) / "tests" / "test-coroutine", "suspended", "500")
    assert result.returncode == 0, result.stderr
    match = SUSPENDED_LINE.match(result.stdout.strip())
    assert match and match["count"] == "500" and match["backend"] == backend, result.stdout
    # Every suspended coroutine has touched some stack, yet far less than the
    # stack it reserved.
    assert 0 < float(match["bytes"]) < COROUTINE_STACK_SIZE / 4


def test_suspended_cpc_coroutines_cost_their_frames_not_a_stack(sample_build: SampleBuild) -> None:
    result = run(sample_build("cpc") / "tests" / "test-coroutine", "suspended", "2000")
    assert result.returncode == 0, result.stderr
    match = SUSPENDED_LINE.match(result.stdout.strip())
    assert match and match["count"] == "2000" and match["backend"] == "cpc", result.stdout
    # A coroutine record and a continuation holding a few frames: far below
    # the one stack page every stack backend touches at least.
    assert 0 < float(match["bytes"]) < 1024


def _generate_database(*variables: str) -> list[dict[str, str]]:
    result = subprocess.run(
        scons_command("-C", str(SAMPLE), "-Q", *variables, "compiledb"),
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Only the database is written: nothing was compiled.
    assert "gcc" not in result.stdout, result.stdout
    return json.loads((SAMPLE / "compile_commands.json").read_text())


@pytest.mark.parametrize("backend", ["ucontext", "thread", "cpc"])
def test_compiledb_describes_the_ucontext_build(backend: str) -> None:
    entries = _generate_database(f"BACKEND={backend}")
    files = {entry["file"] for entry in entries}
    assert "util/coroutine-ucontext.c" in files
    assert {"util/coroutine-sigaltstack.c", "util/coroutine-thread.c"}.isdisjoint(files)
    assert {"util/qemu-coroutine.c", "util/main-loop.c", "tests/test-coroutine.c"} <= files
    for entry in entries:
        assert entry["directory"] == str(SAMPLE)
        assert not Path(entry["file"]).is_absolute()
        assert entry["output"].startswith("build/ucontext/")
        assert "coroproj" not in entry["command"]  # never the cpc driver


def test_compiledb_from_the_repository_root_is_the_projects_own() -> None:
    result = subprocess.run(
        scons_command("-C", str(REPO), "-Q", "compiledb"), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    entries = json.loads((SAMPLE / "compile_commands.json").read_text())
    assert entries and all(entry["directory"] == str(SAMPLE) for entry in entries)
    # No second database at the root: tests/project/test_root_sconstruct.py (on a clean copy).


def test_check_alias_runs_coroproj_check() -> None:
    result = subprocess.run(
        scons_command("-C", str(SAMPLE), "-Q", "-n", "check"), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"-m coroproj check \S*sample_project --compile-commands \S+compile_commands\.json",
                     result.stdout), result.stdout


def _is_util_part(path: str) -> bool:
    relative = Path(path).resolve().relative_to(SAMPLE) if Path(path).is_absolute() else Path(path)
    parts = relative.parts
    if parts[:1] == ("util",) or parts[:2] == ("include", "qemu"):
        return True
    return parts[:1] == ("tests",) and len(parts) == 2


def test_coroproj_check_reports_nothing_on_the_util_part() -> None:
    _generate_database()  # a fresh database: check uses an existing one as is
    result = subprocess.run(
        [sys.executable, "-m", "coroproj", "check", "sample_project", "--format", "json"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    analysed = {Path(function["file"]).name for function in report["functions"] if function["file"]}
    assert {"qemu-coroutine.c", "qemu-coroutine-lock.c", "main-loop.c", "thread-pool.c"} <= analysed
    util_findings = [
        finding for finding in report["findings"]
        if _is_util_part(finding["file"]) and not finding.get("suppressed")
    ]
    assert util_findings == [], json.dumps(util_findings, indent=2)


def test_cpc_backend_compiles_and_links_through_the_coroproj_driver(tmp_path: Path) -> None:
    # A dry run (-n) in a copy without build/: the real tree's cpc build may be
    # up to date, and then SCons prints no command at all.
    copy = tmp_path / "sample_project"
    ignored = shutil.ignore_patterns("build", "compile_commands.json", ".sconsign*")
    shutil.copytree(SAMPLE, copy, ignore=ignored)
    shutil.copytree(REPO / "site_scons", tmp_path / "site_scons")
    result = subprocess.run(
        scons_command("-C", str(copy), "-Q", "-n", "BACKEND=cpc"),
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    commands = [line for line in result.stdout.splitlines() if " -o build/cpc/" in line]
    compiles = [line for line in commands if " -c " in line]
    assert any("util/qemu-coroutine.c" in line for line in compiles)
    # The project's own C is translated; the cpc backend that ships with
    # coroproj (the runtime side) is compiled natively, and no stack backend.
    backend = [line for line in compiles if "coroutine-cpc.c" in line]
    assert len(backend) == 1 and "-m coroproj" not in backend[0]
    assert "coroproj/runtime/cpc/coroutine-cpc.c" in backend[0]
    project = [line for line in compiles if line not in backend]
    assert all("-m coroproj cc --backend cpc" in line for line in project)
    # ... with the translator's digest in the command: a new translator rebuilds.
    digest = f"COROPROJ_TRANSLATION={translation_digest()} "
    assert all(line.startswith(digest) for line in project)
    assert not any(f"util/coroutine-{stack}.c" in line for line in compiles for stack in STACK_BACKENDS)
    links = [line for line in commands if " -o build/cpc/tests/test-coroutine " in line]
    assert links and all("-m coroproj cc --backend cpc" in line for line in links)
