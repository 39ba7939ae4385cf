"""The ways a user builds with the cpc backend: ``make CC="coroproj cc --backend cpc"`` on a Make
tree and ``coroproj build --backend cpc`` on one (the sample project's SCons build:
tests/sample_project/test_cpc_build.py)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sample_project.conftest import SAMPLE

MAKE_TREE = Path(__file__).resolve().parent / "make_tree"
REPO = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 600
DRIVER = shlex.join([sys.executable, "-m", "coroproj", "cc", "--backend", "cpc"])
PING_TRACE = [
    "ping round 1 counter 1", "pong round 1 counter 2", "ping round 2 counter 4", "pong round 2 counter 6",
    "ping round 3 counter 9", "pong round 3 counter 12", "ping done at 12", "pong done at 12",
]

needs_make = pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("gcc") is None, reason="needs make and gcc"
)


def environment() -> dict[str, str]:
    """This checkout's coroproj for every child (make runs the driver by module name)."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=environment()
    )


@pytest.fixture
def make_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(MAKE_TREE, tree)
    (tree / "config.mk").write_text(f"SAMPLE = {SAMPLE}\n")
    return tree


@needs_make
def test_make_with_the_driver_as_cc_builds_a_program_that_runs_like_ucontext(make_tree: Path) -> None:
    native = run(["make", "-j2"], make_tree)
    assert native.returncode == 0, native.stdout + native.stderr
    expected = run([str(make_tree / "ping")], make_tree)
    assert expected.stdout.splitlines() == PING_TRACE
    run(["make", "clean"], make_tree)

    built = run(["make", "-j2", "BACKEND=cpc", f"CC={DRIVER}"], make_tree)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "warning" not in built.stderr, built.stderr
    # Every compile went through the driver: the coroutine layer was translated.
    assert "coroutine-ucontext" not in built.stdout
    done = run([str(make_tree / "ping")], make_tree)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected.stdout
    # -MMD: the dependency file of the original source, named after the object
    # (it used to be written to /dev/null.d).
    dependencies = (make_tree / "ping.d").read_text()
    assert dependencies.startswith("ping.o: ping.c") and "qemu/coroutine.h" in dependencies


def test_dependency_file_names_follow_the_object() -> None:
    from coroproj.driver.gcc_args import parse_gcc_command

    def names(*argv: str) -> list[str]:
        return parse_gcc_command(list(argv)).dependency_names("src/x.c")

    assert names("-O2", "-c", "src/x.c", "-o", "obj/x.o") == []
    assert names("-MMD", "-MP", "-c", "src/x.c", "-o", "obj/x.o") == ["-MF", "obj/x.d", "-MQ", "obj/x.o"]
    assert names("-MD", "-MF", "deps/x.dep", "-MT", "t", "-c", "src/x.c", "-o", "x.o") == []
    # As gcc 12 names them: after the source without -o, after the program in a link.
    assert names("-MD", "-c", "src/x.c") == ["-MF", "x.d", "-MQ", "x.o"]
    assert names("-MD", "src/x.c", "-o", "bin/prog.exe") == ["-MF", "bin/prog.d", "-MQ", "bin/prog.exe"]
    assert names("-MD", "src/x.c") == ["-MF", "a-x.d", "-MQ", "x.o"]


@needs_make
def test_driver_prints_where_the_runtime_sources_are() -> None:
    done = run([sys.executable, "-m", "coroproj", "cc", "--backend", "cpc", "--print-runtime-dir"], REPO)
    assert done.returncode == 0, done.stderr
    runtime = Path(done.stdout.strip())
    assert (runtime / "coroutine-cpc.c").is_file() and (runtime / "cpc_runtime.h").is_file()


@needs_make
def test_coroproj_build_checks_then_builds_a_make_tree(make_tree: Path) -> None:
    done = run([sys.executable, "-m", "coroproj", "build", "--backend", "cpc", str(make_tree), "-j2", "-q"],
               make_tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 executable(s):" in done.stdout and done.stdout.rstrip().endswith("ping"), done.stdout
    assert run([str(make_tree / "ping")], make_tree).stdout.splitlines() == PING_TRACE


@needs_make
def test_coroproj_build_refuses_to_translate_wrong_annotations(make_tree: Path) -> None:
    source = make_tree / "ping.c"
    source.write_text(source.read_text().replace("static int coroutine_fn take_turn", "static int take_turn"))
    command = [sys.executable, "-m", "coroproj", "build", "--backend", "cpc", str(make_tree), "-q"]
    done = run(command, make_tree)
    assert done.returncode == 1
    assert "missing coroutine_fn annotation on 'take_turn'" in done.stderr
    assert "the CPS translation needs correct annotations" in done.stderr
    assert not (make_tree / "ping").exists() and not list(make_tree.glob("*.o"))


def test_translation_digest_follows_the_translator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SCons tool puts it into every cpc command: a changed pass or runtime rebuilds the
    translated objects and relinks (the command lines alone never change)."""
    from coroproj.runtime import cpc

    package = cpc.RUNTIME_DIR.parents[1]
    copy = tmp_path / "coroproj"
    for directory in ("cps", "frontend", "driver", "runtime/cpc"):
        shutil.copytree(package / directory, copy / directory)
    monkeypatch.setattr(cpc, "RUNTIME_DIR", copy / "runtime" / "cpc")
    original = cpc.translation_digest()
    assert original == cpc.translation_digest()
    for changed in ("cps/convert.py", "runtime/cpc/cpc_runtime.h"):
        path = copy / changed
        text = path.read_text()
        path.write_text(text + "\n")
        assert cpc.translation_digest() != original, changed
        path.write_text(text)
    assert cpc.translation_digest() == original
