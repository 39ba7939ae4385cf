"""Errors that reach the user as one clear line, never as a traceback.

Every stage raises a subclass of ``UserError``; the command line prints
``str(error)`` and exits with ``error.exit_status``.
"""

from __future__ import annotations

from dataclasses import dataclass


class UserError(Exception):
    """A problem with the user's input, configuration or environment."""

    exit_status = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class SourceSpot:
    """A place in the user's (original, not preprocessed) source."""

    file: str
    line: int
    column: int = 0

    def __str__(self) -> str:
        if self.column:
            return f"{self.file}:{self.line}:{self.column}"
        return f"{self.file}:{self.line}"


class SourceError(UserError):
    """A problem located in a source file: printed GCC style.

    ``check`` is the diagnostic id without the ``coroproj-`` prefix, e.g.
    ``parse-error``.  ``source_line`` is the offending line of the original
    file when it could be read, shown under the message like GCC does.
    """

    def __init__(
        self,
        spot: SourceSpot,
        message: str,
        check: str = "parse-error",
        source_line: str | None = None,
    ) -> None:
        super().__init__(message)
        self.spot = spot
        self.check = check
        self.source_line = source_line

    def one_line(self) -> str:
        return f"{self.spot}: error: {self.message} [coroproj-{self.check}]"

    def __str__(self) -> str:
        if self.source_line is None:
            return self.one_line()
        return f"{self.one_line()}\n  {self.source_line.rstrip()}"
