"""Node coordinates name the original file and line, through gcc's line
markers (with their flags) and through multi-line GNU attributes."""

from __future__ import annotations

from pycparser import c_ast

from coroproj.frontend.unit import parse_text
from tests.frontend.helpers import all_nodes


def decl_coords(text: str) -> dict[str, tuple[str, int, int]]:
    ast = parse_text(text, "unit.i")
    return {
        node.name: (node.coord.file, node.coord.line, node.coord.column)
        for node in all_nodes(ast)
        if isinstance(node, c_ast.Decl)
    }


def test_line_markers_with_flags() -> None:
    text = (
        '# 1 "unit.c"\n'
        '# 1 "/usr/include/stdio.h" 1 3 4\n'
        "\n"
        "extern int from_header;\n"
        '# 3 "unit.c" 2\n'
        "int in_unit;\n"
    )
    coords = decl_coords(text)
    assert coords["from_header"][:2] == ("/usr/include/stdio.h", 2)
    assert coords["in_unit"][:2] == ("unit.c", 3)


def test_multi_line_attribute_keeps_following_lines() -> None:
    text = (
        '# 10 "unit.c"\n'
        "int a __attribute__((\n"
        "    aligned(8),\n"
        "    unused));\n"
        "int b;\n"
        "  int c __attribute__((unused)), d;\n"
    )
    coords = decl_coords(text)
    assert coords["a"] == ("unit.c", 10, 5)
    assert coords["b"] == ("unit.c", 13, 5)
    assert coords["c"] == ("unit.c", 14, 7)
    assert coords["d"] == ("unit.c", 14, 34)


def test_extension_keyword_does_not_shift_columns() -> None:
    coords = decl_coords('# 5 "unit.c"\n__extension__ long long e;\n')
    assert coords["e"] == ("unit.c", 5, 25)
