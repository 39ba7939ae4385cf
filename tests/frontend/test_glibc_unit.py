"""A real unit: the glibc headers QEMU-like code includes, plus every GNU
construct, preprocessed by gcc with -D__COROPROJ__ and parsed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pycparser import c_ast

from coroproj.frontend import gnu_ast
from coroproj.frontend.unit import ParsedUnit, parse_file, parse_unit_text
from tests.frontend.helpers import (
    BLOCKING,
    COROUTINE,
    MIXED,
    NONE,
    all_nodes,
    declaration,
    declarations,
    function_kinds,
    gcc_accepts,
    regenerate,
)

UNIT = Path(__file__).parent / "data" / "glibc_unit.c"

EXPECTED_KINDS = {
    "CoroutineEntry": [COROUTINE],
    "co_flush": [COROUTINE],
    "co_pwrite": [COROUTINE],
    "probe": [NONE],
    "qemu_coroutine_self": [COROUTINE],
    "qemu_coroutine_yield": [COROUTINE],
    "aio_poll": [BLOCKING],
    "either_way": [MIXED],
    "co_sleep": [COROUTINE],
    "cb": [COROUTINE],
    "run": [NONE],
    "get_entry": [NONE, COROUTINE],
    "co_read": [COROUTINE],
    "co_entry": [COROUTINE],
    "fn": [COROUTINE],
    "clamp": [NONE],
}


@pytest.fixture(scope="module")
def unit() -> ParsedUnit:
    return parse_file(UNIT, ["-std=gnu11", "-c", "-o", "/nonexistent/out.o", "-MD"])


def test_annotated_functions_keep_their_kinds(unit: ParsedUnit) -> None:
    for name, kinds in EXPECTED_KINDS.items():
        for decl in declarations(unit, name):
            assert function_kinds(decl) == kinds, name
    assert unit.misplaced_annotations == []


def test_every_gnu_construct_is_in_the_ast(unit: ParsedUnit) -> None:
    kinds = {type(node) for node in all_nodes(unit.ast)}
    for expected in (
        gnu_ast.StmtExpr,
        gnu_ast.CaseRange,
        gnu_ast.RangeDesignator,
        gnu_ast.Asm,
        gnu_ast.AsmOperand,
        gnu_ast.AsmLabel,
        gnu_ast.ComputedGoto,
        gnu_ast.LabelAddress,
        gnu_ast.LocalLabels,
        c_ast.TypeOf,
        c_ast.GenericSelection,
        c_ast.StaticAssert,
    ):
        assert expected in kinds, expected.__name__


def test_round_trip_compiles_and_keeps_annotations(unit: ParsedUnit) -> None:
    regenerated = regenerate(unit)
    ok, messages = gcc_accepts(regenerated)
    assert ok, messages
    reparsed = parse_unit_text(regenerated, "regenerated.c")
    for name, kinds in EXPECTED_KINDS.items():
        for decl in declarations(reparsed, name):
            assert function_kinds(decl) == kinds, name
    assert regenerate(reparsed) == regenerated


def test_round_trip_without_annotations_compiles_cleanly(unit: ParsedUnit) -> None:
    regenerated = regenerate(unit, annotations=False)
    assert "coroutine_fn" not in regenerated
    ok, messages = gcc_accepts(regenerated)
    assert ok, messages
    assert "coroutine_fn" not in messages


def test_header_declarations_carry_header_coordinates(unit: ParsedUnit) -> None:
    memset = declaration(unit, "memset")
    assert memset.coord.file.endswith("string.h")
    header_line = Path(memset.coord.file).read_text().splitlines()[memset.coord.line - 1]
    assert "memset" in header_line


def test_unit_declarations_carry_unit_coordinates(unit: ParsedUnit) -> None:
    co_read = [d for d in declarations(unit, "co_read") if d.coord.file == str(UNIT)]
    assert co_read
    source_line = UNIT.read_text().splitlines()[co_read[0].coord.line - 1]
    assert "co_read" in source_line


def test_preprocessed_text_is_kept(unit: ParsedUnit) -> None:
    assert unit.path == UNIT
    assert "co_read" in unit.text
    assert "__attribute__((coroutine_fn))" in unit.text
