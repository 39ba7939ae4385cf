"""Pass 4, lambda-lift: the free variables of a piece become its parameters.

Only the variables *live* at a piece's entry (read on some path before being
written) travel in its frame: a backward liveness analysis over the
statements of the function, iterated to a fixpoint.  The entry piece keeps
the function's own parameters: that is the function's calling convention.
"""

from __future__ import annotations

from pycparser import c_ast

from coroproj.cps.ir import CoroutineCall, SplitFunction


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


def live_variables(split: SplitFunction) -> list[set[str]]:
    """Live-in set of every statement of the flat code."""
    code = split.code
    variables = set(split.function.variables())
    statements = code.statements
    successors = [code.successors(i) for i in range(len(statements))]
    predecessors: list[list[int]] = [[] for _ in statements]
    for index, targets in enumerate(successors):
        for target in targets:
            predecessors[target].append(index)
    uses: list[set[str]] = []
    kills: list[set[str]] = []
    for statement in statements:
        if isinstance(statement, CoroutineCall):
            uses.append(referenced(statement.call, variables))
            kills.append({statement.result.name} if statement.result is not None else set())
        elif isinstance(statement, (c_ast.Label, c_ast.Goto)):
            uses.append(set())
            kills.append(set())
        elif _is_conditional_jump(statement):
            uses.append(referenced(statement.cond, variables))
            kills.append(set())
        elif isinstance(statement, c_ast.Return):
            uses.append(referenced(statement.expr, variables))
            kills.append(set())
        elif (target := _assigned(statement)) is not None:
            uses.append(referenced(statement.rvalue, variables))
            kills.append({target})
        else:
            uses.append(referenced(statement, variables))
            kills.append(_must_define(statement, variables))
    live: list[set[str]] = [set() for _ in statements]
    work = list(range(len(statements)))
    queued = set(work)
    while work:
        index = work.pop()
        queued.discard(index)
        out: set[str] = set()
        for successor in successors[index]:
            out |= live[successor]
        new = (out - kills[index]) | uses[index]
        if new != live[index]:
            live[index] = new
            for predecessor in predecessors[index]:
                if predecessor not in queued:
                    queued.add(predecessor)
                    work.append(predecessor)
    return live


def _is_conditional_jump(statement: c_ast.Node) -> bool:
    from coroproj.cps.split import is_dispatch

    if isinstance(statement, c_ast.If):
        return isinstance(statement.iftrue, c_ast.Goto)
    return isinstance(statement, c_ast.Switch) and is_dispatch(statement)


def lift(split: SplitFunction) -> SplitFunction:
    live = live_variables(split)
    order = list(split.function.variables())
    for piece in split.pieces:
        if piece.index == 0:
            piece.params = [param.name for param in split.function.params]
            continue
        entry_live = live[split.code.label_index[piece.label]]
        entry_live = entry_live - ({piece.receives} if piece.receives else set())
        piece.params = [name for name in order if name in entry_live]
    return split
