"""Translated programs behave like the same programs on a stack backend.

Each program in programs/ is built twice — natively against the ucontext
reference backend and translated to CPS with the cpc runtime — and must
print the same trace; a few also check the trace itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cps.harness import HERE, CpsBuilder, run

PROGRAMS = sorted(p.stem for p in (HERE / "programs").glob("*.c"))
WITH_COLOCK = {"locks"}


@pytest.mark.parametrize("program", PROGRAMS)
def test_translation_prints_what_the_stack_backend_prints(builder: CpsBuilder, program: str) -> None:
    source = HERE / "programs" / f"{program}.c"
    colock = program in WITH_COLOCK
    expected = run(builder.native([source], program, with_colock=colock))
    actual = run(builder.cpc([source], program, with_colock=colock))
    assert expected.strip(), "the program prints nothing to compare"
    assert actual == expected


def test_simple_trace_is_the_expected_interleaving(builder: CpsBuilder) -> None:
    output = run(builder.cpc([HERE / "programs" / "simple.c"], "simple-check"))
    assert output.splitlines()[:4] == ["round 0", "round 1", "a x=10", "b x=10"]
    assert output.splitlines()[-2:] == ["a i=2 x=43", "b i=2 x=43"]


def test_programs_exist() -> None:
    assert Path(HERE / "programs" / "simple.c").is_file()
