"""Pass 4, lambda-lift: the free variables of a piece become its parameters.

Only the variables *live* at a piece's entry (read on some path before being
written) travel in its frame — a backward liveness analysis over the
pieces, iterated to a fixpoint.  The entry piece keeps the function's own
parameters: that is the function's calling convention.
"""

from __future__ import annotations

from pycparser import c_ast

from coroproj.cps.common import walk
from coroproj.cps.ir import CoroutineCall, Piece, SplitFunction
from coroproj.cps.split import is_dispatch


def referenced(node: c_ast.Node | None, variables: set[str], *, evaluated_only: bool = True) -> set[str]:
    """Variables of the function read or written in ``node`` (field names excepted)."""
    found: set[str] = set()
    if node is None:
        return found
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, c_ast.ID):
            if current.name in variables:
                found.add(current.name)
            continue
        for slot, child in current.children():
            if isinstance(current, c_ast.StructRef) and slot == "field":
                continue
            if isinstance(current, c_ast.NamedInitializer) and slot.startswith("name"):
                continue
            if (
                evaluated_only
                and isinstance(current, c_ast.UnaryOp)
                and current.op in ("sizeof", "_Alignof", "alignof", "__alignof__")
            ):
                continue
            stack.append(child)
    return found


def _assigned(statement: c_ast.Node) -> str | None:
    """The variable a plain ``x = e`` statement overwrites entirely."""
    if (
        isinstance(statement, c_ast.Assignment)
        and statement.op == "="
        and isinstance(statement.lvalue, c_ast.ID)
    ):
        return statement.lvalue.name
    return None


def _must_define(statement: c_ast.Node, variables: set[str]) -> set[str]:
    """Variables certainly overwritten (before any read of them) by a native statement."""
    target = _assigned(statement)
    if target is not None and target in variables:
        if target not in referenced(statement.rvalue, variables):
            return {target}
        return set()
    if isinstance(statement, c_ast.If) and statement.iffalse is not None:
        both = _must_define(statement.iftrue, variables) & _must_define(statement.iffalse, variables)
        return both - referenced(statement.cond, variables)
    if isinstance(statement, c_ast.Compound):
        defined: set[str] = set()
        read: set[str] = set()
        for item in statement.block_items or ():
            defined |= _must_define(item, variables) - read
            read |= referenced(item, variables)
        return defined
    return set()


class Liveness:
    def __init__(self, split: SplitFunction) -> None:
        self.split = split
        self.variables = set(split.function.variables())
        self.live_in: dict[str, set[str]] = {piece.label: set() for piece in split.pieces}

    def solve(self) -> None:
        changed = True
        while changed:
            changed = False
            for piece in reversed(self.split.pieces):
                live = self._piece_live_in(piece)
                if live != self.live_in[piece.label]:
                    self.live_in[piece.label] = live
                    changed = True

    def _target(self, label: str) -> set[str]:
        return self.live_in.get(label, set())

    def _piece_live_in(self, piece: Piece) -> set[str]:
        live: set[str] = set()
        for statement in reversed(piece.body):
            live = self.transfer(statement, live)
        return live

    def transfer(self, statement: c_ast.Node, live_out: set[str]) -> set[str]:
        variables = self.variables
        if isinstance(statement, c_ast.Goto):
            return set(self._target(statement.name))
        if isinstance(statement, c_ast.Return):
            return referenced(statement.expr, variables)
        if isinstance(statement, CoroutineCall):
            result = {statement.result.name} if statement.result is not None else set()
            return (live_out - result) | referenced(statement.call, variables)
        if isinstance(statement, c_ast.If) and isinstance(statement.iftrue, c_ast.Goto):
            live = referenced(statement.cond, variables) | self._target(statement.iftrue.name)
            if isinstance(statement.iffalse, c_ast.Goto):
                return live | self._target(statement.iffalse.name)
            return live | live_out
        if isinstance(statement, c_ast.Switch) and is_dispatch(statement):
            live = referenced(statement.cond, variables)
            for node in walk(statement.stmt):
                if isinstance(node, c_ast.Goto):
                    live |= self._target(node.name)
            return live
        target = _assigned(statement)
        if target is not None:
            return (live_out - {target}) | referenced(statement.rvalue, variables)
        return (live_out - _must_define(statement, variables)) | referenced(statement, variables)


def lift(split: SplitFunction) -> SplitFunction:
    liveness = Liveness(split)
    liveness.solve()
    order = list(split.function.variables())
    for piece in split.pieces:
        if piece.index == 0:
            piece.params = [param.name for param in split.function.params]
            continue
        live = liveness.live_in[piece.label] - ({piece.receives} if piece.receives else set())
        piece.params = [name for name in order if name in live]
    return split
