"""Segment parses kept on disk give exactly the parse of the whole text, in later processes too."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from coroproj.analysis.pipeline import AnalysisOptions, preprocess_unit, summarize_text
from coroproj.frontend import segment_store
from coroproj.frontend.segments import SegmentCache
from coroproj.frontend.unit import parse_unit_text
from tests.frontend.test_segments import HEADER, _same, _unit

SAMPLE = Path(__file__).resolve().parents[2] / "sample_project"


def _fresh_process_cache(directory: Path) -> SegmentCache:
    """What a new worker process starts with: nothing in memory, the store on disk."""
    cache = SegmentCache()
    cache.use_store(directory)
    return cache


def _databases(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.sqlite3"))


def _entries(directory: Path) -> dict[str, bytes]:
    """The stored entries, by key, as they are on disk."""
    (database,) = _databases(directory)
    with sqlite3.connect(database) as connection:
        return {key: bytes(body) for key, body in connection.execute("SELECT key, body FROM segments")}


def _damage(directory: Path, key: str, body: bytes) -> None:
    (database,) = _databases(directory)
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE segments SET body = ? WHERE key = ?", (body, key))


def _two_headers(main: str, body: str) -> str:
    first = _unit(main, "", "h.h", HEADER)
    return first + f'# 1 "g.h" 1\nint from_g(void);\n# 3 "{main}" 2\n{body}\n'


def test_a_later_process_reuses_the_stored_parse(tmp_path: Path) -> None:
    text = _unit("a.c", "size_t f(struct list *l) { return length(l); }", "h.h", HEADER)
    first = _fresh_process_cache(tmp_path)
    _same(parse_unit_text(text, "a.c", segments=first), parse_unit_text(text, "a.c"))
    # The header's segment, not the unit's own text: no other unit has it.
    assert first.store is not None and first.store.saved == 1 and len(_entries(tmp_path)) == 1
    later = _fresh_process_cache(tmp_path)
    _same(parse_unit_text(text, "a.c", segments=later), parse_unit_text(text, "a.c"))
    assert later.store is not None and later.store.loaded == 1


def test_a_stored_segment_is_not_reused_under_other_typedef_names(tmp_path: Path) -> None:
    # `(T) + q`: a cast where T is a typedef name, a sum where it is an object.
    header = "static int f(int q) { return (T) + q; }\n"
    as_type = _unit("a.c", "int g(void) { return 0; }", "h.h", header).replace(
        '# 1 "h.h" 1', 'typedef int T;\n# 1 "h.h" 1'
    )
    as_object = _unit("b.c", "int g(void) { return 0; }", "h.h", header).replace(
        '# 1 "h.h" 1', 'int T;\n# 1 "h.h" 1'
    )
    parse_unit_text(as_type, "a.c", segments=_fresh_process_cache(tmp_path))
    for text, main in ((as_object, "b.c"), (as_type, "a.c"), (as_object, "b.c")):
        stored = parse_unit_text(text, main, segments=_fresh_process_cache(tmp_path))
        _same(stored, parse_unit_text(text, main))


def test_annotation_placement_of_a_stored_segment_follows_each_units_typedefs(tmp_path: Path) -> None:
    header = "__attribute__((coroutine_fn)) Fn *handler;\n"
    function = _unit("a.c", "", "h.h", header).replace('# 1 "h.h" 1', 'typedef void Fn(void);\n# 1 "h.h" 1')
    integer = _unit("b.c", "", "h.h", header).replace('# 1 "h.h" 1', 'typedef int Fn;\n# 1 "h.h" 1')
    # An annotated segment is stored once its process has met it twice.
    writer = _fresh_process_cache(tmp_path)
    for text, main in ((function, "a.c"), (function, "a.c"), (integer, "b.c"), (integer, "b.c")):
        parse_unit_text(text, main, segments=writer)
    for text, main in ((integer, "b.c"), (function, "a.c")):
        reader = _fresh_process_cache(tmp_path)
        _same(parse_unit_text(text, main, segments=reader), parse_unit_text(text, main))
    assert parse_unit_text(integer, "b.c", segments=_fresh_process_cache(tmp_path)).misplaced_annotations
    assert parse_unit_text(function, "a.c", segments=_fresh_process_cache(tmp_path)).extra_annotations


def test_a_damaged_entry_is_deleted_and_parsed_again(tmp_path: Path) -> None:
    text = _two_headers("a.c", "int x;")
    parse_unit_text(text, "a.c", segments=_fresh_process_cache(tmp_path))
    entries = _entries(tmp_path)
    assert len(entries) == 2
    (first, body), (second, _) = entries.items()
    _damage(tmp_path, first, body[:-7])  # truncated
    _damage(tmp_path, second, b"not a segment at all")
    reader = _fresh_process_cache(tmp_path)
    _same(parse_unit_text(text, "a.c", segments=reader), parse_unit_text(text, "a.c"))
    assert reader.store is not None and reader.store.saved == 2  # the two damaged ones, rewritten
    assert _entries(tmp_path) == entries


def test_a_changed_front_end_never_reads_old_entries_and_removes_them(tmp_path: Path, monkeypatch) -> None:
    text = _unit("a.c", "int x;", "h.h", HEADER)
    parse_unit_text(text, "a.c", segments=_fresh_process_cache(tmp_path))
    (old,) = _databases(tmp_path)
    monkeypatch.setattr(segment_store, "_FINGERPRINT", "0" * 64)
    reader = _fresh_process_cache(tmp_path)
    _same(parse_unit_text(text, "a.c", segments=reader), parse_unit_text(text, "a.c"))
    assert reader.store is not None and reader.store.loaded == 0
    assert _databases(tmp_path) == [tmp_path / f"{'0' * 20}.sqlite3"]
    assert not old.exists()
    assert len(_entries(tmp_path)) == 1


def test_sample_project_summaries_from_stored_segments_equal_fresh_ones(tmp_path: Path) -> None:
    options = AnalysisOptions()
    units = sorted(path for path in SAMPLE.rglob("*.c") if "build" not in path.parts)
    texts = {
        path: preprocess_unit(path, ["-std=gnu11", "-pthread", "-Iinclude"], options, cwd=SAMPLE)
        for path in units
    }
    writer = _fresh_process_cache(tmp_path)
    for path, text in texts.items():
        summarize_text(text, str(path), options, segments=writer)
    loaded = 0
    for path, text in texts.items():
        reader = _fresh_process_cache(tmp_path)  # every unit in a new process
        fast = summarize_text(text, str(path), options, segments=reader).to_json()
        reference = summarize_text(text, str(path), options).to_json()
        assert json.dumps(fast, sort_keys=True) == json.dumps(reference, sort_keys=True), path
        assert reader.store is not None
        loaded += reader.store.loaded
    assert loaded > len(units)
