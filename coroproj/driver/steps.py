"""The output of ``coroproj build``, like ninja's: one status line per step.

The project's own build (SCons or Make) prints each command it runs on a line
of its own.  A dry run first lists the commands the build will run, which
gives the total; then, while the real build runs, every line that is one of
those commands is a step, shown as ``[12/60] cps block/cow.c`` (or, with
``-v``, as the full command), and every other line (a compiler's
diagnostics, the build tool's own messages) is passed through as it is.  On
a terminal the status overwrites one line, as ninja's does; elsewhere (a log,
a pipe) each step gets its line.  A failed step is shown as ``FAILED:`` with
its full command, whatever the verbosity.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

SOURCE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".s", ".S")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# "scons: *** [build/x.o] Error 1", "make: *** [Makefile:3: x.o] Error 1", "make[1]: *** [x.o] ..."
_FAILURE = re.compile(r"^(?:scons|g?make(?:\[\d+\])?): \*\*\* \[(?:[^\]]*: )?([^\]]+)\]")


def describe_step(command: str) -> str:
    """What a command does, in a few words: ``cc util/aio.c``, ``cps block/cow.c``, ``link tests/x``."""
    try:
        words = shlex.split(command)
    except ValueError:  # unbalanced quotes: not ours to judge, show its first word
        return command.split(maxsplit=1)[0] if command.strip() else command
    while words and _ASSIGNMENT.match(words[0]):
        words.pop(0)  # VAR=value before the program (the cpc translation digest)
    if not words:
        return command
    translating = "coroproj" in words[:4] and "cc" in words and "cpc" in words
    program = os.path.basename(words[0])
    output = _option_value(words, "-o")
    if "-c" in words:
        sources = [w for w in words if w.endswith(SOURCE_SUFFIXES) and not w.startswith("-")]
        return f"{'cps' if translating else 'cc'} {sources[-1] if sources else output or ''}".rstrip()
    if program in ("ar", "gcc-ar") or program.endswith("-ar"):
        archives = [w for w in words if w.endswith(".a")]
        return f"ar {archives[0]}" if archives else "ar"
    if program == "ranlib" and len(words) > 1:
        return f"ranlib {words[-1]}"
    if output is not None:
        return f"link {output}"
    return program


def _option_value(words: list[str], option: str) -> str | None:
    for index, word in enumerate(words):
        if word == option and index + 1 < len(words):
            return words[index + 1]
        if word.startswith(option) and len(word) > len(option) and not word.startswith("--"):
            return word[len(option):]
    return None


def failed_target(line: str) -> str | None:
    """The target a build tool's failure line names, or None when the line is not one."""
    match = _FAILURE.match(line)
    return match.group(1) if match else None


@dataclass
class StepPrinter:
    """Prints a running build's output; ``expected`` are the dry run's commands."""

    out: TextIO
    expected: Iterable[str]
    verbose: bool = False
    quiet: bool = False
    terminal: bool = False
    done: int = 0
    started: list[str] = field(default_factory=list)  # the commands run, in order
    _pending: Counter[str] = field(default_factory=Counter)
    _total: int = 0
    _status_open: bool = False  # a terminal status line is shown and not ended

    def __post_init__(self) -> None:
        self._pending = Counter(line.strip() for line in self.expected if line.strip())
        self._total = sum(self._pending.values())

    @property
    def total(self) -> int:
        return max(self._total, self.done)

    def line(self, text: str) -> None:
        """One line of the build's output (without its newline)."""
        stripped = text.strip()
        if self._pending[stripped] > 0:
            self._pending[stripped] -= 1
            self._step(stripped)
            return
        target = failed_target(stripped)
        if target is not None:
            self._failure(target)
        self._passthrough(text)

    def finish(self) -> None:
        """End the terminal's status line, if one is open."""
        if self._status_open:
            self.out.write("\n")
            self._status_open = False
        self.out.flush()

    def _step(self, command: str) -> None:
        self.done += 1
        self.started.append(command)
        if self.quiet:
            return
        status = f"[{self.done}/{self.total}] {command if self.verbose else describe_step(command)}"
        if self.terminal and not self.verbose:
            width = shutil.get_terminal_size().columns
            # \r and erase-to-end-of-line: the next status replaces this one.
            self.out.write(f"\r{status[: max(width - 1, 1)]}\x1b[K")
            self._status_open = True
        else:
            self.out.write(status + "\n")
        self.out.flush()

    def _passthrough(self, text: str) -> None:
        self.finish()  # diagnostics start on a line of their own and stay visible
        self.out.write(text + "\n")
        self.out.flush()

    def _failure(self, target: str) -> None:
        command = self._command_of(target)
        self._passthrough(f"FAILED: {target}")
        if command is not None:  # even under -v: with -j it may be far above
            self._passthrough(command)

    def _command_of(self, target: str) -> str | None:
        """The most recent command that writes ``target`` (or at least names it)."""
        for command in reversed(self.started):
            try:
                words = shlex.split(command)
            except ValueError:
                words = command.split()
            if _option_value(words, "-o") == target:
                return command
        return next((c for c in reversed(self.started) if target in c), None)
