"""Load a ``compile_commands.json`` into compile jobs coroproj can preprocess.

A compilation database (CMake, Meson, Bear, compiledb, SCons) lists one
entry per compiler invocation.  We keep, per C translation unit, only the
flags that change what the preprocessor and the parser see (include paths,
macros, language standard, target options), with every path made absolute,
so that ``[job.compiler, *job.flags, "-E", job.file]`` reproduces the
unit's view of the code from any working directory.  Everything about
outputs, dependency files, warnings and linking is dropped.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coroproj.errors import UserError

# Programs that wrap the real compiler on the command line ("ccache gcc ...").
COMPILER_WRAPPERS = frozenset({"ccache", "sccache", "distcc", "icecc", "buildcache"})

C_SUFFIXES = frozenset({".c", ".h", ".i"})
# Suffixes GCC treats as another language; compared case-sensitively because
# ".C" is C++ while ".c" is C.
OTHER_LANGUAGE_SUFFIXES = {
    ".cc": "C++", ".cp": "C++", ".cpp": "C++", ".cxx": "C++", ".c++": "C++", ".C": "C++",
    ".CPP": "C++", ".ii": "C++", ".hh": "C++", ".hpp": "C++", ".hxx": "C++", ".ixx": "C++",
    ".cppm": "C++", ".m": "Objective-C", ".mi": "Objective-C", ".mm": "Objective-C++",
    ".M": "Objective-C++", ".s": "assembly", ".S": "assembly", ".sx": "assembly",
    ".asm": "assembly", ".f": "Fortran", ".f90": "Fortran", ".cu": "CUDA", ".go": "Go",
    ".d": "D", ".ads": "Ada", ".adb": "Ada",
}  # fmt: skip
C_LANGUAGES = frozenset({"c", "c-header", "cpp-output"})

# Options whose argument names a path, made absolute (relative to the entry's
# directory).  Values: the spelling we emit.
SEPARATE_PATH_OPTIONS = frozenset(
    {"-isystem", "-iquote", "-idirafter", "-include", "-imacros", "-isysroot", "-iprefix"}
)
# Options kept verbatim that take their argument in the next word.
SEPARATE_KEPT_OPTIONS = frozenset({"-D", "-U", "-I"})
# Options dropped together with their argument in the next word; knowing them
# keeps their argument from being mistaken for an input file.
SEPARATE_DROPPED_OPTIONS = frozenset(
    {
        "-o", "-MF", "-MT", "-MQ", "-L", "-l", "-Xlinker", "-Xassembler", "-Xpreprocessor",
        "-Xclang", "-aux-info", "--param", "-T", "-u", "-z", "-e", "-dumpbase", "-dumpdir",
        "-auxbase", "-auxbase-strip", "-arch", "-target", "-MJ", "-mllvm", "-G",
        "--output", "--include-directory",
    }
)  # fmt: skip
DEPENDENCY_OPTIONS = frozenset({"-M", "-MM", "-MD", "-MMD", "-MP", "-MG"})
BARE_KEPT_OPTIONS = frozenset({"-pthread", "-ansi", "-nostdinc", "-undef", "-trigraphs"})

MAX_RESPONSE_FILE_DEPTH = 16


@dataclass(frozen=True)
class CompileJob:
    """One translation unit in one build configuration."""

    file: Path  # absolute, normalised
    directory: Path  # absolute: where the compiler ran
    compiler: str  # argv[0] as written, without a ccache-like wrapper
    flags: tuple[str, ...]  # preprocessing/parsing flags, paths absolute, in order
    config_id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "config_id", flags_config_id(self.flags))

    @property
    def key(self) -> str:
        """Identity of the unit across runs: the file and its configuration."""
        return f"{self.file}#{self.config_id}"

    def preprocess_command(self, *extra: str) -> list[str]:
        """The command that preprocesses this unit to standard output."""
        return [self.compiler, *self.flags, *extra, "-E", str(self.file)]


def flags_config_id(flags: tuple[str, ...]) -> str:
    """A short hash that tells apart several configurations of one file."""
    return hashlib.sha256("\0".join(flags).encode()).hexdigest()[:12]


@dataclass
class LoadedDatabase:
    path: Path
    jobs: list[CompileJob]
    skipped: list[tuple[str, str]]  # (file, reason)


class _SkipEntry(Exception):
    """An entry that is valid but not a C unit coroproj analyses."""


def load_compile_database(path: Path) -> LoadedDatabase:
    """Read ``path`` and turn its C entries into jobs.

    Entries for other languages are listed in ``skipped`` with the reason.
    Several entries for one file with different flags become several jobs;
    exact repetitions become one.
    """
    path = Path(os.path.abspath(path))
    entries = _read_entries(path)
    jobs: list[CompileJob] = []
    seen: set[str] = set()
    skipped: list[tuple[str, str]] = []
    for index, entry in enumerate(entries):
        where = f"{path}: entry {index}"
        try:
            job = _job_from_entry(entry, path.parent, where)
        except _SkipEntry as skip:
            skipped.append((str(entry.get("file")), str(skip)))
            continue
        if job.key not in seen:
            seen.add(job.key)
            jobs.append(job)
    return LoadedDatabase(path=path, jobs=jobs, skipped=skipped)


def _read_entries(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: compilation database not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read compilation database: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(
            f"{path}:{error.lineno}:{error.colno}: invalid JSON in compilation database: {error.msg}"
        ) from None
    if not isinstance(data, list):
        raise UserError(
            f"{path}: a compilation database must be a JSON array of entries, not {_json_type(data)}"
        )
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise UserError(f"{path}: entry {index} must be a JSON object, not {_json_type(entry)}")
    return data


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def _string_field(entry: dict[str, Any], name: str, where: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value:
        if name not in entry:
            raise UserError(f'{where}: missing "{name}"')
        raise UserError(f'{where}: "{name}" must be a non-empty string')
    return value


def _job_from_entry(entry: dict[str, Any], database_dir: Path, where: str) -> CompileJob:
    directory = _absolute(database_dir, _string_field(entry, "directory", where))
    file = _absolute(directory, _string_field(entry, "file", where))
    argv = _argv_of(entry, where)
    argv = list(_expand_response_files(argv, directory, depth=0))
    if not argv:
        raise UserError(f"{where}: empty command")
    compiler, arguments = _split_compiler(argv)
    language = _language_of(file, compiler, arguments)
    if language is not None:
        raise _SkipEntry(f"not C: {language}")
    if _is_coroproj_runtime(file):
        # The native side of the calling convention, not the project's code.
        raise _SkipEntry("coroproj's own runtime, selected with `coroproj backend`")
    flags = tuple(_relevant_flags(arguments, directory))
    return CompileJob(file=file, directory=directory, compiler=compiler, flags=flags)


def _is_coroproj_runtime(file: Path) -> bool:
    """``file`` is (a link to) a source of coroproj's runtime: the backend a tree selected."""
    from coroproj.runtime.cpc import RUNTIME_DIR

    try:
        # The real path of each directory once, not of each file's every component.
        real = os.path.join(_real_directory(str(file.parent)), file.name)
        if os.path.islink(real):
            real = os.path.realpath(real)
    except OSError:
        return False
    return RUNTIME_DIR in Path(real).parents


@functools.lru_cache(maxsize=4096)
def _real_directory(directory: str) -> str:
    return os.path.realpath(directory)


def _absolute(base: Path, name: str) -> Path:
    return Path(os.path.normpath(os.path.join(base, name)))


def _argv_of(entry: dict[str, Any], where: str) -> list[str]:
    if "arguments" in entry:
        arguments = entry["arguments"]
        if not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments):
            raise UserError(f'{where}: "arguments" must be an array of strings')
        return list(arguments)
    if "command" in entry:
        command = entry["command"]
        if not isinstance(command, str):
            raise UserError(f'{where}: "command" must be a string')
        try:
            return split_command(command)
        except ValueError as error:
            raise UserError(f'{where}: cannot split "command": {error}') from None
    raise UserError(f'{where}: needs "arguments" or "command"')


# One shell word: runs of plain characters, '...' (literal), "..." (with \" and
# \\ escapes) and backslash-escaped characters, glued together.
_WORD = re.compile(r"""(?:[^ \t\r\n'"\\]+|'[^']*'|"(?:[^"\\]|\\.)*"|\\.)+""", re.DOTALL)
_WORD_PART = re.compile(r"""[^ \t\r\n'"\\]+|'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)""", re.DOTALL)
_DOUBLE_QUOTED_ESCAPE = re.compile(r'\\([\\"])')
_NEEDS_UNQUOTING = re.compile(r"""['"\\]""")
_BLANKS = re.compile(r"[ \t\r\n]+")


def split_command(command: str) -> list[str]:
    """Split a command line into words exactly like ``shlex.split`` (POSIX mode).

    ``shlex`` reads one character at a time; this is the same grammar as two
    regular expressions, about twenty times faster on the long command
    lines of big projects (tens of thousands of entries).
    """
    if not _NEEDS_UNQUOTING.search(command):
        # The common case (no quotes, no escapes): plain blank-separated words.
        return [word for word in _BLANKS.split(command) if word]
    words: list[str] = []
    position = 0
    length = len(command)
    while True:
        while position < length and command[position] in " \t\r\n":  # shlex's blanks
            position += 1
        if position >= length:
            return words
        match = _WORD.match(command, position)
        if match is None or match.end() == position:
            raise ValueError("No closing quotation")
        words.append("".join(_unquote(part) for part in _WORD_PART.finditer(match.group())))
        position = match.end()


def _unquote(part: re.Match[str]) -> str:
    single, double, escaped = part.groups()
    if single is not None:
        return single
    if double is not None:
        return _DOUBLE_QUOTED_ESCAPE.sub(r"\1", double)
    if escaped is not None:
        return escaped
    return part.group()


def _expand_response_files(argv: list[str], directory: Path, depth: int) -> Iterator[str]:
    """Replace ``@file`` words by the words the file holds (as GCC does)."""
    for word in argv:
        if not (word.startswith("@") and len(word) > 1):
            yield word
            continue
        response = _absolute(directory, word[1:])
        try:
            text = response.read_text(encoding="utf-8")
        except OSError:
            # GCC keeps an unreadable @file as a literal word; so do we.
            yield word
            continue
        if depth >= MAX_RESPONSE_FILE_DEPTH:
            raise _SkipEntry(f"response files nested too deeply at {response}")
        try:
            words = split_command(text)
        except ValueError as error:
            raise _SkipEntry(f"cannot split response file {response}: {error}") from None
        yield from _expand_response_files(words, directory, depth + 1)


def _split_compiler(argv: list[str]) -> tuple[str, list[str]]:
    position = 0
    while position < len(argv) - 1 and os.path.basename(argv[position]) in COMPILER_WRAPPERS:
        position += 1
    return argv[position], argv[position + 1 :]


def _language_of(file: Path, compiler: str, arguments: list[str]) -> str | None:
    """None for C; otherwise the language the entry compiles, for the skip reason."""
    explicit = _explicit_language(arguments)
    if explicit is not None:
        return None if explicit in C_LANGUAGES else explicit
    other = OTHER_LANGUAGE_SUFFIXES.get(file.suffix)
    if other is not None:
        return other
    if file.suffix not in C_SUFFIXES:
        return f"unknown file type '{file.suffix or file.name}'"
    if os.path.basename(compiler).endswith("++"):
        return f"C++ (compiled by {compiler})"
    return None


def _explicit_language(arguments: list[str]) -> str | None:
    """The last ``-x LANG`` before any input: GCC's rule for the language."""
    language = None
    words = iter(arguments)
    for word in words:
        if word == "-x":
            language = next(words, None)
        elif word.startswith("-x") and len(word) > 2:
            language = word[2:]
    if language == "none":
        return None
    return language


def _relevant_flags(arguments: list[str], directory: Path) -> Iterator[str]:
    """The flags that matter to preprocessing, in order; inputs and outputs dropped."""
    words = iter(arguments)
    for word in words:
        if word in SEPARATE_KEPT_OPTIONS:
            value = next(words, None)
            if value is None:
                continue
            if word == "-I":
                yield "-I" + _path_argument(directory, value)
            else:
                yield word + value
        elif word in SEPARATE_PATH_OPTIONS:
            value = next(words, None)
            if value is not None:
                yield word
                yield _path_argument(directory, value)
        elif word in SEPARATE_DROPPED_OPTIONS or word == "-x":
            next(words, None)
        elif word.startswith("-I"):
            yield "-I" + _path_argument(directory, word[2:])
        elif joined := _joined_path_option(word):
            yield joined
            yield _path_argument(directory, word[len(joined) :])
        elif word.startswith(("-D", "-U")):
            yield word
        elif word.startswith("--sysroot="):
            yield "--sysroot=" + _path_argument(directory, word[len("--sysroot=") :])
        elif word == "--sysroot":
            value = next(words, None)
            if value is not None:
                yield "--sysroot=" + _path_argument(directory, value)
        elif word.startswith("-Wp,"):
            yield from _preprocessor_passthrough(word, directory)
        elif _is_kept_bare_flag(word):
            yield word


def _joined_path_option(word: str) -> str | None:
    """``-isystemdir`` → ``-isystem`` (GCC accepts the directory glued on)."""
    for option in ("-isystem", "-iquote", "-idirafter"):
        if word.startswith(option) and len(word) > len(option):
            return option
    return None


def _is_kept_bare_flag(word: str) -> bool:
    if word in BARE_KEPT_OPTIONS:
        return True
    if word in DEPENDENCY_OPTIONS:
        return False
    # -f* and -m* change predefined macros and type sizes; -O* sets __OPTIMIZE__.
    return word == "-O" or (word.startswith(("-std=", "-O", "-f", "-m")) and len(word) > 2)


def _preprocessor_passthrough(word: str, directory: Path) -> Iterator[str]:
    """Keep the macro/include parts of ``-Wp,a,b`` (Linux uses ``-Wp,-MMD,file``)."""
    parts = word.split(",")[1:]
    position = 0
    while position < len(parts):
        part = parts[position]
        if part in {"-MD", "-MMD", "-MF", "-MT", "-MQ"}:
            position += 2  # the preprocessor spelling takes the file as next part
            continue
        if part.startswith(("-D", "-U")):
            yield part
        elif part.startswith("-I") and len(part) > 2:
            yield "-I" + _path_argument(directory, part[2:])
        position += 1


@functools.lru_cache(maxsize=65536)
def _path_argument(directory: Path, value: str) -> str:
    """``value`` made absolute against ``directory`` (cached: big builds repeat -I dirs)."""
    # "=dir" and "$SYSROOT/dir" are relative to the sysroot: leave them to GCC.
    if value.startswith(("=", "$")) or not value:
        return value
    return os.path.normpath(os.path.join(directory, value))
