"""The sample project's coroutine tests, compiled with ``coroproj cc --backend cpc``.

Real code rather than test programs: the generic coroutine layer (create,
enter, yield, the pool), CoMutex/CoRwlock/CoQueue, the main loop and the
thread pool are translated, compiled with -Wall -Wextra -Werror and linked
with the cpc backend; every test must pass.  (The full ``scons
BACKEND=cpc`` build is the build integration's test.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from coroproj.runtime import cpc

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_project"
FLAGS = [
    "-std=gnu11",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pthread",
    "-I",
    str(SAMPLE / "include"),
    '-DCOROUTINE_BACKEND="cpc"',
]

pytestmark = pytest.mark.skipif(not (SAMPLE / "util").is_dir(), reason="needs sample_project/")


def _cc(args: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "coroproj", "cc", "--backend", "cpc", *args],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr


@pytest.fixture(scope="module")
def util_objects(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("sample-cpc")
    objects = []
    for source in sorted((SAMPLE / "util").glob("*.c")):
        if source.name.startswith("coroutine-"):
            continue  # the stack backends; cpc's is in the runtime
        obj = out / f"{source.stem}.o"
        _cc([*FLAGS, "-c", str(source), "-o", str(obj)], out)
        objects.append(obj)
    backend = out / "coroutine-cpc.o"
    subprocess.run(
        [
            "gcc",
            *FLAGS,
            "-I",
            str(cpc.RUNTIME_DIR),
            "-c",
            str(cpc.RUNTIME_DIR / "coroutine-cpc.c"),
            "-o",
            str(backend),
        ],
        check=True,
    )
    return [*objects, backend]


@pytest.mark.parametrize("test", ["test-coroutine", "test-coroutine-locks"])
def test_sample_coroutine_tests_pass_translated(tmp_path: Path, util_objects: list[Path], test: str) -> None:
    obj = tmp_path / f"{test}.o"
    _cc([*FLAGS, "-c", str(SAMPLE / "tests" / f"{test}.c"), "-o", str(obj)], tmp_path)
    binary = tmp_path / test
    _cc(["-pthread", str(obj), *map(str, util_objects), "-o", str(binary), "-lpthread"], tmp_path)
    done = subprocess.run([str(binary)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = [line for line in done.stdout.splitlines() if line.startswith(("ok", "not ok"))]
    assert results and all(line.startswith("ok ") for line in results), done.stdout
