"""Unit summaries stored as their own records plus shared, content-addressed header parts.

Nine tenths of a unit's summary are the records of the headers it
includes: every prototype of glibc, glib and the project's own headers,
and the calls of their ``static inline`` functions, repeated in every unit.
Stored that way, a warm run of QEMU reads and decodes 2 GB of JSON to
learn nothing new.

So a summary is kept as a *layout*: for each record list, its runs of
consecutive records from one file, in order; a run from the unit's main
file is kept inline, any other run is a *part* stored once in the cache
under the hash of its content and referred to by that hash.  Joining the
runs back in order gives exactly the summary that was split, and the
process that links the program decodes each distinct part once, however
many units include it, and shares its records between their summaries.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

from coroproj.analysis.summary import (
    AddressTaken,
    Call,
    Declaration,
    RecordRun,
    RunsView,
    UnitSummary,
    flat_record,
)

LAYOUT_FORMAT = 1
_SPLIT_FIELDS: dict[str, type] = {
    "declarations": Declaration,
    "calls": Call,
    "address_taken": AddressTaken,
}


def split_summary(summary: UnitSummary) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(the layout of ``summary``, its parts by key) — see the module docstring.

    A part is given as the JSON text of its cache entry (``{"records": [...]}``).
    Records shared between summaries (``UnitSummary.runs``) are encoded once per process.
    """
    layout = summary.to_json(records=False)
    layout["layout_format"] = LAYOUT_FORMAT
    parts: dict[str, bytes] = {}
    for name in _SPLIT_FIELDS:
        runs: list[list[Any]] = []
        for file, chunks in _runs_by_file(summary.record_runs(name)):
            if file == summary.main_file:
                own = [run[chunk.start : chunk.stop] for run, chunk in chunks]
                runs.append(["own", [flat_record(record) for records in own for record in records]])
                continue
            text = b",".join(chunk.text for _run, chunk in chunks)
            # The hash of the JSON text of [name, records], as json.dumps writes it.
            key = hashlib.sha256(b'["%s",[%s]]' % (name.encode(), text)).hexdigest()
            parts[key] = b'{"records":[%s]}' % text
            runs.append(["part", key])
        layout[name] = runs
    return layout, parts


class _Chunk(NamedTuple):
    """Consecutive records of a run that come from one file, with their JSON text."""

    file: str
    start: int
    stop: int
    text: bytes  # the records as JSON objects, comma-separated


def _runs_by_file(runs: list[list[Any]]) -> list[tuple[str, list[tuple[list[Any], _Chunk]]]]:
    """The records of ``runs`` in order, cut where the file changes."""
    merged: list[tuple[str, list[tuple[list[Any], _Chunk]]]] = []
    for run in runs:
        for chunk in _chunks(run):
            if merged and merged[-1][0] == chunk.file:
                merged[-1][1].append((run, chunk))
            else:
                merged.append((chunk.file, [(run, chunk)]))
    return merged


def _chunks(run: list[Any]) -> list[_Chunk]:
    """``run`` cut by file and encoded; kept with a shared run (``RecordRun.encoded``)."""
    if isinstance(run, RecordRun) and run.encoded is not None:
        return run.encoded  # type: ignore[return-value]
    chunks = []
    start = 0
    for stop in range(1, len(run) + 1):
        if stop == len(run) or run[stop].file != run[start].file:
            flat = [flat_record(record) for record in run[start:stop]]
            text = json.dumps(flat, sort_keys=True, separators=(",", ":"))[1:-1]
            chunks.append(_Chunk(run[start].file, start, stop, text.encode()))
            start = stop
    if isinstance(run, RecordRun):
        run.encoded = chunks
    return chunks


def is_layout(data: dict[str, Any]) -> bool:
    return data.get("layout_format") == LAYOUT_FORMAT


def part_keys(layout: dict[str, Any]) -> set[str]:
    return {run[1] for name in _SPLIT_FIELDS for run in layout[name] if run[0] == "part"}


class PartLoader:
    """Rebuilds summaries from layouts, decoding each part once for all of them.

    ``read(key)`` returns a part's records (JSON) or None when it is missing or
    damaged; ``join`` then raises ``KeyError`` so the unit is summarised again.
    """

    def __init__(self, read: Callable[[str], Any]) -> None:
        self._read = read
        self._parts: dict[str, list[Any]] = {}

    def join(self, layout: dict[str, Any]) -> UnitSummary:
        """The summary ``layout`` describes; raises KeyError/TypeError/ValueError if unusable."""
        if not is_layout(layout):
            raise ValueError("not a summary layout")
        runs: dict[str, list[list[Any]]] = {}
        for name, kind in _SPLIT_FIELDS.items():
            pieces: list[list[Any]] = []
            for tag, content in layout[name]:
                if tag == "own":
                    pieces.append([kind(**_interned(fields)) for fields in content])
                elif tag == "part":
                    pieces.append(self._part(content, kind))
                else:
                    raise ValueError(f"unknown run {tag!r}")
            runs[name] = pieces
        rest = {key: value for key, value in layout.items() if key != "layout_format"}
        rest["included_files"] = [sys.intern(name) for name in rest["included_files"]]
        summary = UnitSummary.from_json({**rest, "declarations": [], "calls": [], "address_taken": []})
        summary.declarations = RunsView(runs["declarations"])  # type: ignore[assignment]
        summary.calls = RunsView(runs["calls"])  # type: ignore[assignment]
        summary.address_taken = RunsView(runs["address_taken"])  # type: ignore[assignment]
        summary.runs = runs
        return summary

    def _part(self, key: str, kind: type) -> list[Any]:
        part = self._parts.get(key)
        if part is None:
            data = self._read(key)
            if not isinstance(data, dict) or not isinstance(data.get("records"), list):
                raise KeyError(key)
            # Records of a part are shared by every summary that includes it:
            # read-only from here on (``copy.deepcopy`` keeps the sharing).
            part = self._parts[key] = [kind(**_interned(fields)) for fields in data["records"]]
        return part


def _interned(fields: dict[str, Any]) -> dict[str, Any]:
    # File names and symbols repeat across thousands of records: one string each.
    return {key: sys.intern(value) if type(value) is str else value for key, value in fields.items()}
