"""Every position where an annotation may be written reaches the right
function type (DESIGN.md "The annotations")."""

from __future__ import annotations

import pytest
from pycparser import c_ast

from coroproj.frontend.annotations import AttributeNames, Kind, kinds_of
from coroproj.frontend.unit import parse_unit_text
from tests.frontend.helpers import (
    BLOCKING,
    COROUTINE,
    MIXED,
    NONE,
    all_nodes,
    chain,
    declaration,
    declarations,
    function_kinds,
    gcc_accepts,
    parse,
    regenerate,
)

CO = "__attribute__((coroutine_fn))"


def test_after_return_type():
    unit = parse(f"void {CO} f(void);")
    assert function_kinds(declaration(unit, "f")) == [COROUTINE]


def test_before_storage_class():
    unit = parse(f"{CO} extern void f(void);")
    assert function_kinds(declaration(unit, "f")) == [COROUTINE]


def test_static_definition():
    unit = parse(f"static int {CO} g(int x) {{ return x; }}")
    definition = declaration(unit, "g")
    assert function_kinds(definition) == [COROUTINE]
    assert definition.storage == ["static"]


def test_after_pointer_star_of_return_type():
    unit = parse(f"Coroutine *{CO} self(void);")
    decl = declaration(unit, "self")
    assert isinstance(chain(decl)[0], c_ast.FuncDecl)
    assert function_kinds(decl) == [COROUTINE]
    assert chain(decl)[1].attributes == []


def test_typedef_after_return_type():
    unit = parse(f"typedef void {CO} Entry(void *);")
    assert function_kinds(declaration(unit, "Entry")) == [COROUTINE]


def test_typedef_before_type():
    unit = parse(f"typedef {CO} void coop(void);")
    assert function_kinds(declaration(unit, "coop")) == [COROUTINE]


def test_pointer_variable_through_typedef_is_not_annotated_again():
    unit = parse(f"typedef {CO} void coop(void); void {CO} f(void); coop *p = f;")
    assert function_kinds(declaration(unit, "p")) == []
    assert unit.misplaced_annotations == []


def test_function_pointer_variable():
    unit = parse(f"void {CO} f(void); void {CO} (*p2)(void) = &f;")
    decl = declaration(unit, "p2")
    assert isinstance(chain(decl)[0], c_ast.PtrDecl)
    assert function_kinds(decl) == [COROUTINE]


def test_struct_member_before_parenthesis():
    unit = parse(f"struct BlockDriver {{ int {CO} (*co_flush)(BlockDriverState *bs); }};")
    assert function_kinds(declaration(unit, "co_flush")) == [COROUTINE]


def test_struct_member_inside_parenthesis():
    unit = parse(
        f"struct BlockDriver {{ int ({CO} *co_pwrite)"
        "(BlockDriverState *bs, int64_t off, void *buf); };"
    )
    assert function_kinds(declaration(unit, "co_pwrite")) == [COROUTINE]


def test_unannotated_member_stays_native():
    unit = parse(f"struct B {{ int {CO} (*a)(void); int (*probe)(const char *name); }};")
    assert function_kinds(declaration(unit, "probe")) == [NONE]


def test_parameter():
    unit = parse(f"void run(void {CO} (*cb)(void *), void *opaque);")
    assert function_kinds(declaration(unit, "run")) == [NONE]
    assert function_kinds(declaration(unit, "cb")) == [COROUTINE]


def test_abstract_parameter():
    unit = parse(f"void run(void {CO} (*)(void *), void *opaque);")
    run = declaration(unit, "run")
    param = chain(run)[0].args.params[0]
    assert isinstance(param, c_ast.Typename)
    assert function_kinds(param) == [COROUTINE]


def test_cast():
    unit = parse(f"void *q; void h(void) {{ (void {CO} (*)(void))q; }}")
    (cast,) = [n for n in all_nodes(unit.ast) if isinstance(n, c_ast.Cast)]
    assert function_kinds(cast.to_type) == [COROUTINE]


def test_cast_with_annotation_inside_parenthesis():
    unit = parse(f"void *q; void h(void) {{ (void ({CO} *)(void))q; }}")
    (cast,) = [n for n in all_nodes(unit.ast) if isinstance(n, c_ast.Cast)]
    assert function_kinds(cast.to_type) == [COROUTINE]


def test_sizeof_typeof_and_generic_type_names():
    unit = parse(
        f"void f(void);"
        f"int s = sizeof(void {CO} (*)(void));"
        f"__typeof__(void {CO} (*)(void)) t;"
        f"int g = _Generic(f, void {CO} (*)(void): 1, default: 0);"
    )
    typenames = [n for n in all_nodes(unit.ast) if isinstance(n, c_ast.Typename)]
    annotated = [n for n in typenames if function_kinds(n) == [COROUTINE]]
    assert len(annotated) == 3


def test_type_names_regenerate_to_the_same_annotations():
    unit = parse(
        f"void f(void);"
        f"int s = sizeof(void {CO} (*)(void));"
        f"__typeof__(void {CO} (*)(void)) t;"
        f"int g = _Generic(f, void {CO} (*)(void): 1, default: 0);"
        f"void run(void {CO} (*)(void *), void *opaque);"
        f"void *q = (void *)(void {CO} (*)(void))0;"
    )
    regenerated = regenerate(unit)
    ok, messages = gcc_accepts(regenerated)
    assert ok, messages
    reparsed = parse_unit_text(regenerated, "regenerated.c")
    typenames = [n for n in all_nodes(reparsed.ast) if isinstance(n, c_ast.Typename)]
    assert sum(function_kinds(n) == [COROUTINE] for n in typenames) == 5


def test_function_returning_function_pointer():
    # get: FuncDecl(int) -> PtrDecl -> FuncDecl(void) -> void.  The
    # specifier annotation is nearest the base: the returned type.
    unit = parse(f"void {CO} (*get(int))(void);")
    assert function_kinds(declaration(unit, "get")) == [NONE, COROUTINE]


def test_function_returning_function_pointer_annotated_after_declarator():
    unit = parse(f"void (*get(int))(void) {CO};")
    assert function_kinds(declaration(unit, "get")) == [COROUTINE, NONE]


def test_function_returning_function_pointer_annotated_at_inner_parenthesis():
    unit = parse(f"void ({CO} *get(int))(void);")
    assert function_kinds(declaration(unit, "get")) == [COROUTINE, NONE]


def test_prototype_without_parameters():
    unit = parse(f"void {CO} coro();")
    decl = declaration(unit, "coro")
    assert chain(decl)[0].args is None
    assert function_kinds(decl) == [COROUTINE]


def test_after_declarator_before_semicolon():
    unit = parse(f"int *g(void) {CO};")
    assert function_kinds(declaration(unit, "g")) == [COROUTINE]


def test_function_pointer_annotated_after_declarator():
    unit = parse(f"void (*fp)(void) {CO};")
    assert function_kinds(declaration(unit, "fp")) == [COROUTINE]


def test_definition_annotated_between_parenthesis_and_brace():
    unit = parse(f"void f(void) {CO} {{ }}")
    assert function_kinds(declaration(unit, "f")) == [COROUTINE]


def test_array_of_function_pointers():
    unit = parse(f"void {CO} (*table[4])(void);")
    assert function_kinds(declaration(unit, "table")) == [COROUTINE]


def test_comma_separated_declarators_share_specifier_annotation():
    unit = parse(f"{CO} void a(void), b(int);")
    assert function_kinds(declaration(unit, "a")) == [COROUTINE]
    assert function_kinds(declaration(unit, "b")) == [COROUTINE]


def test_mixed_attribute_list_keeps_other_attributes():
    unit = parse("void __attribute__((noinline, coroutine_fn, aligned(16))) f(void);")
    decl = declaration(unit, "f")
    assert function_kinds(decl) == [COROUTINE]
    kept = [(a.name, a.arguments) for spec in decl.attributes for a in spec.attributes]
    assert kept == [("noinline", None), ("aligned", "16")]


def test_all_spellings_of_all_kinds():
    unit = parse(
        "void __attribute__((__coroutine_fn__)) a(void);"
        'void __attribute__((annotate("coroutine_fn"))) b(void);'
        'void __attribute__((__annotate__("blocking_fn"))) c(void);'
        "void __attribute__((cps)) d(void);"
        "void __attribute__((no_coroutine_fn)) e(void);"
        "void __attribute__((coroutine_mixed_fn)) g(void);"
        'void __attribute__((annotate("something_else"))) h(void);'
    )
    expected = {"a": COROUTINE, "b": COROUTINE, "c": BLOCKING, "d": COROUTINE}
    expected |= {"e": BLOCKING, "g": MIXED, "h": NONE}
    for name, kinds in expected.items():
        assert function_kinds(declaration(unit, name)) == [kinds], name


def test_configured_names():
    names = AttributeNames(coroutine=("co_fn",), blocking=("nonco_fn",), mixed=("both_fn",))
    unit = parse(
        "void __attribute__((co_fn)) a(void); void __attribute__((coroutine_fn)) b(void);",
        names,
    )
    assert function_kinds(declaration(unit, "a")) == [COROUTINE]
    assert function_kinds(declaration(unit, "b")) == [NONE]
    (b,) = declarations(unit, "b")
    assert [a.name for spec in b.attributes for a in spec.attributes] == ["coroutine_fn"]


def test_conflicting_annotations_are_both_kept():
    unit = parse("void __attribute__((coroutine_fn)) __attribute__((blocking_fn)) f(void);")
    assert function_kinds(declaration(unit, "f")) == [frozenset({Kind.COROUTINE, Kind.BLOCKING})]


def test_annotation_on_variable_is_misplaced():
    unit = parse(f"int {CO} x;")
    (misplaced,) = unit.misplaced_annotations
    assert misplaced.kind is Kind.COROUTINE
    assert misplaced.name == "x"
    assert misplaced.spot.file == "snippet.c"
    assert misplaced.spot.line == 4
    assert declaration(unit, "x").attributes == []


def test_annotation_on_statement_is_misplaced():
    unit = parse(f"void f(void) {{ {CO}; }}")
    assert [m.kind for m in unit.misplaced_annotations] == [Kind.COROUTINE]


def test_annotation_through_function_typedef_is_recorded():
    unit = parse(f"typedef void Fn(void); {CO} Fn *p;")
    (extra,) = unit.extra_annotations
    assert extra.kind is Kind.COROUTINE
    assert extra.declaration is declaration(unit, "p")
    assert unit.misplaced_annotations == []


def test_annotation_through_typeof_is_recorded():
    unit = parse(f"void f(void); {CO} __typeof__(f) *p;")
    (extra,) = unit.extra_annotations
    assert extra.declaration is declaration(unit, "p")


def test_annotations_are_only_on_funcdecls():
    unit = parse(
        f"void {CO} (*p)(void); struct S {{ int ({CO} *m)(void); }};"
        f"static {CO} int f(void {CO} (*cb)(void)) {{ return 0; }}"
    )
    for node in all_nodes(unit.ast):
        if isinstance(node, (c_ast.FuncDecl, c_ast.AttributeSpecifier)):
            continue
        for spec in getattr(node, "attributes", None) or []:
            assert all(a.namespace in ("gnu", None) for a in spec.attributes), node
    annotated = [n for n in all_nodes(unit.ast) if isinstance(n, c_ast.FuncDecl) and kinds_of(n)]
    assert len(annotated) == 4


ROUND_TRIP_SNIPPETS = [
    f"void {CO} f(void); {CO} extern void g(void);",
    f"static int {CO} g(int x) {{ return x; }}",
    f"Coroutine *{CO} self(void);",
    f"typedef void {CO} Entry(void *); typedef {CO} void coop(void); coop *p;",
    f"void {CO} (*p2)(void);",
    f"struct B {{ int {CO} (*a)(BlockDriverState *); int ({CO} *b)(int64_t); int (*c)(void); }};",
    f"void run(void {CO} (*cb)(void *), void *opaque);",
    f"void {CO} (*get(int))(void);",
    f"void (*get(int))(void) {CO};",
    f"void ({CO} *get(int))(void);",
    f"void {CO} (*(*pp)(int))(void);",
    f"void (*({CO} *pp)(int))(void);",
    f"int (*(*({CO} *ppp)(void))(int))(long);",
    f"void {CO} (*table[4])(void);",
    f"static {CO} int h(void {CO} (*cb)(void)) {{ return 0; }}",
    f"void {CO} coro();",
]


def _kinds_by_declaration(unit) -> dict[str, list[frozenset[Kind]]]:
    return {
        node.name: function_kinds(node)
        for node in all_nodes(unit.ast)
        if isinstance(node, (c_ast.Decl, c_ast.Typedef)) and node.name
    }


@pytest.mark.parametrize("snippet", ROUND_TRIP_SNIPPETS)
def test_regenerated_annotations_read_back_the_same(snippet: str) -> None:
    unit = parse(snippet)
    regenerated = regenerate(unit)
    ok, messages = gcc_accepts(regenerated)
    assert ok, f"{regenerated}\n{messages}"
    reparsed = parse_unit_text(regenerated, "regenerated.c")
    assert _kinds_by_declaration(reparsed) == _kinds_by_declaration(unit)
    assert any(kinds for kinds_list in _kinds_by_declaration(unit).values() for kinds in kinds_list)
