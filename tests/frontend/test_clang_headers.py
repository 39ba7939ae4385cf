"""Text preprocessed by clang: glibc typedefs the _FloatN names that gcc builds in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pycparser import c_ast

from coroproj.frontend.unit import parse_file, parse_text

# What glibc's bits/floatn-common.h gives under clang 14 (it has no _FloatN types).
CLANG_FLOATN = """\
# 214 "/usr/include/x86_64-linux-gnu/bits/floatn-common.h" 3 4
typedef float _Float32;
typedef double _Float64;
typedef double _Float32x;
typedef long double _Float64x;
# 1 "unit.c"
_Float32 half(_Float64 x);
_Complex _Float64 z;
_Float32x widen(_Float32 y) { return (_Float32x)y; }
typedef float v4 __attribute__((__vector_size__(16)));
typedef int v4i __attribute__((__vector_size__(16)));
v4i convert(v4 a) { return __builtin_convertvector(a, v4i); }
unsigned bits(float f) { return __builtin_bit_cast(unsigned, f); }
int pick(int) __attribute__((overloadable));
"""


def _names(ast: c_ast.FileAST) -> list[str]:
    return [
        node.decl.name if isinstance(node, c_ast.FuncDef) else getattr(node, "name", None) or ""
        for node in ast.ext
    ]


def test_clang_floatn_typedefs_and_builtins_parse() -> None:
    ast = parse_text(CLANG_FLOATN, "unit.c")
    assert _names(ast) == [
        "_Float32", "_Float64", "_Float32x", "_Float64x", "half", "z", "widen", "v4", "v4i",
        "convert", "bits", "pick",
    ]


def test_gcc_floatn_builtin_types_still_parse() -> None:
    ast = parse_text("_Float32 f(_Float64 x);\n_Float128 y;\n_Complex _Float32 c;\n", "gcc.c")
    assert _names(ast) == ["f", "y", "c"]


@pytest.mark.skipif(shutil.which("clang-14") is None, reason="clang-14 is not installed")
def test_unit_preprocessed_by_clang_with_glibc_headers_parses(tmp_path: Path) -> None:
    unit = tmp_path / "unit.c"
    unit.write_text(
        "#include <stdio.h>\n#include <stdlib.h>\n#include <math.h>\n#include <string.h>\n"
        "#include <pthread.h>\n#include <emmintrin.h>\n"
        "double f(double x) { return sqrt(x) + strtod(\"1\", NULL); }\n"
    )
    parsed = parse_file(unit, ["-D_GNU_SOURCE"], compiler="clang-14")
    assert "f" in _names(parsed.ast)
