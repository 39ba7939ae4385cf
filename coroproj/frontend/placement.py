"""Move every coroutine annotation to the function type it belongs to.

The parser leaves each annotation where it was written, marked pending.
An annotation is a calling convention of a *function type* (as GCC treats
``stdcall`` & co), so this pass applies GCC's rule to every declarator:

1. A declarator's derived-type chain runs from the declared name to the
   base type: ``int (*f)(void)`` is ``f: PtrDecl -> FuncDecl -> int``.
2. The annotation sits at one link: declaration specifiers (or before the
   declaration) = the base; after ``*`` = that pointer; at the start of a
   parenthesised declarator = the outermost derivation inside the
   parentheses; after a ``]``/``)`` suffix = that array/function; after the
   complete declarator (or right after the name) = the first link.
3. From that link search toward the name for the nearest ``FuncDecl``,
   including the link itself; if there is none, search toward the base.

When the chain has no ``FuncDecl`` but its base is a typedef naming a
function type (``typedef void Fn(void); coroutine_fn Fn *p;``) or a
``typeof`` (``coroutine_fn __typeof__(f) *p;``), GCC still applies the
convention, to a fresh function type; pycparser has no node for that type,
so the annotation is recorded in ``extra_annotations`` with the
declaration it applies to.  An annotation on anything else (a variable
of type ``int``, a struct, a statement) is recorded as misplaced.  Either
way it is removed from where it was written, so generated C never carries
a stray annotation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from pycparser import c_ast

from coroproj.errors import SourceSpot
from coroproj.frontend.annotations import Kind, annotate, annotate_reference
from coroproj.frontend.parser import PENDING, TRAILING

_DERIVED = (c_ast.PtrDecl, c_ast.ArrayDecl, c_ast.FuncDecl)
_DECLARATIONS = (c_ast.Decl, c_ast.Typedef, c_ast.Typename)


class MisplacedAnnotation(NamedTuple):
    """An annotation written on something that is not a function type."""

    spot: SourceSpot
    kind: Kind
    name: str  # the declared name, or "" when there is none


class ExtraAnnotation(NamedTuple):
    """An annotation on a function type reached only through a typedef.

    ``declaration`` is the Decl/Typedef/Typename whose base typedef names
    the annotated function type.
    """

    spot: SourceSpot
    kind: Kind
    declaration: c_ast.Node


@dataclass
class PlacementReport:
    extra_annotations: list[ExtraAnnotation] = field(default_factory=list)
    misplaced_annotations: list[MisplacedAnnotation] = field(default_factory=list)


def place_annotations(
    ast: c_ast.FileAST, annotated_externals: set[int] | None = None
) -> PlacementReport:
    """Attach the pending annotations of ``ast`` (modified in place).

    ``annotated_externals``: ids of the external declarations that contain
    annotations (as recorded by the parser); the others are only scanned
    for typedef names.  None walks everything.
    """
    placer = Placer()
    placer.place(ast.ext, annotated_externals)
    return placer.report


class Placer:
    """Places annotations external declaration by external declaration, in source order.

    The typedefs seen so far are its only state (an annotation on a
    typedef-named function type needs them), so a unit may be placed piece
    by piece; ``typedef_log``, when set, records each typedef it learns.
    """

    def __init__(self) -> None:
        self.report = PlacementReport()
        self.typedefs: dict[str, c_ast.Typedef] = {}
        self.typedef_log: list[tuple[str, c_ast.Typedef]] | None = None

    def place(self, externals: list[c_ast.Node], annotated: set[int] | None) -> None:
        for external in externals:
            if annotated is None or id(external) in annotated:
                self.run(external)
            elif isinstance(external, c_ast.Typedef):
                self.learn_typedef(external)

    def learn_typedef(self, typedef: c_ast.Typedef) -> None:
        self.typedefs[typedef.name] = typedef
        if self.typedef_log is not None:
            self.typedef_log.append((typedef.name, typedef))

    def names_function(self, name: str) -> bool:
        """Does the typedef name ``name`` (if it is one) involve a function type?"""
        if name not in self.typedefs:
            return False
        reference = c_ast.TypeDecl(None, [], None, c_ast.IdentifierType([name]))
        return self.names_function_type(reference)

    def run(self, root: c_ast.Node) -> None:
        # Iterative pre-order walk: deeply nested expressions must not hit
        # Python's recursion limit here.  Source order matters, so typedefs
        # are known before their uses.
        stack: list[c_ast.Node] = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, _DECLARATIONS):
                self.place_declaration(node)
                if isinstance(node, c_ast.Typedef):
                    self.learn_typedef(node)
            self.report_leftovers(node, _declared_name(node))
            stack.extend(reversed(list(node)))

    def place_declaration(self, declaration: c_ast.Node) -> None:
        chain: list[c_ast.Node] = []
        link = declaration.type
        while isinstance(link, _DERIVED):
            chain.append(link)
            link = link.type
        base = link
        name = _declared_name(declaration)

        found: list[tuple[int, c_ast.Attribute]] = []
        found += [(len(chain), a) for a in _take_pending(declaration)]
        for index, derived in enumerate(chain):
            found += [(index, a) for a in _take_pending(derived)]
        if isinstance(base, c_ast.TypeDecl):
            found += [(0, a) for a in _take_pending(base)]

        for position, attribute in found:
            if attribute.namespace == TRAILING:
                position = 0
            kind = Kind(attribute.name)
            spot = _spot(attribute.coord)
            target = _nearest_function(chain, position)
            if target is not None:
                annotate(target, kind, attribute.coord)
            elif self.names_function_type(base):
                self.report.extra_annotations.append(ExtraAnnotation(spot, kind, declaration))
                if isinstance(base, c_ast.TypeDecl):
                    annotate_reference(base, kind)
            else:
                self.report.misplaced_annotations.append(MisplacedAnnotation(spot, kind, name))

    def names_function_type(self, base: c_ast.Node) -> bool:
        """Is ``base`` a typedef name whose type involves a function type?

        A ``typeof`` base also counts: whether its operand is a function
        needs the types of expressions, which later stages have.
        """
        if isinstance(base, c_ast.TypeDecl) and isinstance(base.type, c_ast.TypeOf):
            return True
        seen: set[str] = set()
        while isinstance(base, c_ast.TypeDecl) and isinstance(base.type, c_ast.IdentifierType):
            names = base.type.names
            if len(names) != 1 or names[0] not in self.typedefs or names[0] in seen:
                return False
            seen.add(names[0])
            link = self.typedefs[names[0]].type
            while isinstance(link, _DERIVED):
                if isinstance(link, c_ast.FuncDecl):
                    return True
                link = link.type
            base = link
        return False

    def report_leftovers(self, node: c_ast.Node, name: str) -> None:
        for attribute in _take_pending(node):
            self.report.misplaced_annotations.append(
                MisplacedAnnotation(_spot(attribute.coord), Kind(attribute.name), name)
            )


def _nearest_function(chain: list[c_ast.Node], position: int) -> c_ast.FuncDecl | None:
    for index in range(min(position, len(chain) - 1), -1, -1):
        if isinstance(chain[index], c_ast.FuncDecl):
            return chain[index]
    for index in range(position + 1, len(chain)):
        if isinstance(chain[index], c_ast.FuncDecl):
            return chain[index]
    return None


def _take_pending(node: c_ast.Node) -> list[c_ast.Attribute]:
    """Remove and return the pending annotations in ``node.attributes``."""
    specs = getattr(node, "attributes", None)
    if not specs or not isinstance(specs, list):
        return []
    taken: list[c_ast.Attribute] = []
    kept_specs: list[c_ast.Node] = []
    for spec in specs:
        inner = getattr(spec, "attributes", None)
        if type(spec) is not c_ast.AttributeSpecifier or not inner:
            kept_specs.append(spec)
            continue
        kept = []
        for attribute in inner:
            if attribute.namespace in (PENDING, TRAILING):
                taken.append(attribute)
            else:
                kept.append(attribute)
        if kept:
            spec.attributes = kept
            kept_specs.append(spec)
    if taken:
        node.attributes = kept_specs
    return taken


def _declared_name(node: c_ast.Node) -> str:
    name = getattr(node, "name", None)
    return name if isinstance(name, str) else ""


def _spot(coord: object) -> SourceSpot:
    file = getattr(coord, "file", "") or ""
    line = getattr(coord, "line", 0) or 0
    column = getattr(coord, "column", 0) or 0
    return SourceSpot(file, line, column)
