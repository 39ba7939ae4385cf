"""Pass 2, box: variables whose address is taken live in heap cells.

A continuation piece copies its variables in and out of frames, so a
pointer to a local would point into a dead copy.  Every hoisted local or
parameter whose address is taken *anywhere* in the function (``&x``,
``&x.f``, ``&x[i]``, an array member decaying to a pointer) and every local
array therefore moves to a cell allocated on entry: ``x`` becomes
``(*x__box)`` everywhere, the cell pointer travels between pieces instead,
and the cell is freed before every ``return``.
"""

from __future__ import annotations

import copy

from pycparser import c_ast

from coroproj.cps.common import Unit, declaration, is_array, set_child, walk
from coroproj.cps.ir import NormalFunction

MALLOC = "__builtin_malloc"
FREE = "__builtin_free"
RETURN_VALUE = "cpc__ret"


def boxed_variables(function: NormalFunction, unit: Unit) -> list[str]:
    """Names (params and hoisted locals) that need a heap cell, in declaration order."""
    variables = function.variables()
    needed: set[str] = set()
    for decl in variables.values():
        if is_array(decl.type, unit.env):
            needed.add(decl.name)
    for statement in function.body:
        for node in walk(statement, evaluated_only=True):
            if isinstance(node, c_ast.UnaryOp) and node.op == "&":
                root = _root_variable(node.expr)
                if root in variables:
                    needed.add(root)
            elif isinstance(node, c_ast.StructRef) and node.type == "." and _member_is_array(node, unit):
                root = _root_variable(node)
                if root in variables:
                    needed.add(root)
    return [name for name in variables if name in needed]


def _member_is_array(node: c_ast.StructRef, unit: Unit) -> bool:
    try:
        return is_array(unit.env.type_of(node), unit.env)
    except (AttributeError, TypeError):
        return False


def _root_variable(expr: c_ast.Node) -> str | None:
    while True:
        if (isinstance(expr, c_ast.StructRef) and expr.type == ".") or isinstance(expr, c_ast.ArrayRef):
            expr = expr.name
        elif isinstance(expr, c_ast.Cast):
            expr = expr.expr
        else:
            break
    return expr.name if isinstance(expr, c_ast.ID) else None


def box(function: NormalFunction, unit: Unit) -> NormalFunction:
    names = boxed_variables(function, unit)
    if not names:
        return function
    variables = function.variables()
    unit.env.push()
    try:
        for decl in (*function.params, *function.locals):
            unit.env.declare(decl)
        cells: dict[str, str] = {}
        prologue: list[c_ast.Node] = []
        taken = set(variables)
        for name in names:
            cell = f"{name}__box"
            while cell in taken:
                cell += "_"
            taken.add(cell)
            cells[name] = cell
            decl = variables[name]
            cell_decl = declaration(cell, c_ast.PtrDecl([], copy.deepcopy(decl.type)), decl.coord)
            function.locals.append(cell_decl)
            coord = decl.coord
            prologue.append(
                c_ast.Assignment(
                    "=",
                    c_ast.ID(cell, coord),
                    c_ast.FuncCall(
                        c_ast.ID(MALLOC, coord),
                        c_ast.ExprList([c_ast.UnaryOp("sizeof", c_ast.UnaryOp("*", c_ast.ID(cell, coord)))]),
                        coord,
                    ),
                    coord,
                )
            )
            if any(p.name == name for p in function.params):
                prologue.append(
                    c_ast.Assignment(
                        "=", c_ast.UnaryOp("*", c_ast.ID(cell, coord)), c_ast.ID(name, coord), coord
                    )
                )
        function.locals = [d for d in function.locals if d.name not in cells or d in function.params]
        body = [_replace_uses(statement, cells) for statement in function.body]
        function.body = [*prologue, *_free_before_returns(body, cells, function)]
        function.boxed = cells
    finally:
        unit.env.pop()
    return function


def _replace_uses(node: c_ast.Node, cells: dict[str, str]) -> c_ast.Node:
    """``x`` -> ``(*x__box)`` everywhere in ``node`` (fields and labels excepted)."""
    if isinstance(node, c_ast.ID) and node.name in cells:
        return c_ast.UnaryOp("*", c_ast.ID(cells[node.name], node.coord), node.coord)
    for slot, child in node.children():
        if isinstance(node, c_ast.StructRef) and slot == "field":
            continue
        if isinstance(node, c_ast.NamedInitializer) and slot.startswith("name"):
            continue
        replaced = _replace_uses(child, cells)
        if replaced is not child:
            set_child(node, slot, replaced)
    return node


def _free_before_returns(
    body: list[c_ast.Node], cells: dict[str, str], function: NormalFunction
) -> list[c_ast.Node]:
    out: list[c_ast.Node] = []
    result_declared = False
    for statement in body:
        if not isinstance(statement, c_ast.Return):
            out.append(statement)
            continue
        coord = statement.coord
        value = statement.expr
        if value is not None and not isinstance(value, c_ast.Constant):
            if not result_declared:
                function.locals.append(declaration(RETURN_VALUE, function.return_type, coord))
                result_declared = True
            out.append(c_ast.Assignment("=", c_ast.ID(RETURN_VALUE, coord), value, coord))
            value = c_ast.ID(RETURN_VALUE, coord)
        for cell in cells.values():
            out.append(c_ast.FuncCall(c_ast.ID(FREE, coord), c_ast.ExprList([c_ast.ID(cell, coord)]), coord))
        out.append(c_ast.Return(value, coord))
    return out
