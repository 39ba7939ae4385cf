"""The annotation model: a calling convention carried by function types.

After parsing, every annotation the programmer wrote is attached to the
``c_ast.FuncDecl`` node of the function type it belongs to, as a
``c_ast.Attribute`` in the ``coroproj`` namespace whose name is the
``Kind`` value (``coroutine``, ``blocking`` or ``mixed``).  Everything
downstream (checks, summaries, the CPS translator) asks ``kinds_of``; no
other module needs to know the attribute spellings.
"""

from __future__ import annotations

import enum
import re
import weakref
from dataclasses import dataclass, field

from pycparser import c_ast

NAMESPACE = "coroproj"


class Kind(enum.Enum):
    COROUTINE = "coroutine"
    BLOCKING = "blocking"
    MIXED = "mixed"


@dataclass(frozen=True)
class AttributeNames:
    """Which attribute names mean which annotation (configurable)."""

    coroutine: tuple[str, ...] = ("coroutine_fn", "cps")
    blocking: tuple[str, ...] = ("blocking_fn", "no_coroutine_fn")
    mixed: tuple[str, ...] = ("coroutine_mixed_fn",)
    _index: dict[str, Kind] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Kind] = {}
        for kind, names in (
            (Kind.COROUTINE, self.coroutine),
            (Kind.BLOCKING, self.blocking),
            (Kind.MIXED, self.mixed),
        ):
            for name in names:
                index[name] = kind
        object.__setattr__(self, "_index", index)

    @property
    def macro(self) -> dict[Kind, str]:
        """The spelling used when coroproj writes an annotation (fixes, messages)."""
        return {
            Kind.COROUTINE: self.coroutine[0],
            Kind.BLOCKING: self.blocking[0],
            Kind.MIXED: self.mixed[0],
        }

    def classify(self, name: str, arguments: str | None = None) -> Kind | None:
        """Kind of one GNU attribute, or None if it is not an annotation.

        Accepts ``coroutine_fn``, ``__coroutine_fn__`` and
        ``annotate("coroutine_fn")`` / ``__annotate__("coroutine_fn")``.
        """
        bare = _strip_underscores(name)
        if bare == "annotate" and arguments:
            match = _ANNOTATE_ARG.fullmatch(arguments.strip())
            if match:
                return self._index.get(match.group(1))
            return None
        return self._index.get(bare) or self._index.get(name)


_ANNOTATE_ARG = re.compile(r'\(?\s*"([^"\\]*)"\s*\)?')


def _strip_underscores(name: str) -> str:
    if len(name) > 4 and name.startswith("__") and name.endswith("__"):
        return name[2:-2]
    return name


def kinds_of(funcdecl: c_ast.FuncDecl) -> frozenset[Kind]:
    """The annotations carried by one function type."""
    return frozenset(
        Kind(attr.name)
        for spec in funcdecl.attributes or ()
        for attr in _attributes_in(spec)
        if attr.namespace == NAMESPACE
    )


def annotate(funcdecl: c_ast.FuncDecl, kind: Kind, coord: object = None) -> None:
    """Attach one annotation to a function type (idempotent)."""
    if kind in kinds_of(funcdecl):
        return
    attribute = c_ast.Attribute(kind.value, NAMESPACE, None, coord)
    funcdecl.attributes = [
        *(funcdecl.attributes or []),
        c_ast.AttributeSpecifier([attribute], coord),
    ]


def _attributes_in(node: c_ast.Node) -> list[c_ast.Attribute]:
    if isinstance(node, c_ast.Attribute):
        return [node]
    if isinstance(node, c_ast.AttributeSpecifier):
        return list(node.attributes)
    return []


# Annotations on a function type reached through a typedef name
# (``typedef void Fn(void); coroutine_fn Fn *p;``).  pycparser has no node
# for that fresh function type, so the annotation is kept against the
# ``TypeDecl`` that names the typedef; ``TypeEnv.resolve`` applies it when
# it expands the name.  Weak keys: the entry lives as long as its AST.
_REFERENCE_KINDS: weakref.WeakKeyDictionary[c_ast.Node, frozenset[Kind]] = weakref.WeakKeyDictionary()


def annotate_reference(typedecl: c_ast.Node, kind: Kind) -> None:
    """Annotate the function type a typedef-name reference expands to."""
    _REFERENCE_KINDS[typedecl] = _REFERENCE_KINDS.get(typedecl, frozenset()) | {kind}


def reference_kinds(node: c_ast.Node) -> frozenset[Kind]:
    """Annotations written on a typedef-name reference (see ``annotate_reference``)."""
    return _REFERENCE_KINDS.get(node, frozenset())
