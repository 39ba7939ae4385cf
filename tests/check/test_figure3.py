"""Acceptance: the paper's Figure 3 gives exactly the findings of figure3.md."""

from __future__ import annotations

from pathlib import Path

import pydot

from tests.conftest import DATA, run_coroproj

FIGURE3 = DATA / "figure3.c"


def _line_of(text: str) -> int:
    for number, line in enumerate(FIGURE3.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(text)


def test_findings_are_exactly_those_of_figure3_md(coroproj_json) -> None:
    status, data = coroproj_json(str(FIGURE3))
    assert status == 1
    got = sorted((f["check"], f["function"], f["line"]) for f in data["findings"])
    assert got == sorted(
        [
            ("spurious", "spurious", _line_of("void coroutine_fn spurious()")),
            ("missing", "missing", _line_of("void missing()")),
            ("wrong-blocking", "wrong", _line_of("void blocking_fn wrong()")),
            ("forbidden-call", "wrong_call", _line_of("void coroutine_fn wrong_call()")),
            ("missing", "ptr_call", _line_of("void ptr_call()")),
        ]
    )


def test_inferred_kinds_match_the_table(coroproj_json) -> None:
    _, data = coroproj_json(str(FIGURE3))
    inferred = {f["name"]: f["inferred"] for f in data["functions"]}
    coroutine = {"coro", "good", "missing", "call_missing", "wrong", "wrong_call", "ptr_call"}
    native = {"block", "native", "spurious", "call_block"}
    assert {n for n in coroutine | native if inferred[n] == "coroutine"} == coroutine


def test_missing_carries_its_witness_chain(coroproj_json) -> None:
    _, data = coroproj_json(str(FIGURE3))
    by_function = {(f["check"], f["function"]): f for f in data["findings"]}
    chain = by_function[("missing", "missing")]["chain"]
    assert [(s["caller"], s["callee"]) for s in chain] == [("missing", "coro")]
    assert chain[0]["line"] == _line_of("void missing()")
    assert chain[0]["file"].endswith("figure3.c")
    ptr_chain = by_function[("missing", "ptr_call")]["chain"]
    assert ptr_chain[0]["callee"] == "coroutine_fn *coro_fun_ptr"


def test_text_output_is_gcc_style() -> None:
    result = run_coroproj("check", str(FIGURE3))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    missing_line = _line_of("void missing()")
    assert any(
        line.startswith(f"{FIGURE3}:{missing_line}:")
        and ": warning: missing coroutine_fn annotation on 'missing'" in line
        and line.endswith("[coroproj-missing]")
        for line in lines
    ), result.stdout
    assert any(": note: 'missing' calls 'coro'" in line for line in lines)


def test_dot_graph_uses_corocheck_visual_language(tmp_path: Path) -> None:
    dot_file = tmp_path / "figure3.dot"
    run_coroproj("check", str(FIGURE3), "--dot", str(dot_file))
    (graph,) = pydot.graph_from_dot_file(str(dot_file))
    nodes = {n.get_name().strip('"'): n for n in graph.get_nodes() if n.get_name() not in ("node",)}

    def attr(name: str, key: str) -> str | None:
        value = nodes[name].get(key)
        return value.strip('"') if value else None

    boxes = {"coro", "good", "missing", "call_missing", "wrong", "wrong_call", "ptr_call"}
    ellipses = {"block", "native", "spurious", "call_block"}
    for name in boxes:
        assert attr(name, "shape") == "box", name
    for name in ellipses:
        assert attr(name, "shape") == "ellipse", name
    indirect = [n for n in nodes if n.startswith("coroutine_fn *coro_fun_ptr")]
    assert len(indirect) == 1 and attr(indirect[0], "shape") == "box"
    red_dashed = {n for n in nodes if attr(n, "color") == "red" and attr(n, "style") == "dashed"}
    assert red_dashed == {"spurious", "missing", "wrong", "ptr_call"}
    assert "coroutine_fn" in attr("good", "label") and "blocking_fn" in attr("wrong", "label")
    edges = {(e.get_source().strip('"'), e.get_destination().strip('"')): e for e in graph.get_edges()}
    bad = edges[("wrong_call", "block")]
    assert bad.get("color").strip('"') == "red" and bad.get("style").strip('"') == "dashed"
    assert all(
        (e.get("color") or "").strip('"') != "red"
        for key, e in edges.items()
        if key != ("wrong_call", "block")
    )
