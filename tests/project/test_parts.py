"""Summaries split into own records and shared header parts join back exactly."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from coroproj.analysis.pipeline import AnalysisOptions, preprocess_unit, summarize_text
from coroproj.analysis.summary import UnitSummary
from coroproj.frontend.segments import SegmentCache
from coroproj.project.parts import PartLoader, split_summary

HEADER = """\
static inline int twice(int x) { return helper(x) * 2; }
int helper(int x);
struct s { int a; };
"""


def _summary(tmp_path: Path, name: str, body: str, segments: SegmentCache | None = None) -> UnitSummary:
    (tmp_path / "h.h").write_text(HEADER)
    source = tmp_path / f"{name}.c"
    source.write_text(f'int before_{name}(void);\n#include "h.h"\n{body}\n')
    text = preprocess_unit(source, [], AnalysisOptions(), cwd=tmp_path)
    return summarize_text(text, str(source), AnalysisOptions(), unit=name, segments=segments)


@pytest.mark.parametrize("shared", [False, True], ids=["plain", "segments shared"])
def test_split_then_join_is_the_same_summary_and_parts_are_shared(tmp_path: Path, shared: bool) -> None:
    segments = SegmentCache() if shared else None
    first = _summary(tmp_path, "a", "int f(void) { return twice(1); }", segments)
    second = _summary(tmp_path, "b", "int g(void) { return twice(2) + helper(3); }", segments)
    stored: dict[str, dict] = {}
    layouts = []
    for summary in (first, second):
        layout, parts = split_summary(summary)
        for key, body in parts.items():
            records = json.loads(body)["records"]
            # A part's key is the hash of its content.
            text = json.dumps([_record_kind(layout, key), records], sort_keys=True, separators=(",", ":"))
            assert hashlib.sha256(text.encode()).hexdigest() == key
            stored[key] = {"records": records}
        layouts.append(json.loads(json.dumps(layout)))  # as it comes back from the cache
    loader = PartLoader(stored.get)
    joined = [loader.join(layout) for layout in layouts]
    for summary, unit in zip((first, second), joined, strict=True):
        assert unit == UnitSummary.from_json(summary.to_json())
    # The header's records are one set of objects, referenced by both units.
    header_declarations = [
        [d for d in unit.declarations if d.file.endswith("h.h")] for unit in joined
    ]
    assert header_declarations[0]
    assert all(x is y for x, y in zip(*header_declarations, strict=True))
    # Runs keep their order: the main file's declaration before the header's.
    assert [d.name for d in joined[0].declarations][:2] == ["before_a", "twice"]


def _record_kind(layout: dict, key: str) -> str:
    return next(name for name in ("declarations", "calls", "address_taken") if ["part", key] in layout[name])


def test_a_missing_part_is_an_error_the_caller_can_recover_from(tmp_path: Path) -> None:
    layout, _parts = split_summary(_summary(tmp_path, "a", "int f(void) { return twice(1); }"))
    with pytest.raises(KeyError):
        PartLoader(lambda key: None).join(layout)
