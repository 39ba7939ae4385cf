"""The front-end's real-world unit (all glibc headers, every GNU construct) is
checked correctly: clean as written, and a removed annotation is found."""

from __future__ import annotations

from pathlib import Path

from tests.check.helpers import line_of

UNIT = Path(__file__).resolve().parent.parent / "frontend" / "data" / "glibc_unit.c"


def test_clean_as_written(coroproj_json) -> None:
    status, data = coroproj_json(str(UNIT))
    assert status == 0, data["findings"]
    inferred = {f["name"]: f["inferred"] for f in data["functions"] if f["defined"]}
    assert inferred["co_read"] == inferred["co_entry"] == "coroutine"
    assert inferred["sum"] == "native"


def test_removed_annotation_is_found_with_its_chain(tmp_path: Path, coroproj_json) -> None:
    mutated = tmp_path / "glibc_unit.c"
    text = UNIT.read_text()
    assert "static int coroutine_fn co_read(" in text
    mutated.write_text(text.replace("static int coroutine_fn co_read(", "static int co_read("))
    status, data = coroproj_json(str(mutated))
    assert status == 1
    missing = [f for f in data["findings"] if f["check"] == "missing"]
    assert [(f["function"], f["line"]) for f in missing] == [
        ("co_read", line_of(mutated, "static int co_read("))
    ]
    assert missing[0]["chain"][-1]["callee"] == "qemu_coroutine_yield"
