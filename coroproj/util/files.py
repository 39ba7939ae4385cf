"""Writing the user's files safely: never half-written, permissions kept."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_text_atomically(path: Path, text: str, *, errors: str = "strict") -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    UTF-8, newlines as they are in ``text``; ``errors="surrogateescape"``
    writes back bytes that were read with it unchanged.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    mode = None
    with contextlib.suppress(OSError):
        mode = path.stat().st_mode & 0o7777
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", errors=errors, newline="") as handle:
            handle.write(text)
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
