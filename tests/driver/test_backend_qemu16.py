"""``coroproj backend qemu-1.6 TREE``: coroproj's backend in a QEMU 1.6-shaped tree, built and run.

``qemu16/`` is a miniature of what the backend meets in QEMU 1.6 (CI cannot
fetch QEMU): ``include/block/coroutine_int.h`` with a 64-byte ``Coroutine``,
a common layer shaped like ``qemu-coroutine.c`` (pool, enter = set caller
and switch), a ``coroutine-cpc.c`` that must not be compiled, and a test
program.  Two flavours: QEMU 1.6 itself (the backend provides
``qemu_coroutine_self``), and the 2013 CPC port (``-DQEMU_2013_PORT``: the
common layer defines ``qemu_coroutine_self`` on ``qemu_coroutine_self_int``,
and ``qemu-common.h`` includes the original CPC runtime's header, whose
types clash with coroproj's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coroproj.runtime.cpc import BACKENDS

REPO = Path(__file__).resolve().parents[2]
TREE = Path(__file__).resolve().parent / "qemu16"
SOURCE = BACKENDS["qemu-1.6"].source
EXPECTED = ("count 3, pooled 1, depth 3, distinct 1, in coroutine 0, self is native 1, "
            "deep 5050 after a yield 1\n")


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    cache = tmp_path_factory.mktemp("cache")
    return {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(cache), "COROPROJ_REAL_CC": "gcc",
            "LC_ALL": "C"}


def coroproj(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coroproj", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


@pytest.mark.parametrize("flavour", [[], ["-DQEMU_2013_PORT"]], ids=["qemu-1.6", "cpc-port-2013"])
def test_selected_backend_builds_and_runs_the_tree(tmp_path: Path, environment: dict[str, str],
                                                   flavour: list[str]) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    original = (tree / "coroutine-cpc.c").read_text()
    selected = coroproj("backend", "qemu-1.6", str(tree), cwd=tmp_path, env=environment)
    assert selected.returncode == 0, selected.stderr
    backend = tree / "coroutine-cpc.c"
    assert backend.is_symlink() and backend.resolve() == SOURCE.resolve()
    assert (tree / "coroutine-cpc.c.orig").read_text() == original
    header = tree / "include" / "cpc" / "cpc_runtime.h"
    assert "cpc_continuation" not in header.read_text()
    assert "cpc_continuation" in (header.parent / "cpc_runtime.h.orig").read_text()

    build = coroproj("cc", "--backend", "cpc", "-O2", "-Wall", "-Iinclude", "-I.", *flavour,
                     "qemu-coroutine.c", "coroutine-cpc.c", "test-coroutine.c", "-o", "test-coroutine",
                     cwd=tree, env=environment)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(tree / "test-coroutine")], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout) == (0, EXPECTED), run.stderr


def test_selecting_twice_keeps_the_first_original(tmp_path: Path, environment: dict[str, str]) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    original = (tree / "coroutine-cpc.c").read_text()
    for _ in range(2):
        assert coroproj("backend", "qemu-1.6", str(tree), cwd=tmp_path, env=environment).returncode == 0
    assert (tree / "coroutine-cpc.c.orig").read_text() == original
    assert (tree / "coroutine-cpc.c").resolve() == SOURCE.resolve()


def test_name_alone_prints_the_source_and_list_names_every_backend(tmp_path: Path,
                                                                    environment: dict[str, str]) -> None:
    printed = coroproj("backend", "qemu-1.6", cwd=tmp_path, env=environment)
    assert (printed.returncode, printed.stdout) == (0, f"{SOURCE}\n")
    listed = coroproj("backend", "--list", cwd=tmp_path, env=environment)
    assert [line.split("\t")[:2] for line in listed.stdout.splitlines()] == [
        ["sample", "qemu/coroutine_int.h"], ["qemu-1.6", "block/coroutine_int.h"]]


def test_a_tree_without_the_interface_is_refused_untouched(tmp_path: Path,
                                                           environment: dict[str, str]) -> None:
    tree = tmp_path / "not-qemu"
    tree.mkdir()
    (tree / "coroutine-cpc.c").write_text("int x;\n")
    refused = coroproj("backend", "qemu-1.6", str(tree), cwd=tmp_path, env=environment)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "block/coroutine_int.h" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tree / "coroutine-cpc.c").is_symlink() and sorted(p.name for p in tree.iterdir()) == [
        "coroutine-cpc.c"]


def test_unknown_backend_is_one_line(tmp_path: Path, environment: dict[str, str]) -> None:
    refused = coroproj("backend", "qemu-9", cwd=tmp_path, env=environment)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "qemu-1.6" in refused.stderr
