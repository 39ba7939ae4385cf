"""On-disk cache of per-unit summaries, and the index that makes runs incremental.

Two layers, both under the cache directory (``.coroproj/`` by default), each
an SQLite database (``util.cache_db``: shared safely by the worker processes
of a run and by concurrent runs):

``SummaryCache``
    Content-addressed summaries: the key is a hash of the unit's preprocessed
    text, the tool version and the analysis configuration, so an entry can
    never be stale, only absent.  Each entry carries a format version, its
    own key and a checksum of its body; anything that does not verify (an
    entry damaged on disk) is deleted and reported as a miss.

``UnitIndex``
    Answers "must this unit be preprocessed again?" without preprocessing it:
    for each compile job it remembers the summary key and the (mtime_ns,
    size, sha256) of the main file and every header the preprocessor read.

The cache is an optimisation: no failure in it (corruption, a full disk, the
directory deleted mid-run, a concurrent writer) is ever fatal or trusted.
"""

from __future__ import annotations

import array
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from coroproj import __version__
from coroproj.frontend.markers import files_of, read_files
from coroproj.project.compile_db import CompileJob
from coroproj.util.cache_db import CacheDatabase

FORMAT_VERSION = 1
ENTRY_MAGIC = "coroproj-summary"
SUMMARIES_FILE = "summaries.sqlite3"
INDEX_FILE = "index.sqlite3"
_SUMMARIES_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, body BLOB NOT NULL)",
    # Results of whole runs (``remember``): a few kept, the least recently used dropped.
    "CREATE TABLE IF NOT EXISTS memos (key TEXT PRIMARY KEY, used INTEGER NOT NULL, body BLOB NOT NULL)",
)
# How many run results ``remember`` keeps: enough for the few configurations a
# developer alternates between (the whole tree, a folder, another output format).
MEMOS_KEPT = 8


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class SummaryCache:
    """Summaries stored as checked JSON documents, one per key."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(os.path.abspath(directory))
        self.database = CacheDatabase(self.directory / SUMMARIES_FILE, _SUMMARIES_SCHEMA)
        # Content-addressed entries this instance stored or found stored.
        self._stored: set[str] = set()

    def key(self, preprocessed_text: str, fingerprint: str) -> str:
        """The key of a unit's summary: its exact input plus everything that shapes it."""
        digest = hashlib.sha256()
        for part in (f"{ENTRY_MAGIC}/{FORMAT_VERSION}", __version__, fingerprint):
            digest.update(part.encode())
            digest.update(b"\0")
        digest.update(preprocessed_text.encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        """The summary stored under ``key``, or None if absent or not intact."""
        body = self.get_bytes(key)
        if body is None:
            return None
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self._delete(key)
            return None
        return data

    def get_bytes(self, key: str) -> bytes | None:
        """The body stored under ``key`` (checksum verified), or None if absent or not intact."""
        row = self.database.query("SELECT body FROM entries WHERE key = ?", (_checked(key),))
        if row is None:
            return None
        body = _verified_body(bytes(row[0]), key)
        if body is None:
            self.database.execute("DELETE FROM entries WHERE key = ? AND body = ?", (key, row[0]))
        return body

    def remember(self, key: str, body: bytes) -> None:
        """Keep ``body``, the result of a whole run, under ``key``; only the
        ``MEMOS_KEPT`` most recently used such results are kept.

        Unlike summaries, such a result changes with every edit anywhere in
        the project: kept forever, one per edit, they would fill the disk.
        """
        self.database.execute(
            "INSERT OR REPLACE INTO memos (key, used, body) VALUES (?, ?, ?)",
            (_checked(key), time.time_ns(), _entry_header(key, body) + body),
        )
        self.database.execute(
            "DELETE FROM memos WHERE key NOT IN (SELECT key FROM memos ORDER BY used DESC LIMIT ?)",
            (MEMOS_KEPT,),
        )

    def recall(self, key: str) -> bytes | None:
        """The body ``remember`` kept under ``key`` (checksum verified), or None."""
        row = self.database.query("SELECT body FROM memos WHERE key = ?", (_checked(key),))
        body = _verified_body(bytes(row[0]), key) if row is not None else None
        if body is None:
            if row is not None:
                self.database.execute("DELETE FROM memos WHERE key = ?", (key,))
            return None
        self.database.execute("UPDATE memos SET used = ? WHERE key = ?", (time.time_ns(), key))
        return body

    def _delete(self, key: str) -> None:
        self.database.execute("DELETE FROM entries WHERE key = ?", (key,))

    def has(self, key: str) -> bool:
        return self.get(key) is not None

    def exists(self, key: str) -> bool:
        """Whether an entry is stored under ``key`` (not read: it may still be damaged)."""
        return self.database.query("SELECT 1 FROM entries WHERE key = ?", (_checked(key),)) is not None

    def put(self, key: str, data: dict[str, Any]) -> bool:
        """Store ``data`` (JSON-serialisable) under ``key``; False if it could not be stored."""
        body = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return self._write([(key, body)])

    def put_content_addressed(self, entries: dict[str, bytes], *, again: bool = False) -> bool:
        """Store entries whose keys are the hashes of their contents, given as JSON text;
        whether they are all stored now.

        Such an entry is written once: an entry stored under its key is right,
        unless it was damaged, and ``again`` writes it anyway for that case.
        """
        if not again:
            entries = {
                key: body for key, body in entries.items() if key not in self._stored and not self.exists(key)
            }
        if not self._write(list(entries.items())):
            return False
        self._stored.update(entries)
        return True

    def _write(self, entries: list[tuple[str, bytes]]) -> bool:
        if not entries:
            return True
        rows = [(_checked(key), _entry_header(key, body) + body) for key, body in entries]
        return self.database.execute_many("INSERT OR REPLACE INTO entries (key, body) VALUES (?, ?)", rows)

    def close(self) -> None:
        self.database.close()


def _checked(key: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", key):
        raise ValueError(f"not a summary cache key: {key!r}")
    return key


def _entry_header(key: str, body: bytes) -> bytes:
    return f"{ENTRY_MAGIC} {FORMAT_VERSION} {key} {_sha256(body)}\n".encode()


def _verified_body(raw: bytes, key: str) -> bytes | None:
    header, newline, body = raw.partition(b"\n")
    if not newline:
        return None
    fields = header.decode("ascii", "replace").split(" ")
    if fields != [ENTRY_MAGIC, str(FORMAT_VERSION), key, _sha256(body)]:
        return None
    return body


# --- incrementality -------------------------------------------------------------------------

def included_files(preprocessed_text: str, directory: Path) -> list[Path]:
    """Every real file named by the preprocessor's line markers, in first-seen order.

    ``directory`` is where the compiler ran: relative names are relative to it.
    Pseudo files such as ``<built-in>`` and ``<command-line>`` are left out.
    """
    return read_files(files_of(preprocessed_text), directory)


_UNKNOWN: Any = object()


@dataclass(frozen=True)
class FileState:
    """What we remember about one input file."""

    path: str
    mtime_ns: int
    size: int
    sha256: str


def _file_state(path: Path) -> FileState | None:
    try:
        before = path.stat()
        content = path.read_bytes()
        after = path.stat()
    except OSError:
        return None
    if (before.st_mtime_ns, before.st_size) != (after.st_mtime_ns, after.st_size):
        # Changing while we read it: record an impossible mtime so the next run
        # compares contents instead of trusting the timestamp.
        return FileState(str(path), -1, len(content), _sha256(content))
    return FileState(str(path), after.st_mtime_ns, after.st_size, _sha256(content))


_SCHEMA = (
    # Every recorded state of a file, once however many units read it.
    "CREATE TABLE IF NOT EXISTS files (id INTEGER PRIMARY KEY, path TEXT NOT NULL,"
    " mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,"
    " UNIQUE (path, mtime_ns, size, sha256))",
    # Per unit: its summary and the ids of the file states it read (``_ids_to_blob``).
    "CREATE TABLE IF NOT EXISTS unit_deps (job_key TEXT PRIMARY KEY, context TEXT NOT NULL,"
    " summary_key TEXT NOT NULL, deps BLOB NOT NULL)",
    "DROP TABLE IF EXISTS units",  # the JSON lists of coroproj before 0.1's deps log
)
# Verdict on a recorded file state: today's state (the same, or only touched), or None if changed.
_Verdict = FileState | None


class UnitIndex:
    """Which units are unchanged since their summary was made.

    Like ninja's deps log: each unit is recorded with the states (mtime,
    size, hash) of the files it read, kept once in a table of file states
    that the units refer to by id.  Judging a project's units stats each
    file once and compares ids, instead of decoding and comparing the
    hundreds of headers every unit lists.

    ``fingerprint`` is the analysis configuration's (``Config.fingerprint()``):
    records made under another configuration or tool version never count as
    up to date.  Use one instance per process (SQLite connections are not
    shared across ``fork``).
    """

    def __init__(self, cache: SummaryCache, fingerprint: str) -> None:
        self.cache = cache
        self.fingerprint = fingerprint
        self.context = f"{__version__}/{FORMAT_VERSION}/{fingerprint}"
        self.path = cache.directory / INDEX_FILE
        self.database = CacheDatabase(self.path, _SCHEMA)
        # Per-instance memo: headers shared by many units are stat'ed and
        # hashed once per run, not once per unit.
        self._stats: dict[str, tuple[int, int] | None] = {}
        self._hashes: dict[str, str | None] = {}
        self._states: dict[int, FileState] = {}  # recorded file states by id, read when first needed
        self._verdicts: dict[int, _Verdict] = {}
        self._ids: dict[FileState, int] = {}
        self._generation = -1  # of the database the ids above are from
        # Units found unchanged in this run (an index row only changes through
        # this instance, or for a unit found changed, which is not kept).
        self._unchanged_units: dict[str, tuple[str, list[FileState], bool]] = {}
        # Every unit's row, read in one query when first needed (a unit found
        # changed is read again: another process may have recorded it since).
        self._rows: dict[str, tuple[str, bytes]] | None = None
        # The states recorded in this run, by (path, mtime_ns, size) as stat'ed.
        self._recorded: dict[tuple[str, int, int], FileState] = {}

    # The caller's view -----------------------------------------------------

    def needs_rebuild(self, job: CompileJob) -> bool:
        """True unless the unit's files are unchanged and its summary is still cached."""
        return self.cached_summary(job) is None

    def cached_summary(self, job: CompileJob) -> dict[str, Any] | None:
        """The unit's summary if nothing it depends on changed, else None."""
        recorded = self.cached_summary_with_key(job)
        return recorded[1] if recorded is not None else None

    def cached_summary_with_key(self, job: CompileJob) -> tuple[str, dict[str, Any]] | None:
        """(key, summary) of the unit if nothing it depends on changed, else None."""
        recorded = self._unchanged(job)
        if recorded is None:
            return None
        summary_key, current, moved = recorded
        summary = self.cache.get(summary_key)
        if summary is None:
            return None
        if moved:
            self._store(job, current, summary_key)
        return summary_key, summary

    def unchanged_summary_key(self, job: CompileJob, *, remember_moves: bool = False) -> str | None:
        """The key of the unit's summary if nothing it depends on changed (the summary not read).

        ``remember_moves``: a file touched but not edited (a checkout, a rebuild)
        gets its new timestamp recorded, so the next run trusts stat again
        instead of hashing it.
        """
        recorded = self._unchanged(job)
        if recorded is None:
            return None
        summary_key, current, moved = recorded
        if moved and remember_moves:
            self._store(job, current, summary_key)
        return summary_key

    def _unchanged(self, job: CompileJob) -> tuple[str, list[FileState], bool] | None:
        """(summary key, today's file states, whether any timestamp moved) if no file changed."""
        known = self._unchanged_units.get(job.key)
        if known is not None:
            return known
        found = self._unchanged_now(job)
        if found is not None:
            self._unchanged_units[job.key] = found
        return found

    def _unchanged_now(self, job: CompileJob) -> tuple[str, list[FileState], bool] | None:
        if self._rows is None:
            rows = self.database.query_all(
                "SELECT job_key, summary_key, deps FROM unit_deps WHERE context = ?", (self.context,)
            )
            self._rows = {job_key: (summary_key, deps) for job_key, summary_key, deps in rows}
        row = self._rows.pop(job.key, None)
        found = self._judge(row) if row is not None else None
        if found is None:
            row = self.database.query(
                "SELECT summary_key, deps FROM unit_deps WHERE job_key = ? AND context = ?",
                (job.key, self.context),
            )
            found = self._judge(row) if row is not None else None
        return found

    def _judge(self, row: tuple[str, bytes]) -> tuple[str, list[FileState], bool] | None:
        """(summary key, today's file states, whether any moved) if no file of ``row`` changed."""
        summary_key, blob = row
        ids = _ids_from_blob(blob)
        if not ids:
            return None
        verdicts = self._verdicts
        moved = False
        for state_id in ids:
            verdict = verdicts.get(state_id, _UNKNOWN)
            if verdict is _UNKNOWN:
                verdict = verdicts[state_id] = self._verdict(state_id)
            if verdict is None:
                return None
            if verdict is not self._states[state_id]:
                moved = True
        current = [verdicts[state_id] for state_id in ids]
        return summary_key, current, moved  # type: ignore[return-value]

    def _verdict(self, state_id: int) -> _Verdict:
        state = self._states.get(state_id)
        if state is None:
            self._load_states()  # recorded by another process since
            state = self._states.get(state_id)
            if state is None:
                return None
        return self._current_state(state)

    def _load_states(self) -> None:
        for state_id, path, mtime_ns, size, sha256 in self.database.query_all(
            "SELECT id, path, mtime_ns, size, sha256 FROM files"
        ):
            if state_id not in self._states:
                self._states[state_id] = FileState(path, mtime_ns, size, sha256)

    def _current_state(self, state: FileState) -> FileState | None:
        """``state`` itself if the file is unchanged, with today's timestamp if
        only touched (the same content), None if it changed."""
        observed = self._stat(state.path)
        if observed is None or observed[1] != state.size:
            return None
        if observed[0] == state.mtime_ns:
            return state
        if self._hash(state.path) != state.sha256:
            return None
        return FileState(state.path, observed[0], state.size, state.sha256)

    def _stat(self, path: str) -> tuple[int, int] | None:
        if path not in self._stats:
            try:
                result = os.stat(path)
                self._stats[path] = (result.st_mtime_ns, result.st_size)
            except OSError:
                self._stats[path] = None
        return self._stats[path]

    def _hash(self, path: str) -> str | None:
        if path not in self._hashes:
            try:
                self._hashes[path] = _sha256(Path(path).read_bytes())
            except OSError:
                self._hashes[path] = None
        return self._hashes[path]

    def record(self, job: CompileJob, deps: Iterable[Path], summary_key: str) -> None:
        """Remember that ``job`` (reading ``deps`` besides its main file) made ``summary_key``.

        Call after the summary is stored.  A file that cannot be read leaves the
        unit unrecorded, so it is simply rebuilt next time.
        """
        states: list[FileState] = []
        for path in dict.fromkeys([job.file, *deps]):
            state = self._file_state(Path(path))
            if state is None:
                self.forget(job)
                return
            states.append(state)
        self._store(job, states, summary_key)

    def _file_state(self, path: Path) -> FileState | None:
        """The state of a file to record; the headers units share are read and hashed once per run."""
        try:
            observed = os.stat(path)
        except OSError:
            return None
        known = self._recorded.get((str(path), observed.st_mtime_ns, observed.st_size))
        if known is not None:
            return known
        state = _file_state(path)
        if state is not None and state.mtime_ns >= 0:
            self._recorded[(state.path, state.mtime_ns, state.size)] = state
        return state

    def _store(self, job: CompileJob, states: list[FileState], summary_key: str) -> None:
        self._unchanged_units.pop(job.key, None)
        ids = self._ids_of(states)
        if ids is None:
            self.forget(job)
            return
        self.database.execute(
            "INSERT OR REPLACE INTO unit_deps (job_key, context, summary_key, deps) VALUES (?, ?, ?, ?)",
            (job.key, self.context, summary_key, _ids_to_blob(ids)),
        )

    def _ids_of(self, states: list[FileState]) -> list[int] | None:
        """The ids of ``states`` in the table of file states, added if new (None if the index fails)."""
        generation = self.database.generation()
        if generation != self._generation:  # another file: the ids known are not its ids
            self._generation = generation
            self._ids.clear()
            self._states.clear()
            self._verdicts.clear()
        new = [state for state in dict.fromkeys(states) if state not in self._ids]
        if new:
            rows = [(s.path, s.mtime_ns, s.size, s.sha256) for s in new]
            self.database.execute_many(
                "INSERT OR IGNORE INTO files (path, mtime_ns, size, sha256) VALUES (?, ?, ?, ?)", rows
            )
            for state, row in zip(new, rows, strict=True):
                found = self.database.query(
                    "SELECT id FROM files WHERE path = ? AND mtime_ns = ? AND size = ? AND sha256 = ?", row
                )
                if found is None:
                    return None
                self._ids[state] = found[0]
                self._states.setdefault(found[0], state)
        return [self._ids[state] for state in states]

    def forget(self, job: CompileJob) -> None:
        self._unchanged_units.pop(job.key, None)
        self.database.execute("DELETE FROM unit_deps WHERE job_key = ?", (job.key,))

    def close(self) -> None:
        """Close the index and the summary cache it was given."""
        self.database.close()
        self.cache.close()


def _ids_to_blob(ids: list[int]) -> bytes:
    return array.array("q", ids).tobytes()


def _ids_from_blob(blob: bytes) -> list[int]:
    ids = array.array("q")
    try:
        ids.frombytes(blob)
    except (ValueError, TypeError):
        return []  # not a deps blob: the unit counts as changed
    return ids.tolist()


class Built(NamedTuple):
    summary: dict[str, Any]
    rebuilt: bool  # summarised in this call (not found in the cache)
    key: str  # the summary's cache key
    stored: bool = True  # whether the cache holds it under ``key`` (False: it could not be written)


class Summarised(NamedTuple):
    """What ``cached_or_build``'s ``summarise`` returns."""

    summary: dict[str, Any]
    read: list[Path]  # every file the unit read (``included_files`` of its text)


def cached_or_build(
    job: CompileJob,
    index: UnitIndex,
    preprocess: Callable[[CompileJob], str],
    summarise: Callable[[CompileJob, str], Summarised],
    usable: Callable[[dict[str, Any]], bool] = lambda _entry: True,
) -> Built:
    """The incremental protocol for one unit: its summary, whether it was rebuilt, its key.

    Unchanged unit: the summary comes straight from the cache, nothing is
    preprocessed.  Otherwise the unit is preprocessed; if its preprocessed text
    was summarised before (e.g. only a comment changed), that summary is reused,
    else ``summarise`` runs.  Either way the index learns the unit's new files.
    An entry that is not ``usable`` (an older layout) counts as absent.
    """
    recorded = index.cached_summary_with_key(job)
    if recorded is not None and usable(recorded[1]):
        return Built(recorded[1], False, recorded[0])
    text = preprocess(job)
    key = index.cache.key(text, index.fingerprint)
    summary = index.cache.get(key)
    if summary is not None and usable(summary):
        index.record(job, included_files(text, job.directory), key)
        return Built(summary, False, key)
    summarised = summarise(job, text)
    stored = index.cache.put(key, summarised.summary)
    index.record(job, summarised.read, key)
    return Built(summarised.summary, True, key, stored)
