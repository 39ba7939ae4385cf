"""Each pass of the translator on small functions: the form it produces.

The end-to-end tests check behaviour; these check the shape each pass is
documented to give (CPS.md "The passes"), so a regression points at the
pass that broke.
"""

from __future__ import annotations

import pytest
from pycparser import c_ast

from coroproj.cps.box import box, boxed_variables
from coroproj.cps.common import Unit, build_file_env
from coroproj.cps.convert import convert
from coroproj.cps.ir import CoroutineCall, NormalFunction, show_normal
from coroproj.cps.lift import lift
from coroproj.cps.normalize import normalize
from coroproj.cps.split import split
from coroproj.cps.validate import validate
from coroproj.errors import SourceError
from coroproj.frontend.unit import parse_unit_text

PRELUDE = """
void __attribute__((coroutine_fn)) qemu_coroutine_yield(void);
int __attribute__((coroutine_fn)) get(int x);
double __attribute__((coroutine_fn)) real(int x);
struct point { int x, y; };
"""


def _unit(body: str) -> Unit:
    text = PRELUDE + body.replace("coroutine_fn", "__attribute__((coroutine_fn))")
    parsed = parse_unit_text(text, "unit.c")
    unit = Unit(parsed.ast, "unit.c", frozenset({"qemu_coroutine_self"}), "qemu_coroutine_yield")
    unit.env = build_file_env(parsed.ast)
    validate(unit)
    return unit


def _function(body: str, name: str = "f") -> tuple[Unit, NormalFunction]:
    unit = _unit(body)
    definition = next(e for e in unit.ast.ext if isinstance(e, c_ast.FuncDef) and e.decl.name == name)
    return unit, normalize(unit, definition)


def _calls(function: NormalFunction) -> list[CoroutineCall]:
    return [s for s in function.body if isinstance(s, CoroutineCall)]


# -- normalize ----------------------------------------------------------------------


def test_normalize_hoists_calls_in_evaluation_order_with_exact_result_types() -> None:
    _, function = _function(
        "long coroutine_fn f(void) { long x = get(1) + get(2); int i = real(3); return x + i; }"
    )
    calls = _calls(function)
    assert [c.call.name.name for c in calls] == ["get", "get", "real"]
    types = {d.name: d.type.type.names for d in function.locals}
    assert types[calls[0].result.name] == ["int"]
    assert types[calls[2].result.name] == ["double"]
    assert types["x"] == ["long"] and types["i"] == ["int"]


def test_normalize_keeps_short_circuit_as_jumps() -> None:
    _, function = _function("int coroutine_fn f(int a) { return a && get(1); }")
    text = show_normal(function)
    # get() only runs when a is true: the call sits after a conditional jump.
    assert text.index("if (") < text.index("get(1)")
    assert isinstance(function.body[-1], c_ast.Return)


def test_normalize_lowers_loops_and_switch_to_labels_and_jumps() -> None:
    _, function = _function("""
int coroutine_fn f(int n) {
    int s = 0;
    for (int i = 0; i < n; i++) { if (i == 3) continue; s += get(i); }
    switch (n) { case 1: s++; case 2 ... 4: s += get(s); break; default: s = 0; }
    return s;
}""")
    kinds = {type(s).__name__ for s in function.body}
    assert "For" not in kinds and "Switch" in kinds  # the dispatch switch only jumps
    switch = next(s for s in function.body if isinstance(s, c_ast.Switch))
    assert all(isinstance(case.stmts[0], c_ast.Goto) for case in switch.stmt.block_items)


def test_normalize_keeps_a_native_loop_as_a_loop() -> None:
    _, function = _function(
        "int coroutine_fn f(int n) { int s = 0; for (int i = 0; i < n; i++) s += i; return get(s); }"
    )
    assert any(isinstance(s, c_ast.For) for s in function.body)


def test_normalize_renames_shadowing_locals_apart_and_moves_statics_out() -> None:
    _, function = _function(
        "int coroutine_fn f(int x) { static int calls; int y = x; "
        "{ int y = 2; x += y; } return get(y) + ++calls; }"
    )
    names = [d.name for d in function.locals]
    assert "y" in names and "y_1" in names
    assert [d.name for d in function.file_scope] == ["f__calls"]


# -- box ------------------------------------------------------------------------------


def test_box_selects_address_taken_variables_and_arrays() -> None:
    unit, function = _function("""
int coroutine_fn f(int p) {
    int plain = 1, taken = 2, arr[3] = {0};
    struct point pt = {0, 0};
    int *q = &taken;
    int *r = &pt.y;
    (void)q; (void)r;
    return get(plain + p + arr[0]);
}""")
    assert boxed_variables(function, unit) == ["taken", "arr", "pt"]


def test_box_frees_cells_before_every_return() -> None:
    unit, function = _function("int coroutine_fn f(int p) { int *q = &p; if (*q) return get(1); return 2; }")
    function = box(function, unit)
    text = show_normal(function)
    assert text.count("__builtin_free(p__box)") == text.count("return") >= 2
    assert "p__box = __builtin_malloc(sizeof(*p__box));" in text
    assert "*p__box = p;" in text


# -- split and lift -------------------------------------------------------------------------


def test_split_cuts_after_calls_and_at_joins_only() -> None:
    unit, function = _function("""
int coroutine_fn f(int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += i;
    while (s > 10) s -= get(s);
    return s;
}""")
    pieces = split(box(function, unit)).pieces
    # entry (with the native loop inside), the while head (a join), the receiver
    assert len(pieces) == 3
    assert pieces[0].name == "f" and pieces[2].receives is not None


def test_lift_passes_only_live_variables() -> None:
    unit, function = _function("""
int coroutine_fn f(int a, int b) {
    int dead = a * 2;
    int used = b + 1;
    (void)dead;
    int r = get(used);
    return r + used;
}""")
    pieces = lift(split(box(function, unit))).pieces
    receiver = pieces[1]
    assert receiver.params == ["used"]  # not a, b, dead


# -- convert ------------------------------------------------------------------------------


def test_convert_pushes_receiver_then_callee_and_uses_the_alignment_macro() -> None:
    unit, function = _function("long coroutine_fn f(int a) { long r = get(a); return r * 2; }")
    text = convert(lift(split(box(function, unit))), unit)
    receiver = text.index("cpc_push_frame_reserved(cpc__k, sizeof *cpc__r, f__p1)")
    callee = text.index("cpc_push_frame_reserved(cpc__k, sizeof *cpc__c, get)")
    assert receiver < callee
    assert "_Alignas(CPC_ALIGN) int cpc__result;" in text
    assert "CPC_RETURN(cpc__k, long, (r * 2));" in text


def test_convert_tail_call_pushes_no_receiver() -> None:
    unit, function = _function("int coroutine_fn f(int a) { return get(a + 1); }")
    text = convert(lift(split(box(function, unit))), unit)
    assert "cpc__r" not in text and "f__p1" not in text
    assert "cpc_push_frame_reserved(cpc__k, sizeof *cpc__c, get)" in text


def test_convert_checks_the_capacity_once_per_piece_before_its_pop() -> None:
    # Both frames of the call are reserved at the top, net of the piece's own
    # arguments; the pushes below are unchecked (they could not move k).
    unit, function = _function("long coroutine_fn f(int a) { long r = get(a); return r * 2; }")
    text = convert(lift(split(box(function, unit))), unit)
    entry = text[text.index("cpc_cont *f(cpc_cont *cpc__k)"):]
    check = entry.index(
        "cpc_piece_shortfall(cpc__k, sizeof(struct { int a0; }), "
        "cpc_frame_bytes(sizeof(struct f__p1__args)) + cpc_frame_bytes(sizeof(struct { int a0; })));"
    )
    assert check < entry.index("cpc_pop(cpc__k")
    assert "return cpc_grow_and_run(cpc__k, cpc__short, f);" in entry
    assert "cpc_push_frame(&" not in text and "cpc_push(&" not in text


def test_convert_reserves_the_most_any_path_of_a_piece_pushes() -> None:
    unit, function = _function(
        "int coroutine_fn f(int a) { if (a) return get(a); qemu_coroutine_yield(); return 0; }"
    )
    text = convert(lift(split(box(function, unit))), unit)
    # the tail call pushes get's frame; the yield its receiver's and its own
    assert (
        "cpc_max(cpc_frame_bytes(0) + cpc_frame_bytes(0), cpc_frame_bytes(sizeof(struct { int a0; })))"
        in text
    )


def test_convert_bounces_only_jumps_that_close_a_cycle_of_jumps() -> None:
    unit, function = _function("""
void coroutine_fn f(int n) {
again:
    if (n > 100) n = get(n);
    n--;
    if (n > 0) goto again;
}""")
    text = convert(lift(split(box(function, unit))), unit)
    # f__p1 (loop head) -> f__p3 (n--) -> f__p1 is a cycle of jumps without a
    # call: its closing jump bounces through the trampoline (a direct call
    # would recurse on the C stack) ...
    assert "cpc_push_frame_reserved(cpc__k, sizeof *cpc__j, f__p1);" in text
    # ... every other jump, the receiver of get()'s included, is a direct call.
    assert text.count("return f__p1(cpc__k);") == 1
    assert text.count("return f__p3(cpc__k, n);") == 2  # only entered directly: n is a C parameter


def test_convert_a_void_call_whose_receiver_only_jumps_pushes_the_jump_target() -> None:
    unit, function = _function("""
void coroutine_fn f(unsigned *counter) {
    for (;;) {
        (*counter)++;
        qemu_coroutine_yield();
    }
}""")
    text = convert(lift(split(box(function, unit))), unit)
    # the loop is one piece that pushes itself as the receiver of the yield
    assert "static cpc_cont *f__p2" not in text
    assert "cpc_push_frame_reserved(cpc__k, sizeof *cpc__r, f__p1);" in text
    assert "cpc_push_frame_reserved(cpc__k, 0, qemu_coroutine_yield);" in text


def test_normalize_rejects_an_old_style_definition() -> None:
    with pytest.raises(SourceError) as caught:
        _function("int coroutine_fn f(a) int a; { return get(a); }")
    assert caught.value.check == "cps-unsupported"


def test_benchmark_coroutines_translate_to_the_minimal_pieces() -> None:
    # The shapes bench/cpc_runtime_micro.c writes by hand: the runtime
    # benchmarks only hold for translated code if the translator matches them.
    unit = _unit("""
void coroutine_fn perf_yield_loop(void *opaque) {
    unsigned long *remaining = opaque;
    while (*remaining > 0) { (*remaining)--; qemu_coroutine_yield(); }
}
void coroutine_fn perf_suspend_once(void *opaque) { (void)opaque; qemu_coroutine_yield(); }
void coroutine_fn perf_empty(void *opaque) { (void)opaque; }
""")
    texts = {}
    for ext in unit.ast.ext:
        if isinstance(ext, c_ast.FuncDef):
            texts[ext.decl.name] = convert(lift(split(box(normalize(unit, ext), unit))), unit)
    loop = texts["perf_yield_loop"]
    assert loop.count("static cpc_cont *perf_yield_loop__p") == 2  # one prototype, one definition
    assert "cpc_push_frame_reserved(cpc__k, sizeof *cpc__r, perf_yield_loop__p1);" in loop
    assert "__p" not in texts["perf_suspend_once"]
    assert texts["perf_suspend_once"].count("cpc_push_frame") == 1
    assert "cpc_push" not in texts["perf_empty"]
