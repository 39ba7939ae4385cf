"""Find the textual spot of a declaration in the ORIGINAL source file.

The analysis knows declarations by the coordinates of the parsed,
preprocessed text: a file and a line (columns are approximate, since
``cc -E`` collapses white space).  A fix must edit the file the programmer
wrote, so each spot is found again in that text, on that line, by the
declarator's shape:

- a function: ``NAME (`` preceded by a type (``int f(``, ``Coroutine *f(``);
- a pointer to a function type: ``( * NAME ) (`` (struct members, variables,
  parameters, ``typedef int (*Fn)(void)``);
- a typedef of a function type: ``typedef ... NAME (``.

Whatever does not have that shape on the line — typically a declaration
produced by a macro expansion (``DECLARE_CO(foo)``), whose coordinates point
at the macro's invocation — raises ``Unlocatable`` with the reason: such
spots are listed for a human, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_KEYWORDS_BEFORE_CALLS = frozenset(
    {"return", "case", "sizeof", "else", "do", "goto", "typeof", "__typeof__", "_Alignof"}
)
_QUALIFIERS = r"(?:const|volatile|restrict|__restrict|__restrict__|_Nullable|_Nonnull)"
_POINTER_DECLARATOR = re.compile(
    rf"\(\s*(?:\*\s*(?:{_QUALIFIERS}\s+)*)+(?P<name>[A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)*\)\s*\("
)
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


class Unlocatable(Exception):
    """The declaration is not written where (or how) its coordinates say."""


@dataclass
class SourceText:
    """One original source file with comments and strings blanked out for matching."""

    path: Path
    text: str
    masked: str = field(init=False, repr=False)
    line_starts: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.masked = mask_comments_and_strings(self.text)
        self.line_starts = [0]
        for match in re.finditer("\n", self.text):
            self.line_starts.append(match.end())

    @classmethod
    def read(cls, path: Path) -> SourceText:
        # newline="" keeps "\r\n" files byte-for-byte identical outside the edits.
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
            return cls(path, handle.read())

    def line_span(self, line: int) -> tuple[int, int]:
        if line < 1 or line > len(self.line_starts):
            raise Unlocatable(f"line {line} is past the end of the file")
        start = self.line_starts[line - 1]
        end = self.line_starts[line] if line < len(self.line_starts) else len(self.text)
        return start, end

    def line_text(self, line: int) -> str:
        start, end = self.line_span(line)
        return self.text[start:end].rstrip("\r\n")

    def line_of(self, offset: int) -> int:
        low, high = 0, len(self.line_starts) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self.line_starts[middle] <= offset:
                low = middle
            else:
                high = middle - 1
        return low + 1


def mask_comments_and_strings(text: str) -> str:
    """``text`` with comments, string and character literals replaced by spaces (offsets kept)."""
    out = list(text)
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        pair = text[index : index + 2]
        if pair == "/*":
            end = text.find("*/", index + 2)
            end = length if end < 0 else end + 2
        elif pair == "//":
            end = text.find("\n", index)
            end = length if end < 0 else end
        elif char in "\"'":
            end = index + 1
            while end < length and text[end] != char and text[end] != "\n":
                end += 2 if text[end] == "\\" else 1
            end = min(end + 1, length)
        else:
            index += 1
            continue
        for position in range(index, end):
            if out[position] != "\n":
                out[position] = " "
        index = end
    return "".join(out)


def function_declarator(source: SourceText, line: int, name: str) -> int:
    """Offset of the function's declarator (its name) on ``line``: where the annotation goes.

    ``static int f(void)`` -> before ``f``; ``Coroutine *self(void)`` -> between
    ``*`` and ``self``, the conventional ``Coroutine *coroutine_fn self(void)``.
    """
    start, end = source.line_span(line)
    segment = source.masked[start:end]
    reasons = []
    for match in re.finditer(rf"(?<![\w$]){re.escape(name)}(?![\w$])", segment):
        after = segment[match.end() :].lstrip()
        if not after.startswith("("):
            reasons.append("not followed by a parameter list")
            continue
        before = _token_before(source.masked, start + match.start())
        if before is None or before in ("(", ",", "=", ".", ">", "&", "!", "[", "?", ":"):
            reasons.append(f"preceded by '{before or 'nothing'}'")
            continue
        if before in _KEYWORDS_BEFORE_CALLS:
            continue  # a call such as "return f(...)" on the declaration's line
        return start + match.start()
    if not reasons:
        raise Unlocatable(f"'{name}' is not written on this line (a declaration made by a macro?)")
    raise Unlocatable(
        f"'{name}' on this line does not look like its declarator ({reasons[0]}; made by a macro?)"
    )


def pointer_declarator(source: SourceText, line: int, hint: str | None) -> tuple[int, str]:
    """Offset and name of the function-type declarator on ``line``.

    Candidates are pointer declarators ``(*name)(`` and, on a ``typedef``
    line, the typedef name of a function type ``typedef int Fn(``.  With
    several candidates, ``hint`` (the member or parameter the message names)
    picks one; otherwise the spot is ambiguous.
    """
    start, end = source.line_span(line)
    segment = source.masked[start:end]
    candidates = [(start + m.start(), m.group("name")) for m in _POINTER_DECLARATOR.finditer(segment)]
    if re.search(r"\btypedef\b", segment) and not candidates:
        for match in re.finditer(r"(?<![\w$])([A-Za-z_]\w*)\s*\(", segment):
            word = match.group(1)
            if word in ("typedef", "__attribute__", "__typeof__", "typeof") or word.startswith("__"):
                continue
            before = _token_before(source.masked, start + match.start())
            if before is not None and (before == "*" or _IDENTIFIER.fullmatch(before)):
                candidates.append((start + match.start(), word))
                break  # the first NAME( after the type is the typedef name
    if hint is not None:
        chosen = [c for c in candidates if c[1] == hint]
        if len(chosen) == 1:
            return chosen[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise Unlocatable("no function type declarator written on this line (made by a macro?)")
    names = ", ".join(name for _, name in candidates)
    raise Unlocatable(f"several function type declarators on this line ({names}): which one is meant?")


def declaration_start(source: SourceText, offset: int) -> int:
    """Where the declaration containing ``offset`` begins: after the previous ``;``, ``{`` or ``}``."""
    masked = source.masked
    index = offset - 1
    while index >= 0:
        char = masked[index]
        if char in ";{}":
            return index + 1
        if char == "\n":
            # A preprocessor directive line ends the search too.
            line_start = masked.rfind("\n", 0, index) + 1
            if masked[line_start:index].lstrip().startswith("#"):
                return index + 1
        index -= 1
    return 0


def annotation_word(source: SourceText, declarator: int, words: tuple[str, ...]) -> tuple[int, int] | None:
    """Span of the annotation macro written before ``declarator`` in its declaration, if any.

    Also looks inside a pointer declarator's parentheses (``int (coroutine_fn *p)(void)``).
    """
    prefix_start = declaration_start(source, declarator)
    masked = source.masked
    # For a parenthesized declarator, include the text up to its name.
    end = declarator
    if masked[declarator] == "(":
        match = _POINTER_DECLARATOR.match(masked, declarator)
        if match:
            end = match.start("name")
    pattern = re.compile(r"(?<![\w$])(" + "|".join(re.escape(w) for w in words) + r")(?![\w$])")
    found = list(pattern.finditer(masked, prefix_start, end))
    if not found:
        return None
    match = found[-1]
    # Spelled inside __attribute__((...)) directly: not a macro word we can remove alone.
    opening = masked.rfind("(", prefix_start, match.start())
    if opening >= 0 and masked[opening + 1 : match.start()].strip() == "" and masked[:opening].rstrip(
    ).endswith("("):
        raise Unlocatable(f"'{match.group(1)}' is written inside an attribute, not as a macro")
    return match.start(), match.end()


def removal_span(source: SourceText, word: tuple[int, int]) -> tuple[int, int]:
    """The word plus the white space that separated it, so that no double space is left."""
    start, end = word
    text = source.text
    after = end
    while after < len(text) and text[after] in " \t":
        after += 1
    if after > end and after < len(text) and text[after] not in "\r\n":
        return start, after
    before = start
    while before > 0 and text[before - 1] in " \t":
        before -= 1
    if before < start and before > 0 and text[before - 1] not in "\n":
        return before, end
    return start, end


def insertion(source: SourceText, declarator: int, macro: str) -> tuple[int, str]:
    """Where and what to insert so that ``macro`` reads naturally before ``declarator``.

    A declarator that starts its line (``static int\nf(void)``, the GNU style)
    keeps it: the annotation ends the previous line, ``static int coroutine_fn``.
    """
    text = source.text
    line_start = text.rfind("\n", 0, declarator) + 1
    if text[line_start:declarator].strip() == "" and line_start > 0:
        index = line_start - 1
        while index > 0 and text[index - 1] in " \t\r\n":
            index -= 1
        previous_line = text[text.rfind("\n", 0, index - 1) + 1 : index]
        if (
            index > 0
            and source.masked[index - 1] not in " ;{}),"
            and not previous_line.lstrip().startswith("#")  # never after a directive
        ):
            return index, (macro if text[index - 1] == "*" else f" {macro}")
    return declarator, f"{macro} "


def _token_before(masked: str, offset: int) -> str | None:
    """The token that ends right before ``offset`` (skipping blanks and pointer stars)."""
    index = offset - 1
    while index >= 0 and masked[index] in " \t\r\n*":
        if masked[index] == "*":
            return "*"
        index -= 1
    if index < 0:
        return None
    char = masked[index]
    if char.isalnum() or char in "_$":
        end = index + 1
        while index >= 0 and (masked[index].isalnum() or masked[index] in "_$"):
            index -= 1
        return masked[index + 1 : end]
    return char
