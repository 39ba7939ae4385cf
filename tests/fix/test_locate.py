"""Finding a declaration's spot in the original text, and refusing to guess."""

from __future__ import annotations

from pathlib import Path

import pytest

from coroproj.fix.locate import (
    SourceText,
    Unlocatable,
    annotation_word,
    function_declarator,
    insertion,
    mask_comments_and_strings,
    pointer_declarator,
    removal_span,
)


def source(text: str) -> SourceText:
    return SourceText(Path("t.c"), text)


def insert_at(text: str, line: int, name: str) -> str:
    src = source(text)
    where, what = insertion(src, function_declarator(src, line, name), "coroutine_fn")
    return text[:where] + what + text[where:]


def test_masking_keeps_offsets_and_hides_comments_and_strings() -> None:
    text = 'int f(void); /* f( */ char *s = "f(\\"x"; // f(\nint g;'
    masked = mask_comments_and_strings(text)
    assert len(masked) == len(text)
    assert masked.count("f(") == 1 and masked.endswith("\nint g;")


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("int f(void);\n", "f", "int coroutine_fn f(void);\n"),
        ("static inline int f(int x) { return f(x); }\n", "f",
         "static inline int coroutine_fn f(int x) { return f(x); }\n"),
        ("Coroutine *self(void);\n", "self", "Coroutine *coroutine_fn self(void);\n"),
        ("Coroutine **pp(void);\n", "pp", "Coroutine **coroutine_fn pp(void);\n"),
        ("static int\nf(void)\n{\n", "f", "static int coroutine_fn\nf(void)\n{\n"),
        ("Coroutine *\nf(void)\n{\n", "f", "Coroutine *coroutine_fn\nf(void)\n{\n"),
        ("/* f(x) */ int f(int x);\n", "f", "/* f(x) */ int coroutine_fn f(int x);\n"),
        ("static int /* why */\nf(void)\n", "f", "static int /* why */\ncoroutine_fn f(void)\n"),
        ("#endif\nf(void)\n", "f", "#endif\ncoroutine_fn f(void)\n"),
    ],
)
def test_conventional_place(text: str, name: str, expected: str) -> None:
    line = text.count("\n", 0, text.index(f"{name}(", text.index("*/") if "*/" in text else 0)) + 1
    assert insert_at(text, line, name) == expected


def test_macro_invocations_are_not_declarators() -> None:
    for text in ("DEFINE_WAITER(waiter)\n", "CO_WRAPPER(int, waiter, (void))\n", "DECLARE_CO_FN;\n"):
        with pytest.raises(Unlocatable, match="macro"):
            function_declarator(source(text), 1, "waiter")


def test_pointer_declarators_and_typedefs() -> None:
    text = ("struct D { int (*co_flush)(void *); int (* const probe)(const char *); };\n"
            "typedef int Entry(void *);\n"
            "void run(void (*cb)(void *), void *opaque);\n")
    src = source(text)
    offset, name = pointer_declarator(src, 1, "co_flush")
    assert (text[offset:offset + 3], name) == ("(*c", "co_flush")
    assert pointer_declarator(src, 1, "probe")[1] == "probe"
    with pytest.raises(Unlocatable, match="several"):
        pointer_declarator(src, 1, None)
    offset, name = pointer_declarator(src, 2, None)
    assert (name, text[offset:offset + 5]) == ("Entry", "Entry")
    assert pointer_declarator(src, 3, "cb")[1] == "cb"


def test_annotation_word_and_its_removal() -> None:
    text = "int coroutine_fn f(void);\ncoroutine_fn int g(void);\nCoroutine *coroutine_fn h(void);\n"
    src = source(text)
    words = ("coroutine_fn",)
    spans = [removal_span(src, annotation_word(src, function_declarator(src, n, c), words))
             for n, c in ((1, "f"), (2, "g"), (3, "h"))]
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end:]
    assert text == "int f(void);\nint g(void);\nCoroutine *h(void);\n"


def test_annotation_of_a_previous_declaration_is_not_this_ones() -> None:
    src = source("int coroutine_fn a(void); int b(void);\n")
    assert annotation_word(src, function_declarator(src, 1, "b"), ("coroutine_fn",)) is None


def test_attribute_spelled_out_is_not_removed_as_a_word() -> None:
    src = source("int __attribute__((coroutine_fn)) f(void);\n")
    with pytest.raises(Unlocatable, match="inside an attribute"):
        annotation_word(src, function_declarator(src, 1, "f"), ("coroutine_fn",))
