"""Header segments parsed once per process give exactly the parse of the whole text."""

from __future__ import annotations

import pytest
from pycparser import c_generator

from coroproj.errors import SourceError
from coroproj.frontend import segments
from coroproj.frontend.annotations import AttributeNames
from coroproj.frontend.segments import SegmentCache, split_segments
from coroproj.frontend.unit import ParsedUnit, parse_unit_text


def _unit(main: str, body: str, header: str, header_text: str) -> str:
    """Preprocessed text shaped like gcc's: the header entered and left by markers."""
    return (
        f'# 0 "{main}"\n# 1 "{header}" 1\n{header_text}\n# 2 "{main}" 2\n{body}\n'
    )


def _parse(text: str, main: str, cache: SegmentCache | None) -> ParsedUnit:
    return parse_unit_text(text, main, segments=cache)


def _same(first: ParsedUnit, second: ParsedUnit) -> None:
    generator = c_generator.CGenerator()
    assert generator.visit(first.ast) == generator.visit(second.ast)
    coords = [str(node.coord) for node in first.ast.ext]
    assert coords == [str(node.coord) for node in second.ast.ext]
    assert first.misplaced_annotations == second.misplaced_annotations
    assert [(e.spot, e.kind) for e in first.extra_annotations] == [
        (e.spot, e.kind) for e in second.extra_annotations
    ]


HEADER = """\
typedef unsigned long size_t;
struct list { struct list *next; size_t n; };
static inline size_t length(struct list *l) { size_t n = 0; while (l) { n++; l = l->next; } return n; }
void qemu_coroutine_yield(void);
"""


def test_a_shared_header_is_parsed_once_and_reused() -> None:
    cache = SegmentCache()
    first = _unit("a.c", "size_t f(struct list *l) { return length(l); }", "h.h", HEADER)
    coroutine = "void __attribute__((coroutine_fn)) g(void) { qemu_coroutine_yield(); }"
    second = _unit("b.c", coroutine, "h.h", HEADER)
    _same(_parse(first, "a.c", cache), _parse(first, "a.c", None))
    assert cache.hits == 0
    reused = _parse(second, "b.c", cache)
    assert cache.hits >= 1
    _same(reused, _parse(second, "b.c", None))
    # The header's nodes are the same objects in both units.
    again = _parse(first, "a.c", cache)
    assert any(node is other for node in again.ast.ext for other in reused.ast.ext)


def test_segments_start_at_include_markers() -> None:
    text = _unit("a.c", "int x;", "h.h", "int y;")
    pieces = [text[start:end] for start, end in split_segments(text)]
    assert [piece.splitlines()[0] for piece in pieces] == ['# 0 "a.c"', '# 1 "h.h" 1', '# 2 "a.c" 2']
    assert "".join(pieces) == text


def test_an_include_inside_a_declaration_parses_as_one_piece() -> None:
    # Cut inside a struct and inside an enum: both pieces only parse together.
    text = (
        '# 0 "a.c"\nstruct s {\n# 1 "fields.h" 1\nint a; int b;\n# 3 "a.c" 2\n};\n'
        'enum e {\n# 1 "values.h" 1\nA, B,\n# 6 "a.c" 2\nC };\nint n = sizeof(struct s) + C;\n'
    )
    cache = SegmentCache()
    _same(_parse(text, "a.c", cache), _parse(text, "a.c", None))
    _same(_parse(text, "a.c", cache), _parse(text, "a.c", None))


def test_the_same_header_under_other_typedef_names_is_parsed_again() -> None:
    # `T` a typedef name or an ordinary identifier: `(T) + q` is a cast of
    # `+q` or a sum.
    header = "static int f(int q) { return (T) + q; }\n"
    as_type = _unit("a.c", "int g(void) { return 0; }", "h.h", header).replace(
        '# 1 "h.h" 1', 'typedef int T;\n# 1 "h.h" 1'
    )
    as_object = _unit("b.c", "int g(void) { return 0; }", "h.h", header).replace(
        '# 1 "h.h" 1', 'int T;\n# 1 "h.h" 1'
    )
    cache = SegmentCache()
    for text, main in ((as_type, "a.c"), (as_object, "b.c"), (as_type, "a.c")):
        _same(_parse(text, main, cache), _parse(text, main, None))


def test_annotation_placement_follows_the_typedefs_of_each_unit() -> None:
    # On a typedef naming a function type the annotation applies to that type;
    # on a typedef naming `int` it is misplaced.
    header = "__attribute__((coroutine_fn)) Fn *handler;\n"
    function = _unit("a.c", "", "h.h", header).replace('# 1 "h.h" 1', 'typedef void Fn(void);\n# 1 "h.h" 1')
    integer = _unit("b.c", "", "h.h", header).replace('# 1 "h.h" 1', 'typedef int Fn;\n# 1 "h.h" 1')
    cache = SegmentCache()
    for text, main in ((function, "a.c"), (integer, "b.c"), (function, "a.c"), (integer, "b.c")):
        cached, whole = _parse(text, main, cache), _parse(text, main, None)
        _same(cached, whole)
    assert _parse(integer, "b.c", cache).misplaced_annotations
    assert _parse(function, "a.c", cache).extra_annotations


def test_a_syntax_error_in_a_header_is_reported_where_a_whole_parse_reports_it() -> None:
    text = _unit("a.c", "int ok;", "h.h", "int good;\nint broken(;\n")
    with pytest.raises(SourceError) as whole:
        _parse(text, "a.c", None)
    cache = SegmentCache()
    for _ in range(2):
        with pytest.raises(SourceError) as cached:
            _parse(text, "a.c", cache)
        assert str(cached.value) == str(whole.value)
    assert "h.h:2" in str(whole.value)


def test_the_budget_bounds_what_is_kept() -> None:
    cache = SegmentCache(budget=200)
    for name in "abcdefgh":
        text = _unit(f"{name}.c", "int x;", f"{name}.h", f"int {name}_value;\n" * 10)
        _parse(text, f"{name}.c", cache)
        _parse(text, f"{name}.c", cache)
    assert cache.size <= 200


def test_a_unit_with_much_text_not_kept_drops_the_kept_parses_first(monkeypatch: pytest.MonkeyPatch) -> None:
    # Its AST then takes the memory they held; the units' parses are unchanged.
    monkeypatch.setattr(segments, "SHED_ABOVE", 500)
    cache = SegmentCache()
    small = _unit("a.c", "int a;", "h.h", HEADER)
    _parse(small, "a.c", cache)
    assert cache.size > 0 and cache.sheds == 0
    own = "".join(f"int table_{n}[] = {{ {n}, {n + 1}, {n + 2} }};\n" for n in range(40))
    large = _unit("big.c", own, "h.h", HEADER)
    _same(_parse(large, "big.c", cache), _parse(large, "big.c", None))
    assert cache.sheds == 1
    _same(_parse(small, "a.c", cache), _parse(small, "a.c", None))  # parsed again, then kept again
    assert cache.sheds == 1 and cache.size > 0


def test_a_segment_parsed_under_other_annotation_names_is_parsed_again() -> None:
    header = "void __attribute__((my_co)) waits(void);\n"
    text = _unit("a.c", "int x;", "h.h", header)
    cache = SegmentCache()
    plain = parse_unit_text(text, "a.c", segments=cache)
    plain_again = parse_unit_text(text, "a.c", segments=cache)
    custom = parse_unit_text(text, "a.c", AttributeNames(coroutine=("my_co",)), segments=cache)
    whole = parse_unit_text(text, "a.c", AttributeNames(coroutine=("my_co",)))
    assert plain.ast is not custom.ast
    _same(custom, whole)
    _same(plain, plain_again)
