"""One test per check id of DESIGN.md, through `coroproj check --format json`."""

from __future__ import annotations

from pathlib import Path

from tests.check.helpers import findings_of, line_of, write_unit


def test_missing_with_chain_through_several_functions(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(
        tmp_path,
        """
        void coroutine_fn qemu_coroutine_yield(void);
        static void leaf(void) { qemu_coroutine_yield(); }
        void middle(void) { leaf(); }
        void coroutine_fn top(void) { middle(); }
    """,
    )
    status, data = coroproj_json(str(unit))
    assert status == 1
    assert findings_of(data, "missing") == [
        ("missing", "leaf", line_of(unit, "static void leaf")),
        ("missing", "middle", line_of(unit, "void middle")),
    ]
    middle = next(f for f in data["findings"] if f["function"] == "middle")
    assert [(s["caller"], s["callee"], s["line"]) for s in middle["chain"]] == [
        ("middle", "leaf", line_of(unit, "void middle")),
        ("leaf", "qemu_coroutine_yield", line_of(unit, "static void leaf")),
    ]


def test_configured_root_is_trusted_even_when_defined(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(
        tmp_path,
        """
        void my_yield(void) { }
        void caller(void) { my_yield(); }
    """,
    )
    _, plain = coroproj_json(str(unit))
    assert findings_of(plain, "missing") == []
    _, rooted = coroproj_json(str(unit), "--root", "my_yield")
    assert findings_of(rooted, "missing") == [("missing", "caller", line_of(unit, "void caller"))]


def test_spurious_is_a_note_and_does_not_fail(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(tmp_path, "void coroutine_fn idle(void) { }\n")
    status, data = coroproj_json(str(unit))
    assert findings_of(data) == [("spurious", "idle", line_of(unit, "idle"))]
    assert data["findings"][0]["severity"] == "note"
    assert status == 0


def test_address_taken_annotated_function_is_a_root_not_spurious(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(
        tmp_path,
        """
        typedef void coroutine_fn Entry(void *);
        static void coroutine_fn entry(void *opaque) { (void)opaque; }
        Entry *table[] = { entry };
    """,
    )
    _, data = coroproj_json(str(unit))
    assert findings_of(data) == []


def test_conflict(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(tmp_path, "void coroutine_fn blocking_fn both(void) { }\n")
    _, data = coroproj_json(str(unit))
    assert ("conflict", "both", line_of(unit, "both")) in findings_of(data)


def test_wrong_blocking(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(
        tmp_path,
        """
        void coroutine_fn co(void);
        void blocking_fn sync_wrapper(void) { co(); }
        void plain_caller(void) { sync_wrapper(); }
    """,
    )
    _, data = coroproj_json(str(unit))
    # The blocking function is the mistake; its callers are not dragged along.
    assert findings_of(data) == [("wrong-blocking", "sync_wrapper", line_of(unit, "sync_wrapper(void) {"))]


def test_forbidden_and_suspicious_calls_are_reported_at_the_call(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(
        tmp_path,
        """
        void coroutine_fn co(void);
        void blocking_fn read_sync(void);
        void coroutine_fn annotated(void) {
            co();
            read_sync();
        }
        void unannotated(void) {
            co();
            read_sync();
        }
    """,
    )
    _, data = coroproj_json(str(unit))
    calls = [f for f in data["findings"] if f["check"] in ("forbidden-call", "suspicious-call")]
    assert sorted((f["check"], f["function"], f["line"]) for f in calls) == [
        ("forbidden-call", "annotated", line_of(unit, "read_sync();", 1)),
        ("suspicious-call", "unannotated", line_of(unit, "read_sync();", 2)),
    ]


def test_mixed_functions_stop_propagation(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(
        tmp_path,
        """
        void coroutine_fn co(void);
        void coroutine_mixed_fn either(void) { co(); }
        void user(void) { either(); }
    """,
    )
    _, data = coroproj_json(str(unit))
    assert findings_of(data) == []


def test_proto_mismatch_is_reported_at_the_prototype(tmp_path: Path, coroproj_json) -> None:
    header = tmp_path / "api.h"
    header.write_text("void coroutine_fn annotated_only_here(void);\nvoid needs_it(void);\n")
    unit = write_unit(
        tmp_path,
        """
        #include "api.h"
        void coroutine_fn co(void);
        void annotated_only_here(void) { }
        void coroutine_fn needs_it(void) { co(); }
    """,
    )
    _, data = coroproj_json(str(unit))
    mismatches = [f for f in data["findings"] if f["check"] == "proto-mismatch"]
    assert sorted((Path(f["file"]).name, f["line"], f["function"]) for f in mismatches) == [
        ("api.h", 2, "needs_it"),
        ("unit.c", line_of(unit, "void annotated_only_here(void) {"), "annotated_only_here"),
    ]


def test_prototype_lacking_the_blocking_or_mixed_annotation_of_its_definition(
    tmp_path: Path, coroproj_json
) -> None:
    # QEMU 9.2's block.c:83 (forward declaration of a no_coroutine_fn) and
    # block-io.h's bdrv_drained_begin (header without the definition's
    # coroutine_mixed_fn); the other direction, a bare definition under an
    # annotated header, is how generated wrappers are written and is clean.
    header = tmp_path / "api.h"
    header.write_text(
        "void mixed_in_definition_only(void);\n"
        "void blocking_fn wrapper(void);\n"
        "void coroutine_mixed_fn mixed_everywhere(void);\n"
    )
    unit = write_unit(
        tmp_path,
        """
        #include "api.h"
        static int opener(int flags);
        static int blocking_fn opener(int flags) { return flags; }
        void coroutine_mixed_fn mixed_in_definition_only(void) { }
        void wrapper(void) { }
        void coroutine_mixed_fn mixed_everywhere(void) { }
        int use(void) { return opener(0); }
    """,
    )
    _, data = coroproj_json(str(unit))
    mismatches = [f for f in data["findings"] if f["check"] == "proto-mismatch"]
    assert sorted((Path(f["file"]).name, f["line"], f["function"]) for f in mismatches) == [
        ("api.h", 1, "mixed_in_definition_only"),
        ("unit.c", line_of(unit, "static int opener(int flags);"), "opener"),
    ]
    by_function = {f["function"]: f["message"] for f in mismatches}
    assert "lacks blocking_fn, which its definition at" in by_function["opener"]
    assert "lacks coroutine_mixed_fn" in by_function["mixed_in_definition_only"]


def test_hybrid_function_but_not_an_assertion(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(
        tmp_path,
        """
        #include <assert.h>
        #include <stdbool.h>
        bool qemu_in_coroutine(void);
        void coroutine_fn co(void);
        void native_side(void);
        void coroutine_mixed_fn hybrid(void) {
            if (qemu_in_coroutine()) {
                co();
            } else {
                native_side();
            }
        }
        void coroutine_fn asserted(void) {
            assert(qemu_in_coroutine());
            co();
        }
    """,
    )
    _, data = coroproj_json(str(unit))
    assert findings_of(data, "hybrid") == [
        ("hybrid", "hybrid", line_of(unit, "void coroutine_mixed_fn hybrid"))
    ]


def test_suppression_comment_silences_and_unused_one_is_reported(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(
        tmp_path,
        """
        /* coroproj: ignore[spurious] kept for the planned async path */
        void coroutine_fn planned(void) { }
        // coroproj: ignore[missing] nothing to silence here
        void fine(void) { }
    """,
    )
    status, data = coroproj_json(str(unit))
    spurious = [f for f in data["findings"] if f["check"] == "spurious"]
    assert len(spurious) == 1 and spurious[0]["suppressed"]
    assert spurious[0]["suppression_reason"] == "kept for the planned async path"
    unused = [f for f in data["findings"] if f["check"] == "unused-suppression"]
    assert [f["line"] for f in unused] == [line_of(unit, "void fine")]
    assert status == 0


def test_calls_inside_any_expression_count_but_not_in_sizeof(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(
        tmp_path,
        """
        int coroutine_fn co(void);
        int in_condition(void) { return co() ? 1 : 2; }
        int in_argument(int x) { return in_argument(co() + x); }
        int in_initialiser(void) { int a[2] = { co(), 0 }; return a[0]; }
        int in_statement_expression(void) { return ({ int v = co(); v; }); }
        int in_compound_literal(void) { return ((int[]){ co() })[0]; }
        unsigned long in_sizeof(void) { return sizeof(co()); }
        int in_typeof(void) { __typeof__(co()) v = 0; return v; }
        int in_generic(void) { return _Generic(co(), int: 1, default: 2); }
    """,
    )
    _, data = coroproj_json(str(unit))
    assert {f[1] for f in findings_of(data, "missing")} == {
        "in_condition",
        "in_argument",
        "in_initialiser",
        "in_statement_expression",
        "in_compound_literal",
    }


def test_readme_checks_table_lists_every_check_id() -> None:
    import re

    from coroproj.analysis.findings import CHECKS

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Checks", 1)[1].split("###", 1)[0]
    listed = set(re.findall(r"^\| `([a-z-]+)` \|", section, re.MULTILINE))
    assert listed == set(CHECKS)
