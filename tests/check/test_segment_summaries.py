"""A header's summary records, walked once per process, equal a fresh walk in every unit.

``summarize`` keeps the records of a shared header segment with its parse
and reuses them only where the unit agrees on everything the walk looked
up: the file-scope declarations before the header and the unit-wide
linkage facts (``static``, annotations merged over all declarations,
``noreturn``).  Each case here changes one of those between two units.
"""

from __future__ import annotations

from dataclasses import asdict

import pytest
from pycparser import c_ast

from coroproj.analysis.pipeline import AnalysisOptions, summarize_text
from coroproj.analysis.summary import SUMMARY_FORMAT, UnitSummary
from coroproj.frontend.segments import SegmentCache

OPTIONS = AnalysisOptions()

HEADER = """\
typedef void Callback(void *opaque);
static inline void run(struct job *j) { j->cb(j->opaque); helper(); }
static inline void arm(struct job *j) { j->cb = on_done; }
static inline void guarded(void) {
    if (qemu_in_coroutine()) { sleep_co(); } else { stop(); sleep_native(); }
}
void declared(void);
"""


def _unit(main: str, before: str, after: str) -> str:
    """``before`` in a header of its own (shared by units that agree on it), then h.h."""
    return (
        f'# 0 "{main}"\n# 1 "p.h" 1\n{before}\n# 2 "{main}" 2\n'
        f'# 1 "h.h" 1\n{HEADER}\n# 20 "{main}" 2\n{after}\n'
    )


def _json(summary: UnitSummary) -> dict[str, object]:
    return summary.to_json()


def _both_ways(cases: list[tuple[str, str]], *, same_parse: bool = True) -> list[UnitSummary]:
    """Summarise each (main file, text) with one shared cache; compare with a fresh walk."""
    cache = SegmentCache()
    summaries = []
    for main, text in cases:
        shared = summarize_text(text, main, OPTIONS, segments=cache)
        alone = summarize_text(text, main, OPTIONS)
        assert _json(shared) == _json(alone), main
        summaries.append(shared)
    if same_parse:
        assert cache.hits >= len(cases) - 1  # the header's parse itself was shared
    return summaries


PRELUDE = "void sleep_co(void); void sleep_native(void); void on_done(void *); int qemu_in_coroutine(void);"


STRUCT = "struct job { void (*cb)(void *); void *opaque; };"
CO_STRUCT = "struct job { void __attribute__((coroutine_fn)) (*cb)(void *); void *opaque; };"


@pytest.mark.parametrize(
    "before_b, after_b",
    [
        # The struct the header's function reaches through: its member is a coroutine pointer.
        (CO_STRUCT + "void helper(void);", ""),
        # The callee declared static before the header.
        (STRUCT + "static void helper(void);", "static void helper(void) {}"),
        # The function whose address the header takes annotated *after* it.
        (STRUCT + "void helper(void);", "void __attribute__((coroutine_fn)) on_done(void *o) {}"),
    ],
    ids=["member-type", "static-callee", "annotated-later"],
)
def test_records_follow_what_the_unit_declares(before_b: str, after_b: str) -> None:
    a, b = _both_ways(
        [
            ("a.c", _unit("a.c", PRELUDE + STRUCT + "void helper(void);", "void user(void) { helper(); }")),
            ("b.c", _unit("b.c", PRELUDE + before_b, after_b)),
        ]
    )
    kinds = ("calls", "declarations", "local_findings")
    header = [[r for r in _json(s)[k] if r["file"] == "h.h"] for s in (a, b) for k in kinds]
    assert header[:3] != header[3:]  # the header's own records differ between the units


def test_noreturn_known_to_one_unit_changes_the_guarded_region() -> None:
    # `stop` ends the program in b.c only (a declaration after the header
    # says so): the native branch then never reaches sleep_native.
    before = PRELUDE + "struct job; void stop(void);"
    a, b = _both_ways(
        [
            ("a.c", _unit("a.c", before, "")),
            ("b.c", _unit("b.c", before, "void stop(void) __attribute__((noreturn));")),
        ]
    )
    assert _json(a)["calls"] != _json(b)["calls"]


CALLS_DECLARED = "void g(void) { declared(); }"


def test_a_static_function_of_the_header_is_named_after_its_unit_when_not_defined() -> None:
    # `declared` is static in b.c (first declaration there), not defined: its
    # symbol carries the unit's own file, so records cannot be shared as is.
    a, b = _both_ways(
        [
            ("a.c", _unit("a.c", PRELUDE + "struct job;", CALLS_DECLARED)),
            ("b.c", _unit("b.c", PRELUDE + "struct job; static void declared(void);", CALLS_DECLARED)),
        ],
        same_parse=False,  # `declared` in scope or not: the header is parsed again too
    )
    assert any(call["callee"] == "declared@b.c" for call in _json(b)["calls"])  # type: ignore[index]
    assert all(call["callee"] == "declared" for call in _json(a)["calls"] if "declared" in call["callee"])  # type: ignore[index]


def test_identical_units_reuse_the_records_themselves() -> None:
    text = _unit("a.c", PRELUDE + STRUCT, "")
    cache = SegmentCache()
    first = summarize_text(text, "a.c", OPTIONS, unit="a.c#one", segments=cache)
    second = summarize_text(text, "a.c", OPTIONS, unit="a.c#two", segments=cache)
    header_calls = [call for call in first.calls if call.file == "h.h"]
    assert header_calls
    assert any(call is other for call in header_calls for other in second.calls)


def test_to_json_is_the_dataclass_dump() -> None:
    summary = summarize_text(_unit("a.c", PRELUDE + CO_STRUCT, ""), "a.c", OPTIONS)
    assert summary.local_findings
    expected = asdict(summary)
    expected.pop("runs")  # how the record lists share runs in memory: never serialised
    expected.pop("marked_files")  # what the unit read, for the dependency index: never serialised
    expected["format"] = SUMMARY_FORMAT
    assert summary.to_json() == expected


def test_kept_bodies_are_dropped_once_walked_and_parsed_again_for_a_unit_that_walks_them_anew() -> None:
    cache = SegmentCache()
    a = _unit("a.c", PRELUDE + STRUCT + "void helper(void);", "")
    summarize_text(a, "a.c", OPTIONS, segments=cache)  # h.h parsed and walked
    summarize_text(a, "a.c", OPTIONS, segments=cache)  # reused: the walk holds, the bodies go
    header = next(p for p in cache._parsed.values() if any(type(i) is c_ast.FuncDef for i in p.items))
    definitions = [item for item in header.items if type(item) is c_ast.FuncDef]
    assert len(definitions) == 3 and all(definition.body is None for definition in definitions)
    # In b.c the job's member is a coroutine pointer: the kept walk does not
    # hold, h.h is walked again with its bodies, as a fresh walk would.
    b = _unit("b.c", PRELUDE + CO_STRUCT + "void helper(void);", "")
    shared = summarize_text(b, "b.c", OPTIONS, segments=cache)
    assert _json(shared) == _json(summarize_text(b, "b.c", OPTIONS))
    assert any(call.indirect and call.pointer_kinds == ["coroutine"] for call in shared.calls)
