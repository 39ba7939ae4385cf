"""``coroproj fix`` on small multi-file trees: every fix position, formatting
kept byte-for-byte outside the edits, idempotence, rollback, refusals."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from coroproj.cli import main
from tests.whole.trees import make_tree


def fix(root: Path, *extra: str) -> int:
    return main(["fix", "-q", "-j", "1", "--yes", *extra, str(root)])


def check(root: Path) -> int:
    return main(["check", "-q", "-j", "1", str(root)])


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(old line, new line) pairs of a line-for-line edit; fails if lines were added or removed."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new), "a fix must not add or remove lines"
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def only_insertions(before: str, after: str, word: str = "coroutine_fn") -> None:
    """``after`` is ``before`` plus copies of ``word``: nothing else changed, byte for byte."""
    assert after.count(word) > before.count(word)

    def strip(text: str) -> str:  # the two shapes of an insertion: "word " and " word"
        return text.replace(f"{word} ", "").replace(f" {word}", "")

    assert strip(after) == strip(before)


HEADER = """\
#include "compiler.h"
typedef struct Coroutine Coroutine;
/* the driver interface */
typedef struct Driver {
    int (*co_flush)(void *opaque);   /* called from coroutines */
    int (*probe)(const char *name);  /* native */
} Driver;
typedef int Entry(void *opaque);
void spawn(Entry *entry, void *opaque);
int  co_read(void *buf,
             int len);
Coroutine *co_self(void);
"""

SOURCE = """\
#include "drv.h"

/* Reads, yielding while waiting. */
int co_read(void *buf,
            int len)
{
    qemu_coroutine_yield();   // wait
    return len + (buf != 0);
}

static int
sleep_a_bit(int ticks)
{
    while (ticks--) qemu_coroutine_yield();
    return 0;
}

Coroutine *co_self(void) { sleep_a_bit(1); return 0; }

static int coroutine_fn my_flush(void *opaque)
{
    return co_read(opaque, 1);
}

static int worker(void *opaque) { return sleep_a_bit(2) + (opaque != 0); }

static int my_probe(const char *name) { return name[0]; }

const Driver driver = { .co_flush = my_flush, .probe = my_probe };

void start(void) { spawn(worker, 0); }
"""

ENTRY_ANNOTATED = "typedef int coroutine_fn Entry(void *opaque);\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    make_tree(root, {"include/drv.h": HEADER, "src/drv.c": SOURCE})
    # The typedef keeps its annotation (the interface's contract), as in the round trip.
    header = root / "include/drv.h"
    header.write_text(header.read_text().replace("typedef int Entry(void *opaque);\n", ENTRY_ANNOTATED))
    return root


def test_every_position_fixed_in_place(tree: Path) -> None:
    header_before = (tree / "include/drv.h").read_text()
    source_before = (tree / "src/drv.c").read_text()
    assert check(tree) == 1
    assert fix(tree) == 0
    header = (tree / "include/drv.h").read_text()
    source = (tree / "src/drv.c").read_text()
    only_insertions(header_before, header)
    only_insertions(source_before, source)
    assert changed_lines(header_before, header) == [
        # struct member: called from coroutine code, assigned a coroutine function
        ("    int (*co_flush)(void *opaque);   /* called from coroutines */\n",
         "    int coroutine_fn (*co_flush)(void *opaque);   /* called from coroutines */\n"),
        # header prototypes (white space inside kept), pointer return type
        ("int  co_read(void *buf,\n", "int  coroutine_fn co_read(void *buf,\n"),
        ("Coroutine *co_self(void);\n", "Coroutine *coroutine_fn co_self(void);\n"),
    ]
    assert changed_lines(source_before, source) == [
        ("int co_read(void *buf,\n", "int coroutine_fn co_read(void *buf,\n"),
        # static, GNU style: the annotation ends the return-type line
        ("static int\n", "static int coroutine_fn\n"),
        ("Coroutine *co_self(void) { sleep_a_bit(1); return 0; }\n",
         "Coroutine *coroutine_fn co_self(void) { sleep_a_bit(1); return 0; }\n"),
        # passed where the coroutine typedef Entry is expected
        ("static int worker(void *opaque) { return sleep_a_bit(2) + (opaque != 0); }\n",
         "static int coroutine_fn worker(void *opaque) { return sleep_a_bit(2) + (opaque != 0); }\n"),
    ]
    assert check(tree) == 0


def test_typedef_of_a_function_type(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", {
        "t.h": '#include "compiler.h"\ntypedef void Entry(void *);\ntypedef void (*Callback)(int);\n'
               "void spawn(Entry *e);\nvoid later(Callback cb);\n",
        "t.c": '#include "t.h"\nstatic void coroutine_fn body(void *p) { qemu_coroutine_yield(); }\n'
               "static void coroutine_fn tick(int n) { qemu_coroutine_yield(); }\n"
               "void go(void) { spawn(body); later(tick); }\n",
    })
    assert fix(root) == 0
    assert (root / "t.h").read_text().splitlines()[1:3] == [
        "typedef void coroutine_fn Entry(void *);",
        "typedef void coroutine_fn (*Callback)(int);",
    ]
    assert check(root) == 0


def test_parameter_of_a_function_pointer_type(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", {
        "t.c": '#include "compiler.h"\n'
               "static void coroutine_fn body(void *p) { qemu_coroutine_yield(); }\n"
               "void run(void (*cb)(void *), void *opaque);\n"
               "void go(void) { run(body, 0); }\n",
    })
    assert fix(root) == 0
    assert "void run(void coroutine_fn (*cb)(void *), void *opaque);" in (root / "t.c").read_text()


def test_fix_twice_changes_nothing_the_second_time(tree: Path) -> None:
    assert fix(tree) == 0
    snapshot = {p: p.read_bytes() for p in tree.rglob("*.[ch]")}
    mtimes = {p: p.stat().st_mtime_ns for p in snapshot}
    assert fix(tree) == 0
    assert {p: p.read_bytes() for p in snapshot} == snapshot
    assert {p: p.stat().st_mtime_ns for p in snapshot} == mtimes


def test_diff_prints_and_changes_nothing(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (tree / "src/drv.c").read_bytes()
    assert main(["fix", "-q", "-j", "1", "--diff", str(tree)]) == 1
    out = capsys.readouterr().out
    assert "--- a/src/drv.c\n+++ b/src/drv.c\n" in out
    assert "+static int coroutine_fn\n" in out
    assert (tree / "src/drv.c").read_bytes() == before


def test_permissions_and_crlf_kept(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", {"t.c": ""})
    path = root / "t.c"
    head = b'#include "compiler.h"\r\n/* caf\xc3\xa9 \xff */\r\n'  # UTF-8 and a stray byte
    path.write_bytes(head + b"void f(void) { qemu_coroutine_yield(); }\r\n")
    os.chmod(path, 0o640)
    assert fix(root) == 0
    assert path.read_bytes() == head + b"void coroutine_fn f(void) { qemu_coroutine_yield(); }\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_wrong_blocking_replaced_and_spurious_only_on_request(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", {
        "t.h": '#include "compiler.h"\nint blocking_fn waits(void);\nint coroutine_fn idle(void);\n',
        "t.c": '#include "t.h"\nint blocking_fn waits(void) { qemu_coroutine_yield(); return 0; }\n'
               "int coroutine_fn idle(void) { return 1; }\n",
    })
    assert fix(root) == 0
    assert (root / "t.c").read_text().splitlines()[1:] == [
        "int coroutine_fn waits(void) { qemu_coroutine_yield(); return 0; }",
        "int coroutine_fn idle(void) { return 1; }",  # spurious, kept without --remove-spurious
    ]
    assert "int coroutine_fn waits(void);" in (root / "t.h").read_text()
    assert fix(root, "--remove-spurious") == 0
    assert (root / "t.c").read_text().splitlines()[2] == "int idle(void) { return 1; }"
    assert (root / "t.h").read_text().splitlines()[2] == "int idle(void);"


def test_suppressed_finding_is_not_fixed(tmp_path: Path) -> None:
    text = ('#include "compiler.h"\n/* coroproj: ignore[missing] waits on purpose */\n'
            "void f(void) { qemu_coroutine_yield(); }\n")
    root = make_tree(tmp_path / "t", {"t.c": text})
    assert fix(root) == 0
    assert (root / "t.c").read_text() == text


def test_rollback_when_the_edit_has_no_effect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # b.c disables the macro, so an annotation inserted there changes nothing:
    # the whole fix, a.c's edit included, must be undone.
    root = make_tree(tmp_path / "t", {
        "a.c": '#include "compiler.h"\nvoid a(void) { qemu_coroutine_yield(); }\n',
        "b.c": '#include "compiler.h"\n#undef coroutine_fn\n#define coroutine_fn\n'
               "void b(void) { qemu_coroutine_yield(); }\n",
    })
    before = {p: p.read_bytes() for p in root.rglob("*.c")}
    capsys.readouterr()
    assert fix(root) == 2
    err = capsys.readouterr().err
    assert "rolled back, no file changed" in err
    assert "still reported after the edit" in err and "'b'" in err
    assert {p: p.read_bytes() for p in before} == before


def test_files_outside_the_root_are_never_edited(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "vendor"
    outside.mkdir()
    (outside / "lib.h").write_text('#include "compiler.h"\nvoid lib_wait(void);\n')
    root = make_tree(tmp_path / "t", {
        "t.c": '#include "lib.h"\nvoid lib_wait(void) { qemu_coroutine_yield(); }\n',
    })
    (root / "compile_commands.json").write_text(
        (root / "compile_commands.json").read_text().replace('"-Iinclude"', f'"-Iinclude", "-I{outside}"')
    )
    header_before = (outside / "lib.h").read_text()
    capsys.readouterr()
    assert fix(root) == 1  # the definition is fixed, the header is left to a human
    assert (outside / "lib.h").read_text() == header_before
    assert "void coroutine_fn lib_wait(void)" in (root / "t.c").read_text()
    err = capsys.readouterr().err
    assert f"{outside / 'lib.h'}:2: note: not fixed: 'lib_wait': outside the project root" in err


def test_macro_made_declaration_is_listed_not_guessed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = ('#include "compiler.h"\n#define DEFINE_WAITER(name) void name(void) { qemu_coroutine_yield(); }\n'
            "DEFINE_WAITER(waiter)\nvoid caller(void) { waiter(); }\n")
    root = make_tree(tmp_path / "t", {"t.c": text})
    capsys.readouterr()
    assert fix(root) == 1
    err = capsys.readouterr().err
    assert "t.c:3: note: not fixed: 'waiter'" in err and "macro" in err
    # The plain function around it is still fixed; the macro line is untouched.
    assert (root / "t.c").read_text() == text.replace("void caller", "void coroutine_fn caller")


def test_generated_header_is_reported_not_edited(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generated = "/* Generated by gen.py -- DO NOT EDIT */\n#include \"compiler.h\"\nvoid gen_wait(void);\n"
    root = make_tree(tmp_path / "t", {
        "include/gen.h": generated,
        "t.c": '#include "gen.h"\nvoid gen_wait(void) { qemu_coroutine_yield(); }\n',
    })
    capsys.readouterr()
    assert fix(root) == 1
    assert (root / "include/gen.h").read_text() == generated
    assert "a generated file" in capsys.readouterr().err


def test_non_interactive_without_yes_refuses(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (tree / "src/drv.c").read_bytes()
    assert main(["fix", "-q", "-j", "1", str(tree)]) == 2
    assert "pass --yes" in capsys.readouterr().err
    assert (tree / "src/drv.c").read_bytes() == before


def test_edit_that_breaks_something_else_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Annotating 'tramp' would make the cast to a native type drop the annotation:
    # that edit is left out and listed, the others are made.
    text = ('#include "compiler.h"\ntypedef void (*Native)(void);\n'
            "void tramp(void) { qemu_coroutine_yield(); }\n"
            "void other(void) { qemu_coroutine_yield(); }\n"
            "Native table = (Native)tramp;\n")
    root = make_tree(tmp_path / "t", {"t.c": text})
    capsys.readouterr()
    assert fix(root) == 1
    assert (root / "t.c").read_text() == text.replace("void other", "void coroutine_fn other")
    err = capsys.readouterr().err
    assert "t.c:3: note: not fixed: 'tramp': annotating it would break something else:" in err
    assert "cast to drops coroutine_fn" in err


@pytest.mark.parametrize(("answer", "status", "written"), [("y", 0, True), ("n", 2, False)])
def test_interactive_confirmation(
    tree: Path, monkeypatch: pytest.MonkeyPatch, answer: str, status: int, written: bool
) -> None:
    before = (tree / "src/drv.c").read_text()
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: answer)
    assert main(["fix", "-q", "-j", "1", str(tree)]) == status
    assert ((tree / "src/drv.c").read_text() != before) == written


def test_remove_spurious_also_resolves_the_prototype_disagreement(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t", {
        "t.h": '#include "compiler.h"\nint coroutine_fn idle(void);\n',
        "t.c": '#include "t.h"\nint idle(void) { return 1; }\n',
    })
    assert fix(root, "--remove-spurious") == 0
    assert (root / "t.h").read_text().splitlines()[1] == "int idle(void);"
    assert (root / "t.c").read_text().splitlines()[1] == "int idle(void) { return 1; }"
    assert check(root) == 0


def test_rounds_until_nothing_is_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Round 1: 'plain' is passed where a coroutine type is expected, so it gets the
    # annotation; that makes it a root, so round 2 annotates its caller.
    text = ('#include "compiler.h"\ntypedef int coroutine_fn CoRead(int);\nvoid use(CoRead *r);\n'
            "static int plain(int x) { return x; }\n"
            "int caller(void) { return plain(1); }\n"
            "void setup(void) { use(plain); }\n")
    root = make_tree(tmp_path / "t", {"t.c": text})
    assert main(["fix", "-q", "-j", "1", "--diff", str(root)]) == 1
    diff = capsys.readouterr().out  # both rounds, predicted without writing
    assert "+static int coroutine_fn plain" in diff and "+int coroutine_fn caller" in diff
    assert (root / "t.c").read_text() == text
    assert fix(root) == 0
    assert (root / "t.c").read_text() == text.replace("int plain", "int coroutine_fn plain").replace(
        "int caller", "int coroutine_fn caller")
    assert check(root) == 0


def test_write_failure_rolls_back_the_files_already_written(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import coroproj.fix.apply as apply_module

    before = {p: p.read_bytes() for p in tree.rglob("*.[ch]")}
    real_write = apply_module.write_text_atomically
    written: list[Path] = []

    def failing_second_write(path: Path, text: str, *, errors: str = "strict") -> None:
        if len(written) == 1 and path not in written:
            raise PermissionError(13, "Permission denied", str(path))
        written.append(path)
        real_write(path, text, errors=errors)

    monkeypatch.setattr(apply_module, "write_text_atomically", failing_second_write)
    capsys.readouterr()
    assert fix(tree) == 2
    assert "rolled back, no file changed: cannot write" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in before} == before


def test_type_shared_with_native_callbacks_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Giving Callback the annotation would make plain_cb's registration wrong: listed, not made.
    text = ('#include "compiler.h"\ntypedef void (*Callback)(void);\nvoid register_cb(Callback cb);\n'
            "static void coroutine_fn co_cb(void) { qemu_coroutine_yield(); }\n"
            "static void plain_cb(void) { }\n"
            "void setup(void) { register_cb(co_cb); register_cb(plain_cb); }\n")
    root = make_tree(tmp_path / "t", {"t.c": text})
    capsys.readouterr()
    assert fix(root) == 1
    assert (root / "t.c").read_text() == text
    err = capsys.readouterr().err
    assert "t.c:2: note: not fixed: 'Callback': annotating it would break something else:" in err
    assert "'plain_cb' is a native function" in err


def fix_verbose(root: Path, *extra: str) -> int:
    return main(["fix", "-j", "1", "--yes", *extra, str(root)])


def test_fix_exits_like_check_when_a_finding_has_no_annotation_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A coroutine calling a blocking function: no annotation makes that right.
    text = ('#include "compiler.h"\nvoid blocking_fn wait_hard(void);\n'
            "void coroutine_fn a(void) { wait_hard(); qemu_coroutine_yield(); }\n")
    root = make_tree(tmp_path / "t", {"t.c": text})
    assert check(root) == 1
    capsys.readouterr()
    assert fix_verbose(root) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        "coroproj fix: no edit made; 1 finding(s) at warning level or above remain "
        "(coroproj check lists them)"
    )
    assert main(["fix", "-q", "-j", "1", "--diff", str(root)]) == 1
    assert (root / "t.c").read_text() == text


def test_prototype_lacking_the_definitions_blocking_fn_is_left_for_a_human(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # fix writes only coroutine_fn: it must not put it on a blocking function's prototype.
    text = ('#include "compiler.h"\nstatic int opener(int flags);\n'
            "static int blocking_fn opener(int flags) { return flags; }\n"
            "int use(void) { return opener(0); }\n")
    root = make_tree(tmp_path / "t", {"t.c": text})
    capsys.readouterr()
    assert fix_verbose(root) == 1
    err = capsys.readouterr().err
    assert f"{root / 't.c'}:2: note: not fixed: 'opener': add blocking_fn by hand" in err
    assert (root / "t.c").read_text() == text


def test_a_spot_left_for_a_human_is_not_followed_by_nothing_to_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = ('#include "compiler.h"\n#define DEFINE_WAITER(name) void name(void) { qemu_coroutine_yield(); }\n'
            "DEFINE_WAITER(waiter)\n")
    root = make_tree(tmp_path / "t", {"t.c": text})
    capsys.readouterr()
    assert fix_verbose(root) == 1
    err = capsys.readouterr().err
    assert "nothing to change" not in err
    lines = err.splitlines()
    assert lines[0].startswith(f"{root / 't.c'}:3: note: not fixed: 'waiter': ")
    assert lines[-1].startswith("coroproj fix: no edit made; 1 spot(s) left for a human (listed above)")
    assert err.endswith("\n")


def test_nothing_to_change_only_on_a_clean_tree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_tree(tmp_path / "t", {"t.c": '#include "compiler.h"\nvoid coroutine_fn a(void) '
                                              "{ qemu_coroutine_yield(); }\n"})
    capsys.readouterr()
    assert fix_verbose(root) == 0
    assert capsys.readouterr().err.splitlines()[-1] == "coroproj fix: nothing to change"
    assert check(root) == 0


def test_diff_of_a_file_without_final_newline_applies_with_patch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    import subprocess

    text = '#include "compiler.h"\nvoid a(void) { qemu_coroutine_yield(); }'  # no final newline
    root = make_tree(tmp_path / "t", {"t.c": text})
    monkeypatch.chdir(root)
    capsys.readouterr()
    assert main(["fix", "-q", "-j", "1", "--diff", str(root)]) == 1
    diff = capsys.readouterr().out
    assert diff.endswith("\n")
    assert "+void coroutine_fn a(void) { qemu_coroutine_yield(); }\n\\ No newline at end of file\n" in diff
    if shutil.which("patch") is None:
        pytest.skip("patch is not installed (CI installs it)")
    subprocess.run(["patch", "-p1", "--quiet"], input=diff, text=True, cwd=root, check=True)
    assert (root / "t.c").read_text() == text.replace("void a", "void coroutine_fn a")


def test_a_prototype_the_next_round_fixes_is_not_blamed_on_the_edit(tmp_path: Path) -> None:
    # QEMU 1.6's CPC port in small: a coroutine function stored in a native
    # struct member.  Round 1 annotates the member; that makes 'save_all',
    # which calls through it, a coroutine function whose header prototype
    # now lacks the annotation: round 2's work, not a breakage to roll back.
    header = ('#include "compiler.h"\ntypedef struct Driver {\n    int (*save)(void *opaque);\n} Driver;\n'
              "int save_all(Driver *driver);\n")
    source = ('#include "drv.h"\n'
              "static int coroutine_fn co_save(void *opaque)\n"
              "{ qemu_coroutine_yield(); return opaque != 0; }\n"
              "Driver driver = { .save = co_save };\n"
              "int save_all(Driver *driver) { return driver->save(0); }\n")
    root = make_tree(tmp_path / "t", {"drv.h": header, "drv.c": source})
    assert fix(root) == 0
    assert (root / "drv.h").read_text() == header.replace("int (*save)", "int coroutine_fn (*save)").replace(
        "int save_all", "int coroutine_fn save_all")
    assert (root / "drv.c").read_text() == source.replace("int save_all", "int coroutine_fn save_all")
    assert check(root) == 0
