"""Preprocess one translation unit with the real compiler (``cc -E``).

The unit's own flags are reused so the text is exactly what the build
compiles; flags that would make ``cc -E`` write files or do something other
than preprocess are dropped.  Line markers are kept: they carry the
original file and line of every token into the AST.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from coroproj.errors import SourceError, SourceSpot, UserError

# Flags removed together with their separate argument (``-o out.o``).
_DROPPED_WITH_ARGUMENT = frozenset({"-o", "-MF", "-MT", "-MQ", "-L", "-l", "-Xlinker"})
# Flags removed alone: output-stage selection, dependency generation and
# anything else that makes the compiler write files.
_DROPPED = frozenset(
    {"-c", "-S", "-E", "-MD", "-MMD", "-M", "-MM", "-MG", "-MP", "-P", "-save-temps"}
)
_DROPPED_PREFIXES = ("-MF", "-MT", "-MQ", "-o", "-save-temps=", "-fdump-", "-Wl,", "-Wa,")
# Flags whose argument is the next word and must stay with them.
_KEPT_WITH_ARGUMENT = frozenset(
    {
        "-I",
        "-D",
        "-U",
        "-include",
        "-imacros",
        "-isystem",
        "-iquote",
        "-idirafter",
        "-iprefix",
        "-iwithprefix",
        "-iwithprefixbefore",
        "-isysroot",
        "--sysroot",
        "-x",
        "-Xpreprocessor",
        "-Xclang",
        "-target",
        "--target",
        "-arch",
        "--param",
    }
)

# gcc/clang diagnostics: "file:line:col: fatal error: message" (col optional).
_DIAGNOSTIC = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:(?P<col>\d+):)?\s*(?:fatal )?error:\s*(?P<msg>.*)$",
    re.MULTILINE,
)
_DRIVER_ERROR = re.compile(r"^[^:\n]*:\s*(?:fatal )?error:\s*(?P<msg>.*)$", re.MULTILINE)

COROPROJ_MACRO = "-D__COROPROJ__"


def preprocessor_flags(flags: Sequence[str]) -> list[str]:
    """The subset of a compile command's flags that ``cc -E`` should see.

    Positional words are dropped: compile databases often hold the whole
    command line, with the compiler, the unit and other inputs.
    """
    kept: list[str] = []
    words = iter(flags)
    for word in words:
        if word in _DROPPED_WITH_ARGUMENT:
            next(words, None)
            continue
        if word in _DROPPED or word.startswith(_DROPPED_PREFIXES):
            continue
        if word.startswith("-Wp,"):
            # -Wp,-MD,file.d (kernel style) writes a dependency file.
            if any(option in word for option in (",-MD", ",-MMD", ",-MF")):
                continue
        elif word.startswith("-W"):
            continue  # warnings (and -Werror) only get in the way of -E
        if word in _KEPT_WITH_ARGUMENT:
            kept.append(word)
            argument = next(words, None)
            if argument is not None:
                kept.append(argument)
            continue
        if not word.startswith("-"):
            # The unit, other inputs or objects, the compiler itself: the
            # unit is added back by ``preprocess``.
            continue
        kept.append(word)
    return kept


def preprocess(
    path: str | Path,
    flags: Sequence[str] = (),
    *,
    compiler: str = "cc",
    cwd: str | Path | None = None,
) -> str:
    """Return the preprocessed text of ``path`` (with line markers).

    Raises ``UserError`` when the compiler cannot be run and
    ``SourceError`` (check ``parse-error``) when preprocessing fails, at
    the place the compiler reported.
    """
    command = [
        compiler,
        "-E",
        *preprocessor_flags(flags),
        COROPROJ_MACRO,
        str(path),
    ]
    # A fixed locale keeps the compiler's messages plain ASCII to parse.
    environment = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    try:
        completed = subprocess.run(
            command,
            cwd=cwd,
            capture_output=True,
            env=environment,
            check=False,
        )
    except FileNotFoundError:
        raise UserError(f"compiler not found: {compiler}") from None
    except PermissionError:
        raise UserError(f"compiler cannot be executed: {compiler}") from None
    stderr = completed.stderr.decode("utf-8", errors="replace")
    if completed.returncode != 0:
        raise _preprocessing_error(stderr, path, cwd, compiler)
    return completed.stdout.decode("utf-8", errors="replace")


def _preprocessing_error(
    stderr: str, path: str | Path, cwd: str | Path | None, compiler: str
) -> SourceError:
    located = _DIAGNOSTIC.search(stderr)
    if located is not None:
        file = located.group("file")
        line = int(located.group("line"))
        column = int(located.group("col") or 0)
        return SourceError(
            SourceSpot(file, line, column),
            located.group("msg").strip(),
            "parse-error",
            source_line=read_source_line(file, line, cwd),
        )
    driver = _DRIVER_ERROR.search(stderr)
    message = driver.group("msg").strip() if driver else (stderr.strip() or "failed")
    return SourceError(
        SourceSpot(str(path), 1),
        f"{compiler} -E failed: {message}",
        "parse-error",
    )


def read_source_line(file: str, line: int, cwd: str | Path | None = None) -> str | None:
    """Line ``line`` (1-based) of ``file``, or None if it cannot be read."""
    if line < 1:
        return None
    candidate = Path(file)
    if not candidate.is_absolute() and cwd is not None:
        candidate = Path(cwd) / candidate
    try:
        with candidate.open(encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, start=1):
                if number == line:
                    return text.rstrip("\n")
    except OSError:
        return None
    return None
