"""``coroproj cc --backend cpc`` is a drop-in for gcc: the same command line, the same results.

Every shape in ``SHAPES`` runs twice, in two fresh copies of the fixture
project (``fixture/``: a coroutine in ``main.c`` calling coroutine
functions of ``src/sum.c`` and ``lib/sum.c``, which share a basename):
once through ``gcc`` and once through ``python3 -m coroproj cc --backend
cpc``.  Each copy has its own ``libs/libcoro.a`` with the same command line
meaning "the coroutine backend": the ucontext reference backend for gcc,
the cpc backend and the hand-translated common layer for coroproj (which
adds the continuation runtime to links itself).  ``libs/libpicka.a`` and
``libpickb.a`` both define ``pick()``: which one a program prints shows
which archive the link order chose.

"The same" means:

- exit status: equal when gcc succeeds; when gcc fails, coroproj fails too
  (a unit the translator rejects is status 2, documented in the README);
- the files the command produced (created or rewritten): the same names,
  except that under ``-save-temps`` coroproj also keeps each translation as
  ``<base>.cps.c`` beside gcc's ``<base>.i`` and ``<base>.s``;
- dependency files (``-MD`` and friends) byte for byte: the driver lets
  the real preprocessor write them for the original source, under gcc's
  names, so they list exactly the user's sources and headers;
- standard output, for shapes that print (``-E``, ``-M``, ``--version``,
  ``-print-*``): byte for byte, except ``-S -o -``, whose assembly is of
  the translation (both must print some);
- for links, the program prints the same thing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from coroproj.runtime import cpc

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parent / "fixture"
COROUTINE_HEADER = REPO / "tests" / "cps" / "include" / "qemu" / "coroutine.h"
UCONTEXT_BACKEND = REPO / "tests" / "cps" / "support" / "coroutine_ucontext.c"
RUNTIME_TESTS = REPO / "tests" / "cpc_runtime"
SAMPLE_INCLUDE = REPO / "sample_project" / "include"

INCLUDE = ["-Iinclude"]
SOURCES = ["main.c", "src/sum.c", "lib/sum.c"]
LIBS = ["-Llibs", "-lpickb", "-lcoro"]
PROGRAM_OUTPUT = "hello b 20 after 6 entries\n"  # 1+2+3+4 + 2*5, four yields and one more


@dataclass(frozen=True)
class Shape:
    name: str
    args: list[str]
    cwd: str = "."  # where the command runs, relative to the copy
    run: str | None = None  # the program the command links, relative to cwd
    stdout: str = "ignored"  # "same" (byte for byte) or "printed" (both print something)
    files: dict[str, str] = field(default_factory=dict)  # written into each copy first
    copies: dict[str, str] = field(default_factory=dict)  # new name -> fixture file, first
    dirs: tuple[str, ...] = ()  # created in each copy first


LINK = [*INCLUDE, *SOURCES, *LIBS, "-o", "prog"]

SHAPES = [
    Shape("link-in-one-command", LINK, run="prog"),
    Shape("link-without-o", [*INCLUDE, *SOURCES, *LIBS], run="a.out"),
    Shape(
        "archives-before-and-after-the-sources",
        [*INCLUDE, "libs/libpicka.a", *SOURCES, "libs/libpickb.a", "libs/libcoro.a", "-o", "prog"],
        run="prog",
    ),
    Shape("l-and-L-as-separate-words", [*INCLUDE, *SOURCES, "-L", "libs", "-l", "pickb", "-l", "coro",
                                        "-o", "prog"], run="prog"),
    Shape(
        "start-group-end-group",
        [*INCLUDE, *SOURCES, "-Wl,--start-group", "libs/libcoro.a", "libs/libpicka.a", "-Wl,--end-group",
         "-o", "prog"],
        run="prog",
    ),
    Shape(
        "x-c-then-x-none",
        [*INCLUDE, "main.c", "src/sum.c", "-x", "c", "lib/sum.coro", "-x", "none", "libs/libpickb.a",
         "libs/libcoro.a", "-o", "prog"],
        run="prog",
        copies={"lib/sum.coro": "lib/sum.c"},
    ),
    Shape("x-c-glued-compile", [*INCLUDE, "-c", "-xc", "lib/sum.coro"], copies={"lib/sum.coro": "lib/sum.c"}),
    Shape(
        "response-files-nested-and-quoted",
        ["@args.rsp", "-o", "prog"],
        run="prog",
        files={
            "args.rsp": '-Iinclude main.c src/sum.c\n"lib/sum.c" @more.rsp\n',
            "more.rsp": "-Llibs -lpickb -lcoro '-DGREETING=\"hi there\"'\n",
        },
    ),
    Shape("MD-MP-MF-MT-MQ", [*INCLUDE, "-c", "main.c", "-MD", "-MP", "-MF", "main.dep", "-MT", "main.o",
                             "-MQ", "$(odd) name"]),
    Shape("MMD-named-after-o", [*INCLUDE, "-MMD", "-c", "src/sum.c", "-o", "obj-sum.o"]),
    Shape("MD-several-sources-no-o", [*INCLUDE, "-MD", "-c", "main.c", "src/sum.c"]),
    Shape("MD-under-S", [*INCLUDE, "-MD", "-S", "src/sum.c"]),
    Shape("MD-link-with-o", [*INCLUDE, "-MD", *SOURCES, *LIBS, "-o", "prog"], run="prog"),
    Shape("MMD-link-without-o", [*INCLUDE, "-MMD", *SOURCES, *LIBS], run="a.out"),
    Shape("M-to-stdout", [*INCLUDE, "-M", "main.c"], stdout="same"),
    Shape("MM-MT-to-stdout", [*INCLUDE, "-MM", "-MT", "target", "main.c"], stdout="same"),
    Shape("E-to-stdout", [*INCLUDE, "-E", "main.c"], stdout="same"),
    Shape("E-with-o", [*INCLUDE, "-E", "main.c", "-o", "main.i"]),
    Shape("E-with-o-dash", [*INCLUDE, "-E", "main.c", "-o", "-"], stdout="same"),
    Shape("E-wins-over-c", [*INCLUDE, "-c", "-E", "main.c"], stdout="same"),
    Shape("S", [*INCLUDE, "-S", "src/sum.c"]),
    Shape("S-with-o", [*INCLUDE, "-S", "src/sum.c", "-o", "out.s"]),
    Shape("S-with-o-dash", [*INCLUDE, "-S", "src/sum.c", "-o", "-"], stdout="printed"),
    Shape("S-wins-over-c", [*INCLUDE, "-S", "-c", "src/sum.c"]),
    Shape("c-with-o-dash-is-refused", [*INCLUDE, "-c", "src/sum.c", "-o", "-"]),
    Shape("c-several-sources", [*INCLUDE, "-c", "main.c", "src/sum.c"]),
    Shape("c-same-basename-in-two-directories", [*INCLUDE, "-c", "src/sum.c", "lib/sum.c"]),
    Shape("c-o-with-several-sources-is-refused", [*INCLUDE, "-c", "main.c", "src/sum.c", "-o", "x.o"]),
    Shape("c-goes-on-after-a-broken-source", [*INCLUDE, "-c", "main.c", "broken.c", "src/sum.c"]),
    Shape("c-assembly-beside-a-source", [*INCLUDE, "-c", "src/sum.c", "data.s"],
          files={"data.s": "\t.data\n"}),
    Shape("link-assembly-beside-the-sources", [*INCLUDE, *SOURCES, "data.s", *LIBS, "-o", "prog"], run="prog",
          files={"data.s": "\t.data\n"}),
    Shape("include", [*INCLUDE, "-include", "include/config.h", *SOURCES, *LIBS, "-o", "prog"], run="prog"),
    Shape("include-compile", [*INCLUDE, "-include", "include/config.h", "-c", "main.c", "-o", "m.o"]),
    Shape("D-with-spaces-and-quotes", [*INCLUDE, "-DGREETING=\"hello, 'quoted'  world\"", *SOURCES, *LIBS,
                                       "-o", "prog"], run="prog"),
    Shape("D-as-a-separate-word", [*INCLUDE, "-D", 'GREETING="a \\"b\\" c"', *SOURCES, *LIBS, "-o", "prog"],
          run="prog"),
    Shape("save-temps-compile", [*INCLUDE, "-save-temps", "-c", "src/sum.c"]),
    Shape("save-temps-link", [*INCLUDE, "-save-temps", *SOURCES, *LIBS, "-o", "prog"], run="prog"),
    Shape("save-temps-obj", [*INCLUDE, "-save-temps=obj", "-c", "main.c", "-o", "build/main.o"],
          dirs=("build",)),
    Shape("pipe", [*INCLUDE, "-pipe", *SOURCES, *LIBS, "-o", "prog"], run="prog"),
    Shape(
        "relative-sources-from-another-directory",
        ["-I../include", "../main.c", "../src/sum.c", "../lib/sum.c", "-L../libs", "-lpickb", "-lcoro",
         "-o", "prog"],
        cwd="build",
        run="prog",
        dirs=("build",),
    ),
    Shape("relative-compile-with-MD-from-another-directory", ["-I../include", "-MD", "-c", "../main.c"],
          cwd="build", dirs=("build",)),
    Shape("fsyntax-only", [*INCLUDE, "-fsyntax-only", *SOURCES]),
    Shape("fsyntax-only-with-link-arguments", [*INCLUDE, "-fsyntax-only", *SOURCES, *LIBS, "-o", "prog"]),
    Shape("version", ["--version"], stdout="same"),
    Shape("v", ["-v"], stdout="same"),
    Shape("v-with-a-compile", ["-v", *INCLUDE, "-c", "src/sum.c"]),
    Shape("dumpmachine-dumpversion", ["-dumpmachine"], stdout="same"),
    Shape("print-search-dirs", ["-print-search-dirs"], stdout="same"),
    Shape("print-file-name", ["-print-file-name=libc.so"], stdout="same"),
    Shape("print-prog-name", ["-print-prog-name=cc1"], stdout="same"),
    Shape("print-libgcc-file-name", ["-print-libgcc-file-name"], stdout="same"),
]


def _gcc(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run(["gcc", *map(str, args)], check=True, cwd=cwd)


@pytest.fixture(scope="module")
def kits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Per side, the ``libs/`` directory of every copy: the coroutine backend and the two pick archives."""
    root = tmp_path_factory.mktemp("kits")
    backends = {
        "gcc": [(UCONTEXT_BACKEND, ["-I", str(COROUTINE_HEADER.parents[1])])],
        "cpc": [
            (source, ["-I", str(cpc.RUNTIME_DIR), "-I", str(RUNTIME_TESTS), "-I", str(SAMPLE_INCLUDE)])
            for source in (RUNTIME_TESTS / "qemu_coroutine_cps.c", cpc.RUNTIME_DIR / "coroutine-cpc.c")
        ],
    }
    made = {}
    for side, sources in backends.items():
        libs = root / side / "libs"
        libs.mkdir(parents=True)
        objects = []
        for source, flags in sources:
            objects.append(libs / f"{source.stem}.o")
            _gcc("-std=gnu11", "-O1", *flags, "-c", source, "-o", objects[-1])
        subprocess.run(["ar", "rcs", str(libs / "libcoro.a"), *map(str, objects)], check=True)
        for letter in "ab":
            _gcc("-c", FIXTURE / "pick" / f"{letter}.c", "-o", libs / f"pick{letter}.o")
            subprocess.run(["ar", "rcs", str(libs / f"libpick{letter}.a"), str(libs / f"pick{letter}.o")],
                           check=True)
        for obj in libs.glob("*.o"):
            obj.unlink()
        made[side] = libs
    return made


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # One runtime cache for the whole module: the runtime compiles once.
    cache = tmp_path_factory.mktemp("cache")
    return {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(cache), "COROPROJ_REAL_CC": "gcc",
            "LC_ALL": "C"}


def make_copy(root: Path, libs: Path, shape: Shape) -> Path:
    shutil.copytree(FIXTURE, root)
    (root / "include" / "qemu").mkdir()
    shutil.copy(COROUTINE_HEADER, root / "include" / "qemu" / "coroutine.h")
    shutil.copytree(libs, root / "libs")
    for name, text in shape.files.items():
        (root / name).write_text(text)
    for name, original in shape.copies.items():
        shutil.copy(root / original, root / name)
    for name in shape.dirs:
        (root / name).mkdir()
    return root


def snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


@dataclass
class Outcome:
    status: int
    stdout: bytes
    stderr: str
    produced: set[str]
    root: Path


def run_shape(root: Path, command: list[str], shape: Shape, env: dict[str, str]) -> Outcome:
    before = snapshot(root)
    done = subprocess.run([*command, *shape.args], cwd=root / shape.cwd, capture_output=True, env=env)
    after = snapshot(root)
    produced = {name for name, stamp in after.items() if before.get(name) != stamp}
    return Outcome(done.returncode, done.stdout, done.stderr.decode(errors="replace"), produced, root)


def program_output(outcome: Outcome, shape: Shape) -> str:
    assert shape.run is not None
    done = subprocess.run([str(outcome.root / shape.cwd / shape.run)], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _translations(shape: Shape, produced: set[str]) -> set[str]:
    """coroproj's documented extras: under -save-temps, each translation beside gcc's temps."""
    if not any(a.startswith("-save-temps") for a in shape.args):
        return set()
    return {name for name in produced if name.endswith(".cps.c")}


@pytest.mark.parametrize("shape", SHAPES, ids=[shape.name for shape in SHAPES])
def test_coroproj_cc_does_what_gcc_does(
    shape: Shape, tmp_path: Path, kits: dict[str, Path], environment: dict[str, str]
) -> None:
    gcc = run_shape(make_copy(tmp_path / "gcc", kits["gcc"], shape), ["gcc"], shape, environment)
    coroproj = run_shape(
        make_copy(tmp_path / "cpc", kits["cpc"], shape),
        [sys.executable, "-m", "coroproj", "cc", "--backend", "cpc"],
        shape,
        environment,
    )
    if gcc.status == 0:
        assert coroproj.status == 0, coroproj.stderr
    else:
        assert coroproj.status != 0, (gcc.stderr, coroproj.stderr)
    assert "Traceback" not in coroproj.stderr
    extras = _translations(shape, coroproj.produced)
    assert coroproj.produced - extras == gcc.produced, (gcc.stderr, coroproj.stderr)
    if extras:
        assert {name.removesuffix(".cps.c") + ".i" for name in extras} <= gcc.produced
    for name in gcc.produced:
        if name.endswith((".d", ".dep")):
            assert (coroproj.root / name).read_bytes() == (gcc.root / name).read_bytes(), name
    if shape.stdout == "same":
        assert coroproj.stdout == gcc.stdout
    elif shape.stdout == "printed":
        assert gcc.stdout and coroproj.stdout
    if shape.run is not None and gcc.status == 0:
        expected = program_output(gcc, shape)
        assert program_output(coroproj, shape) == expected
        assert re.fullmatch(r"\S.* [ab] (20|27) after 6 entries\n", expected), expected


def test_the_fixture_program_prints_what_its_shapes_expect(
    tmp_path: Path, kits: dict[str, Path], environment: dict[str, str]
) -> None:
    # Guards the table: a fixture that stopped yielding would still agree with itself.
    shape = SHAPES[0]
    outcome = run_shape(make_copy(tmp_path / "cpc", kits["cpc"], shape),
                        [sys.executable, "-m", "coroproj", "cc", "--backend", "cpc"], shape, environment)
    assert outcome.status == 0, outcome.stderr
    assert program_output(outcome, shape) == PROGRAM_OUTPUT


REJECTED = re.compile(r"rejected\.c:3(:\d+)?: error: .+ \[coroproj-[a-z-]+\]")


@pytest.mark.parametrize(
    "args",
    [
        [*INCLUDE, "-c", "rejected.c", "-o", "rejected.o"],
        [*INCLUDE, "rejected.c", *SOURCES, *LIBS, "-o", "prog"],
        [*INCLUDE, "-save-temps", "rejected.c", *SOURCES, *LIBS, "-o", "prog"],
    ],
    ids=["compile", "link", "link-save-temps"],
)
def test_a_unit_the_translator_rejects_is_one_line_and_no_output(
    args: list[str], tmp_path: Path, kits: dict[str, Path], environment: dict[str, str]
) -> None:
    shape = Shape("rejected", args)
    outcome = run_shape(make_copy(tmp_path / "cpc", kits["cpc"], shape),
                        [sys.executable, "-m", "coroproj", "cc", "--backend", "cpc"], shape, environment)
    assert outcome.status == 2
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1 and REJECTED.fullmatch(lines[0]), outcome.stderr
    # Neither the program nor anything of the rejected unit (its object, temps or translation).
    assert not any(name == "prog" or "rejected" in name for name in outcome.produced), outcome.produced
