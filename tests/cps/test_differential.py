"""Differential testing: random coroutine programs, stack backend vs CPS translation.

Each batch is one C file of ``BATCH`` random programs (program_generator):
compiled natively against the ucontext reference backend, and translated
and compiled with the cpc runtime.  Both must print the same trace.  gcc
time is amortised by batching, and both sides are compiled at -O0 (the
translation, not gcc's optimiser, is under test; the hand-written
end-to-end programs run at -O2).

Defaults: 300 programs with a fixed seed.  A longer run:

    COROPROJ_DIFF_PROGRAMS=3000 COROPROJ_DIFF_SEED=7 python3 -m pytest tests/cps/test_differential.py

A failure names the seed and the first program whose trace differs, and
writes that program alone next to the batch to reproduce it; turn it into
a file in programs/ (named regression_*.c) once fixed.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from tests.cps.harness import CpsBuilder, run
from tests.cps.program_generator import PRELUDE, WARNING_FLAGS, batch_source, program_source

SEED = int(os.environ.get("COROPROJ_DIFF_SEED", "20261127"))
PROGRAMS = int(os.environ.get("COROPROJ_DIFF_PROGRAMS", "300"))
BATCH = 50
FLAGS = [*WARNING_FLAGS, "-O0"]


def _first_difference(expected: str, actual: str) -> tuple[int, str, str]:
    for index, (want, got) in enumerate(zip(expected.splitlines(), actual.splitlines(), strict=False)):
        if want != got:
            return index, want, got
    shorter = min(len(expected.splitlines()), len(actual.splitlines()))
    return shorter, "<end>" if len(expected.splitlines()) == shorter else "...", "<end>"


@pytest.mark.parametrize("batch", range(math.ceil(PROGRAMS / BATCH)))
def test_random_programs_print_the_same_trace_translated(tmp_path: Path, batch: int) -> None:
    first = batch * BATCH
    count = min(BATCH, PROGRAMS - first)
    source = tmp_path / f"batch{batch}.c"
    source.write_text(batch_source(SEED, first, count))
    builder = CpsBuilder(tmp_path, flags=FLAGS)
    expected = run(builder.native([source], "native", with_colock=True))
    actual = run(builder.cpc([source], "cpc", with_colock=True))
    assert expected.count("\n") > count, "the programs print their traces"
    if actual != expected:
        line, want, got = _first_difference(expected, actual)
        number = int(want.split()[0][1:]) if want.startswith("p") else first
        alone = tmp_path / f"program{number}.c"
        alone.write_text(
            PRELUDE + program_source(SEED, number) + f"\nint main(void) {{ qemu_co_mutex_init(&shared_lock); "
            f"qemu_co_queue_init(&shared_queue); p{number}_run(); return 0; }}\n"
        )
        pytest.fail(
            f"seed {SEED}: program {number} differs at trace line {line}: "
            f"stack backend printed {want!r}, translation {got!r}; program alone: {alone}"
        )


def test_generator_is_deterministic() -> None:
    assert batch_source(SEED, 0, 3) == batch_source(SEED, 0, 3)
    assert program_source(SEED, 1) != program_source(SEED, 2)


def test_generated_programs_use_every_feature() -> None:
    text = batch_source(SEED, 0, BATCH)
    for feature in (
        "goto again",
        "switch (",
        "case 2 ... 3:",
        "while (",
        "do {",
        "for (int",
        "break;",
        "continue;",
        "return ",
        "bump(&",
        "table[",
        "&&",
        "||",
        " ? ",
        "qemu_co_mutex_lock",
        "qemu_co_queue_wait",
        "qemu_coroutine_yield()",
        "struct pair",
        "double",
        "long",
        "(void)(",
        "const int *",
        "({ int se",
        "&& ((",
    ):
        assert feature in text, feature
