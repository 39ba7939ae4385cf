"""GNU C lexer: pycparser's lexer plus GCC's keywords and spellings.

Most GNU spellings are aliases of a standard keyword (``__const`` is
``const``) and only need an entry in the keyword map, which keeps the
per-token cost of the lexer unchanged.  Three things are handled here
rather than in the parser, because doing them once per token is cheapest:

* ``__attribute__((...))`` becomes ONE ``ATTRIBUTE_BEGIN`` token whose
  value is the whole specifier text.  pycparser already looks for
  ``ATTRIBUTE_BEGIN`` (C23 ``[[...]]``) everywhere attributes may appear,
  and the parser tells the two apart by the first character of the value.
* ``__extension__`` is dropped: it only silences ``-pedantic`` warnings and
  may start any declaration or expression, so removing it is exact.
* Preprocessor line markers (``# 12 "file.h" 1 3 4``) are handled by
  pycparser's lexer already, flags included, so token coordinates name the
  original file and line.
"""

from __future__ import annotations

from collections.abc import Callable
from sys import intern

from pycparser.c_lexer import CLexer, Token

# GNU spellings that mean exactly a standard keyword.
_ALIASES = {
    "__inline": "INLINE",
    "__inline__": "INLINE",
    "__restrict": "RESTRICT",
    "__restrict__": "RESTRICT",
    "__const": "CONST",
    "__const__": "CONST",
    "__volatile": "VOLATILE",
    "__volatile__": "VOLATILE",
    "__signed": "SIGNED",
    "__signed__": "SIGNED",
    "__thread": "_THREAD_LOCAL",
    "__typeof": "TYPEOF",
    "__typeof__": "TYPEOF",
    "typeof": "TYPEOF",
    "__alignof": "_ALIGNOF",
    "__alignof__": "_ALIGNOF",
    "__complex": "_COMPLEX",
    "__complex__": "_COMPLEX",
    "__builtin_offsetof": "OFFSETOF",
}

# Builtin type names: a lone type specifier each (kept as spelled).
GNU_TYPE_NAMES = (
    "__auto_type",
    "__builtin_va_list",
    "__int128_t",
    "__uint128_t",
    "__float128",
    "__float80",
    "__fp16",
    "__bf16",
)

# New token types the GNU parser understands.
_GNU_KEYWORDS = {
    "__attribute__": "GNU_ATTRIBUTE",
    "__attribute": "GNU_ATTRIBUTE",
    "__extension__": "GNU_EXTENSION",
    "asm": "ASM",
    "__asm": "ASM",
    "__asm__": "ASM",
    "__label__": "GNU_LABEL",
    "__real": "GNU_REAL",
    "__real__": "GNU_REAL",
    "__imag": "GNU_IMAG",
    "__imag__": "GNU_IMAG",
    # Builtins taking a type name among their arguments (gcc's and clang's).
    "__builtin_types_compatible_p": "GNU_TYPE_BUILTIN",
    "__builtin_convertvector": "GNU_TYPE_BUILTIN",
    "__builtin_bit_cast": "GNU_TYPE_BUILTIN",
    **dict.fromkeys(GNU_TYPE_NAMES, "GNU_TYPE"),
}

# Token types that need work after pycparser's lexer has produced them.
_REWRITTEN = frozenset({"GNU_ATTRIBUTE", "GNU_EXTENSION"})

GNU_ATTRIBUTE_PREFIX = "__attribute"


class GnuCLexer(CLexer):
    """pycparser's ``CLexer`` extended with the GNU C keywords."""

    def __init__(self, error_func: Callable[[str, int, int], None], **kwargs: object) -> None:
        super().__init__(error_func, **kwargs)  # type: ignore[arg-type]
        self._keyword_map.update(_ALIASES)
        self._keyword_map.update(_GNU_KEYWORDS)
        # offsetof is a macro from <stddef.h>, not a keyword: after
        # preprocessing it is __builtin_offsetof, and a member may be
        # called offsetof.
        self._keyword_map.pop("offsetof", None)

    def token(self) -> Token | None:
        tok = CLexer.token(self)
        while tok is not None and tok.type in _REWRITTEN:
            if tok.type == "GNU_ATTRIBUTE":
                return self._gnu_attribute(tok)
            tok = CLexer.token(self)  # __extension__: skip it
        if tok is not None and tok.type == "ID":
            # One string per name, however often it is written: header ASTs
            # kept between units hold hundreds of thousands of names, and a
            # pickle stores each distinct string object once.
            tok.value = intern(tok.value)
        return tok

    def _gnu_attribute(self, tok: Token) -> Token | None:
        """Extend an ``__attribute__`` keyword token over its ``((...))``.

        The value becomes the full text ``__attribute__((...))`` (with
        newlines kept), so the parser can split the attribute list without
        the lexer producing a token per word.
        """
        text = self._lexdata
        pos = self._pos
        n = len(text)
        while pos < n and text[pos] in " \t\n\r\f\v":
            pos += 1
        if pos >= n or text[pos] != "(":
            self._error("expected '((' after __attribute__", pos)
            return None
        depth = 0
        while pos < n:
            ch = text[pos]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    break
            elif ch in "\"'":
                end = _skip_quoted(text, pos)
                if end < 0:
                    self._error("unterminated literal in __attribute__", pos)
                    return None
                pos = end
                continue
            pos += 1
        if depth != 0:
            self._error("unbalanced parentheses in __attribute__", self._pos)
            return None
        end = pos + 1
        start = self._pos - len(tok.value)
        value = text[start:end]
        newlines = value.count("\n")
        if newlines:
            self._lineno += newlines
            self._line_start = start + value.rfind("\n") + 1
        self._pos = end
        tok.type = "ATTRIBUTE_BEGIN"
        tok.value = value
        return tok


def _skip_quoted(text: str, pos: int) -> int:
    """Index just after the string/char literal starting at ``pos``, or -1."""
    quote = text[pos]
    pos += 1
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch == "\\":
            pos += 2
            continue
        if ch == quote:
            return pos + 1
        if ch == "\n":
            return -1
        pos += 1
    return -1
