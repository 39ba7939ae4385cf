"""Writing the user's files safely: never half-written, permissions kept."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_text_atomically(path: Path, text: str, *, errors: str = "strict") -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    UTF-8, newlines as they are in ``text``; ``errors="surrogateescape"``
    writes back bytes that were read with it unchanged.
    """
    write_bytes_atomically(path, text.encode("utf-8", errors=errors))


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (permissions kept)."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    mode = None
    with contextlib.suppress(OSError):
        mode = path.stat().st_mode & 0o7777
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def json_document(data: dict[str, Any]) -> str:
    """``data`` as JSON with each element of a top-level list on its own line.

    Readable and diffable like indented JSON, but written by the C encoder:
    ``indent=`` makes Python's ``json`` fall back to a pure-Python encoder,
    several times slower on a report listing every function of a big tree.
    """
    parts = []
    for key, value in data.items():
        name = json.dumps(key)
        if isinstance(value, list) and value:
            items = ",\n    ".join(json.dumps(item) for item in value)
            parts.append(f"  {name}: [\n    {items}\n  ]")
        else:
            parts.append(f"  {name}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def replace_with_symlink(path: Path, target: Path) -> None:
    """Make ``path`` a symbolic link to ``target`` in one rename (never missing in between)."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    temporary = Path(tempfile.mktemp(prefix=f".{path.name}.", dir=directory))
    os.symlink(target, temporary)
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
