"""Context guards: which calls of a function run where a context predicate is known.

Code asks where it runs (``if (qemu_in_coroutine()) co_sleep(); else
g_usleep();``); DESIGN.md's "Context guards" judge each call by the region it
is in, not by its function.  This pass computes, for one function body, what
is known about the predicate P at every call:

- ``coroutine``: P holds there (``if (P) {here}``, after ``if (!P) return;``,
  ``P ? here : _``, ``P && here``, after ``assert(P)``);
- ``native``: P is false there (the ``else``, after ``if (P) return;``, after
  ``assert(!P)``);
- nothing: P is not known (CoroCheck's rule applies unchanged).

P does not change while one invocation runs, so knowledge only accumulates
along a path and merges by union at join points: the analysis is a forward
dataflow over the structured body on the lattice of the possible values of P
({true, false} unknown, {true}, {false}, {} unreachable).  ``goto`` and labels
are handled by iterating until every label's incoming set is stable; loops
and ``switch`` keep what held before them (sound, since P is invariant).

The function as a whole is *asserted* coroutine-only (or native-only) when P
has the same known value at every normal exit: ``assert(P)`` makes the other
path end the program, while ``if (!P) return;`` leaves a native exit, so only
the former makes the function coroutine-only.  Calls to functions that never
return (``abort``, ``__assert_fail``, ``noreturn`` declarations) end a path
without an exit.

The pass only runs on functions that mention a predicate; it is small and
separate from the summariser's main walk for that reason.
"""

from __future__ import annotations

from collections.abc import Collection, Container
from dataclasses import dataclass, field

from pycparser import c_ast

from coroproj.frontend.gnu_ast import StmtExpr

COROUTINE, NATIVE = "coroutine", "native"

Values = frozenset[bool]  # the values P can have at a program point
ANY: Values = frozenset({True, False})
TRUE: Values = frozenset({True})
FALSE: Values = frozenset({False})
NOWHERE: Values = frozenset()

_UNEVALUATED = frozenset({"sizeof", "_Alignof", "alignof", "__alignof__", "__alignof"})


@dataclass
class ContextFacts:
    """What one function's body says about where it runs."""

    call_context: dict[int, str] = field(default_factory=dict)  # id(FuncCall) -> coroutine/native
    asserted: str = ""  # "coroutine" / "native": every normal exit knows P
    guards: bool = False  # it branches on P somewhere (not only in assertions)


def context_of(values: Values) -> str:
    if values == TRUE:
        return COROUTINE
    if values == FALSE:
        return NATIVE
    return ""


def analyse_contexts(
    body: c_ast.Compound, predicates: Collection[str], noreturn: Container[str]
) -> ContextFacts:
    """The context facts of one function body (see the module docstring)."""
    regions = _Regions(frozenset(predicates), noreturn)
    # Iterate until what flows into every label is stable: the sets only grow
    # and have at most two members, so this ends after a few passes.
    while True:
        regions.start_pass()
        end = regions.statement(body, ANY)
        if end is not None:
            regions.exits |= end
        if regions.labels == regions.previous_labels:
            break
    facts = ContextFacts(call_context=regions.calls, guards=regions.guards)
    if regions.exits:
        facts.asserted = context_of(regions.exits)
    return facts


class _Regions:
    def __init__(self, predicates: frozenset[str], noreturn: Container[str]) -> None:
        self.predicates = predicates
        self.noreturn = noreturn
        self.labels: dict[str, Values] = {}
        self.previous_labels: dict[str, Values] | None = None
        self.calls: dict[int, str] = {}
        self.exits: Values = NOWHERE
        self.guards = False
        self.switch_entry: list[Values] = []

    def start_pass(self) -> None:
        self.previous_labels = dict(self.labels)
        self.calls = {}
        self.exits = NOWHERE
        self.guards = False

    # -- statements: return what holds after them, None if they never complete --
    def statement(self, node: c_ast.Node | None, values: Values) -> Values | None:
        if node is None:
            return values
        method = getattr(self, f"_stmt_{type(node).__name__}", None)
        if method is not None:
            return method(node, values)
        return self.expression(node, values)

    def _stmt_Compound(self, node: c_ast.Compound, values: Values) -> Values | None:
        current: Values | None = values
        for item in node.block_items or ():
            # After a statement that never completes, only a label makes code reachable.
            current = self.statement(item, current if current is not None else NOWHERE)
        return current

    def _stmt_If(self, node: c_ast.If, values: Values) -> Values | None:
        after_cond = self.expression(node.cond, values)
        if after_cond is None:
            return None
        when_true, when_false = self.condition(node.cond)
        then = self.statement(node.iftrue, after_cond & when_true)
        otherwise = self.statement(node.iffalse, after_cond & when_false)
        return _merge(then, otherwise)

    def _stmt_While(self, node: c_ast.While, values: Values) -> Values | None:
        after_cond = self.expression(node.cond, values)
        if after_cond is None:
            return None
        when_true, _ = self.condition(node.cond)
        self.statement(node.stmt, after_cond & when_true)
        return after_cond

    def _stmt_DoWhile(self, node: c_ast.DoWhile, values: Values) -> Values | None:
        body = self.statement(node.stmt, values)
        self.expression(node.cond, values if body is None else body)
        if _constant_truth(node.cond) is False and not _leaves_loop(node.stmt):
            return body  # do { ... } while (0): a macro's statement wrapper (assert, g_assert)
        return values

    def _stmt_For(self, node: c_ast.For, values: Values) -> Values | None:
        current = self.statement(node.init, values)
        if current is None:
            return None
        if node.cond is not None:
            after_cond = self.expression(node.cond, current)
            if after_cond is None:
                return None
            when_true, _ = self.condition(node.cond)
            current = after_cond
            body = current & when_true
        else:
            body = current
        self.statement(node.stmt, body)
        self.expression(node.next, body)
        return current

    def _stmt_Switch(self, node: c_ast.Switch, values: Values) -> Values | None:
        after_cond = self.expression(node.cond, values)
        if after_cond is None:
            return None
        self.switch_entry.append(after_cond)
        self.statement(node.stmt, after_cond)
        self.switch_entry.pop()
        return after_cond

    def _stmt_Case(self, node: c_ast.Case, values: Values) -> Values | None:
        current: Values | None = values | (self.switch_entry[-1] if self.switch_entry else ANY)
        for item in node.stmts or ():
            current = self.statement(item, current if current is not None else NOWHERE)
        return current

    _stmt_Default = _stmt_Case
    _stmt_CaseRange = _stmt_Case

    def _stmt_Label(self, node: c_ast.Label, values: Values) -> Values | None:
        return self.statement(node.stmt, values | self.labels.get(node.name, NOWHERE))

    def _stmt_Goto(self, node: c_ast.Goto, values: Values) -> Values | None:
        self.labels[node.name] = self.labels.get(node.name, NOWHERE) | values
        return None

    def _stmt_Return(self, node: c_ast.Return, values: Values) -> Values | None:
        after = self.expression(node.expr, values)
        if after is not None:
            self.exits |= after
        return None

    def _stmt_Break(self, node: c_ast.Node, values: Values) -> Values | None:
        return None

    _stmt_Continue = _stmt_Break

    def _stmt_Decl(self, node: c_ast.Decl, values: Values) -> Values | None:
        return self.expression(node.init, values)

    def _stmt_DeclList(self, node: c_ast.DeclList, values: Values) -> Values | None:
        current: Values | None = values
        for decl in node.decls or ():
            if current is None:
                return None
            current = self.expression(decl.init, current)
        return current

    # -- expressions: the same contract, for expressions evaluated in order --
    def expression(self, node: c_ast.Node | None, values: Values) -> Values | None:
        if node is None:
            return values
        if isinstance(node, c_ast.FuncCall):
            return self._call(node, values)
        if isinstance(node, c_ast.TernaryOp):
            after_cond = self.expression(node.cond, values)
            if after_cond is None:
                return None
            when_true, when_false = self.condition(node.cond)
            return _merge(
                self.expression(node.iftrue, after_cond & when_true),
                self.expression(node.iffalse, after_cond & when_false),
            )
        if isinstance(node, c_ast.BinaryOp) and node.op in ("&&", "||"):
            after_left = self.expression(node.left, values)
            if after_left is None:
                return None
            when_true, when_false = self.condition(node.left)
            go_on, short = (when_true, when_false) if node.op == "&&" else (when_false, when_true)
            return _merge(after_left & short, self.expression(node.right, after_left & go_on))
        if isinstance(node, StmtExpr):
            return self.statement(node.compound, values)
        if isinstance(node, c_ast.UnaryOp) and node.op in _UNEVALUATED:
            return values
        if isinstance(node, (c_ast.Typename, c_ast.TypeDecl, c_ast.Struct, c_ast.Union, c_ast.Enum)):
            return values
        if type(node).__name__ in ("TypeOf", "GenericSelection"):
            return values  # operands not evaluated (the selected association is a constant)
        current: Values | None = values
        for _, child in node.children():
            if current is None:
                return None
            current = self.expression(child, current)
        return current

    def _call(self, node: c_ast.FuncCall, values: Values) -> Values | None:
        context = context_of(values)
        if context:
            self.calls[id(node)] = context
        current = self.expression(node.name, values)
        if current is not None and node.args is not None:
            current = self.expression(node.args, current)
        name = node.name.name if isinstance(node.name, c_ast.ID) else None
        if name in self.noreturn:
            return None
        return current

    # -- conditions: what holds when an expression is true / false ---------------
    def condition(self, node: c_ast.Node | None) -> tuple[Values, Values]:
        if node is None:
            return ANY, ANY
        if isinstance(node, c_ast.FuncCall) and isinstance(node.name, c_ast.ID):
            name = node.name.name
            if name in self.predicates:
                self.guards = True
                return TRUE, FALSE
            if name == "__builtin_expect" and node.args is not None and node.args.exprs:
                return self.condition(node.args.exprs[0])  # likely(x) / G_LIKELY(x)
            return ANY, ANY
        if isinstance(node, c_ast.UnaryOp) and node.op == "!":
            when_true, when_false = self.condition(node.expr)
            return when_false, when_true
        if isinstance(node, c_ast.Cast):
            return self.condition(node.expr)
        if isinstance(node, c_ast.BinaryOp):
            if node.op in ("&&", "||"):
                left_true, left_false = self.condition(node.left)
                right_true, right_false = self.condition(node.right)
                if node.op == "&&":
                    return left_true & right_true, left_false | right_false
                return left_true | right_true, left_false & right_false
            if node.op in ("==", "!="):
                return self._comparison(node)
        if isinstance(node, c_ast.ExprList) and node.exprs:
            return self.condition(node.exprs[-1])
        if isinstance(node, StmtExpr):
            return self._boolean_statement_expression(node)
        return ANY, ANY

    def _comparison(self, node: c_ast.BinaryOp) -> tuple[Values, Values]:
        """``P() == 0``, ``P() != false``, ``true == P()`` and the like."""
        for tested, other in ((node.left, node.right), (node.right, node.left)):
            truth = _constant_truth(other)
            if truth is None:
                continue
            when_true, when_false = self.condition(tested)
            if (node.op == "==") == truth:
                return when_true, when_false
            return when_false, when_true
        return ANY, ANY

    def _boolean_statement_expression(self, node: StmtExpr) -> tuple[Values, Values]:
        """glib's ``G_LIKELY``: ``({ int v; if (x) v = 1; else v = 0; v; })``."""
        items = node.compound.block_items or []
        if not items or not isinstance(items[-1], c_ast.ID):
            return ANY, ANY
        result = items[-1].name
        for item in items:
            if (
                isinstance(item, c_ast.If)
                and _assigns_constant(item.iftrue, result) is True
                and _assigns_constant(item.iffalse, result) is False
            ):
                return self.condition(item.cond)
        return ANY, ANY


def _merge(first: Values | None, second: Values | None) -> Values | None:
    if first is None:
        return second
    if second is None:
        return first
    return first | second


def _leaves_loop(node: c_ast.Node, in_switch: bool = False) -> bool:
    """Whether a loop body has a ``break``/``continue`` of its own (not of an inner loop).

    Inside a ``switch`` only ``continue`` still belongs to the loop.
    """
    if isinstance(node, c_ast.Continue) or (isinstance(node, c_ast.Break) and not in_switch):
        return True
    if isinstance(node, (c_ast.While, c_ast.DoWhile, c_ast.For)):
        return False
    in_switch = in_switch or isinstance(node, c_ast.Switch)
    return any(_leaves_loop(child, in_switch) for _, child in node.children())


def _constant_truth(node: c_ast.Node) -> bool | None:
    if isinstance(node, c_ast.Cast):
        return _constant_truth(node.expr)
    if isinstance(node, c_ast.Constant) and node.type == "int":
        try:
            return int(node.value.rstrip("uUlL"), 0) != 0
        except ValueError:
            return None
    if isinstance(node, c_ast.ID) and node.name in ("true", "false"):
        return node.name == "true"
    return None


def _assigns_constant(node: c_ast.Node | None, name: str) -> bool | None:
    """If ``node`` is ``name = <constant>;``, the constant's truth."""
    while isinstance(node, c_ast.Compound) and node.block_items and len(node.block_items) == 1:
        node = node.block_items[0]
    if (
        isinstance(node, c_ast.Assignment)
        and node.op == "="
        and isinstance(node.lvalue, c_ast.ID)
        and node.lvalue.name == name
    ):
        return _constant_truth(node.rvalue)
    return None
