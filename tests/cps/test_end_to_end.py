"""Translated programs behave like the same programs on a stack backend.

Each program in programs/ is built twice — natively against the ucontext
reference backend and translated to CPS with the cpc runtime — and must
print the same trace; a few also check the trace itself.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from coroproj.runtime import cpc
from tests.cps.harness import HERE, CpsBuilder, run, translate_file

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


QEMU_WARNINGS = [
    "-Wall", "-Wextra", "-Werror", "-Wstrict-prototypes", "-Wredundant-decls", "-Wold-style-declaration",
    "-Wold-style-definition", "-Wtype-limits", "-Winit-self", "-Wignored-qualifiers", "-Wempty-body",
    "-Wnested-externs", "-Wendif-labels", "-Wmissing-prototypes", "-Wshadow=local", "-Wundef",
    "-Wwrite-strings",
]  # fmt: skip


@pytest.mark.parametrize("program", ["misc", "control", "types"])
def test_translation_compiles_under_qemu_warning_flags(tmp_path: Path, program: str) -> None:
    # System-header declarations keep their system-header line markers, so
    # -Wredundant-decls & co stay quiet about glibc as they are natively.
    translated = tmp_path / f"{program}.cps.c"
    translated.write_text(translate_file(HERE / "programs" / f"{program}.c"))
    done = subprocess.run(
        [
            "gcc",
            "-std=gnu11",
            "-O2",
            *QEMU_WARNINGS,
            "-Wno-missing-prototypes",
            "-I",
            str(cpc.RUNTIME_DIR),
            "-c",
            str(translated),
            "-o",
            str(tmp_path / f"{program}.o"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
