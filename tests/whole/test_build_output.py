"""``coroproj build`` prints like ninja: one status line per step (``[2/3] cc b.c``), the full
commands with -v, nothing but errors with -q, and a failed step with its command."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from coroproj.cli import main
from coroproj.driver.steps import StepPrinter, describe_step, failed_target

needs_scons_and_gcc = pytest.mark.skipif(
    shutil.which("gcc") is None or shutil.which("scons") is None, reason="needs scons and gcc"
)

SCONSTRUCT = 'env = Environment(CC="gcc")\nenv.Program("app", ["a.c", "b.c"])\n'


@pytest.mark.parametrize(("command", "described"), [
    ("gcc -o build/ucontext/util/aio.o -c -O2 -Iinclude util/aio.c", "cc util/aio.c"),
    ("COROPROJ_TRANSLATION=3f2a /usr/bin/python3 -m coroproj cc --backend cpc -o build/cpc/block/cow.o "
     "-c -Iinclude block/cow.c", "cps block/cow.c"),
    ("ar rc build/ucontext/libqemuutil.a build/ucontext/util/aio.o", "ar build/ucontext/libqemuutil.a"),
    ("ranlib build/ucontext/libqemuutil.a", "ranlib build/ucontext/libqemuutil.a"),
    ("gcc -pthread -o build/ucontext/tests/test-coroutine t.o libqemuutil.a -lpthread",
     "link build/ucontext/tests/test-coroutine"),
])
def test_a_step_is_described_by_what_it_does(command: str, described: str) -> None:
    assert describe_step(command) == described


def test_failure_lines_of_scons_and_make_name_their_target() -> None:
    assert failed_target("scons: *** [build/b.o] Error 1") == "build/b.o"
    assert failed_target("make: *** [Makefile:4: b.o] Error 1") == "b.o"
    assert failed_target("make[1]: *** [b.o] Error 1") == "b.o"
    assert failed_target("b.c:1:22: error: 'x' undeclared") is None


def test_on_a_terminal_the_status_overwrites_one_line_and_diagnostics_keep_their_own() -> None:
    out = io.StringIO()
    printer = StepPrinter(out, ["gcc -o a.o -c a.c", "gcc -o b.o -c b.c"], terminal=True)
    printer.line("gcc -o a.o -c a.c")
    printer.line("a.c:1:1: warning: empty file")
    printer.line("gcc -o b.o -c b.c")
    printer.finish()
    assert out.getvalue() == (
        "\r[1/2] cc a.c\x1b[K\n"  # ended before the warning so it stays visible
        "a.c:1:1: warning: empty file\n"
        "\r[2/2] cc b.c\x1b[K\n"
    )


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "SConstruct").write_text(SCONSTRUCT)
    (tmp_path / "a.c").write_text("int b(void);\nint main(void) { return b(); }\n")
    (tmp_path / "b.c").write_text("int b(void) { return 0; }\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def build(tree: Path, *extra: str) -> int:
    return main(["build", "--backend", "ucontext", "--no-check", "-j1", *extra, str(tree)])


@needs_scons_and_gcc
def test_one_status_line_per_step_when_not_a_terminal(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert build(tree) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["[1/3] cc a.c", "[2/3] cc b.c", "[3/3] link app"]
    assert lines[3].startswith("coroproj build: built ")


@needs_scons_and_gcc
def test_verbose_shows_full_commands(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert build(tree, "-v") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["[1/3] gcc -o a.o -c a.c", "[2/3] gcc -o b.o -c b.c", "[3/3] gcc -o app a.o b.o"]


@needs_scons_and_gcc
def test_a_failed_step_is_shown_with_its_command_even_when_quiet(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tree / "b.c").write_text("int b(void) { return undeclared; }\n")
    assert build(tree, "-q") == 2
    captured = capsys.readouterr()
    assert "[1/3]" not in captured.out  # quiet: no status lines
    assert "b.c:1:22: error: 'undeclared' undeclared" in captured.out
    assert "FAILED: b.o\ngcc -o b.o -c b.c\n" in captured.out
    assert captured.err.startswith("coroproj build: the build failed (exit 2): ")
