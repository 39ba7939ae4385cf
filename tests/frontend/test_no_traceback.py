"""Token soup, GNU keywords included, never escapes as anything but a
located SourceError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coroproj.errors import SourceError
from coroproj.frontend.unit import parse_text

TOKENS = [
    "int", "void", "char", "*", "(", ")", "[", "]", "{", "}", ";", ",", "=", "x", "y",
    "typedef", "struct", "S", "__attribute__((coroutine_fn))", "__attribute__((unused))",
    "__attribute__", "__attribute__((", "asm", '("nop")', ":", "::", "...", "case", "1",
    "switch", "goto", "&&", "?", "__label__", "__extension__", "typeof", "__auto_type",
    "return", '"s"', ".", "->", "static", "_Generic", "default", "__builtin_offsetof",
    "__builtin_va_arg", "__builtin_types_compatible_p", "__real__", "sizeof", "__alignof__",
    "[[", "gnu::unused", "]]", "_Static_assert", "enum", "union", "&", "++", "if", "else",
    "_Atomic", "const", "__int128", "_Float128", "volatile", "'", '"', "@", "1uu", "08",
    '# 3 "h.h" 1 3 4\n', "\n",
]  # fmt: skip


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=30))
def test_token_soup_parses_or_is_a_located_error(tokens: list[str]) -> None:
    text = " ".join(tokens)
    try:
        parse_text(text, "soup.c")
    except SourceError as error:
        assert error.spot.file in ("soup.c", "h.h")
        assert error.spot.line >= 1
        assert error.check == "parse-error"
