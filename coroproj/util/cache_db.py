"""An SQLite database file that is only a cache: opened per process, never fatal.

coroproj keeps its caches (the unit index, the summaries, the header
segment parses) in SQLite databases rather than in a file per entry:
creating a file costs a worker process up to a millisecond on the machines
measured, and a cold run of QEMU writes 15,000 entries.  SQLite in WAL mode
lets the worker processes of a run, and concurrent runs, read and write one
file safely.

Every failure degrades to a miss: a query that fails answers nothing and a
write that fails is dropped; a file that is not a database (damaged) is
deleted so that the next use starts afresh; a file deleted or replaced
under a running process (someone cleaned the cache) is noticed and opened
anew.  A connection is never used across ``fork``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

Row = tuple[Any, ...]


class CacheDatabase:
    """One database file, created with ``schema`` (statements run at every opening)."""

    def __init__(self, path: Path, schema: Sequence[str]) -> None:
        self.path = path
        self._schema = tuple(schema)
        self._connection: sqlite3.Connection | None = None
        self._connected_in: int | None = None  # pid: a forked child must reconnect
        self._connected_to: tuple[int, int] | None = None  # (device, inode) of the file
        self._opened = 0

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> Row | None:
        """The first row ``sql`` selects, or None (also when the database fails)."""
        for _attempt in range(2):
            try:
                row: Row | None = self._connect().execute(sql, parameters).fetchone()
                return row
            except sqlite3.DatabaseError as error:
                self._recover(error)
            except OSError:
                return None
        return None

    def query_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        """Every row ``sql`` selects (none when the database fails)."""
        for _attempt in range(2):
            try:
                return list(self._connect().execute(sql, parameters))
            except sqlite3.DatabaseError as error:
                self._recover(error)
            except OSError:
                return []
        return []

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> bool:
        """Run one statement in its own transaction; whether it was done."""
        return self.execute_many(sql, [parameters])

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> bool:
        """Run ``sql`` for every row, all in one transaction; whether it was done."""
        rows = list(rows)
        for _attempt in range(2):
            try:
                with self._connect() as connection:  # one transaction
                    connection.executemany(sql, rows)
                return True
            except sqlite3.DatabaseError as error:
                self._recover(error)
            except OSError:
                return False
        return False

    def generation(self) -> int:
        """A number that changes whenever the file behind the connection is another one.

        What a caller remembers of the database's content (row ids) holds only
        while the generation stays the same.
        """
        try:
            self._connect()
        except (sqlite3.Error, OSError):
            self.close()
        return self._opened

    def close(self) -> None:
        if self._connection is not None and self._connected_in == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
        self._connection = None

    def delete(self) -> None:
        """Remove the database file (and its journal) altogether."""
        self.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(f"{self.path}{suffix}")

    def _connect(self) -> sqlite3.Connection:
        if self._connected_in != os.getpid():
            # Inherited through fork: never use (or close) the parent's connection.
            self._connection = None
        elif self._connection is not None and self._file_identity() != self._connected_to:
            # The file was deleted or replaced: writes through the old
            # connection would silently go nowhere.
            self.close()
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit, except in ``with connection`` blocks (``execute_many``).
            connection = sqlite3.connect(self.path, timeout=30, isolation_level="DEFERRED")
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                for statement in self._schema:
                    connection.execute(statement)
                connection.commit()
            except sqlite3.Error:
                connection.close()
                raise
            self._connection = connection
            self._connected_in = os.getpid()
            if self._file_identity() != self._connected_to:
                self._opened += 1
            self._connected_to = self._file_identity()
        return self._connection

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            status = os.stat(self.path)
        except OSError:
            return None
        return (status.st_dev, status.st_ino)

    def _recover(self, error: sqlite3.DatabaseError) -> None:
        """Drop the connection; throw the file away if it is not a database."""
        self.close()
        corrupt = not isinstance(error, sqlite3.OperationalError) or "malformed" in str(error)
        if corrupt or not self.path.parent.exists():
            self.delete()
