"""Annotations as shipped: show the parser the annotations a project compiles away.

Today's QEMU defines ``coroutine_fn`` as ``QEMU_ANNOTATE("coroutine_fn")``,
which is ``__attribute__((annotate(...)))`` under clang and *nothing* under
gcc: with a gcc compile database the annotation is gone before any parser
sees it.  Guessing annotations back from source text would miss every one
written through another macro (QEMU's ``co_wrapper_mixed``), so coroproj lets
the real preprocessor do the work against an *overlay*:

* a copy of each project header that ``#define``\\ s a configured annotation
  name, identical except that each such definition becomes the attribute
  coroproj recognises (``#define coroutine_fn __attribute__((coroutine_fn))``);
* the copy keeps every line where it was and starts with
  ``#line 1 "<original>"``, so diagnostics, ``__FILE__``, summary locations
  and the dependency list all name the original file;
* the overlay directory is put on the include path right before the
  directory it shadows, with the same flag, so lookup order is otherwise
  unchanged; quoted includes that the original found next to itself are
  rewritten to absolute paths, because the copy lives somewhere else.

Headers that already cooperate (they mention ``__COROPROJ__``, or every
annotation definition already spells ``__attribute__``) are left alone, and
so are headers using ``#include_next``, whose meaning depends on the
directory they are found in.  The tree itself is never written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coroproj.frontend.annotations import AttributeNames
from coroproj.util.files import write_bytes_atomically

OVERLAY_DIR = "overlay"
HEADER_SUFFIXES = (".h", ".hh", ".hpp", ".inc")
# Include-path flags whose directory an overlay can shadow.
_INCLUDE_FLAGS = ("-iquote", "-isystem", "-idirafter", "-I")
# Directories never scanned for headers: version control and tool caches.
_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".coroproj", "__pycache__", "node_modules"})
_QUOTED_INCLUDE = re.compile(rb'^(?P<lead>\s*#\s*include\s*)"(?P<name>[^"]+)"', re.MULTILINE)
_INCLUDE_NEXT = re.compile(rb"^\s*#\s*include_next\b", re.MULTILINE)


@dataclass(frozen=True)
class HeaderOverlay:
    """Which include directories are shadowed, and by which overlay directory.

    Picklable: the parent builds it once per run, workers apply it per unit.
    """

    shadows: dict[str, str] = field(default_factory=dict)  # include dir -> overlay dir
    headers: tuple[str, ...] = ()  # the original headers rewritten, for messages
    digest: str = ""  # changes whenever the set of shadowed headers changes

    def flags_for(self, flags: Sequence[str]) -> list[str]:
        """``flags`` with each shadowed include directory preceded by its overlay."""
        if not self.shadows:
            return list(flags)
        result: list[str] = []
        words = iter(flags)
        for word in words:
            flag, directory, separate = _split_include_flag(word)
            if flag is None:
                result.append(word)
                continue
            if separate:
                directory = next(words, None)
                if directory is None:
                    result.append(word)
                    break
            overlay = self.shadows.get(_absolute(directory)) if directory else None
            if overlay is not None:
                result.extend((flag, overlay))
            result.extend((word, directory) if separate else (word,))
        return result


def _split_include_flag(word: str) -> tuple[str | None, str | None, bool]:
    """(flag, its directory or None if it is the next word, whether separate)."""
    for flag in _INCLUDE_FLAGS:
        if word == flag:
            return flag, None, True
        if word.startswith(flag):
            return flag, word[len(flag) :], False
    return None, None, False


def include_directories(flags: Iterable[str]) -> list[str]:
    """The include directories named by ``flags``, absolute (relative to the cwd)."""
    directories: list[str] = []
    words = iter(flags)
    for word in words:
        flag, directory, separate = _split_include_flag(word)
        if flag is None:
            continue
        if separate:
            directory = next(words, None)
        if directory:
            directories.append(_absolute(directory))
    return directories


def _absolute(directory: str) -> str:
    # Compile jobs' flags are absolute already; files mode's are relative to the cwd.
    return os.path.normpath(os.path.abspath(directory))


def build_overlay(
    flag_sets: Iterable[Sequence[str]],
    names: AttributeNames,
    *,
    roots: Iterable[Path],
    overlay_root: Path,
) -> HeaderOverlay:
    """Scan the project include directories of ``flag_sets`` and write the overlay.

    Only directories inside one of ``roots`` (the project, and the common
    directory of its units) are scanned: system headers define no project
    annotations.  Copies are written only when their content changes, so a
    warm run does not make every unit look modified; stale copies are removed.
    Raises ``OSError`` when the overlay cannot be written.
    """
    macros = _macro_names(names)
    allowed = [os.path.normpath(os.path.abspath(root)) for root in roots]
    skipped = {os.path.normpath(os.path.abspath(overlay_root))}
    # Units share their flags: each distinct set read once (892 units, 129 sets on QEMU).
    directories = sorted(
        {
            directory
            for flags in {tuple(flags) for flags in flag_sets}
            for directory in include_directories(flags)
            if any(_is_within(directory, root) for root in allowed)
        }
    )
    scan_memo = _ScanMemo(overlay_root / f"scan-{_names_key(names)}.json")
    defining = sorted(_defining_headers(directories, macros, skipped, scan_memo))
    scan_memo.save()
    tree = overlay_root / _names_key(names)
    shadows: dict[str, str] = {}
    wanted: dict[Path, bytes] = {}
    for directory in directories:
        inside = [header for header in defining if _is_within(header, directory)]
        if not inside:
            continue
        overlay_dir = tree / hashlib.sha256(directory.encode()).hexdigest()[:16]
        copies = {header: overlay_dir / os.path.relpath(header, directory) for header in inside}
        for header, copy in copies.items():
            wanted[copy] = rewrite_header(Path(header), macros, copies)
        shadows[directory] = str(overlay_dir)
    _write_tree(tree, wanted)
    digest = hashlib.sha256(repr(sorted(shadows.items())).encode()).hexdigest()[:16]
    return HeaderOverlay(shadows, tuple(defining), digest if shadows else "")


def temporary_overlay_root() -> tempfile.TemporaryDirectory[str]:
    """Where files mode (no cache directory) keeps its overlay for one run."""
    return tempfile.TemporaryDirectory(prefix="coroproj-overlay-")


def _macro_names(names: AttributeNames) -> dict[str, str]:
    """Annotation macro name -> the attribute its rewritten definition expands to."""
    macros: dict[str, str] = {}
    for name in (*names.coroutine, *names.blocking, *names.mixed):
        if re.fullmatch(r"[A-Za-z_]\w*", name):
            macros[name] = name  # the name itself is a recognised attribute spelling
    return macros


def _names_key(names: AttributeNames) -> str:
    spelled = repr((names.coroutine, names.blocking, names.mixed))
    return hashlib.sha256(spelled.encode()).hexdigest()[:16]


def _is_within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


class _ScanMemo:
    """Which headers needed rewriting, by (path, mtime, size): a warm run reads none."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, list[Any]] = {}
        self.changed = False
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(path.read_text())
            if isinstance(loaded, dict):
                self.entries = loaded

    def needs_rewrite(self, header: str, pattern: re.Pattern[bytes]) -> bool:
        try:
            status = os.stat(header)
        except OSError:
            return False
        entry = self.entries.get(header)
        if isinstance(entry, list) and len(entry) == 3 and entry[:2] == [status.st_mtime_ns, status.st_size]:
            return bool(entry[2])
        try:
            verdict = _needs_rewrite(Path(header).read_bytes(), pattern)
        except OSError:
            return False
        self.entries[header] = [status.st_mtime_ns, status.st_size, verdict]
        self.changed = True
        return verdict

    def save(self) -> None:
        if self.changed:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomically(self.path, json.dumps(self.entries).encode())


def _defining_headers(
    directories: Sequence[str], macros: dict[str, str], skipped: set[str], memo: _ScanMemo
) -> set[str]:
    """Headers under ``directories`` whose annotation definitions need rewriting."""
    # Nested include directories (QEMU has both the root and root/include):
    # walk only the outermost ones, each file is read once.
    outermost = [
        d for d in directories if not any(o != d and _is_within(d, o) for o in directories)
    ]
    found: set[str] = set()
    pattern = _definition_pattern(macros)
    for top in outermost:
        for path in _headers_under(top, skipped):
            if memo.needs_rewrite(path, pattern):
                found.add(path)
    return found


def _headers_under(top: str, skipped: set[str]) -> Iterator[str]:
    for directory, subdirs, files in os.walk(top):
        subdirs[:] = [
            s
            for s in subdirs
            if s not in _SKIPPED_DIRS and os.path.join(directory, s) not in skipped
        ]
        for name in files:
            if name.endswith(HEADER_SUFFIXES):
                yield os.path.join(directory, name)


def _definition_pattern(macros: dict[str, str]) -> re.Pattern[bytes]:
    alternatives = b"|".join(re.escape(name.encode()) for name in sorted(macros, key=len, reverse=True))
    # Object-like definitions only: a '(' right after the name makes a function-like macro.
    return re.compile(
        rb"^[ \t]*#[ \t]*define[ \t]+(?P<name>" + alternatives + rb")(?![\w(])(?P<body>.*)$",
        re.MULTILINE,
    )


def _needs_rewrite(data: bytes, pattern: re.Pattern[bytes]) -> bool:
    if b"define" not in data or b"__COROPROJ__" in data or _INCLUDE_NEXT.search(data):
        return False
    return any(b"__attribute__" not in match.group("body") for match in pattern.finditer(data))


def rewrite_header(header: Path, macros: dict[str, str], copies: dict[str, Path]) -> bytes:
    """The overlay copy of ``header``: same lines, annotation definitions made visible.

    ``copies`` maps every overlaid header of the same include directory to
    its copy, so a quoted include of a sibling that is itself overlaid goes
    to the copy, and one of an ordinary sibling to the original.
    """
    data = header.read_bytes()
    pattern = _definition_pattern(macros)
    lines = data.split(b"\n")
    output: list[bytes] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        match = pattern.match(line)
        if match is None or b"__attribute__" in match.group("body"):
            output.append(_absolute_include(line, header, copies))
            index += 1
            continue
        # The whole logical line: a definition may continue over backslashes.
        logical = [line]
        while logical[-1].endswith(b"\\") and index + len(logical) < len(lines):
            logical.append(lines[index + len(logical)])
        name = match.group("name")
        body = b" ".join(part.rstrip(b"\\") for part in logical)
        attribute = macros[name.decode()].encode()
        replacement = match.group(0)[: match.start("name")] + name
        replacement += b" __attribute__((" + attribute + b"))"
        if _opens_comment(body):
            replacement += b" /*"  # the original body left a comment open: so do we
        output.append(replacement)
        output.extend(b"" for _ in logical[1:])  # keep every later line where it was
        index += len(logical)
    marker = b'#line 1 "' + _quoted(str(header)) + b'"\n'
    return marker + b"\n".join(output)


def _absolute_include(line: bytes, header: Path, copies: dict[str, Path]) -> bytes:
    match = _QUOTED_INCLUDE.match(line)
    if match is None:
        return line
    name = match.group("name").decode(errors="surrogateescape")
    sibling = os.path.normpath(os.path.join(header.parent, name))
    if sibling in copies:
        target = str(copies[sibling])
    elif os.path.isfile(sibling):
        target = sibling
    else:
        return line  # found through the include path: the copy finds it the same way
    return match.group("lead") + b'"' + _quoted(target) + b'"' + line[match.end():]


def _quoted(path: str) -> bytes:
    return path.replace("\\", "\\\\").replace('"', '\\"').encode(errors="surrogateescape")


def _opens_comment(body: bytes) -> bool:
    """Whether a definition's text leaves a ``/*`` comment open at its end."""
    text = re.sub(rb'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', b"", body)
    text = re.sub(rb"/\*.*?\*/", b"", text)
    text = text.split(b"//", 1)[0]
    return b"/*" in text


def _write_tree(tree: Path, wanted: dict[Path, bytes]) -> None:
    """Make ``tree`` hold exactly ``wanted``, rewriting only what changed."""
    for path, content in wanted.items():
        try:
            if path.read_bytes() == content:
                continue
        except OSError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(path, content)
    if not tree.is_dir():
        return
    for directory, _subdirs, files in os.walk(tree, topdown=False):
        for name in files:
            path = Path(directory, name)
            if path not in wanted:
                path.unlink(missing_ok=True)
        if directory != str(tree) and not os.listdir(directory):
            os.rmdir(directory)
