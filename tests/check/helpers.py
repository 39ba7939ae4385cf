"""Write a small C unit and check it through the real command line."""

from __future__ import annotations

import textwrap
from pathlib import Path

PRELUDE = """\
#define coroutine_fn __attribute__((coroutine_fn))
#define blocking_fn __attribute__((blocking_fn))
#define coroutine_mixed_fn __attribute__((coroutine_mixed_fn))
"""


def write_unit(directory: Path, source: str, name: str = "unit.c", prelude: bool = True) -> Path:
    path = directory / name
    path.write_text((PRELUDE if prelude else "") + textwrap.dedent(source))
    return path


def line_of(path: Path, text: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{text!r} not in {path}")


def findings_of(data: dict, check: str | None = None) -> list[tuple[str, str, int]]:
    return sorted(
        (f["check"], f["function"], f["line"])
        for f in data["findings"]
        if check is None or f["check"] == check
    )
