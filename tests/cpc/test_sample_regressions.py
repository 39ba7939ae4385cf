"""Bugs found by building the sample project with ``scons BACKEND=cpc``, one small program each.

Every program is translated, compiled warning-free (-Wall -Wextra -Werror),
linked with the cpc runtime and run; its output must be what the same
program prints on the ucontext reference backend.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cps.harness import CpsBuilder, run

PROLOGUE = '#include "qemu/coroutine.h"\n#include <stdio.h>\n'

# block.c's request_begin: the piece after `if (c) g();` in a void function is
# both the receiver of the tail call g() (so it was dropped) and the target of
# the if's other branch, which then called an undeclared function.
TAIL_RECEIVER_ALSO_JUMPED_TO = r"""
static int counter;

static void coroutine_fn bump(int by)
{
    qemu_coroutine_yield();
    counter += by;
}

static void coroutine_fn maybe_bump(int by)
{
    counter++;
    if (by > 1) {
        bump(by);
    }
}

static void coroutine_fn entry(void *opaque)
{
    (void)opaque;
    maybe_bump(1);
    printf("after 1: %d\n", counter);
    maybe_bump(10);
    printf("after 10: %d\n", counter);
}

int main(void)
{
    Coroutine *co = qemu_coroutine_create(entry);
    qemu_coroutine_enter(co, NULL);
    printf("yielded: %d\n", counter);
    qemu_coroutine_enter(co, NULL);
    return 0;
}
"""

# Every unit of the sample project includes <stddef.h> (through stdlib.h or
# directly); the translated text re-declares max_align_t as an anonymous
# struct, and the runtime header included <stddef.h> again before it:
# "conflicting types for 'max_align_t'".
UNIT_INCLUDING_STDDEF = r"""
#include <stddef.h>
#include <stdlib.h>

static size_t coroutine_fn aligned_size(size_t n)
{
    qemu_coroutine_yield();
    return (n + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) * _Alignof(max_align_t);
}

static void coroutine_fn entry(void *opaque)
{
    size_t *sizes = opaque;
    for (int i = 0; i < 3; i++) {
        sizes[i] = aligned_size(sizes[i]);
    }
}

int main(void)
{
    size_t sizes[3] = { 1, 17, 40 };
    Coroutine *co = qemu_coroutine_create(entry);
    for (int i = 0; i < 4; i++) {
        qemu_coroutine_enter(co, sizes);
    }
    printf("%zu %zu %zu max_align_t=%zu\n", sizes[0], sizes[1], sizes[2], _Alignof(max_align_t));
    return 0;
}
"""

PROGRAMS = {
    "tail-receiver-also-jumped-to": TAIL_RECEIVER_ALSO_JUMPED_TO,
    "unit-including-stddef": UNIT_INCLUDING_STDDEF,
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_regression_program_runs_like_the_stack_backend(
    cpc_builder: CpsBuilder, tmp_path: Path, name: str
) -> None:
    source = tmp_path / f"{name}.c"
    source.write_text(PROLOGUE + PROGRAMS[name])
    expected = run(cpc_builder.native([source], name))
    assert expected.strip()
    assert run(cpc_builder.cpc([source], name)) == expected


def test_tail_receiver_program_trace(cpc_builder: CpsBuilder, tmp_path: Path) -> None:
    source = tmp_path / "tail.c"
    source.write_text(PROLOGUE + TAIL_RECEIVER_ALSO_JUMPED_TO)
    assert run(cpc_builder.cpc([source], "tail")).splitlines() == ["after 1: 1", "yielded: 2", "after 10: 12"]


def test_linked_runtime_is_optimised_without_an_O_on_the_link_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SCons and most Makefiles link with `cc -o prog objs... -lpthread`, no -O: the runtime
    compiled for that link was -O0, and every switch called cpc_pop_fn out of line (a
    quarter of the instructions of a yield)."""
    from coroproj.driver.cc import _compiled_runtime, real_compiler
    from coroproj.driver.gcc_args import parse_gcc_command

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    link = parse_gcc_command(["-pthread", "-o", "prog", "main.o", "-lpthread"])
    runtime = _compiled_runtime(real_compiler(), link)
    symbols = subprocess.run(["nm", str(runtime)], capture_output=True, text=True, check=True).stdout
    assert "cpc_run_align" in symbols
    # The inline helpers of the trampoline are inlined, not emitted as local functions.
    assert "cpc_pop_fn" not in symbols
