"""Small multi-file C projects written on the fly, with their compile database."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

COMPILER_H = """\
#ifndef COMPILER_H
#define COMPILER_H
#ifdef __COROPROJ__
#define coroutine_fn __attribute__((coroutine_fn))
#define blocking_fn __attribute__((blocking_fn))
#else
#define coroutine_fn
#define blocking_fn
#endif
void coroutine_fn qemu_coroutine_yield(void);
#endif
"""


def make_tree(root: Path, files: dict[str, str], *, database: bool = True) -> Path:
    """Write ``files`` (name -> text) under ``root`` plus include/compiler.h and a database."""
    (root / "include").mkdir(parents=True, exist_ok=True)
    (root / "include" / "compiler.h").write_text(COMPILER_H)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    if database:
        write_database(root, [n for n in files if n.endswith(".c")])
    return root


def write_database(root: Path, sources: list[str]) -> None:
    entries = [
        {
            "directory": str(root),
            "arguments": ["cc", "-Iinclude", "-std=gnu11", "-c", name, "-o", name + ".o"],
            "file": name,
        }
        for name in sources
    ]
    (root / "compile_commands.json").write_text(json.dumps(entries, indent=1))


def line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")
