"""What the translator cannot translate is rejected, located and explained — never miscompiled.

Every error id of CPS.md "Beyond the original" has a test here; the message
is one GCC-style line ``file:line:col: error: ... [coroproj-cps-<reason>]``
pointing at the offending line, and the command exits with status 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from coroproj.errors import SourceError
from tests.cps.harness import INCLUDE, translate_file

PRELUDE = '#include "qemu/coroutine.h"\n#include <setjmp.h>\n#include <alloca.h>\n'

CASES = {
    "native-call": (
        """
static int coroutine_fn co(void) { return 1; }
int native(void) { return co(); }   /* MARK */
""",
        "called from native function 'native'",
    ),
    "hybrid": (
        """
static int coroutine_fn co(void) { return 1; }
int both(void) {
    if (qemu_in_coroutine()) {
        return co();   /* MARK */
    }
    return 0;
}
""",
        "split it into a native and a coroutine",
    ),
    "proto-mismatch": (
        """
int coroutine_fn f(int x);
int f(int x) { return x; }   /* MARK */
""",
        "declared without coroutine_fn",
    ),
    "pointer-mismatch": (
        """
static void coroutine_fn co(void) { }
void (*native_ptr)(void) = co;   /* MARK */
""",
        "converts a coroutine function pointer to a native one",
    ),
    "need-cont-address": (
        """
Coroutine *(*get)(void) = qemu_coroutine_self;   /* MARK */
""",
        "address of 'qemu_coroutine_self'",
    ),
    "varargs": (
        """
void coroutine_fn logf(const char *fmt, ...);   /* MARK */
""",
        "variadic coroutine function 'logf'",
    ),
    "setjmp": (
        """
static jmp_buf env;
void coroutine_fn f(void) {
    if (setjmp(env)) {   /* MARK */
        return;
    }
}
""",
        "in a coroutine function",
    ),
    "alloca": (
        """
void coroutine_fn f(int n) {
    char *p = alloca(n);   /* MARK */
    p[0] = 0;
    qemu_coroutine_yield();
}
""",
        "alloca",
    ),
    "vla": (
        """
void coroutine_fn f(int n) {
    int values[n];   /* MARK */
    values[0] = 1;
    qemu_coroutine_yield();
}
""",
        "variable-length array 'values'",
    ),
    "computed-goto": (
        """
void coroutine_fn f(int n) {
    void *where = n ? &&one : &&two;   /* MARK */
    goto *where;
one:
    qemu_coroutine_yield();
two:
    return;
}
""",
        "in a coroutine function",
    ),
    "typedef-annotation": (
        """
static void plain(void) { }
coroutine_fn __typeof__(plain) *hook;   /* MARK */
""",
        "__typeof__",
    ),
    "unsupported": (
        """
void coroutine_fn f(int) {   /* MARK */
    qemu_coroutine_yield();
}
""",
        "unnamed parameter",
    ),
    "cleanup": (
        """
static void release(int *p) { (void)p; }
void coroutine_fn f(void) {
    int fd __attribute__((cleanup(release))) = 3;   /* MARK */
    qemu_coroutine_yield();
    (void)fd;
}
""",
        "cleanup",
    ),
    "return-local-address": (
        """
int *coroutine_fn f(void) {
    int local = 3;
    qemu_coroutine_yield();
    return &local;   /* MARK */
}
""",
        "address of a local variable",
    ),
}


def _write(tmp_path: Path, body: str) -> tuple[Path, int]:
    source = tmp_path / "input.c"
    text = PRELUDE + body
    source.write_text(text)
    mark = next(i for i, line in enumerate(text.splitlines(), 1) if "MARK" in line)
    return source, mark


@pytest.mark.parametrize("reason", sorted(CASES))
def test_rejected_with_reason_and_line(tmp_path: Path, reason: str) -> None:
    body, fragment = CASES[reason]
    source, mark = _write(tmp_path, body)
    with pytest.raises(SourceError) as caught:
        translate_file(source)
    error = caught.value
    assert error.check == f"cps-{reason}"
    assert error.spot.file == str(source)
    assert error.spot.line == mark
    assert fragment in error.message
    assert error.one_line().startswith(f"{source}:{mark}:")
    assert error.one_line().endswith(f"[coroproj-cps-{reason}]")


def test_array_sized_by_sizeof_of_a_variable_is_not_variable_length(tmp_path: Path) -> None:
    # sizeof does not evaluate its operand: the dimension is a constant.
    source, _ = _write(tmp_path, """
void coroutine_fn f(int n) {
    char bytes[sizeof n * 2];   /* MARK */
    bytes[0] = 1;
    qemu_coroutine_yield();
}
""")
    assert "bytes" in translate_file(source)


def test_cast_between_coroutine_and_native_pointers(tmp_path: Path) -> None:
    source, mark = _write(
        tmp_path,
        """
typedef void Native(void);
static void coroutine_fn co(void) { }
void use(void) {
    Native *n = (Native *)co;   /* MARK */
    n();
}
""",
    )
    with pytest.raises(SourceError) as caught:
        translate_file(source)
    assert caught.value.check == "cps-pointer-mismatch"
    assert caught.value.spot.line == mark


def test_native_function_passed_where_coroutine_pointer_expected(tmp_path: Path) -> None:
    source, mark = _write(
        tmp_path,
        """
static void native_entry(void *opaque) { (void)opaque; }
void start(void) {
    Coroutine *co = qemu_coroutine_create(native_entry);   /* MARK */
    qemu_coroutine_enter(co, 0);
}
""",
    )
    with pytest.raises(SourceError) as caught:
        translate_file(source)
    assert caught.value.check == "cps-pointer-mismatch"
    assert caught.value.spot.line == mark


def test_coroutine_function_through_a_native_struct_member(tmp_path: Path) -> None:
    source, mark = _write(
        tmp_path,
        """
struct ops { int (*run)(int); };
static int coroutine_fn co(int x) { return x; }
static struct ops table = {
    .run = co,   /* MARK */
};
""",
    )
    with pytest.raises(SourceError) as caught:
        translate_file(source)
    assert caught.value.check == "cps-pointer-mismatch"
    assert caught.value.spot.line == mark


def test_command_line_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    body, _ = CASES["native-call"]
    source, mark = _write(tmp_path, body)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-m", "coroproj", "translate", str(source), "--", "-I", str(INCLUDE)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{source}:{mark}:" in done.stderr
    assert "[coroproj-cps-native-call]" in done.stderr
    assert done.stdout == ""


def test_an_unforeseen_failure_is_a_located_diagnostic_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import coroproj.cps.pipeline as pipeline

    def broken(*args: object, **kwargs: object) -> object:
        raise ValueError("shape never seen")

    monkeypatch.setattr(pipeline, "split", broken)
    source, _ = _write(tmp_path, "void coroutine_fn f(void) {  /* MARK */\n    qemu_coroutine_yield();\n}\n")
    with pytest.raises(SourceError) as caught:
        translate_file(source)
    assert caught.value.check == "cps-internal"
    assert caught.value.spot.file == str(source)
    assert "'f'" in caught.value.message and "shape never seen" in caught.value.message
