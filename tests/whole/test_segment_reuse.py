"""The fast path gives the reference result: every sample-project unit summarised
with header parses shared across units equals its summary parsed alone."""

from __future__ import annotations

import json
from pathlib import Path

from coroproj.analysis.pipeline import AnalysisOptions, preprocess_unit, summarize_text
from coroproj.frontend.segments import SegmentCache

SAMPLE = Path(__file__).resolve().parents[2] / "sample_project"


def test_shared_header_parses_give_identical_summaries() -> None:
    options = AnalysisOptions()
    cache = SegmentCache()
    units = sorted(path for path in SAMPLE.rglob("*.c") if "build" not in path.parts)
    assert len(units) >= 20
    for path in units:
        text = preprocess_unit(path, ["-std=gnu11", "-pthread", "-Iinclude"], options, cwd=SAMPLE)
        reference = summarize_text(text, str(path), options).to_json()
        fast = summarize_text(text, str(path), options, segments=cache).to_json()
        assert json.dumps(fast, sort_keys=True) == json.dumps(reference, sort_keys=True), path
    assert cache.hits > len(units)  # the shared headers really were reused
