"""Pass 3, split: the flat statement list becomes pieces.

A new piece starts at every label some jump reaches and after every
coroutine call (the call's *receiver*, which gets the result).  Each piece
ends in a jump, a coroutine call followed by the jump to its receiver, or a
``return``.  Code after an unconditional jump and before the next reached
label is dead and dropped; a piece that would only jump elsewhere is
bypassed, and pieces no jump reaches are removed.
"""

from __future__ import annotations

from pycparser import c_ast

from coroproj.cps.common import walk
from coroproj.cps.ir import CoroutineCall, NormalFunction, Piece, SplitFunction

ENTRY_LABEL = "cpc__entry"


def jump_targets(statement: c_ast.Node) -> list[str]:
    return [node.name for node in walk(statement) if isinstance(node, c_ast.Goto)]


def ends_piece(statement: c_ast.Node) -> bool:
    """True for statements after which control never falls through."""
    if isinstance(statement, (c_ast.Goto, c_ast.Return)):
        return True
    if isinstance(statement, c_ast.If):
        return isinstance(statement.iftrue, c_ast.Goto) and isinstance(statement.iffalse, c_ast.Goto)
    if isinstance(statement, c_ast.Switch):  # a dispatch switch always has a default
        return is_dispatch(statement)
    return False


def is_dispatch(switch: c_ast.Switch) -> bool:
    """A switch made by normalize: every case only jumps."""
    body = switch.stmt
    return (
        isinstance(body, c_ast.Compound)
        and bool(body.block_items)
        and all(
            isinstance(case, (c_ast.Case, c_ast.Default))
            and len(case.stmts or []) == 1
            and isinstance(case.stmts[0], c_ast.Goto)
            for case in body.block_items
        )
    )


def split(function: NormalFunction) -> SplitFunction:
    targets = {target for statement in function.body for target in jump_targets(statement)}
    pieces = [Piece(function.name, ENTRY_LABEL, [])]
    current = pieces[0]
    terminated = False
    receivers = 0
    for statement in function.body:
        if isinstance(statement, c_ast.Label):
            if statement.name not in targets:
                continue
            if not terminated:
                current.body.append(c_ast.Goto(statement.name, statement.coord))
            current = Piece("", statement.name, [])
            pieces.append(current)
            terminated = False
            continue
        if terminated:
            continue  # dead code
        current.body.append(statement)
        if isinstance(statement, CoroutineCall):
            receivers += 1
            label = f"cpc__R{receivers}"
            current.body.append(c_ast.Goto(label, statement.coord))
            result = statement.result.name if statement.result is not None else None
            current = Piece("", label, [], receives=result)
            pieces.append(current)
        elif ends_piece(statement):
            terminated = True
    if not terminated:
        current.body.append(c_ast.Return(None))
    pieces = _bypass_jump_only_pieces(pieces)
    pieces = _reachable(pieces)
    for index, piece in enumerate(pieces):
        piece.index = index
        if index:
            piece.name = f"{function.name}__p{index}"
    return SplitFunction(function, pieces)


def _bypass_jump_only_pieces(pieces: list[Piece]) -> list[Piece]:
    forward: dict[str, str] = {}
    for piece in pieces[1:]:
        if piece.receives is None and len(piece.body) == 1 and isinstance(piece.body[0], c_ast.Goto):
            forward[piece.label] = piece.body[0].name

    def final(label: str) -> str:
        seen = set()
        while label in forward and label not in seen:
            seen.add(label)
            label = forward[label]
        return label

    for piece in pieces:
        for statement in piece.body:
            for node in walk(statement):
                if isinstance(node, c_ast.Goto):
                    node.name = final(node.name)
    return pieces


def _reachable(pieces: list[Piece]) -> list[Piece]:
    by_label = {piece.label: piece for piece in pieces}
    seen = {pieces[0].label}
    work = [pieces[0]]
    while work:
        piece = work.pop()
        for statement in piece.body:
            for target in jump_targets(statement):
                if target not in seen and target in by_label:
                    seen.add(target)
                    work.append(by_label[target])
    return [piece for piece in pieces if piece.label in seen]
