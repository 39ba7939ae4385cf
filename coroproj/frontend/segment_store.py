"""Header segments parsed in earlier runs, kept on disk: coroproj's precompiled headers.

``segments.SegmentCache`` shares a header segment's parse between the
units of one process.  This store extends that across processes and runs:
a unit re-analysed because its own ``.c`` changed finds the parses of the
headers it includes here, and only its own text is parsed again.
Unpickling a segment's AST is 6-10 times faster than parsing it.

An entry is keyed like the in-memory cache (the segment's text, the
file-scope bindings of its identifiers, the annotation spellings, the file
of a unit's first segment) and kept in a database of this version of the
front end only (a fingerprint of its source, pycparser's version and
Python's), so that a changed parser never reads an old parse.  An annotated
segment also records which of its typedef names named function types when
it was parsed; it is reused only where they still do.

The store is a cache (``util.cache_db``): one SQLite database, written by
the workers of a run a unit at a time; entries carry a checksum of their
body, and anything that does not verify or load is deleted and counted as
a miss.  Entries are pickles, so the cache directory must be trusted like
the build directory it sits in (as ccache's and ninja's are).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pycparser

from coroproj.frontend.annotations import AttributeNames
from coroproj.util.cache_db import CacheDatabase

_MAGIC = b"coroproj-segment 1"


@dataclass
class StoredSegment:
    """What ``segments._Parsed`` holds, minus what later passes derived from it."""

    items: list[object]
    bindings: list[tuple[str, bool]]
    annotated: list[int]
    typedefs: list[tuple[str, object]]
    extra: list[object]
    misplaced: list[object]
    size: int
    functions: tuple[str, ...] | None  # an annotated segment's function typedef names, else None


class SegmentStore:
    """Segment parses under ``directory``, for this version of the front end."""

    def __init__(self, directory: Path) -> None:
        self.root = Path(os.path.abspath(directory))
        self.path = self.root / f"{front_end_fingerprint()[:20]}.sqlite3"
        self.database = CacheDatabase(self.path, _SCHEMA)
        self.loaded = 0
        self.saved = 0
        self._pending: dict[str, bytes] = {}
        self._checked_directory = False

    def key(
        self, digest: bytes, names: AttributeNames, first_file: str, bindings: tuple[tuple[str, bool], ...]
    ) -> str:
        text = repr((digest.hex(), names.coroutine, names.blocking, names.mixed, first_file, bindings))
        return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=20).hexdigest()

    def has(self, key: str) -> bool:
        if key in self._pending:
            return True
        return self.database.query("SELECT 1 FROM segments WHERE key = ?", (key,)) is not None

    def load(self, key: str) -> StoredSegment | None:
        row = self.database.query("SELECT body FROM segments WHERE key = ?", (key,))
        if row is None:
            return None
        stored = _decode(bytes(row[0]))
        if stored is None:
            self.database.execute("DELETE FROM segments WHERE key = ? AND body = ?", (key, row[0]))
            return None
        self.loaded += 1
        return stored

    def save(self, key: str, stored: StoredSegment) -> None:
        """Keep ``stored`` under ``key`` (written by ``flush``); quietly nothing if it cannot be."""
        try:
            body = pickle.dumps(stored, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
            return
        self._pending[key] = _header(body) + b"\n" + body

    def flush(self) -> None:
        """Write the entries saved since the last flush, in one transaction."""
        if not self._pending:
            return
        self._remove_other_front_ends()
        rows = list(self._pending.items())
        self._pending.clear()
        if self.database.execute_many("INSERT OR REPLACE INTO segments (key, body) VALUES (?, ?)", rows):
            self.saved += len(rows)

    def close(self) -> None:
        self.flush()
        self.database.close()

    def _remove_other_front_ends(self) -> None:
        # The first write of a new front end removes the stores of older ones:
        # they can never be read again.
        if self._checked_directory:
            return
        self._checked_directory = True
        with contextlib.suppress(OSError):
            for other in self.root.iterdir():
                if other.name.startswith(self.path.name):
                    continue  # this front end's own database and journal
                if other.is_dir():
                    shutil.rmtree(other, ignore_errors=True)
                else:
                    other.unlink()


_SCHEMA = ("CREATE TABLE IF NOT EXISTS segments (key TEXT PRIMARY KEY, body BLOB NOT NULL)",)


def _header(body: bytes) -> bytes:
    return b"%s %s" % (_MAGIC, hashlib.blake2b(body, digest_size=20).hexdigest().encode())


def _decode(raw: bytes) -> StoredSegment | None:
    header, newline, body = raw.partition(b"\n")
    if not newline or header != _header(body):
        return None
    try:
        stored = pickle.loads(body)
    except Exception:  # any damage to a cache entry is a miss
        return None
    return stored if isinstance(stored, StoredSegment) else None


_FINGERPRINT: str | None = None


def front_end_fingerprint() -> str:
    """A hash of everything that decides what a segment parses to (computed once per process)."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        digest = hashlib.sha256()
        digest.update(f"{sys.version}\0{pycparser.__version__}\0".encode())
        for path in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        _FINGERPRINT = digest.hexdigest()
    return _FINGERPRINT
