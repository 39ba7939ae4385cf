"""An annotation on a typedef-name reference: ``coroutine_fn Fn *p`` with ``typedef void Fn(void)``.

GCC applies the attribute to the function type the name expands to, so the
pointer is coroutine-typed although the typedef itself is not.
"""

from __future__ import annotations

from pathlib import Path

from tests.check.helpers import findings_of, line_of, write_unit

SOURCE = """
    typedef void Fn(void);
    void coroutine_fn co_entry(void);
    void native_entry(void);

    coroutine_fn Fn *co_hook = co_entry;
    Fn *plain_hook = co_entry;
    coroutine_fn Fn *wrong_hook = native_entry;

    void calls_hook(void) { co_hook(); }
    void calls_plain(void) { plain_hook(); }
"""


def test_reference_annotation_makes_the_pointer_coroutine_typed(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(tmp_path, SOURCE)
    status, data = coroproj_json(str(unit))
    assert status == 1
    mismatches = [line for _, _, line in findings_of(data, "pointer-mismatch")]
    assert mismatches == sorted([line_of(unit, "Fn *plain_hook"), line_of(unit, "Fn *wrong_hook")])
    missing = {function for _, function, _ in findings_of(data, "missing")}
    assert missing == {"calls_hook"}
