"""An unchanged project replays its last report; any change to what shaped it is seen."""

from __future__ import annotations

from pathlib import Path

from tests.whole.test_fixpoint import CHAIN
from tests.whole.trees import make_tree


def _report(data: dict) -> tuple[list, list, dict]:
    summary = {k: v for k, v in data["summary"].items() if k not in ("parsed", "cached")}
    return data["findings"], data["functions"], summary


def test_unchanged_project_replays_the_same_report(tmp_path: Path, coroproj_json) -> None:
    root = make_tree(tmp_path, CHAIN)
    first_status, first = coroproj_json("-q", cwd=root)
    second_status, second = coroproj_json("-q", cwd=root)
    assert (first_status, _report(first)) == (second_status, _report(second))
    assert first["summary"]["parsed"] == 3
    assert (second["summary"]["parsed"], second["summary"]["cached"]) == (0, 3)


def test_an_edit_a_header_edit_and_a_configuration_change_are_each_seen(
    tmp_path: Path, coroproj_json
) -> None:
    root = make_tree(tmp_path, CHAIN)
    coroproj_json("-q", cwd=root)
    # Annotating b_step in its definition: a_top is still missing, b_step's header is now wrong.
    annotated = 'void coroutine_fn b_step(void) { c_wait(); }\n'
    (root / "b.c").write_text('#include "b.h"\n#include "c.h"\n' + annotated)
    _, data = coroproj_json("-q", cwd=root)
    assert sorted((f["check"], f["function"]) for f in data["findings"]) == [
        ("missing", "a_top"),
        ("proto-mismatch", "b_step"),
    ]
    (root / "b.h").write_text('#include "compiler.h"\nvoid coroutine_fn b_step(void);\n')
    _, data = coroproj_json("-q", cwd=root)
    assert [(f["check"], f["function"]) for f in data["findings"]] == [("missing", "a_top")]
    (root / "coroproj.toml").write_text('[severity]\nmissing = "note"\nproto-mismatch = "note"\n')
    status, data = coroproj_json("-q", cwd=root)
    assert status == 0 and [f["severity"] for f in data["findings"]] == ["note"]


def test_a_restricted_report_is_not_replayed_for_the_whole_project(tmp_path: Path, coroproj_json) -> None:
    root = make_tree(tmp_path, CHAIN)
    _, everything = coroproj_json("-q", cwd=root)
    _, only_a = coroproj_json("-q", "a.c", cwd=root)
    _, everything_again = coroproj_json("-q", cwd=root)
    assert [f["function"] for f in only_a["findings"]] == ["a_top"]
    assert _report(everything_again) == _report(everything)
