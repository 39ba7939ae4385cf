"""The forms a coroutine function takes between the passes.

``NormalFunction`` (after normalize, changed in place by box): variables
hoisted to function scope with unique names, and a flat list of statements,
each of which is

* ``Label(name, EmptyStatement)`` — a place a jump may reach;
* ``Goto`` — a jump;
* ``If(cond, Goto, Goto | None)`` and a dispatch ``Switch`` whose cases are
  only ``goto`` — conditional jumps (native conditions);
* ``CoroutineCall`` — ``[tmp =] f(args)`` with native arguments, the only
  place a coroutine function is called; ``tmp`` has the callee's exact
  return type;
* ``Return(expr | None)`` with a native expression;
* any other statement: native code without jumps out of it.

``SplitFunction`` (after split, then lift): the pieces of one function.
The generator here prints all of them as readable C for ``--stage``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pycparser import c_ast

from coroproj.frontend import gnu_ast
from coroproj.frontend.generator import GnuCGenerator


class CoroutineCall(gnu_ast.GnuNode):
    """``result = call`` or ``call``: a call of a coroutine function (or pointer).

    ``functype`` is the callee's ``FuncDecl`` (gives the argument struct and
    the result type); ``result`` is an ``ID`` or None.
    """

    __slots__ = ("__weakref__", "call", "coord", "functype", "result")
    _child_fields = ("result", "call")
    attr_names = ()

    def __init__(
        self, result: c_ast.ID | None, call: c_ast.FuncCall, functype: c_ast.FuncDecl, coord: Any = None
    ) -> None:
        self.result = result
        self.call = call
        self.functype = functype
        self.coord = coord


@dataclass
class NormalFunction:
    """A coroutine function after normalize (and box)."""

    definition: c_ast.FuncDef
    name: str
    functype: c_ast.FuncDecl
    return_type: c_ast.Node
    returns_value: bool
    params: list[c_ast.Decl]
    locals: list[c_ast.Decl]
    body: list[c_ast.Node]
    file_scope: list[c_ast.Node] = field(default_factory=list)
    """Declarations moved out of the function (its static locals)."""
    boxed: dict[str, str] = field(default_factory=dict)
    """Boxed variable -> name of the pointer to its heap cell."""

    def variables(self) -> dict[str, c_ast.Decl]:
        return {decl.name: decl for decl in (*self.params, *self.locals)}


@dataclass
class Piece:
    """One piece: entered at ``label``; its last statement is a jump, a
    coroutine call followed by a jump to its receiver, or a return."""

    name: str
    label: str
    body: list[c_ast.Node]
    receives: str | None = None
    """The variable the result of the preceding coroutine call lands in."""
    params: list[str] = field(default_factory=list)
    """Variables live at entry, in declaration order (set by lift)."""
    index: int = 0


@dataclass
class SplitFunction:
    function: NormalFunction
    pieces: list[Piece]
    entries: set[str] = field(default_factory=set)
    """Labels that start pieces; any other label is a plain C label inside one."""
    code: Any = None
    """The ``split.FlatCode`` the pieces were cut from (for liveness)."""

    def piece(self, label: str) -> Piece:
        for candidate in self.pieces:
            if candidate.label == label:
                return candidate
        raise KeyError(label)


class CpsGenerator(GnuCGenerator):
    """Prints the intermediate forms (coroutine calls marked as such)."""

    def __init__(self) -> None:
        super().__init__(annotations=False)

    def visit_CoroutineCall(self, n: CoroutineCall) -> str:
        call = self.visit(n.call)
        if n.result is None:
            return f"/* coroutine call */ {call}"
        return f"/* coroutine call */ {self.visit(n.result)} = {call}"

    def _generate_stmt(self, n: c_ast.Node, add_indent: bool = False) -> str:
        if isinstance(n, CoroutineCall):
            indent = " " * (self.indent_level + (2 if add_indent else 0))
            return indent + self.visit(n) + ";\n"
        return super()._generate_stmt(n, add_indent)


def show_normal(function: NormalFunction) -> str:
    """A normalized (or boxed) function as C-like text."""
    generator = CpsGenerator()
    header = generator.visit(function.definition.decl)
    lines = [*[generator.visit(d) + ";" for d in function.file_scope], header, "{"]
    lines += ["  " + generator.visit(decl) + ";" for decl in function.locals]
    for statement in function.body:
        lines.append(generator._generate_stmt(statement, add_indent=True).rstrip("\n"))
    lines.append("}")
    return "\n".join(lines) + "\n"


def show_split(split: SplitFunction) -> str:
    generator = CpsGenerator()
    out = [f"/* {split.function.name}: {len(split.pieces)} pieces */"]
    for piece in split.pieces:
        params = ", ".join(piece.params)
        receives = f" receives {piece.receives}" if piece.receives else ""
        out.append(f"piece {piece.name}({params}){receives}  /* entry label {piece.label} */")
        out.append("{")
        for statement in piece.body:
            out.append(generator._generate_stmt(statement, add_indent=True).rstrip("\n"))
        out.append("}")
    return "\n".join(out) + "\n"
