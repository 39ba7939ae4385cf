"""Pass 3, split: the flat statement list becomes pieces.

A piece must start after every coroutine call (the call's *receiver*, which
gets the result) and at the function entry.  A label becomes a piece of its
own only when control reaches it from more than one piece without crossing
a call (a loop head whose body calls a coroutine, a join after an ``if``
whose branches call one); every other label stays a plain C label inside
the one piece that reaches it, so loops without coroutine calls stay native
loops.  Each piece ends in a jump to a piece, a coroutine call followed by
the jump to its receiver, or a ``return``.  Unreachable code is dropped.
"""

from __future__ import annotations

from pycparser import c_ast

from coroproj.cps.common import walk
from coroproj.cps.ir import CoroutineCall, NormalFunction, Piece, SplitFunction

ENTRY_LABEL = "cpc__entry"


def jump_targets(statement: c_ast.Node) -> list[str]:
    return [node.name for node in walk(statement) if isinstance(node, c_ast.Goto)]


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


def falls_through(statement: c_ast.Node) -> bool:
    if isinstance(statement, (c_ast.Goto, c_ast.Return)):
        return False
    if isinstance(statement, c_ast.If) and isinstance(statement.iftrue, c_ast.Goto):
        return not isinstance(statement.iffalse, c_ast.Goto)
    return not (isinstance(statement, c_ast.Switch) and is_dispatch(statement))


class FlatCode:
    """The statement list with receiver labels made explicit, and its control flow."""

    def __init__(self, function: NormalFunction) -> None:
        self.statements: list[c_ast.Node] = [c_ast.Label(ENTRY_LABEL, c_ast.EmptyStatement())]
        self.receives: dict[str, str | None] = {}
        receivers = 0
        for statement in function.body:
            self.statements.append(statement)
            if isinstance(statement, CoroutineCall):
                receivers += 1
                label = f"cpc__R{receivers}"
                self.statements.append(c_ast.Label(label, c_ast.EmptyStatement(), statement.coord))
                self.receives[label] = statement.result.name if statement.result is not None else None
        self.label_index = {s.name: i for i, s in enumerate(self.statements) if isinstance(s, c_ast.Label)}

        self._successors = [self._compute_successors(i) for i in range(len(self.statements))]

    def successors(self, index: int) -> list[int]:
        return self._successors[index]

    def _compute_successors(self, index: int) -> list[int]:
        statement = self.statements[index]
        jumps = isinstance(statement, (c_ast.Goto, c_ast.If, c_ast.Switch))
        targets = (
            [self.label_index[name] for name in jump_targets(statement) if name in self.label_index]
            if jumps
            else []
        )
        if isinstance(statement, (c_ast.Label, CoroutineCall)):
            return [index + 1]
        if falls_through(statement) and index + 1 < len(self.statements):
            if isinstance(statement, (c_ast.If, c_ast.Switch)) and not (
                isinstance(statement, c_ast.If) and isinstance(statement.iftrue, c_ast.Goto)
            ):
                return [index + 1]  # a native statement: any gotos inside are its own
            return [*targets, index + 1]
        return targets


def _entries(code: FlatCode) -> set[int]:
    """Indices of the labels that start pieces."""
    entries = {0} | {code.label_index[label] for label in code.receives}
    while True:
        reached_from: dict[int, set[int]] = {}
        for entry in entries:
            seen = {entry}
            work = [entry]
            while work:
                index = work.pop()
                if isinstance(code.statements[index], CoroutineCall):
                    continue  # the receiver is an entry of its own
                for successor in code.successors(index):
                    if successor in entries:
                        reached_from.setdefault(successor, set()).add(entry)
                        continue
                    if successor not in seen:
                        seen.add(successor)
                        if isinstance(code.statements[successor], c_ast.Label):
                            reached_from.setdefault(successor, set()).add(entry)
                        work.append(successor)
        shared = [
            index for index, sources in reached_from.items() if index not in entries and len(sources) > 1
        ]
        if not shared:
            return entries
        # One at a time: a label reached only through the new entry stays
        # inside it.  With many joins (a big switch) take them all at once:
        # a few more pieces, but no quadratic number of rounds.
        if len(shared) > 16:
            entries |= set(shared)
        else:
            entries.add(min(shared))


def split(function: NormalFunction) -> SplitFunction:
    code = FlatCode(function)
    entries = _entries(code)
    owner: dict[int, int] = {}
    for entry in sorted(entries):
        work = [entry]
        owner[entry] = entry
        while work:
            index = work.pop()
            if isinstance(code.statements[index], CoroutineCall):
                continue
            for successor in code.successors(index):
                if successor not in entries and successor not in owner:
                    owner[successor] = entry
                    work.append(successor)
    reachable_entries = _reachable_entries(code, entries, owner)
    pieces: dict[int, Piece] = {}
    for entry in sorted(reachable_entries):
        label = code.statements[entry].name
        pieces[entry] = Piece("", label, [], receives=code.receives.get(label))
    targeted = {target for s in code.statements for target in jump_targets(s)}
    for index, statement in enumerate(code.statements):
        region = owner.get(index)
        if region not in pieces:
            continue
        piece = pieces[region]
        if index not in entries and not (
            isinstance(statement, c_ast.Label) and statement.name not in targeted
        ):
            piece.body.append(statement)
        if isinstance(statement, CoroutineCall):
            receiver = code.statements[index + 1]
            piece.body.append(c_ast.Goto(receiver.name, statement.coord))
            continue
        following = index + 1
        if falls_through(statement) and following < len(code.statements) and following in entries:
            piece.body.append(c_ast.Goto(code.statements[following].name, statement.coord))
    ordered = [pieces[entry] for entry in sorted(pieces)]
    for index, piece in enumerate(ordered):
        piece.index = index
        piece.name = function.name if index == 0 else f"{function.name}__p{index}"
        if not piece.body or falls_through(piece.body[-1]):
            piece.body.append(c_ast.Return(None))
    return SplitFunction(function, ordered, {code.statements[e].name for e in entries}, code)


def _reachable_entries(code: FlatCode, entries: set[int], owner: dict[int, int]) -> set[int]:
    by_region: dict[int, list[int]] = {}
    for index, region in owner.items():
        by_region.setdefault(region, []).append(index)
    seen = {0}
    work = [0]
    while work:
        region = work.pop()
        for index in by_region.get(region, []):
            if isinstance(code.statements[index], CoroutineCall):
                successors = [index + 1]
            else:
                successors = code.successors(index)
            for successor in successors:
                if successor in entries and successor not in seen:
                    seen.add(successor)
                    work.append(successor)
    return seen
