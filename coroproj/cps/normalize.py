"""Pass 1, normalize: a coroutine function becomes a flat list of simple statements.

* Every local gets a name unique in the function (renaming block-scoped
  variables apart) and every declaration outside untouched native blocks is
  hoisted to function scope; initialisers become assignments where they
  were written.  ``static`` locals move to file scope.
* Every coroutine call is hoisted out of its expression into its own
  ``CoroutineCall`` statement whose temporary has exactly the callee's
  return type (conversions to the destination happen in a later, separate
  assignment).  Calls are hoisted in evaluation order; ``&&``, ``||``,
  ``?:`` and ``,`` keep their sequencing and short-circuiting by becoming
  conditional jumps.
* Loops, ``switch`` (fall-through, ``default``, case ranges), ``break`` and
  ``continue`` become labels, ``if`` + ``goto`` and a native dispatch
  ``switch`` whose cases only jump; the list ends with a ``return``.

A statement containing no coroutine call and no jump out of itself stays as
written (a native loop stays a loop): only its variables are renamed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pycparser import c_ast

from coroproj.cps.common import (
    CONT,
    Unit,
    declaration,
    innermost_typedecl,
    is_array,
    is_void,
    reject,
    walk,
)
from coroproj.cps.ir import CoroutineCall, NormalFunction
from coroproj.frontend import gnu_ast
from coroproj.frontend.typing import TypeEnv

_INT = c_ast.TypeDecl(None, [], None, c_ast.IdentifierType(["int"]))

_RANK = [
    ["_Bool"],
    ["char"],
    ["signed", "char"],
    ["unsigned", "char"],
    ["short"],
    ["unsigned", "short"],
    ["int"],
    ["unsigned", "int"],
    ["unsigned"],
    ["long"],
    ["unsigned", "long"],
    ["long", "long"],
    ["unsigned", "long", "long"],
    ["float"],
    ["double"],
    ["long", "double"],
]


@dataclass
class _SwitchCases:
    cases: list[tuple[c_ast.Node, str]] = field(default_factory=list)
    has_default: bool = False


@dataclass
class _Jumps:
    """Where ``break`` and ``continue`` go in the statement being lowered."""

    break_label: str | None = None
    continue_label: str | None = None
    switch: _SwitchCases | None = None


class Normalizer:
    def __init__(self, unit: Unit, definition: c_ast.FuncDef) -> None:
        self.unit = unit
        self.definition = definition
        self.name = definition.decl.name
        self.functype: c_ast.FuncDecl = definition.decl.type
        self.env: TypeEnv = unit.env
        self.taken: set[str] = {CONT}
        self.locals: list[c_ast.Decl] = []
        self.local_names: set[str] = set()
        self.file_scope: list[c_ast.Node] = []
        self.moved_aggregates: dict[int, str] = {}  # id of a local struct/union definition -> its tag
        self.counter = 0
        self.jumps = _Jumps()
        self._native_cache: dict[tuple[int, bool, bool], bool] = {}

    # -- entry point --------------------------------------------------------
    def run(self) -> NormalFunction:
        self.env.push()
        try:
            params = self._parameters()
            body = self.definition.body  # taken apart in place: the unit is translated once
            self._rename(body, [{p.name: p.name for p in params}])
            out: list[c_ast.Node] = []
            self._lower_statement(body, out)
            out.append(c_ast.Return(None, self._end_coord()))
        finally:
            self.env.pop()
        return_type = self.functype.type
        return NormalFunction(
            definition=self.definition,
            name=self.name,
            functype=self.functype,
            return_type=return_type,
            returns_value=not is_void(return_type, self.env),
            params=params,
            locals=self.locals,
            body=out,
            file_scope=self.file_scope,
        )

    def _end_coord(self) -> object:
        items = self.definition.body.block_items or []
        return items[-1].coord if items else self.definition.body.coord

    def _parameters(self) -> list[c_ast.Decl]:
        if self.definition.param_decls:
            reject(
                self.definition,
                "unsupported",
                f"old-style (K&R) definition of coroutine function '{self.name}'; write a prototype",
            )
        params: list[c_ast.Decl] = []
        args = self.functype.args
        for param in args.params if args is not None else ():
            if isinstance(param, c_ast.Decl) and param.name:
                decl = copy.deepcopy(param)
                if isinstance(decl.type, c_ast.ArrayDecl):  # adjusted to a pointer
                    decl = declaration(decl.name, c_ast.PtrDecl([], decl.type.type), decl.coord)
                elif isinstance(decl.type, c_ast.FuncDecl):
                    decl = declaration(decl.name, decl.type, decl.coord)
                params.append(decl)
                self.taken.add(decl.name)
                self.local_names.add(decl.name)
                self.env.declare(decl)
            elif isinstance(param, c_ast.Typename) and not is_void(param.type, self.env):
                reject(param, "unsupported", "unnamed parameter in a coroutine function definition")
        return params

    # -- renaming -----------------------------------------------------------
    def _fresh(self, base: str) -> str:
        name = base
        n = 0
        while name in self.taken or self._is_file_scope_name(name):
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name

    def _is_file_scope_name(self, name: str) -> bool:
        return self.env.lookup(name) is not None or self.env.lookup_typedef(name) is not None

    def _temporary(self, type_node: c_ast.Node, coord: object, base: str = "cpc__t") -> c_ast.ID:
        self.counter += 1
        name = self._fresh(f"{base}{self.counter}")
        decl = declaration(name, type_node, coord)
        self.locals.append(decl)
        self.local_names.add(name)
        self.env.declare(decl)
        return c_ast.ID(name, coord)

    def _label(self) -> str:
        self.counter += 1
        return f"cpc__L{self.counter}"

    def _rename(self, node: c_ast.Node | None, scopes: list[dict[str, str]]) -> None:
        """Give every local a function-unique name, in place (scope-aware)."""
        if node is None:
            return
        if isinstance(node, (c_ast.Compound, c_ast.For)):
            scopes.append({})
            for _, child in node.children():
                self._rename(child, scopes)
            scopes.pop()
        elif isinstance(node, c_ast.Decl):
            self._rename_type(node.type, scopes)
            self._declare_local(node, scopes)
            self._rename(node.init, scopes)
        elif isinstance(node, c_ast.Typedef):
            self._rename_type(node.type, scopes)
            self.env.declare_typedef(node)
        elif isinstance(node, c_ast.ID):
            for scope in reversed(scopes):
                if node.name in scope:
                    node.name = scope[node.name]
                    break
        elif isinstance(node, c_ast.StructRef):
            self._rename(node.name, scopes)
        elif isinstance(node, c_ast.NamedInitializer):
            self._rename(node.expr, scopes)
        elif isinstance(node, c_ast.Typename):
            self._rename_type(node.type, scopes)
        elif isinstance(node, (c_ast.TypeDecl, c_ast.PtrDecl, c_ast.ArrayDecl, c_ast.FuncDecl)):
            self._rename_type(node, scopes)
        else:
            for _, child in node.children():
                self._rename(child, scopes)

    def _rename_type(self, node: c_ast.Node | None, scopes: list[dict[str, str]]) -> None:
        while node is not None:
            if isinstance(node, c_ast.ArrayDecl):
                self._rename(node.dim, scopes)
            if isinstance(node, c_ast.TypeOf):
                self._rename(node.expr, scopes)
                return
            # (prototype-scope parameter names inside a FuncDecl are not locals)
            node = getattr(node, "type", None)
            if not isinstance(node, c_ast.Node):
                return

    def _declare_local(self, decl: c_ast.Decl, scopes: list[dict[str, str]]) -> None:
        if not decl.name:
            return
        storage = decl.storage or []
        if "extern" in storage or isinstance(decl.type, c_ast.FuncDecl):
            scopes[-1][decl.name] = decl.name
            return
        if "static" in storage:
            new = self._fresh(f"{self.name}__{decl.name}")
        else:
            new = self._fresh(decl.name)
            self.local_names.add(new)
        scopes[-1][decl.name] = new
        decl.name = new
        base = innermost_typedecl(decl.type)
        if base is not None:
            base.declname = new
        self.env.declare(decl)

    # -- classification -----------------------------------------------------
    def _has_coroutine_call(self, node: c_ast.Node | None) -> bool:
        return any(self.unit.is_coroutine_call(n, self.env) for n in walk(node, evaluated_only=True))

    def _is_native(self, node: c_ast.Node | None, in_loop: bool = False, in_switch: bool = False) -> bool:
        """No coroutine call and no jump leaving ``node``: it can stay as written."""
        if node is None:
            return True
        key = (id(node), in_loop, in_switch)
        cached = self._native_cache.get(key)
        if cached is None:
            cached = self._native_uncached(node, in_loop, in_switch)
            self._native_cache[key] = cached
        return cached

    def _native_uncached(self, node: c_ast.Node, in_loop: bool, in_switch: bool) -> bool:
        if isinstance(
            node,
            (
                c_ast.Return,
                c_ast.Goto,
                c_ast.Label,
                gnu_ast.ComputedGoto,
                gnu_ast.LabelAddress,
                gnu_ast.LocalLabels,
            ),
        ):
            return False
        if isinstance(node, c_ast.Break):
            return in_loop or in_switch
        if isinstance(node, c_ast.Continue):
            return in_loop
        if isinstance(node, (c_ast.Case, c_ast.Default)) and not in_switch:
            return False
        if isinstance(node, c_ast.FuncCall) and self.unit.is_coroutine_call(node, self.env):
            return False
        if isinstance(node, (c_ast.For, c_ast.While, c_ast.DoWhile)):
            return all(self._is_native(child, True, in_switch) for child in _children(node))
        if isinstance(node, c_ast.Switch):
            return self._is_native(node.cond, in_loop, in_switch) and self._is_native(
                node.stmt, in_loop, True
            )
        if isinstance(node, c_ast.UnaryOp) and node.op in ("sizeof", "_Alignof", "alignof", "__alignof__"):
            return True
        return all(self._is_native(child, in_loop, in_switch) for child in _children(node))

    # -- statements ---------------------------------------------------------
    @contextmanager
    def _jumping(self, **changes: object) -> Iterator[None]:
        saved = self.jumps
        self.jumps = _Jumps(**{**saved.__dict__, **changes})
        try:
            yield
        finally:
            self.jumps = saved

    def _lower_statement(self, stmt: c_ast.Node | None, out: list[c_ast.Node]) -> None:
        if stmt is None or isinstance(stmt, c_ast.EmptyStatement):
            return
        if isinstance(stmt, c_ast.FuncDef):
            reject(stmt, "unsupported", "nested function in a coroutine function (its frame would be split)")
        if isinstance(stmt, c_ast.Decl):
            self._hoist(stmt, out)
            return
        if isinstance(stmt, c_ast.DeclList):
            for decl in stmt.decls:
                self._hoist(decl, out)
            return
        if isinstance(stmt, c_ast.Typedef):
            # To file scope, where the frame structs that may use it are; but
            # one whose type reads a local (QEMU_BUILD_BUG_ON's
            # `typedef char t[sizeof(local) ... ? -1 : 1]`) cannot leave its
            # piece, where the local is declared.
            if any(isinstance(node, c_ast.ID) and node.name in self.local_names for node in walk(stmt)):
                out.append(stmt)
            else:
                self.file_scope.append(stmt)
            return
        if isinstance(stmt, c_ast.Compound):
            for item in stmt.block_items or ():
                self._lower_statement(item, out)
            return
        if self._is_native(stmt):
            out.append(stmt)  # as written, even `(void)x;`
            return
        method = getattr(self, "_lower_" + type(stmt).__name__, None)
        if method is not None:
            method(stmt, out)
            return
        if _is_expression(stmt):
            prefix, value = self._lower_expr(stmt)
            out += prefix
            if value is not None and _has_effect(value):
                out.append(value)
            return
        reject(stmt, "unsupported", f"cannot translate this {type(stmt).__name__} in a coroutine function")

    def _lower_If(self, stmt: c_ast.If, out: list[c_ast.Node]) -> None:
        prefix, cond = self._lower_expr(stmt.cond)
        out += prefix
        if (
            self._is_native(stmt.iftrue)
            and self._is_native(stmt.iffalse)
            and not _declares(stmt.iftrue)
            and not _declares(stmt.iffalse)
        ):
            out.append(c_ast.If(cond, stmt.iftrue, stmt.iffalse, stmt.coord))
            return
        end = self._label()
        if stmt.iffalse is None:
            out.append(_if_goto(_negate(cond), end, stmt.coord))
            self._lower_statement(stmt.iftrue, out)
        else:
            otherwise = self._label()
            out.append(_if_goto(_negate(cond), otherwise, stmt.coord))
            self._lower_statement(stmt.iftrue, out)
            out.append(c_ast.Goto(end, stmt.coord))
            out.append(_label(otherwise, stmt.iffalse.coord))
            self._lower_statement(stmt.iffalse, out)
        out.append(_label(end, stmt.coord))

    def _lower_While(self, stmt: c_ast.While, out: list[c_ast.Node]) -> None:
        head, done = self._label(), self._label()
        out.append(_label(head, stmt.coord))
        prefix, cond = self._lower_expr(stmt.cond)
        out += prefix
        out.append(_if_goto(_negate(cond), done, stmt.coord))
        with self._jumping(break_label=done, continue_label=head, switch=self.jumps.switch):
            self._lower_statement(stmt.stmt, out)
        out.append(c_ast.Goto(head, stmt.coord))
        out.append(_label(done, stmt.coord))

    def _lower_DoWhile(self, stmt: c_ast.DoWhile, out: list[c_ast.Node]) -> None:
        top, test, done = self._label(), self._label(), self._label()
        out.append(_label(top, stmt.coord))
        with self._jumping(break_label=done, continue_label=test):
            self._lower_statement(stmt.stmt, out)
        out.append(_label(test, stmt.cond.coord))
        prefix, cond = self._lower_expr(stmt.cond)
        out += prefix
        out.append(_if_goto(cond, top, stmt.cond.coord))
        out.append(_label(done, stmt.coord))

    def _lower_For(self, stmt: c_ast.For, out: list[c_ast.Node]) -> None:
        self._lower_statement(stmt.init, out)
        top, step, done = self._label(), self._label(), self._label()
        out.append(_label(top, stmt.coord))
        if stmt.cond is not None:
            prefix, cond = self._lower_expr(stmt.cond)
            out += prefix
            out.append(_if_goto(_negate(cond), done, stmt.coord))
        with self._jumping(break_label=done, continue_label=step):
            self._lower_statement(stmt.stmt, out)
        out.append(_label(step, stmt.coord))
        if stmt.next is not None:
            self._lower_statement(stmt.next, out)
        out.append(c_ast.Goto(top, stmt.coord))
        out.append(_label(done, stmt.coord))

    def _lower_Switch(self, stmt: c_ast.Switch, out: list[c_ast.Node]) -> None:
        prefix, cond = self._lower_expr(stmt.cond)
        out += prefix
        done = self._label()
        cases = _SwitchCases()
        body: list[c_ast.Node] = []
        with self._jumping(break_label=done, switch=cases):
            self._lower_statement(stmt.stmt, body)
        dispatch: list[c_ast.Node] = []
        for case, target in cases.cases:
            jump = [c_ast.Goto(target, case.coord)]
            if isinstance(case, gnu_ast.CaseRange):
                dispatch.append(gnu_ast.CaseRange(case.expr, case.high, jump, case.coord))
            elif isinstance(case, c_ast.Case):
                dispatch.append(c_ast.Case(case.expr, jump, case.coord))
            else:
                dispatch.append(c_ast.Default(jump, case.coord))
        if not cases.has_default:
            dispatch.append(c_ast.Default([c_ast.Goto(done, stmt.coord)], stmt.coord))
        out.append(c_ast.Switch(cond, c_ast.Compound(dispatch, stmt.coord), stmt.coord))
        out += body
        out.append(_label(done, stmt.coord))

    def _lower_case(self, stmt: c_ast.Case | c_ast.Default, out: list[c_ast.Node]) -> None:
        cases = self.jumps.switch
        if cases is None:
            reject(stmt, "unsupported", "case label outside a switch")
        target = self._label()
        cases.cases.append((stmt, target))
        if isinstance(stmt, c_ast.Default):
            cases.has_default = True
        out.append(_label(target, stmt.coord))
        for item in stmt.stmts or ():
            self._lower_statement(item, out)

    _lower_Case = _lower_case
    _lower_Default = _lower_case
    _lower_CaseRange = _lower_case

    def _lower_Label(self, stmt: c_ast.Label, out: list[c_ast.Node]) -> None:
        out.append(_label(stmt.name, stmt.coord))
        self._lower_statement(stmt.stmt, out)

    def _lower_Goto(self, stmt: c_ast.Goto, out: list[c_ast.Node]) -> None:
        out.append(stmt)

    def _lower_Break(self, stmt: c_ast.Break, out: list[c_ast.Node]) -> None:
        if self.jumps.break_label is None:
            reject(stmt, "unsupported", "break outside a loop or switch")
        out.append(c_ast.Goto(self.jumps.break_label, stmt.coord))

    def _lower_Continue(self, stmt: c_ast.Continue, out: list[c_ast.Node]) -> None:
        if self.jumps.continue_label is None:
            reject(stmt, "unsupported", "continue outside a loop")
        out.append(c_ast.Goto(self.jumps.continue_label, stmt.coord))

    def _lower_Return(self, stmt: c_ast.Return, out: list[c_ast.Node]) -> None:
        if stmt.expr is not None and self._address_of_local(stmt.expr):
            reject(
                stmt,
                "return-local-address",
                "returning the address of a local variable of a coroutine function "
                "(its storage does not survive the return)",
            )
        prefix, value = self._lower_expr(stmt.expr) if stmt.expr is not None else ([], None)
        out += prefix
        if value is not None and not self.unit_returns_value():
            if _has_effect(value):
                out.append(value)
            value = None
        out.append(c_ast.Return(value, stmt.coord))

    def unit_returns_value(self) -> bool:
        return not is_void(self.functype.type, self.env)

    def _lower_ComputedGoto(self, stmt: c_ast.Node, out: list[c_ast.Node]) -> None:
        reject(stmt, "computed-goto", "computed goto in a coroutine function")

    def _lower_Pragma(self, stmt: c_ast.Node, out: list[c_ast.Node]) -> None:
        out.append(stmt)

    def _address_of_local(self, expr: c_ast.Node) -> bool:
        while isinstance(expr, c_ast.Cast):
            expr = expr.expr
        if isinstance(expr, c_ast.UnaryOp) and expr.op == "&":
            base = expr.expr
            while isinstance(base, (c_ast.StructRef, c_ast.ArrayRef)):
                if isinstance(base, c_ast.StructRef) and base.type == "->":
                    return False
                if isinstance(base, c_ast.ArrayRef) and not is_array(self.env.type_of(base.name), self.env):
                    return False
                base = base.name
            return isinstance(base, c_ast.ID) and base.name in self.local_names
        if isinstance(expr, c_ast.ID) and expr.name in self.local_names:
            return is_array(self.env.type_of(expr), self.env)
        return False

    # -- declarations -------------------------------------------------------
    def _hoist(self, decl: c_ast.Decl, out: list[c_ast.Node]) -> None:
        storage = decl.storage or []
        if decl.name is None or "extern" in storage or isinstance(decl.type, c_ast.FuncDecl):
            self.file_scope.append(decl)
            return
        if "static" in storage:
            self.file_scope.append(decl)
            return
        if _has_cleanup(decl):
            reject(
                decl,
                "cleanup",
                f"'{decl.name}' has __attribute__((cleanup)): its scope ends in another piece of the "
                "coroutine, so the cleanup cannot run where C says it does",
            )
        hoisted_type = self._without_typeof(decl)
        if isinstance(hoisted_type, c_ast.ArrayDecl) and hoisted_type.dim is None:
            hoisted_type = copy.deepcopy(hoisted_type)
            hoisted_type.dim = self._implicit_dimension(decl)
        hoisted_type = self._aggregate_defined_at_file_scope(decl.name, hoisted_type)
        hoisted = declaration(decl.name, hoisted_type, decl.coord)
        self.locals.append(hoisted)
        self.env.declare(hoisted)
        if decl.init is None:
            return
        target = c_ast.ID(decl.name, decl.coord)
        if isinstance(decl.init, c_ast.InitList) or is_array(hoisted_type, self.env):
            prefix, init = self._lower_expr(decl.init) if not _is_string(decl.init) else ([], decl.init)
            out += prefix
            literal_init = init if isinstance(init, c_ast.InitList) else c_ast.InitList([init], decl.coord)
            literal_type = declaration("cpc__literal", hoisted_type, decl.coord).type
            literal = c_ast.CompoundLiteral(_typename(literal_type), literal_init, [], decl.coord)
            if is_array(hoisted_type, self.env):
                out.append(
                    c_ast.FuncCall(
                        c_ast.ID("__builtin_memcpy", decl.coord),
                        c_ast.ExprList([target, literal, c_ast.UnaryOp("sizeof", c_ast.ID(decl.name))]),
                        decl.coord,
                    )
                )
            else:
                out.append(c_ast.Assignment("=", target, literal, decl.coord))
            return
        prefix, value = self._lower_expr(decl.init)
        out += prefix
        out.append(c_ast.Assignment("=", target, value, decl.coord))

    def _aggregate_defined_at_file_scope(self, name: str, type_node: c_ast.Node) -> c_ast.Node:
        """A struct or union defined in a local's declaration is defined at file scope instead.

        The local travels in frame structs (at file scope) and is declared
        again in every piece: a definition repeated there would be another,
        incompatible type each time.  So the definition moves out (an unnamed
        one gets a tag of its own, QEMU's ``struct { ... } QEMU_PACKED
        header;``), attributes such as ``packed`` with it, and the local
        refers to it by tag.
        """
        wrappers = []
        inner = type_node
        while isinstance(inner, (c_ast.ArrayDecl, c_ast.PtrDecl)):
            wrappers.append(inner)
            inner = inner.type
        if not isinstance(inner, c_ast.TypeDecl) or not isinstance(inner.type, (c_ast.Struct, c_ast.Union)):
            return type_node
        aggregate = inner.type
        if aggregate.decls is None:
            return type_node
        # `struct { ... } a, b;`: the declarators share one node, and one type.
        tag = self.moved_aggregates.get(id(aggregate))
        if tag is None:
            tag = aggregate.name or self._fresh_tag(f"cpc__{self.definition.decl.name}__{name}")
            self.moved_aggregates[id(aggregate)] = tag
            moved = copy.deepcopy(aggregate)
            moved.name = tag
            self.file_scope.append(c_ast.Decl(None, [], [], [], [], moved, None, None, aggregate.coord))
        referring = copy.deepcopy(type_node)
        bottom = referring
        while isinstance(bottom, (c_ast.ArrayDecl, c_ast.PtrDecl)):
            bottom = bottom.type
        bottom.type = type(aggregate)(tag, None, aggregate.coord)
        return referring

    def _fresh_tag(self, base: str) -> str:
        self.counter += 1
        return f"{base}_{self.counter}"

    def _without_typeof(self, decl: c_ast.Decl) -> c_ast.Node:
        """The declared type with a ``__typeof__(expr)`` base replaced by the type it names.

        The hoisted variable travels in frame structs at file scope, where the
        expression's variables are not in scope (and a coroutine call in it
        would have the translated function type).
        """
        node = decl.type
        if not any(isinstance(sub, c_ast.TypeOf) for sub in walk(node)):
            return node
        if isinstance(node, c_ast.TypeDecl) and isinstance(node.type, c_ast.TypeOf):
            operand = node.type.expr
            named = operand.type if isinstance(operand, c_ast.Typename) else self.env.type_of(operand)
            if named is not None and not any(isinstance(sub, c_ast.TypeOf) for sub in walk(named)):
                return named
        reject(
            decl,
            "unsupported",
            f"cannot tell the type of '{decl.name}' (a __typeof__ the translator "
            "cannot resolve); declare it with the type it names",
        )

    def _implicit_dimension(self, decl: c_ast.Decl) -> c_ast.Node:
        init = decl.init
        if _is_string(init):
            return c_ast.UnaryOp("sizeof", copy.deepcopy(init))
        if isinstance(init, c_ast.InitList) and not any(
            isinstance(e, c_ast.NamedInitializer) for e in init.exprs
        ):
            return c_ast.Constant("int", str(len(init.exprs)))
        reject(decl, "unsupported", f"cannot size the array '{decl.name}' from its initializer")

    # -- expressions --------------------------------------------------------
    def _lower_expr(self, expr: c_ast.Node | None) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        """Hoist the coroutine calls of ``expr``: (statements to run first, native rest)."""
        if expr is None or not (self._has_coroutine_call(expr) or _jumps_out_of_expression(expr)):
            return [], expr
        method = getattr(self, "_expr_" + type(expr).__name__, None)
        if method is None:
            reject(
                expr,
                "unsupported",
                f"cannot hoist a coroutine call out of this {type(expr).__name__} expression",
            )
        return method(expr)

    def _expr_FuncCall(self, expr: c_ast.FuncCall) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        out: list[c_ast.Node] = []
        callee = expr.name
        if not isinstance(callee, c_ast.ID):
            prefix, callee = self._lower_expr(callee)
            out += prefix
        args: list[c_ast.Node] = []
        for arg in expr.args.exprs if expr.args is not None else ():
            prefix, value = self._lower_expr(arg)
            out += prefix
            args.append(value)
        call = c_ast.FuncCall(callee, c_ast.ExprList(args, expr.coord) if expr.args else None, expr.coord)
        if not self.unit.is_coroutine_call(expr, self.env):
            return out, call
        functype = self.unit.callee_type(expr, self.env)
        assert functype is not None
        if is_void(functype.type, self.env):
            out.append(CoroutineCall(None, call, functype, expr.coord))
            return out, _void_value(expr.coord)
        result = self._temporary(functype.type, expr.coord)
        out.append(CoroutineCall(copy.copy(result), call, functype, expr.coord))
        return out, result

    def _expr_BinaryOp(self, expr: c_ast.BinaryOp) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        left_prefix, left = self._lower_expr(expr.left)
        if expr.op in ("&&", "||") and self._has_coroutine_call(expr.right):
            right_prefix, right = self._lower_expr(expr.right)
            result = self._temporary(_INT, expr.coord, "cpc__b")
            done, short = self._label(), self._label()
            out = [*left_prefix]
            short_value = "0" if expr.op == "&&" else "1"
            test = _negate(left) if expr.op == "&&" else left
            out.append(_if_goto(test, short, expr.coord))
            out += right_prefix
            out.append(c_ast.Assignment("=", copy.copy(result), _truth(right), expr.coord))
            out.append(c_ast.Goto(done, expr.coord))
            out.append(_label(short, expr.coord))
            out.append(c_ast.Assignment("=", copy.copy(result), c_ast.Constant("int", short_value)))
            out.append(_label(done, expr.coord))
            return out, result
        right_prefix, right = self._lower_expr(expr.right)
        return [*left_prefix, *right_prefix], c_ast.BinaryOp(expr.op, left, right, expr.coord)

    def _expr_TernaryOp(self, expr: c_ast.TernaryOp) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        prefix, cond = self._lower_expr(expr.cond)
        if not self._has_coroutine_call(expr.iftrue) and not self._has_coroutine_call(expr.iffalse):
            return prefix, c_ast.TernaryOp(cond, expr.iftrue, expr.iffalse, expr.coord)
        return self._conditional(prefix, cond, expr.iftrue, expr.iffalse, self._conditional_type(expr), expr)

    def _expr_OmittedConditional(self, expr: c_ast.Node) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        prefix, cond = self._lower_expr(expr.cond)  # type: ignore[attr-defined]
        kept_type = self.env.type_of(cond)
        if kept_type is None:
            reject(expr, "unsupported", "cannot tell the type of this '?:' operand")
        kept = self._temporary(kept_type, expr.coord, "cpc__c")
        prefix.append(c_ast.Assignment("=", copy.copy(kept), cond, expr.coord))
        return self._conditional(
            prefix,
            kept,
            copy.copy(kept),
            expr.iffalse,  # type: ignore[attr-defined]
            self._conditional_type(expr),
            expr,
        )

    def _conditional(
        self,
        prefix: list[c_ast.Node],
        cond: c_ast.Node,
        iftrue: c_ast.Node,
        iffalse: c_ast.Node,
        result_type: c_ast.Node | None,
        expr: c_ast.Node,
    ) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        out = [*prefix]
        result = None
        if result_type is not None and not is_void(result_type, self.env):
            result = self._temporary(result_type, expr.coord, "cpc__c")
        otherwise, done = self._label(), self._label()
        out.append(_if_goto(_negate(cond), otherwise, expr.coord))
        for arm, label in ((iftrue, None), (iffalse, otherwise)):
            if label is not None:
                out.append(_label(label, expr.coord))
            arm_prefix, value = self._lower_expr(arm)
            out += arm_prefix
            if result is not None:
                out.append(c_ast.Assignment("=", copy.copy(result), value, expr.coord))
            elif value is not None and _has_effect(value):
                out.append(value)
            if label is None:
                out.append(c_ast.Goto(done, expr.coord))
        out.append(_label(done, expr.coord))
        return out, result if result is not None else _void_value(expr.coord)

    def _conditional_type(self, expr: c_ast.Node) -> c_ast.Node | None:
        arms = [getattr(expr, "iftrue", None) or getattr(expr, "cond", None), expr.iffalse]  # type: ignore[attr-defined]
        types = [self.env.type_of(arm) for arm in arms]
        resolved = [self.env.resolve(t) for t in types]
        if all(isinstance(r, c_ast.IdentifierType) for r in resolved):
            ranks = [_rank(r.names) for r in resolved]  # type: ignore[union-attr]
            if all(rank >= 0 for rank in ranks):
                best = types[0] if ranks[0] >= ranks[1] else types[1]
                return best if max(ranks) >= _rank(["int"]) else _INT
        for candidate, arm in zip(types, arms, strict=True):
            if candidate is not None and not _is_null(arm):
                return candidate
        reject(expr, "unsupported", "cannot tell the type of this conditional expression")

    def _expr_ExprList(self, expr: c_ast.ExprList) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        out: list[c_ast.Node] = []
        for item in expr.exprs[:-1]:
            prefix, value = self._lower_expr(item)
            out += prefix
            if value is not None and _has_effect(value):
                out.append(value)
        prefix, value = self._lower_expr(expr.exprs[-1])
        return [*out, *prefix], value

    def _expr_Assignment(self, expr: c_ast.Assignment) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        left_prefix, left = self._lower_expr(expr.lvalue)
        right_prefix, right = self._lower_expr(expr.rvalue)
        return [*left_prefix, *right_prefix], c_ast.Assignment(expr.op, left, right, expr.coord)

    def _expr_UnaryOp(self, expr: c_ast.UnaryOp) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        prefix, value = self._lower_expr(expr.expr)
        return prefix, c_ast.UnaryOp(expr.op, value, expr.coord)

    def _expr_Cast(self, expr: c_ast.Cast) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        prefix, value = self._lower_expr(expr.expr)
        return prefix, c_ast.Cast(expr.to_type, value, expr.coord)

    def _expr_StructRef(self, expr: c_ast.StructRef) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        prefix, value = self._lower_expr(expr.name)
        return prefix, c_ast.StructRef(value, expr.type, expr.field, expr.coord)

    def _expr_ArrayRef(self, expr: c_ast.ArrayRef) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        name_prefix, name = self._lower_expr(expr.name)
        sub_prefix, subscript = self._lower_expr(expr.subscript)
        return [*name_prefix, *sub_prefix], c_ast.ArrayRef(name, subscript, expr.coord)

    def _expr_InitList(self, expr: c_ast.InitList) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        out: list[c_ast.Node] = []
        items: list[c_ast.Node] = []
        for item in expr.exprs:
            if isinstance(item, c_ast.NamedInitializer):
                prefix, value = self._lower_expr(item.expr)
                items.append(c_ast.NamedInitializer(item.name, value, item.coord))
            else:
                prefix, value = self._lower_expr(item)
                items.append(value)
            out += prefix
        return out, c_ast.InitList(items, expr.coord)

    def _expr_CompoundLiteral(
        self, expr: c_ast.CompoundLiteral
    ) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        prefix, init = self._lower_expr(expr.init)
        return prefix, c_ast.CompoundLiteral(expr.type, init, expr.storage, expr.coord)

    def _expr_StmtExpr(self, expr: gnu_ast.StmtExpr) -> tuple[list[c_ast.Node], c_ast.Node | None]:
        items = list(expr.compound.block_items or [])
        out: list[c_ast.Node] = []
        for item in items[:-1]:
            self._lower_statement(item, out)
        if items and _is_expression(items[-1]):
            prefix, value = self._lower_expr(items[-1])
            return [*out, *prefix], value
        if items:
            self._lower_statement(items[-1], out)
        return out, _void_value(expr.coord)


# --- helpers -----------------------------------------------------------------

_STATEMENTS = (
    c_ast.Compound,
    c_ast.If,
    c_ast.While,
    c_ast.DoWhile,
    c_ast.For,
    c_ast.Switch,
    c_ast.Case,
    c_ast.Default,
    c_ast.Label,
    c_ast.Goto,
    c_ast.Break,
    c_ast.Continue,
    c_ast.Return,
    c_ast.Decl,
    c_ast.DeclList,
    c_ast.Typedef,
    c_ast.EmptyStatement,
    c_ast.Pragma,
    gnu_ast.Asm,
    gnu_ast.ComputedGoto,
    gnu_ast.LocalLabels,
    CoroutineCall,
)


def _children(node: c_ast.Node) -> list[c_ast.Node]:
    return [child for _, child in node.children()]


def _is_expression(node: c_ast.Node) -> bool:
    return not isinstance(node, _STATEMENTS)


def _has_effect(expr: c_ast.Node) -> bool:
    """False for values whose evaluation does nothing (a temporary read, ``(void)0``)."""
    if isinstance(expr, (c_ast.ID, c_ast.Constant)):
        return False
    if isinstance(expr, c_ast.Cast):
        return _has_effect(expr.expr)
    return True


def _declares(node: c_ast.Node | None) -> bool:
    return isinstance(node, c_ast.Decl)


_JUMPS = (c_ast.Return, c_ast.Goto, c_ast.Label, c_ast.Break, c_ast.Continue, c_ast.Case, c_ast.Default)


def _jumps_out_of_expression(expr: c_ast.Node) -> bool:
    """A statement expression holding a return, goto, label, break or continue:
    like a coroutine call, it must be taken apart (a plain ``return`` left in a
    piece would return the wrong thing).  Conservative: loops inside the
    statement expression make it lowered too."""
    return any(isinstance(node, gnu_ast.StmtExpr) for node in walk(expr)) and any(
        isinstance(node, _JUMPS) for node in walk(expr)
    )


def _label(name: str, coord: object) -> c_ast.Label:
    return c_ast.Label(name, c_ast.EmptyStatement(coord), coord)


def _if_goto(cond: c_ast.Node, target: str, coord: object) -> c_ast.If:
    return c_ast.If(cond, c_ast.Goto(target, coord), None, coord)


def _negate(cond: c_ast.Node) -> c_ast.Node:
    if isinstance(cond, c_ast.UnaryOp) and cond.op == "!":
        return cond.expr  # only ever used as a condition: truth is all that matters
    return c_ast.UnaryOp("!", cond, getattr(cond, "coord", None))


def _is_truth_value(expr: c_ast.Node) -> bool:
    return isinstance(expr, c_ast.BinaryOp) and expr.op in ("==", "!=", "<", ">", "<=", ">=", "&&", "||")


def _truth(expr: c_ast.Node) -> c_ast.Node:
    return c_ast.UnaryOp("!", c_ast.UnaryOp("!", expr, expr.coord), expr.coord)


def _void_value(coord: object) -> c_ast.Node:
    void = c_ast.Typename(None, [], None, c_ast.TypeDecl(None, [], None, c_ast.IdentifierType(["void"])))
    return c_ast.Cast(void, c_ast.Constant("int", "0"), coord)


def _typename(type_node: c_ast.Node) -> c_ast.Typename:
    fresh = copy.deepcopy(type_node)
    base = innermost_typedecl(fresh)
    if base is not None:
        base.declname = None
    return c_ast.Typename(None, [], None, fresh)


def _is_string(node: c_ast.Node | None) -> bool:
    return isinstance(node, c_ast.Constant) and node.type == "string"


def _is_null(node: c_ast.Node | None) -> bool:
    return isinstance(node, c_ast.Constant) and node.value == "0"


def _rank(names: list[str]) -> int:
    cleaned = [n for n in names if n not in ("signed", "const", "volatile")] or ["int"]
    if cleaned in (["short", "int"],):
        cleaned = ["short"]
    if cleaned[-1] == "int" and len(cleaned) > 1:
        cleaned = cleaned[:-1]
    for index, spelled in enumerate(_RANK):
        if cleaned == [n for n in spelled if n != "signed"] or cleaned == spelled:
            return index
    return -1


def _has_cleanup(decl: c_ast.Decl) -> bool:
    """``__attribute__((cleanup(f)))`` anywhere on the declaration."""
    for node in walk(decl):
        if isinstance(node, c_ast.Attribute) and node.name.strip("_") == "cleanup":
            return True
    return any(
        isinstance(attribute, c_ast.Attribute) and attribute.name.strip("_") == "cleanup"
        for spec in decl.attributes or []
        for attribute in getattr(spec, "attributes", [])
    )


def normalize(unit: Unit, definition: c_ast.FuncDef) -> NormalFunction:
    return Normalizer(unit, definition).run()
