"""Each GNU C construct parses into a faithful node and survives a round
trip: regenerated with GnuCGenerator, gcc still compiles it, and parsing the
regenerated text gives the same text again (nothing was lost)."""

from __future__ import annotations

import pytest
from pycparser import c_ast

from coroproj.frontend import gnu_ast
from coroproj.frontend.unit import parse_unit_text
from tests.frontend.helpers import all_nodes, gcc_accepts, regenerate


def _attribute_named(name: str):
    def check(nodes: list[c_ast.Node]) -> bool:
        return any(isinstance(n, c_ast.Attribute) and n.name == name for n in nodes)

    return check


def _node(cls: type, **fields: object):
    def check(nodes: list[c_ast.Node]) -> bool:
        return any(
            isinstance(n, cls) and all(getattr(n, k) == v for k, v in fields.items()) for n in nodes
        )

    return check


def _type_named(name: str):
    def check(nodes: list[c_ast.Node]) -> bool:
        return any(isinstance(n, c_ast.IdentifierType) and name in n.names for n in nodes)

    return check


CONSTRUCTS = {
    "attribute_in_specifiers": (
        "static __attribute__((unused)) int x;",
        _attribute_named("unused"),
    ),
    "attribute_short_spelling": (
        "__attribute ((unused)) static int x;",
        _attribute_named("unused"),
    ),
    "attribute_after_declarator": (
        "int x __attribute__((aligned(8))) = 1;",
        _attribute_named("aligned"),
    ),
    "attribute_after_star": ("int * __attribute__((unused)) const p;", _attribute_named("unused")),
    "attribute_at_paren_declarator": (
        "int (__attribute__((unused)) *fp)(void);",
        _attribute_named("unused"),
    ),
    "attribute_on_struct_tag_and_brace": (
        "struct __attribute__((packed)) S { char c; int i; } __attribute__((aligned(4)));",
        lambda nodes: any(isinstance(n, c_ast.Struct) and len(n.attributes) == 2 for n in nodes),
    ),
    "attribute_on_member": (
        "struct S { int i __attribute__((aligned(8))); };",
        _attribute_named("aligned"),
    ),
    "attribute_on_enumerator": (
        "enum E { A __attribute__((deprecated)) = 1, B } __attribute__((packed));",
        _attribute_named("deprecated"),
    ),
    "attribute_on_parameter": (
        "void f(int a __attribute__((unused)), __attribute__((unused)) int b);",
        _attribute_named("unused"),
    ),
    "attribute_on_label": (
        "void f(void) { l: __attribute__((unused)); ; }",
        _attribute_named("unused"),
    ),
    "fallthrough_statement": (
        "int f(int x) { switch (x) { case 1: x++; __attribute__((fallthrough));"
        " case 2: break; } return x; }",
        _attribute_named("fallthrough"),
    ),
    "attribute_in_cast_type": (
        "long f(void *p) { return (long)(__attribute__((unused)) char *)p; }",
        _attribute_named("unused"),
    ),
    "attribute_with_string_and_comma_arguments": (
        'void f(const char *, ...) __attribute__((format(printf, 1, 2), section(".text.x,y")));',
        _node(c_ast.Attribute, name="section", arguments='".text.x,y"'),
    ),
    "extension_keyword": (
        "__extension__ typedef long long ll; int f(void) { return __extension__ ({ 1; }); }",
        _node(c_ast.Typedef, name="ll"),
    ),
    "asm_statement_with_operands": (
        "unsigned long f(unsigned long x) { unsigned long out; "
        '__asm__ __volatile__("mov %1, %0" : "=r"(out) : "r"(x) : "memory", "cc"); return out; }',
        _node(gnu_ast.Asm, sections=3),
    ),
    "asm_named_operands": (
        'int f(int x) { int y; asm("mov %[in], %[out]" : [out] "=r"(y) : [in] "r"(x)); return y; }',
        _node(gnu_ast.AsmOperand, name="out"),
    ),
    "asm_clobbers_only": (
        'void f(void) { asm volatile("" ::: "memory"); }',
        _node(gnu_ast.Asm, sections=3),
    ),
    "asm_goto": (
        'void f(void) { asm goto("jmp %l0" :::: out); out: ; }',
        _node(gnu_ast.Asm, qualifiers=["goto"], sections=4),
    ),
    "asm_toplevel": ('__asm__(".globl marker");', _node(gnu_ast.Asm, sections=0)),
    "asm_label": (
        'int x __asm__("real_x"); extern int f(int) __asm__("real_f") __attribute__((nothrow));',
        lambda nodes: sum(isinstance(n, gnu_ast.AsmLabel) for n in nodes) == 2,
    ),
    "typeof_expression_and_type": (
        "int a; __typeof__(a) b; typeof(int *) c; __typeof(a + 1) d;",
        lambda nodes: sum(isinstance(n, c_ast.TypeOf) for n in nodes) == 3,
    ),
    "auto_type": ("int f(void) { __auto_type x = 1; return x; }", _type_named("__auto_type")),
    "statement_expression": (
        "int f(int v) { return ({ int t = v; t < 0 ? 0 : t; }) + 1; }",
        _node(gnu_ast.StmtExpr),
    ),
    "case_range": (
        "int f(int x) { switch (x) { case 1 ... 5: return 1; case 6: return 2; } return 0; }",
        _node(gnu_ast.CaseRange),
    ),
    "range_designator": (
        "int t[10] = { [0 ... 3] = 1, [4] = 2, [5 ... 9] = 3 };",
        _node(gnu_ast.RangeDesignator),
    ),
    "generic_selection": (
        "int f(double d) { return _Generic(d, float: 1, double: 2, default: 0); }",
        _node(c_ast.GenericSelection),
    ),
    "static_assert": ('_Static_assert(sizeof(int) == 4, "int");', _node(c_ast.StaticAssert)),
    "builtin_offsetof": (
        "struct O { struct { int b[4]; } a; };"
        " unsigned long o = __builtin_offsetof(struct O, a.b[2]);",
        lambda nodes: any(
            isinstance(n, c_ast.FuncCall) and getattr(n.name, "name", "") == "__builtin_offsetof"
            for n in nodes
        ),
    ),
    "builtin_va_arg": (
        "int f(int n, ...) { __builtin_va_list ap; __builtin_va_start(ap, n);"
        " int x = __builtin_va_arg(ap, int); __builtin_va_end(ap); return x; }",
        _type_named("__builtin_va_list"),
    ),
    "builtin_types_compatible_p": (
        "int same = __builtin_types_compatible_p(int, signed int);",
        lambda nodes: sum(isinstance(n, c_ast.Typename) for n in nodes) == 2,
    ),
    "builtin_choose_expr": ("int c = __builtin_choose_expr(1, 10, 20);", _node(c_ast.FuncCall)),
    "int128": (
        "__int128 a; unsigned __int128 b; __int128_t c; __uint128_t d;",
        _type_named("__uint128_t"),
    ),
    "float_types": (
        "_Float128 a; __float128 b; _Float32 c; _Float64 d; _Float32x e; _Float64x f;",
        _type_named("_Float128"),
    ),
    "thread_local_storage": (
        "__thread int a; _Thread_local int b;",
        _node(c_ast.Decl, storage=["__thread"]),
    ),
    "atomic": (
        "_Atomic int a; _Atomic(long) b; int f(void) { return a + b; }",
        lambda nodes: any(isinstance(n, c_ast.Decl) and "_Atomic" in n.quals for n in nodes),
    ),
    "anonymous_members": (
        "struct S { union { int a; float f; }; struct { int x, y; }; } s;"
        " int g(void) { return s.a + s.x; }",
        _node(c_ast.Decl, name=None),
    ),
    "flexible_and_zero_length_arrays": (
        "struct S { int n; int z[0]; char data[]; };",
        lambda nodes: any(isinstance(n, c_ast.ArrayDecl) and n.dim is None for n in nodes),
    ),
    "bit_fields": (
        "struct S { unsigned a : 3, : 0; int b : 4 __attribute__((packed)); };",
        _node(c_ast.Decl, name="b"),
    ),
    "labels_as_values": (
        "int f(int i) { static void *t[] = { &&a, &&b }; goto *t[i]; a: return 1; b: return 2; }",
        lambda nodes: (
            any(isinstance(n, gnu_ast.ComputedGoto) for n in nodes)
            and any(isinstance(n, gnu_ast.LabelAddress) for n in nodes)
        ),
    ),
    "local_labels": (
        "int f(void) { __label__ again, out; int n = 0;"
        " again: if (n++ < 3) goto again; goto out; out: return n; }",
        _node(gnu_ast.LocalLabels, names=["again", "out"]),
    ),
    "real_imag": (
        "double f(_Complex double z) { return __real__ z + __imag__ z; }",
        _node(c_ast.UnaryOp, op="__real__"),
    ),
    "alignof_gnu": (
        "int t[4];"
        " int a = __alignof__(long double) + __alignof__ t + __alignof(int) + _Alignof(int);",
        _node(c_ast.UnaryOp, op="__alignof__"),
    ),
    "complex_spellings": ("_Complex double a; __complex__ float b;", _type_named("__complex__")),
    "empty_struct": (
        "struct E {}; struct E e;",
        lambda nodes: any(isinstance(n, c_ast.Struct) and n.decls == [] for n in nodes),
    ),
    "knr_definition": (
        "int f(a, b) int a; char *b; { return a + (b != 0); }",
        lambda nodes: any(isinstance(n, c_ast.FuncDef) and n.param_decls for n in nodes),
    ),
    "gnu_qualifier_spellings": (
        "__const int a = 1; volatile int b; int * __restrict__ c; int * __restrict d;"
        " static __inline__ int f(void) { return 0; } static __inline int g(void) { return 0; }"
        " __signed__ char e; __volatile__ int h;",
        _node(c_ast.Decl, name="c"),
    ),
    "conditional_with_omitted_operand": (
        "int f(int a, int b) { return a ?: b ? 1 : 2; }",
        _node(gnu_ast.OmittedConditional),
    ),
    "label_named_like_a_typedef": (
        "typedef int out; int f(int x) { if (x) goto out; switch (x) { case 1: out: x++; }"
        " out z = x; return z; }",
        lambda nodes: (
            sum(isinstance(n, c_ast.Label) and n.name == "out" for n in nodes) == 1
            and any(isinstance(n, c_ast.Goto) and n.name == "out" for n in nodes)
        ),
    ),
    "compound_literal_and_designators": (
        "struct P { int x, y; }; struct P f(void) { return (struct P){ .y = 2, .x = 1 }; }",
        _node(c_ast.CompoundLiteral),
    ),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_construct_round_trip(name: str) -> None:
    source, has_expected_node = CONSTRUCTS[name]
    ok, messages = gcc_accepts(source)
    assert ok, f"the test snippet itself is not valid GNU C: {messages}"

    unit = parse_unit_text(source, "construct.c")
    assert has_expected_node(all_nodes(unit.ast)), name

    regenerated = regenerate(unit)
    ok, messages = gcc_accepts(regenerated)
    assert ok, f"gcc rejects the regenerated code:\n{regenerated}\n{messages}"

    again = regenerate(parse_unit_text(regenerated, "regenerated.c"))
    assert again == regenerated
