"""The line markers of preprocessed text: ``# 12 "dir/file.h" 1 3``.

The preprocessor marks where each included file begins (flag 1) and where
its includer resumes (flag 2); flag 3 marks a system header.  The front end
cuts a unit at those two kinds of markers (``segments``), and the files a
unit read are the names its markers give.

A real unit has thousands of markers, most of them only resynchronising the
line number, and nine tenths of its text is headers that every unit shares.
So the cuts are found by searching for the flags themselves rather than by
matching every line, and the files are read from each distinct segment
once (``files_of``) and merged per unit (``merge_files``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

# A marker entering (flag 1) or returning to (flag 2) a file, as one whole line.
_INCLUDE_MARKER = re.compile(r'# \d+ "(?:[^"\\\n]|\\.)*"(?: [34])*(?: [12])(?: [34])*')
# Any marker (also the ``#line`` spelling): the file's name as written, and the flags.
_ANY_MARKER = re.compile(r'^#\s*(?:line\s+)?\d+\s+"((?:[^"\\\n]|\\.)*)"(.*)$', re.MULTILINE)

# A file a unit's markers name: (its name as written, escapes kept; whether
# the marker flags it as a system header).  The same name may come twice,
# once with each flag.
MarkedFile = tuple[str, bool]


def include_cuts(text: str) -> list[int]:
    """Offsets of the lines that are markers entering or leaving a file, in order."""
    cuts: set[int] = set()
    end_of_text = len(text)
    for flag in ('" 1', '" 2'):
        found = text.find(flag)
        while found >= 0:
            start = text.rfind("\n", 0, found) + 1
            end = text.find("\n", found)
            if end < 0:
                end = end_of_text
            if _INCLUDE_MARKER.fullmatch(text, start, end):
                cuts.add(start)
            found = text.find(flag, end)
    return sorted(cuts)


def files_of(text: str) -> tuple[MarkedFile, ...]:
    """The files the markers of ``text`` name, each (name, system) pair once, in order."""
    seen: dict[MarkedFile, None] = {}
    for match in _ANY_MARKER.finditer(text):
        seen[(match.group(1), "3" in match.group(2).split())] = None
    return tuple(seen)


def merge_files(parts: Iterable[tuple[MarkedFile, ...]]) -> list[MarkedFile]:
    """The files of consecutive pieces of one text, each (name, system) pair once, in order."""
    seen: dict[MarkedFile, None] = {}
    for files in parts:
        for marked in files:
            if marked not in seen:
                seen[marked] = None
    return list(seen)


def project_files(files: Iterable[MarkedFile], main_file: str) -> list[str]:
    """The unit's own file, then every file it read that is not a system header, as written."""
    names: dict[str, None] = {main_file: None}
    for name, system in files:
        if not system and not name.startswith("<"):
            names[name] = None
    return list(names)


def read_files(files: Iterable[MarkedFile], directory: str | Path) -> list[Path]:
    """Every real file the unit read, as paths (``directory``: where the compiler ran)."""
    seen: dict[Path, None] = {}
    for name, _system in files:
        if name.startswith("<"):
            continue  # <built-in>, <command-line>
        path = os.path.normpath(os.path.join(directory, unescape(name)))
        seen.setdefault(Path(path), None)
    return list(seen)


def unescape(name: str) -> str:
    """A marker's file name as the file system spells it.

    GCC escapes ``\\`` and ``"`` and writes non-printing bytes as octal escapes.
    """
    if "\\" not in name:
        return name
    raw = name.encode("utf-8", "surrogateescape")
    unescaped = re.sub(
        rb"\\([0-7]{1,3}|.)",
        lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit() else m.group(1),
        raw,
    )
    return unescaped.decode("utf-8", "surrogateescape")
