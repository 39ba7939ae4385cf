"""The lexer cuts a whole text at once into exactly the tokens pycparser's loop gives.

``GnuCLexer.input`` tokenizes ahead with patterns picked by first character;
text it cannot cut the same way falls back to pycparser's token-at-a-time
loop.  Either way the parser must see the same tokens (type, value, line,
column, file) and the same first error.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pycparser.c_lexer import CLexer

from coroproj.frontend.lexer import GnuCLexer
from coroproj.frontend.segments import split_segments

SAMPLE = Path(__file__).resolve().parents[2] / "sample_project"


class _LexError(Exception):
    pass


def _raise(message: str, line: int, column: int) -> None:
    raise _LexError(message, line, column)


def _tokens(text: str, *, cut: bool) -> tuple[list[tuple[object, ...]], bool]:
    """Every token as a tuple (an error ends the list), and whether the text was cut ahead."""
    lexer = GnuCLexer(_raise)
    if cut:
        lexer.input(text, "unit.c")
    else:
        CLexer.input(lexer, text, "unit.c")  # pycparser's loop only
        lexer._cut = None
    was_cut = lexer._cut is not None
    found: list[tuple[object, ...]] = []
    while True:
        try:
            token = lexer.token()
        except _LexError as error:
            found.append(("error", *error.args))
            break
        if token is None:
            break
        found.append((token.type, token.value, token.lineno, token.column, token.filename))
    return found, was_cut


def _same(text: str) -> bool:
    expected, _ = _tokens(text, cut=False)
    got, was_cut = _tokens(text, cut=True)
    assert got == expected
    return was_cut


CUT = {
    "markers and pragmas": (
        '# 1 "a.h" 1 3 4\nint x;\n#pragma once\n# pragma omp parallel\n# 7 "a.c" 2\n#line 9\n'
    ),
    "a lone hash": "int a # b;\n",
    "gnu spellings": "__extension__ typedef __signed__ int __attribute__((aligned (8),\n unused)) s32;\n",
    "literals": r"""char *s = L"w\n" u8"x" "\"q\\"; int c = 'ab' + '\'' + u'x' + L'\0';""",
    "numbers": "double d = 0x1.8p3 + .5e-2 + 1e10f + 0b101 + 1'000'000ULL + 017 + 0x1fuLL + 5.;",
    "operators": "a >>= b <<= c ... d -> e :: f ++ g -- h && i || j != k == l <= m >= n ? o : p;",
    "identifiers": "int $dollar, _under, L, u, U8, u8, Lx, offsetof;",
}
FALLBACK = {
    "a C23 attribute": "[[gnu::unused]] int x;",
    "a comment": "int x; /* no */",
    "a bad octal constant": "int x = 09;",
    "an unmatched quote": "char c = 'a;\nint y;",
    "an illegal character": "int x @ y;",
    "a carriage return": "int x;\r\nint y;",
    "an unbalanced attribute": "int x __attribute__((aligned(8);",
    "a bad line marker": "#line\nint x;",
    "a bad string escape": r'char *s = "\@";',
}


@pytest.mark.parametrize("text", CUT.values(), ids=CUT.keys())
def test_text_cut_ahead_gives_pycparsers_tokens(text: str) -> None:
    assert _same(text)


@pytest.mark.parametrize("text", FALLBACK.values(), ids=FALLBACK.keys())
def test_text_it_cannot_cut_the_same_way_is_left_to_pycparsers_loop(text: str) -> None:
    assert not _same(text)


def test_every_segment_of_the_sample_project_is_cut_as_pycparser_cuts_it() -> None:
    segments = 0
    for source in sorted(path for path in SAMPLE.rglob("*.c") if "build" not in path.parts):
        text = subprocess.run(
            ["cc", "-E", "-std=gnu11", "-pthread", "-Iinclude", str(source)],
            cwd=SAMPLE, capture_output=True, text=True, check=True,
        ).stdout
        for start, end in split_segments(text):
            assert _same(text[start:end]), source
            segments += 1
    assert segments > 100
