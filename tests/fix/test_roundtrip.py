"""Round trip: strip every coroutine_fn of function declarations (except the
primitives), run ``coroproj fix``, compare with the hand-annotated original;
the fixed tree still builds and its test passes."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from coroproj.fix.roundtrip import round_trip
from tests.whole.trees import make_tree, write_database

REPOSITORY = Path(__file__).resolve().parents[2]

FILES = {
    "include/co.h": """\
        #include "compiler.h"
        typedef struct Coroutine Coroutine;
        typedef void coroutine_fn CoroutineEntry(void *opaque);
        Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque);
        void qemu_coroutine_enter(Coroutine *co);
        """,
    "include/drv.h": """\
        #include "co.h"
        typedef struct Driver {
            const char *name;
            int coroutine_fn (*co_read)(void *opaque, int n);   /* interface: kept */
            int (*probe)(const char *name);
        } Driver;
        int coroutine_fn drv_read(const Driver *drv, void *opaque, int n);
        Coroutine *coroutine_fn drv_self(void);
        extern const Driver null_driver;
        """,
    "src/drv.c": """\
        #include "drv.h"

        int coroutine_fn drv_read(const Driver *drv, void *opaque, int n)
        {
            return drv->co_read(opaque, n);
        }

        static int coroutine_fn
        wait_ticks(int ticks)
        {
            while (ticks-- > 0) {
                qemu_coroutine_yield();
            }
            return 0;
        }

        Coroutine *coroutine_fn drv_self(void) { wait_ticks(1); return 0; }
        """,
    "src/null.c": """\
        #include "drv.h"

        /* Does not yield, but implements a coroutine interface. */
        static int coroutine_fn null_read(void *opaque, int n) { (void)opaque; return n; }
        static int null_probe(const char *name) { return name[0] == 'n'; }

        const Driver null_driver = { .name = "null", .co_read = null_read, .probe = null_probe };
        """,
    "src/main.c": """\
        #include "drv.h"

        static int result;

        static void coroutine_fn entry(void *opaque)
        {
            result = drv_read(&null_driver, opaque, 42);
            drv_self();
        }

        int main(void)
        {
            Coroutine *co = qemu_coroutine_create(entry, 0);
            qemu_coroutine_enter(co);
            return result == 42 && null_driver.probe("null") ? 0 : 1;
        }
        """,
    # The runtime switches stacks in native code: compiled, not analysed.
    "runtime/runtime.c": """\
        #include "co.h"
        struct Coroutine { CoroutineEntry *entry; void *opaque; };
        static struct Coroutine the_one;
        Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque)
        {
            the_one.entry = entry;
            the_one.opaque = opaque;
            return &the_one;
        }
        void qemu_coroutine_enter(Coroutine *co) { co->entry(co->opaque); }
        void qemu_coroutine_yield(void) {}
        """,
}


def build_and_run(root: Path) -> None:
    sources = sorted(str(p.relative_to(root)) for p in root.rglob("*.c"))
    subprocess.run(["gcc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Iinclude", "-o", "prog", *sources],
                   cwd=root, check=True, capture_output=True, text=True)
    assert subprocess.run([str(root / "prog")], check=False).returncode == 0


def test_round_trip_recovers_every_annotation(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", FILES, database=False)
    write_database(root, ["src/drv.c", "src/null.c", "src/main.c"])
    original = {p: p.read_bytes() for p in root.rglob("*.[ch]")}
    from coroproj.cli import main

    assert main(["check", "-q", "-j", "1", str(root)]) == 0
    result = round_trip(root)
    assert len(result.stripped) == 7, result.summary()
    assert result.kept == {("include/compiler.h", 10, "qemu_coroutine_yield")}
    assert result.fix_status == 0
    assert result.missed == set() and result.extra == set()
    assert (result.precision, result.recall) == (1.0, 1.0)
    changed = [p for p, text in original.items() if p.read_bytes() != text]
    # Only the conventional place may differ from the hand-written one; here it does not.
    assert changed == []
    build_and_run(root)


def test_round_trip_reports_what_it_cannot_recover(tmp_path: Path) -> None:
    # A deliberate annotation on a function that reaches no coroutine: fix cannot know it.
    files = dict(FILES)
    files["src/extra.c"] = '#include "co.h"\nint coroutine_fn later(void) { return 1; }\n'
    root = make_tree(tmp_path / "t", files, database=False)
    write_database(root, ["src/drv.c", "src/null.c", "src/main.c", "src/extra.c"])
    result = round_trip(root)
    assert result.missed == {("src/extra.c", 2, "later")}
    assert result.precision == 1.0
    assert result.recall == pytest.approx(7 / 8)


@pytest.mark.slow
@pytest.mark.skipif(not (REPOSITORY / "sample_project").is_dir(), reason="sample_project/ is not merged yet")
def test_sample_project_round_trip(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns("build", "compile_commands.json", ".coroproj", "*.o", ".sconsign*")
    shutil.copytree(REPOSITORY / "sample_project", copy / "sample_project", ignore=ignore)
    if (REPOSITORY / "site_scons").is_dir():
        shutil.copytree(REPOSITORY / "site_scons", copy / "site_scons", ignore=ignore)
    project = copy / "sample_project"
    result = round_trip(project, jobs=2)
    lost = "; ".join(f"{f}:{n}: {name}" for f, n, name in sorted(result.missed))
    extra = "; ".join(f"{f}:{n}: {name}" for f, n, name in sorted(result.extra))
    explanation = f"{result.summary()}; missed: {lost}; extra: {extra}"
    assert result.missed == set() and result.extra == set(), explanation
    assert (result.precision, result.recall) == (1.0, 1.0)
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    subprocess.run(["scons", "-Q", "-j2", "-C", str(project)], check=True, env=environment,
                   capture_output=True, text=True)
    tests = [p for p in (project / "build").rglob("*") if p.is_file() and os.access(p, os.X_OK)
             and "tests" in p.relative_to(project / "build").parts]
    assert tests, "the sample project built no test program"
    for program in tests:
        done = subprocess.run([str(program)], cwd=project, check=False, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"{program}: {done.stdout[-2000:]}{done.stderr[-2000:]}"


def test_diff_predicts_exactly_what_fix_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from coroproj.cli import main
    from coroproj.fix.apply import Transaction, edited_texts
    from coroproj.fix.roundtrip import RoundTrip, _analyse, strip_plan

    root = make_tree(tmp_path / "t", FILES, database=False)
    write_database(root, ["src/drv.c", "src/null.c", "src/main.c"])
    analysis, names = _analyse(root.resolve(), 1)
    plan = strip_plan(analysis, names, root.resolve(), RoundTrip())
    Transaction().write(edited_texts(plan.sources, plan.edits), plan.sources)
    stripped = {p: p.read_text() for p in root.rglob("*.[ch]")}
    capsys.readouterr()
    assert main(["fix", "-q", "-j", "1", "--diff", str(root)]) == 1
    predicted = capsys.readouterr().out
    assert {p: p.read_text() for p in stripped} == stripped
    assert main(["fix", "-q", "-j", "1", "--yes", str(root)]) == 0
    written = "".join(
        line
        for p in sorted(stripped)
        for line in difflib.unified_diff(stripped[p].splitlines(keepends=True),
                                         p.read_text().splitlines(keepends=True),
                                         f"a/{p.relative_to(root)}", f"b/{p.relative_to(root)}")
    )
    assert predicted == written
