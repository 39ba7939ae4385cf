"""Whole-project answers that only the global fixpoint finds."""

from __future__ import annotations

from pathlib import Path

from tests.whole.trees import line_of, make_tree

CHAIN = {
    "c.h": '#include "compiler.h"\nvoid coroutine_fn c_wait(void);\n',
    "c.c": '#include "c.h"\nvoid coroutine_fn c_wait(void) { qemu_coroutine_yield(); }\n',
    "b.h": '#include "compiler.h"\nvoid b_step(void);\n',
    "b.c": '#include "b.h"\n#include "c.h"\nvoid b_step(void) { c_wait(); }\n',
    "a.c": '#include "b.h"\nvoid a_top(void) { b_step(); }\nint main(void) { return 0; }\n',
}


def test_chain_across_three_files_and_header_reported_once(tmp_path: Path, coroproj_json) -> None:
    root = make_tree(tmp_path, CHAIN)
    status, data = coroproj_json("-q", cwd=root)
    assert status == 1
    got = sorted((f["check"], f["function"], Path(f["file"]).name, f["line"]) for f in data["findings"])
    assert got == [
        ("missing", "a_top", "a.c", 2),
        ("missing", "b_step", "b.c", 3),
        ("proto-mismatch", "b_step", "b.h", 2),
    ]
    a_top = next(f for f in data["findings"] if f["function"] == "a_top")
    assert [(s["caller"], s["callee"], Path(s["file"]).name) for s in a_top["chain"]] == [
        ("a_top", "b_step", "a.c"),
        ("b_step", "c_wait", "b.c"),
        ("c_wait", "qemu_coroutine_yield", "c.c"),
    ]
    # a -> b -> c: three groups, no cycle; a per-file tool would analyse each once, callees first.
    assert data["summary"]["files"] == {"dependency_groups": 3, "largest_cycle": 0, "per_file_analyses": 3}


def test_cycle_of_units_is_one_group_a_per_file_tool_revisits(tmp_path: Path, coroproj_json) -> None:
    root = make_tree(
        tmp_path,
        {
            "p.c": '#include "compiler.h"\nvoid q(int n);\nvoid p(int n) { if (n) q(n - 1); }\n',
            "q.c": '#include "compiler.h"\nvoid p(int n);\n'
            "void q(int n) { if (n) p(n - 1); else qemu_coroutine_yield(); }\n",
        },
    )
    _, data = coroproj_json("-q", cwd=root)
    files = data["summary"]["files"]
    assert (files["dependency_groups"], files["largest_cycle"]) == (1, 2)
    assert files["per_file_analyses"] > 2


def test_cycle_between_two_files_converges(tmp_path: Path, coroproj_json) -> None:
    root = make_tree(
        tmp_path,
        {
            "p.c": '#include "compiler.h"\nvoid q(int n);\nvoid p(int n) { if (n) q(n - 1); }\n',
            "q.c": '#include "compiler.h"\nvoid p(int n);\n'
            "void q(int n) { if (n) p(n - 1); else qemu_coroutine_yield(); }\n",
        },
    )
    _, data = coroproj_json("-q", cwd=root)
    assert sorted(f["function"] for f in data["findings"] if f["check"] == "missing") == ["p", "q"]


def test_static_functions_of_the_same_name_stay_apart(tmp_path: Path, coroproj_json) -> None:
    root = make_tree(
        tmp_path,
        {
            "one.c": '#include "compiler.h"\nstatic void helper(void) { qemu_coroutine_yield(); }\n'
            "void coroutine_fn one(void) { helper(); }\n",
            "two.c": '#include "compiler.h"\nstatic void helper(void) { }\nvoid two(void) { helper(); }\n',
        },
    )
    _, data = coroproj_json("-q", cwd=root)
    assert sorted((f["check"], f["function"], Path(f["file"]).name) for f in data["findings"]) == [
        ("missing", "helper", "one.c"),
    ]
    helpers = {Path(f["file"]).name: f["inferred"] for f in data["functions"] if f["name"] == "helper"}
    assert helpers == {"one.c": "coroutine", "two.c": "native"}


def test_paths_restrict_the_report_not_the_fixpoint(tmp_path: Path, coroproj_json) -> None:
    root = make_tree(tmp_path, CHAIN)
    _, data = coroproj_json("-q", str(root / "a.c"), cwd=root)
    assert [(f["function"], Path(f["file"]).name) for f in data["findings"]] == [("a_top", "a.c")]
    assert line_of(root / "a.c", "a_top") == data["findings"][0]["line"]


def test_static_inline_in_a_header_is_one_function_reported_once(tmp_path: Path, coroproj_json) -> None:
    root = make_tree(
        tmp_path,
        {
            "inl.h": '#include "compiler.h"\n'
            "static inline void wait_inline(void) { qemu_coroutine_yield(); }\n",
            "x.c": '#include "inl.h"\nvoid coroutine_fn x(void) { wait_inline(); }\n',
            "y.c": '#include "inl.h"\nvoid coroutine_fn y(void) { wait_inline(); }\n',
        },
    )
    _, data = coroproj_json("-q", cwd=root)
    assert [(f["check"], f["function"], Path(f["file"]).name, f["line"]) for f in data["findings"]] == [
        ("missing", "wait_inline", "inl.h", 2)
    ]
    assert len([f for f in data["functions"] if f["name"] == "wait_inline"]) == 1
