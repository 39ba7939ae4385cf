"""Context guards (DESIGN.md): each call is judged by the region it is in.

One held-in case per row of the table: P true (if, early return, ternary,
``&&``), P false (else, early return), ``assert(P)``, ``assert(!P)``, not
dominated, plus goto/labels, glib's ``g_assert`` shape and configured
predicates.
"""

from __future__ import annotations

from pathlib import Path

from tests.check.helpers import findings_of, line_of, write_unit

DECLARATIONS = """
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
bool qemu_in_coroutine(void);
void coroutine_fn co_sleep(void);
void blocking_fn g_usleep(void);
void native(void);
"""


def check(tmp_path: Path, coroproj_json, body: str, *flags: str) -> tuple[Path, dict]:
    unit = write_unit(tmp_path, DECLARATIONS + body)
    _, data = coroproj_json(str(unit), *flags)
    return unit, data


def functions_with(data: dict, check_id: str) -> list[str]:
    return sorted(function for _, function, _ in findings_of(data, check_id))


def test_guarded_coroutine_call_makes_the_function_implicitly_mixed(tmp_path: Path, coroproj_json) -> None:
    unit, data = check(tmp_path, coroproj_json, """
        void write_buffer(void) {
            if (qemu_in_coroutine()) { co_sleep(); } else { g_usleep(); }
        }
        void error_report(void) { write_buffer(); }
        void monitor(void) { error_report(); }
    """)
    # Neither the hybrid function nor anything above it is inferred coroutine.
    assert functions_with(data, "missing") == []
    assert functions_with(data, "forbidden-call") == []
    hybrid = findings_of(data, "hybrid")
    assert hybrid == [("hybrid", "write_buffer", line_of(unit, "void write_buffer"))]
    message = next(f["message"] for f in data["findings"] if f["check"] == "hybrid")
    assert "coroutine_mixed_fn" in message


def test_every_true_region_shape_is_a_guard(tmp_path: Path, coroproj_json) -> None:
    _, data = check(tmp_path, coroproj_json, """
        void early_return(void) {
            if (!qemu_in_coroutine()) { g_usleep(); return; }
            co_sleep();
        }
        void ternary(void) { qemu_in_coroutine() ? co_sleep() : g_usleep(); }
        void and_also(int x) { if (qemu_in_coroutine() && x) co_sleep(); }
        void short_circuit(void) { (void)(qemu_in_coroutine() && (co_sleep(), 1)); }
        void likely_macro(void) { if (__builtin_expect(!!qemu_in_coroutine(), 1)) co_sleep(); }
        void compared(void) { if (qemu_in_coroutine() == false) return; co_sleep(); }
        void nested(int x) { if (qemu_in_coroutine()) { if (x) { co_sleep(); } } }
        void loop(int n) { if (!qemu_in_coroutine()) return; while (n--) co_sleep(); }
    """)
    assert functions_with(data, "missing") == []
    assert functions_with(data, "wrong-context") == []
    assert len(findings_of(data, "hybrid")) == 8


def test_blocking_call_where_p_holds_is_forbidden(tmp_path: Path, coroproj_json) -> None:
    unit, data = check(tmp_path, coroproj_json, """
        void guarded_blocking(void) {
            if (qemu_in_coroutine()) g_usleep();
        }
        void native_side_is_fine(void) {
            if (qemu_in_coroutine()) co_sleep(); else g_usleep();
        }
    """)
    assert findings_of(data, "forbidden-call") == [
        ("forbidden-call", "guarded_blocking", line_of(unit, "if (qemu_in_coroutine()) g_usleep();"))
    ]


def test_coroutine_call_where_p_is_false_is_an_error(tmp_path: Path, coroproj_json) -> None:
    unit, data = check(tmp_path, coroproj_json, """
        void in_the_else(void) {
            if (qemu_in_coroutine()) { native(); } else { co_sleep(); }
        }
        void after_a_return(void) {
            if (qemu_in_coroutine()) { co_sleep(); return; }
            g_usleep();
            co_sleep(); /* here */
        }
        void coroutine_fn (*pointer)(void);
        void through_a_pointer(void) { if (!qemu_in_coroutine()) pointer(); }
    """)
    errors = findings_of(data, "wrong-context")
    assert errors == [
        ("wrong-context", "after_a_return", line_of(unit, "co_sleep(); /* here */")),
        ("wrong-context", "in_the_else", line_of(unit, "} else { co_sleep(); }")),
        ("wrong-context", "through_a_pointer", line_of(unit, "pointer(); }")),
    ]
    assert all(f["severity"] == "error" for f in data["findings"] if f["check"] == "wrong-context")
    # A coroutine call in native context does not make the caller a coroutine function.
    assert functions_with(data, "missing") == []


def test_assert_p_makes_the_function_coroutine_only(tmp_path: Path, coroproj_json) -> None:
    unit, data = check(tmp_path, coroproj_json, """
        void asserted(void) {
            assert(qemu_in_coroutine());
            native();
            g_usleep();
        }
        void caller(void) { asserted(); }
        void coroutine_fn annotated(void) { assert(qemu_in_coroutine()); co_sleep(); }
        void by_abort(void) { if (!qemu_in_coroutine()) abort(); native(); }
    """)
    missing = {f["function"]: f for f in data["findings"] if f["check"] == "missing"}
    assert sorted(missing) == ["asserted", "by_abort", "caller"]
    assert "asserts that it runs in a coroutine" in missing["asserted"]["message"]
    assert [(s["caller"], s["callee"]) for s in missing["caller"]["chain"]] == [("caller", "asserted")]
    assert findings_of(data, "forbidden-call") == [
        ("forbidden-call", "asserted", line_of(unit, "g_usleep();"))
    ]
    # An assertion is not a hybrid code path, and the annotated one is not spurious.
    assert findings_of(data, "hybrid") == []
    assert functions_with(data, "spurious") == []


def test_assert_not_p_makes_the_function_native_only(tmp_path: Path, coroproj_json) -> None:
    unit, data = check(tmp_path, coroproj_json, """
        void co_wrapper(void) {
            assert(!qemu_in_coroutine());
            g_usleep();
            co_sleep(); /* wrong */
        }
        void user(void) { co_wrapper(); }
    """)
    assert findings_of(data, "wrong-context") == [
        ("wrong-context", "co_wrapper", line_of(unit, "co_sleep(); /* wrong */"))
    ]
    assert functions_with(data, "missing") == []
    assert functions_with(data, "forbidden-call") == []


def test_calls_not_dominated_by_p_follow_corochecks_rule(tmp_path: Path, coroproj_json) -> None:
    _, data = check(tmp_path, coroproj_json, """
        void before_the_test(void) { co_sleep(); if (qemu_in_coroutine()) native(); }
        void after_both_branches(int x) { if (qemu_in_coroutine()) native(); else g_usleep(); co_sleep(); }
        void unrelated(int x) { if (x) co_sleep(); }
    """)
    assert functions_with(data, "missing") == ["after_both_branches", "before_the_test", "unrelated"]


def test_labels_merge_what_reaches_them(tmp_path: Path, coroproj_json) -> None:
    _, data = check(tmp_path, coroproj_json, """
        void all_jumps_guarded(int x) {
            if (!qemu_in_coroutine()) return;
        retry:
            co_sleep();
            if (x--) goto retry;
            goto out;
        out:
            co_sleep();
        }
        void jump_from_before_the_guard(int x) {
            if (x) goto out;
            if (!qemu_in_coroutine()) return;
            co_sleep();
        out:
            co_sleep();
        }
    """)
    assert functions_with(data, "missing") == ["jump_from_before_the_guard"]


def test_glib_g_assert_shape(tmp_path: Path, coroproj_json) -> None:
    # g_assert(expr) is `if G_LIKELY(expr) ; else g_assertion_message_expr(...)`,
    # G_LIKELY a statement expression that copies the truth of expr.
    _, data = check(tmp_path, coroproj_json, """
        void g_assertion_message_expr(const char *m) __attribute__((__noreturn__));
        void glib_assert(void) {
            do {
                if (__builtin_expect(({ int v_; if (qemu_in_coroutine()) v_ = 1; else v_ = 0; v_; }), 1))
                    ;
                else
                    g_assertion_message_expr("qemu_in_coroutine()");
            } while (0);
            native();
        }
    """)
    assert functions_with(data, "missing") == ["glib_assert"]


def test_configured_predicate(tmp_path: Path, coroproj_json) -> None:
    _, data = check(tmp_path, coroproj_json, """
        bool in_co(void);
        void guarded(void) { if (in_co()) co_sleep(); }
        void not_a_predicate_any_more(void) { if (qemu_in_coroutine()) co_sleep(); }
    """, "--hybrid-predicate", "in_co")
    assert functions_with(data, "missing") == ["not_a_predicate_any_more"]
