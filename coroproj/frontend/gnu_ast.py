"""AST nodes for the GNU C constructs pycparser has no node for.

Every class is a ``c_ast.Node`` with ``children()``, ``__iter__`` and
``attr_names`` so pycparser's ``NodeVisitor`` walks into them; a visitor
that wants to treat them specially defines ``visit_<ClassName>``.

Constructs that fit an existing pycparser node exactly reuse it instead:
``__typeof__`` is ``TypeOf``, ``_Generic`` is ``GenericSelection``,
``__builtin_offsetof``/``__builtin_va_arg``/``__builtin_types_compatible_p``
and clang's ``__builtin_convertvector``/``__builtin_bit_cast`` are
``FuncCall``s whose argument list holds ``Typename`` nodes,
``__real__ x``/``__imag__ x``/``__alignof__ x`` are ``UnaryOp``s, and GNU
attributes are ``AttributeSpecifier``/``Attribute`` nodes in the ``gnu``
namespace.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from pycparser import c_ast

GNU_NAMESPACE = "gnu"


class GnuNode(c_ast.Node):
    """Base of the GNU nodes: children derived from two field lists.

    ``_child_fields`` hold one optional node each, ``_list_fields`` hold a
    list of nodes.  The generated pycparser classes spell this out per
    class; declaring it once keeps the new nodes short and uniform.
    """

    __slots__ = ()
    _child_fields: ClassVar[tuple[str, ...]] = ()
    _list_fields: ClassVar[tuple[str, ...]] = ()

    def children(self) -> tuple[tuple[str, c_ast.Node], ...]:
        nodelist: list[tuple[str, c_ast.Node]] = []
        for name in self._child_fields:
            child = getattr(self, name)
            if child is not None:
                nodelist.append((name, child))
        for name in self._list_fields:
            for i, child in enumerate(getattr(self, name) or ()):
                nodelist.append((f"{name}[{i}]", child))
        return tuple(nodelist)

    def __iter__(self) -> Iterator[c_ast.Node]:
        for _, child in self.children():
            yield child

    def __repr__(self) -> str:
        # pycparser's repr relies on the order of __slots__; name fields.
        fields = (*self.attr_names, *self._child_fields, *self._list_fields)
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in fields)
        return f"{type(self).__name__}({inner})"


class StmtExpr(GnuNode):
    """A statement expression ``({ ...; value; })``."""

    __slots__ = ("__weakref__", "compound", "coord")
    _child_fields = ("compound",)
    attr_names = ()

    def __init__(self, compound: c_ast.Compound, coord: Any = None) -> None:
        self.compound = compound
        self.coord = coord


class CaseRange(c_ast.Case):
    """``case low ... high:``.  A ``Case`` whose ``expr`` is the low bound,
    so code that only knows ``Case`` (and pycparser's switch fix-up) still
    treats it as a case label."""

    __slots__ = ("high",)
    attr_names = ()

    def __init__(
        self,
        low: c_ast.Node,
        high: c_ast.Node,
        stmts: list[c_ast.Node],
        coord: Any = None,
    ) -> None:
        super().__init__(low, stmts, coord)
        self.high = high

    @property
    def low(self) -> c_ast.Node:
        return self.expr

    def children(self) -> tuple[tuple[str, c_ast.Node], ...]:
        nodelist: list[tuple[str, c_ast.Node]] = [("expr", self.expr), ("high", self.high)]
        for i, child in enumerate(self.stmts or []):
            nodelist.append((f"stmts[{i}]", child))
        for i, child in enumerate(self.attributes or []):
            nodelist.append((f"attributes[{i}]", child))
        return tuple(nodelist)

    def __iter__(self) -> Iterator[c_ast.Node]:
        for _, child in self.children():
            yield child

    def __repr__(self) -> str:
        return f"CaseRange(low={self.expr!r}, high={self.high!r}, stmts={self.stmts!r})"


class OmittedConditional(GnuNode):
    """``cond ?: otherwise`` (a conditional with the middle operand
    omitted): ``cond`` if it is non-zero, evaluated once, else
    ``otherwise``."""

    __slots__ = ("__weakref__", "cond", "coord", "iffalse")
    _child_fields = ("cond", "iffalse")
    attr_names = ()

    def __init__(self, cond: c_ast.Node, iffalse: c_ast.Node, coord: Any = None) -> None:
        self.cond = cond
        self.iffalse = iffalse
        self.coord = coord


class RangeDesignator(GnuNode):
    """``[low ... high] = value`` in an initializer list."""

    __slots__ = ("__weakref__", "coord", "high", "low")
    _child_fields = ("low", "high")
    attr_names = ()

    def __init__(self, low: c_ast.Node, high: c_ast.Node, coord: Any = None) -> None:
        self.low = low
        self.high = high
        self.coord = coord


class AsmOperand(GnuNode):
    """One ``[name] "constraint" (expr)`` operand of an extended asm."""

    __slots__ = ("__weakref__", "constraint", "coord", "expr", "name")
    _child_fields = ("constraint", "expr")
    attr_names = ("name",)

    def __init__(
        self,
        name: str | None,
        constraint: c_ast.Constant,
        expr: c_ast.Node,
        coord: Any = None,
    ) -> None:
        self.name = name
        self.constraint = constraint
        self.expr = expr
        self.coord = coord


class Asm(GnuNode):
    """An ``asm`` statement or top-level ``asm`` declaration.

    ``qualifiers``: e.g. ``["volatile", "goto"]`` as spelled;
    ``template``: the string ``Constant``; ``outputs``/``inputs``:
    ``AsmOperand`` lists, ``clobbers``: string ``Constant`` list, ``labels``:
    ``ID`` list.  ``sections`` is how many ``:`` sections were written, so
    ``asm("" ::: "memory")`` is regenerated as written.
    """

    __slots__ = (
        "__weakref__",
        "clobbers",
        "coord",
        "inputs",
        "keyword",
        "labels",
        "outputs",
        "qualifiers",
        "sections",
        "template",
    )
    _child_fields = ("template",)
    _list_fields = ("outputs", "inputs", "clobbers", "labels")
    attr_names = ("keyword", "qualifiers", "sections")

    def __init__(
        self,
        keyword: str,
        qualifiers: list[str],
        template: c_ast.Constant,
        outputs: list[AsmOperand],
        inputs: list[AsmOperand],
        clobbers: list[c_ast.Constant],
        labels: list[c_ast.ID],
        sections: int,
        coord: Any = None,
    ) -> None:
        self.keyword = keyword
        self.qualifiers = qualifiers
        self.template = template
        self.outputs = outputs
        self.inputs = inputs
        self.clobbers = clobbers
        self.labels = labels
        self.sections = sections
        self.coord = coord


class AsmLabel(c_ast.AttributeSpecifier):
    """``__asm__("symbol")`` after a declarator (an assembler name).

    Kept among the declarator's attribute specifiers, where it was written,
    with no attributes of its own, so code iterating attributes ignores it.
    """

    __slots__ = ("keyword", "label")
    attr_names = ("keyword",)

    def __init__(self, keyword: str, label: c_ast.Constant, coord: Any = None) -> None:
        super().__init__([], coord)
        self.keyword = keyword
        self.label = label

    def children(self) -> tuple[tuple[str, c_ast.Node], ...]:
        return (("label", self.label),)

    def __iter__(self) -> Iterator[c_ast.Node]:
        yield self.label

    def __repr__(self) -> str:
        return f"AsmLabel(label={self.label!r})"


class ComputedGoto(GnuNode):
    """``goto *expr;``"""

    __slots__ = ("__weakref__", "coord", "expr")
    _child_fields = ("expr",)
    attr_names = ()

    def __init__(self, expr: c_ast.Node, coord: Any = None) -> None:
        self.expr = expr
        self.coord = coord


class LabelAddress(GnuNode):
    """``&&label`` (labels as values)."""

    __slots__ = ("__weakref__", "coord", "name")
    attr_names = ("name",)

    def __init__(self, name: str, coord: Any = None) -> None:
        self.name = name
        self.coord = coord


class LocalLabels(GnuNode):
    """``__label__ a, b;`` at the start of a block."""

    __slots__ = ("__weakref__", "coord", "names")
    attr_names = ("names",)

    def __init__(self, names: list[str], coord: Any = None) -> None:
        self.names = names
        self.coord = coord
