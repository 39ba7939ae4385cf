"""What every pass of the CPS translator shares.

``Unit`` describes the translation unit being translated: which functions
are coroutine functions, which natives need the continuation, the file-scope
type environment.  The helpers build and copy type nodes (declarations of
temporaries and frame fields), and ``reject`` turns anything the translator
cannot handle into a located ``SourceError`` with a ``cps-<reason>`` id.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

from pycparser import c_ast

from coroproj.errors import SourceError, SourceSpot
from coroproj.frontend.annotations import Kind, kinds_of
from coroproj.frontend.generator import GnuCGenerator
from coroproj.frontend.preprocess import read_source_line
from coroproj.frontend.typing import TypeEnv

CONT = "cpc__k"
"""Name of the continuation in every generated piece (users never write it)."""

RUNTIME_FUNCTION_TYPE = "cpc_function"


def reject(node: c_ast.Node | None, reason: str, message: str, fallback_file: str = "<input>") -> NoReturn:
    """Stop the translation with ``file:line: error: message [coroproj-cps-reason]``."""
    coord = getattr(node, "coord", None)
    file = getattr(coord, "file", None) or fallback_file
    line = getattr(coord, "line", None) or 1
    column = getattr(coord, "column", None) or 0
    raise SourceError(
        SourceSpot(file, line, column), message, f"cps-{reason}", source_line=read_source_line(file, line)
    )


@dataclass
class Unit:
    """The translation unit and the facts every pass asks about it."""

    ast: c_ast.FileAST
    source_name: str
    need_cont: frozenset[str]
    yield_name: str
    env: TypeEnv = field(default_factory=TypeEnv)
    coroutine_functions: set[str] = field(default_factory=set)
    """Names declared (anywhere in the unit) with a coroutine function type."""

    def is_coroutine_type(self, functype: c_ast.FuncDecl | None) -> bool:
        return functype is not None and Kind.COROUTINE in kinds_of(functype)

    def callee_type(self, call: c_ast.FuncCall, env: TypeEnv) -> c_ast.FuncDecl | None:
        return env.function_type(env.type_of(call.name))

    def is_need_cont_call(self, call: c_ast.FuncCall, env: TypeEnv) -> bool:
        if not isinstance(call.name, c_ast.ID) or call.name.name not in self.need_cont:
            return False
        symbol = env.lookup(call.name.name)
        return symbol is None or symbol.is_function

    def is_coroutine_call(self, node: c_ast.Node, env: TypeEnv) -> bool:
        """A call that must be split at: its callee has a coroutine function type."""
        if not isinstance(node, c_ast.FuncCall) or self.is_need_cont_call(node, env):
            return False
        return self.is_coroutine_type(self.callee_type(node, env))


# --- walking ---------------------------------------------------------------

UNEVALUATED_OPERATORS = ("sizeof", "_Alignof", "alignof", "__alignof__", "__alignof")


def children(node: c_ast.Node) -> list[c_ast.Node]:
    return [child for _, child in node.children()]


def walk(node: c_ast.Node | None, *, evaluated_only: bool = False) -> Iterator[c_ast.Node]:
    """Pre-order walk; with ``evaluated_only``, skips sizeof/typeof operands."""
    if node is None:
        return
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if evaluated_only and _unevaluated(current):
            continue
        stack.extend(reversed(children(current)))


def _unevaluated(node: c_ast.Node) -> bool:
    if isinstance(node, c_ast.UnaryOp) and node.op in UNEVALUATED_OPERATORS:
        return True
    return isinstance(node, (c_ast.Typename, c_ast.TypeOf, c_ast.TypeDecl, c_ast.PtrDecl, c_ast.ArrayDecl))


def set_child(parent: c_ast.Node, slot: str, value: Any) -> None:
    """Replace the child named ``slot`` (as ``children()`` names it: ``x`` or ``x[3]``)."""
    if "[" in slot:
        name, index = slot[:-1].split("[")
        getattr(parent, name)[int(index)] = value
    else:
        setattr(parent, slot, value)


# --- types -----------------------------------------------------------------


def innermost_typedecl(node: c_ast.Node) -> c_ast.TypeDecl | None:
    while node is not None and not isinstance(node, c_ast.TypeDecl):
        node = getattr(node, "type", None)
    return node


def declaration(
    name: str, type_node: c_ast.Node, coord: Any = None, *, strip_quals: bool = True
) -> c_ast.Decl:
    """A fresh ``T name;`` declaration for a copy of ``type_node``.

    Top-level qualifiers are dropped (hoisted variables are assigned, not
    initialised) unless ``strip_quals`` is false.
    """
    if isinstance(type_node, (c_ast.Typename, c_ast.Decl)):
        type_node = type_node.type
    fresh = copy.deepcopy(type_node)
    if isinstance(fresh, c_ast.FuncDecl):
        fresh = c_ast.PtrDecl([], fresh)  # a function value decays to a pointer
    if strip_quals:
        _strip_top_qualifiers(fresh)
    base = innermost_typedecl(fresh)
    if base is None:
        raise ValueError("type without a base")
    base.declname = name
    return c_ast.Decl(name, [], [], [], [], fresh, None, None, coord)


_DROPPED_QUALIFIERS = ("const", "volatile", "restrict")


def _strip_top_qualifiers(type_node: c_ast.Node) -> None:
    """Drop the variable's own const/volatile/restrict (not the pointee's):
    a hoisted variable is assigned where it was initialised."""
    if isinstance(type_node, (c_ast.TypeDecl, c_ast.PtrDecl)):
        type_node.quals = [q for q in type_node.quals if q not in _DROPPED_QUALIFIERS]
    elif isinstance(type_node, c_ast.ArrayDecl):
        _strip_top_qualifiers(type_node.type)


def type_text(type_node: c_ast.Node, name: str = "") -> str:
    """C text of ``type_node`` declaring ``name`` (abstract when empty)."""
    decl = declaration(name or "cpc__abstract", type_node, strip_quals=False)
    text = GnuCGenerator(annotations=False).visit(decl)
    if not name:
        text = text.replace("cpc__abstract", "").strip()
    return text


def is_void(type_node: c_ast.Node | None, env: TypeEnv) -> bool:
    resolved = env.resolve(type_node)
    return isinstance(resolved, c_ast.IdentifierType) and resolved.names == ["void"]


def is_array(type_node: c_ast.Node | None, env: TypeEnv) -> bool:
    return isinstance(env.resolve(type_node), c_ast.ArrayDecl)


def has_ellipsis(functype: c_ast.FuncDecl) -> bool:
    return functype.args is not None and any(isinstance(p, c_ast.EllipsisParam) for p in functype.args.params)


def parameter_types(functype: c_ast.FuncDecl, env: TypeEnv) -> list[c_ast.Node]:
    """Types of the parameters after adjustment (arrays and functions become pointers)."""
    result: list[c_ast.Node] = []
    if functype.args is None:
        return result
    for param in functype.args.params:
        if isinstance(param, c_ast.EllipsisParam):
            continue
        ptype = param.type
        if isinstance(param, c_ast.ID):  # K&R identifier list without declarations
            ptype = c_ast.TypeDecl(None, [], None, c_ast.IdentifierType(["int"]))
        lone = len(functype.args.params) == 1 and getattr(param, "name", None) is None
        if lone and is_void(ptype, env):
            return []  # f(void)
        if isinstance(ptype, c_ast.ArrayDecl):
            ptype = c_ast.PtrDecl([], copy.deepcopy(ptype.type))
        elif isinstance(ptype, c_ast.FuncDecl):
            ptype = c_ast.PtrDecl([], copy.deepcopy(ptype))
        result.append(ptype)
    return result


def build_file_env(ast: c_ast.FileAST) -> TypeEnv:
    """The file-scope type environment: every typedef and declaration of the unit."""
    env = TypeEnv()
    for ext in ast.ext:
        if isinstance(ext, c_ast.Typedef):
            env.declare_typedef(ext)
        elif isinstance(ext, c_ast.Decl):
            env.declare(ext)
        elif isinstance(ext, c_ast.FuncDef):
            env.declare(ext.decl)
    return env
