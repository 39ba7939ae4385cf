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

import re
import string
from collections.abc import Callable
from sys import intern

from pycparser import c_lexer
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
    """pycparser's ``CLexer`` extended with the GNU C keywords.

    ``input`` cuts the whole text into tokens at once (``_tokenize``), which
    is several times faster than pycparser's token-at-a-time loop; text it
    does not know how to cut exactly as pycparser would (anything pycparser
    reports as an error, C23 ``[[...]]`` attributes) is lexed by that loop
    instead, so the tokens and the errors are always pycparser's.
    """

    def __init__(self, error_func: Callable[[str, int, int], None], **kwargs: object) -> None:
        super().__init__(error_func, **kwargs)  # type: ignore[arg-type]
        self._keyword_map.update(_ALIASES)
        self._keyword_map.update(_GNU_KEYWORDS)
        # offsetof is a macro from <stddef.h>, not a keyword: after
        # preprocessing it is __builtin_offsetof, and a member may be
        # called offsetof.
        self._keyword_map.pop("offsetof", None)
        self._cut: list[Token] | None = None  # the tokens ``_tokenize`` cut, reversed
        self._final_filename = ""

    def input(self, text: str, filename: str = "") -> None:
        super().input(text, filename)
        self._cut = self._tokenize(text, filename)

    def token(self) -> Token | None:
        cut = self._cut
        if cut is not None:
            if cut:
                tok = cut.pop()
                # As pycparser's loop leaves it after reading this token.
                self._filename = tok.filename
                return tok
            self._filename = self._final_filename
            return None
        return self._next_token()

    def _next_token(self) -> Token | None:
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


    # -- the whole text at once ------------------------------------------------
    def _tokenize(self, text: str, filename: str) -> list[Token] | None:
        """Every token of ``text``, reversed; None where pycparser's own loop must lex it."""
        error_func = self.error_func
        self.error_func = _refuse
        try:
            return self._cut_tokens(text, filename)
        except _NotCut:
            return None
        finally:
            self.error_func = error_func
            super().input(text, filename)

    def _cut_tokens(self, text: str, filename: str) -> list[Token]:
        tokens: list[Token] = []
        append = tokens.append
        keyword_of = self._keyword_map.get
        patterns = _PATTERN_BY_FIRST.get
        operator_of = _FIXED_TYPES.get
        end = len(text)
        lineno, line_start, pos = 1, 0, 0
        while pos < end:
            first = text[pos]
            if first == "\n":
                lineno += 1
                pos += 1
                line_start = pos
                continue
            if first in " \t\f\v":
                pos += 1
                continue
            if first == "#":
                # A line marker, a #pragma or a lone '#': pycparser's own code for
                # each, from the state this loop has reached.
                self._pos, self._lineno, self._line_start = pos + 1, lineno, line_start
                self._filename = filename
                if c_lexer._line_pattern.match(text, pos + 1):
                    self._handle_ppline()
                elif c_lexer._pragma_pattern.match(text, pos + 1):
                    tokens.extend(self._handle_pppragma())
                else:
                    append(self._make_token("PPHASH", "#", pos))
                pos, lineno, line_start, filename = self._pos, self._lineno, self._line_start, self._filename
                continue
            pattern = patterns(first)
            found = pattern.match(text, pos) if pattern is not None else None
            if found is not None:
                kind = found.lastgroup
                value = found.group()
                if kind == "ID":
                    kind = keyword_of(value, "ID")
                    if kind in _REWRITTEN:
                        if kind == "GNU_EXTENSION":
                            pos = found.end()
                            continue
                        self._pos, self._lineno, self._line_start = found.end(), lineno, line_start
                        tok = self._gnu_attribute(Token(kind, value, lineno, pos - line_start + 1, filename))
                        assert tok is not None  # an error raised _NotCut
                        append(tok)
                        pos, lineno, line_start = self._pos, self._lineno, self._line_start
                        continue
                    if kind == "ID":
                        value = intern(value)
                elif kind in _ERROR_KINDS:
                    raise _NotCut
                append(Token(kind, value, lineno, pos - line_start + 1, filename))  # type: ignore[arg-type]
                pos = found.end()
                continue
            # An operator or punctuator: the longest that matches.
            for length in (3, 2, 1):
                value = text[pos : pos + length]
                kind = operator_of(value)
                if kind is not None:
                    break
            else:
                raise _NotCut  # a character pycparser reports as illegal
            if kind == "LBRACKET" and c_lexer._attribute_begin.match(text, pos):
                raise _NotCut  # a C23 attribute: pycparser's own state machine
            append(Token(kind, value, lineno, pos - line_start + 1, filename))
            pos += length
        self._final_filename = filename
        tokens.reverse()
        return tokens


class _NotCut(Exception):
    """Text ``GnuCLexer._tokenize`` leaves to pycparser's token-at-a-time loop."""


def _refuse(message: str, line: int, column: int) -> None:
    raise _NotCut


def _patterns_by_first_character() -> dict[str, re.Pattern[str]]:
    """pycparser's token patterns that can start with each character, in its order.

    pycparser matches one alternation of all its patterns at every token (the
    first alternative that matches wins), then takes an operator instead only
    if one is longer.  No operator is longer than a pattern that matches where
    it does, and at any character only the alternatives below can match, so
    trying just those, then the operators, cuts the same tokens, a few times
    faster than trying all of them.
    """
    rules = c_lexer._regex_rules

    def alternation(*kinds: str) -> re.Pattern[str]:
        chosen = [rule for rule in rules if rule.tok_type in kinds]
        return re.compile("|".join(f"(?P<{rule.tok_type}>{rule.regex_pattern})" for rule in chosen))

    identifier = alternation("ID")
    prefixed = alternation(
        "WSTRING_LITERAL", "U8STRING_LITERAL", "U16STRING_LITERAL", "U32STRING_LITERAL",
        "WCHAR_CONST", "U8CHAR_CONST", "U16CHAR_CONST", "U32CHAR_CONST", "ID",
    )
    number = alternation(
        "HEX_FLOAT_CONST", "FLOAT_CONST", "INT_CONST_HEX", "INT_CONST_BIN", "BAD_CONST_OCT",
        "INT_CONST_OCT", "INT_CONST_DEC",
    )
    patterns = dict.fromkeys(string.ascii_letters + "_$", identifier)
    patterns.update(dict.fromkeys("LuU", prefixed))
    patterns.update(dict.fromkeys(string.digits, number))
    patterns["."] = alternation("FLOAT_CONST")
    patterns['"'] = alternation("BAD_STRING_LITERAL", "STRING_LITERAL")
    patterns["'"] = alternation("INT_CONST_CHAR", "CHAR_CONST", "UNMATCHED_QUOTE", "BAD_CHAR_CONST")
    patterns["/"] = alternation("UNSUPPORTED_C_STYLE_COMMENT", "UNSUPPORTED_CXX_STYLE_COMMENT")
    return patterns


_PATTERN_BY_FIRST = _patterns_by_first_character()
_FIXED_TYPES = {entry.literal: entry.tok_type for entry in c_lexer._fixed_tokens}
_ERROR_KINDS = frozenset(
    rule.tok_type for rule in c_lexer._regex_rules if rule.action is c_lexer._RegexAction.ERROR
)


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
