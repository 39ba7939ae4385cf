"""Just enough C typing to follow function types through a translation unit.

The checks and the CPS translator both need to answer "what function type
does this expression have?": which function a call reaches, whether the
pointer it goes through is a coroutine pointer, what a cast or an
assignment does to an annotation.  ``TypeEnv`` keeps the scoped symbol
tables (ordinary identifiers, typedef names, struct/union tags) and
computes the type of an expression as a pycparser type node;
``ScopedWalker`` walks a ``FileAST`` keeping the environment in step with
the scopes it enters, so that subclasses only write the hooks they need.

Types are pycparser's own nodes (``TypeDecl``, ``PtrDecl``, ``ArrayDecl``,
``FuncDecl``, ``IdentifierType``, ``Struct``/``Union``/``Enum``); nothing is
copied, so annotations found on them are the ones the front-end attached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from pycparser import c_ast

from coroproj.frontend.annotations import Kind, annotate, kinds_of, reference_kinds

TypeNode = c_ast.Node

_INT = c_ast.TypeDecl(None, [], None, c_ast.IdentifierType(["int"]))
_ULONG = c_ast.TypeDecl(None, [], None, c_ast.IdentifierType(["unsigned", "long"]))
_DOUBLE = c_ast.TypeDecl(None, [], None, c_ast.IdentifierType(["double"]))
_CHAR_PTR = c_ast.PtrDecl([], c_ast.TypeDecl(None, [], None, c_ast.IdentifierType(["char"])))


@dataclass(frozen=True)
class Symbol:
    """An ordinary identifier in scope: a function, an object or an enumerator."""

    name: str
    type: TypeNode
    is_function: bool
    storage: tuple[str, ...] = ()
    decl: c_ast.Node | None = None

    @property
    def is_static(self) -> bool:
        return "static" in self.storage


class _FileScope(dict):  # type: ignore[type-arg]
    """A file-scope table that can log what a stretch of the walk read and wrote.

    A read is logged only if the stretch had not written that name first:
    what it wrote itself it will write again when replayed.
    """

    __slots__ = ("reads", "writes")

    def __init__(self) -> None:
        super().__init__()
        self.reads: dict[str, object] | None = None
        self.writes: dict[str, object] = {}

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        value = dict.get(self, key, default)
        reads = self.reads
        if reads is not None and key not in self.writes and key not in reads:
            reads[key] = value
        return value

    def __setitem__(self, key: str, value: object) -> None:
        if self.reads is not None:
            self.writes[key] = value
        dict.__setitem__(self, key, value)


@dataclass
class ScopeLog:
    """What a stretch of top-level declarations read from and wrote to file scope.

    One pair of dicts per table (ordinary identifiers, typedef names, tags).
    """

    reads: tuple[dict[str, object], ...]
    writes: tuple[dict[str, object], ...]


class TypeEnv:
    """Scoped symbol tables of one translation unit."""

    def __init__(self) -> None:
        self._ordinary: list[dict[str, Symbol]] = [_FileScope()]
        self._typedefs: list[dict[str, TypeNode]] = [_FileScope()]
        self._tags: list[dict[str, c_ast.Node]] = [_FileScope()]
        self._annotated_copies: dict[tuple[c_ast.FuncDecl, frozenset[Kind]], c_ast.FuncDecl] = {}

    # -- scopes ---------------------------------------------------------
    def push(self) -> None:
        self._ordinary.append({})
        self._typedefs.append({})
        self._tags.append({})

    def pop(self) -> None:
        self._ordinary.pop()
        self._typedefs.pop()
        self._tags.pop()

    @property
    def at_file_scope(self) -> bool:
        return len(self._ordinary) == 1

    # -- logging file scope, to replay a stretch of declarations elsewhere --
    def _file_scopes(self) -> tuple[_FileScope, ...]:
        return (self._ordinary[0], self._typedefs[0], self._tags[0])  # type: ignore[return-value]

    def start_log(self) -> None:
        """Log file-scope reads and writes from now on (at file scope only)."""
        for table in self._file_scopes():
            table.reads, table.writes = {}, {}

    def stop_log(self) -> ScopeLog:
        tables = self._file_scopes()
        log = ScopeLog(tuple(t.reads or {} for t in tables), tuple(t.writes for t in tables))
        for table in tables:
            table.reads, table.writes = None, {}
        return log

    def agrees_with(self, log: ScopeLog) -> bool:
        """Whether every file-scope read in ``log`` would read the same thing now."""
        for table, reads in zip(self._file_scopes(), log.reads, strict=True):
            for key, value in reads.items():
                current = dict.get(table, key)
                # AST nodes compare by identity, symbols by their fields.
                if current is not value and current != value:
                    return False
        return True

    def replay(self, log: ScopeLog) -> None:
        """Make the writes of ``log`` (checked with ``agrees_with`` first)."""
        for table, writes in zip(self._file_scopes(), log.writes, strict=True):
            dict.update(table, writes)

    # -- declarations ---------------------------------------------------
    def declare(self, decl: c_ast.Decl) -> None:
        """Record an object or function declaration (and the tags it defines)."""
        self.declare_tags(decl.type)
        if not decl.name:
            return
        is_function = isinstance(decl.type, c_ast.FuncDecl)
        self._ordinary[-1][decl.name] = Symbol(
            decl.name, decl.type, is_function, tuple(decl.storage or ()), decl
        )
        if isinstance(decl.type, c_ast.TypeDecl) and isinstance(decl.type.type, c_ast.Enum):
            pass  # enumerators were declared by declare_tags

    def declare_typedef(self, typedef: c_ast.Typedef) -> None:
        self.declare_tags(typedef.type)
        self._typedefs[-1][typedef.name] = typedef.type

    def declare_tags(self, node: c_ast.Node | None) -> None:
        """Register struct/union definitions and enumerators found in a type."""
        for sub in _type_parts(node):
            if isinstance(sub, (c_ast.Struct, c_ast.Union)) and sub.decls is not None:
                if sub.name:
                    self._tags[-1][_tag_key(sub)] = sub
                for member in sub.decls:
                    if isinstance(member, c_ast.Decl):
                        self.declare_tags(member.type)
            elif isinstance(sub, c_ast.Enum) and sub.values is not None:
                if sub.name:
                    self._tags[-1][_tag_key(sub)] = sub
                for enumerator in sub.values.enumerators:
                    self._ordinary[-1][enumerator.name] = Symbol(enumerator.name, _INT, False)

    # -- lookups --------------------------------------------------------
    def lookup(self, name: str) -> Symbol | None:
        for scope in reversed(self._ordinary):
            symbol = scope.get(name)
            if symbol is not None:
                return symbol
        return None

    def lookup_typedef(self, name: str) -> TypeNode | None:
        for scope in reversed(self._typedefs):
            found = scope.get(name)
            if found is not None:
                return found
        return None

    def complete_tag(self, node: c_ast.Node) -> c_ast.Node:
        """The definition of a struct/union/enum referred to by tag only."""
        if getattr(node, "decls", None) is not None or not getattr(node, "name", None):
            return node
        key = _tag_key(node)
        for scope in reversed(self._tags):
            found = scope.get(key)
            if found is not None:
                return found
        return node

    # -- type algebra ---------------------------------------------------
    def resolve(self, node: TypeNode | None) -> TypeNode | None:
        """Strip ``Typename``/``TypeDecl`` wrappers and expand typedef names.

        Returns a ``PtrDecl``, ``ArrayDecl``, ``FuncDecl``, ``Struct``,
        ``Union``, ``Enum`` or ``IdentifierType`` (a basic type), or None.
        """
        seen = 0
        # Annotations written on a typedef-name reference apply to the
        # function type the name expands to (``coroutine_fn Fn *p``).
        referenced: frozenset[Kind] = frozenset()
        while node is not None and seen < 64:
            seen += 1
            if isinstance(node, c_ast.FuncDecl) and referenced - kinds_of(node):
                return self._annotated_copy(node, referenced)
            if isinstance(node, c_ast.TypeDecl):
                referenced |= reference_kinds(node)
            if isinstance(node, (c_ast.Typename, c_ast.Decl, c_ast.Typedef, c_ast.TypeDecl)):
                node = node.type
            elif isinstance(node, c_ast.IdentifierType):
                target = self.lookup_typedef(node.names[-1]) if len(node.names) == 1 else None
                if target is None:
                    return node
                node = target
            elif isinstance(node, (c_ast.Struct, c_ast.Union, c_ast.Enum)):
                return self.complete_tag(node)
            elif type(node).__name__ == "AttributedType":
                node = node.type  # type: ignore[attr-defined]
            elif type(node).__name__ == "TypeOf":
                node = self._type_of_typeof(node)
            else:
                return node
        return node

    def _annotated_copy(self, func: c_ast.FuncDecl, kinds: frozenset[Kind]) -> c_ast.FuncDecl:
        """``func`` with ``kinds`` added, one copy per pair (AST nodes hash by identity)."""
        copy = self._annotated_copies.get((func, kinds))
        if copy is None:
            copy = c_ast.FuncDecl(func.args, func.type, func.coord, attributes=list(func.attributes or []))
            for kind in sorted(kinds):
                annotate(copy, kind)
            self._annotated_copies[(func, kinds)] = copy
        return copy

    def function_type(self, node: TypeNode | None) -> c_ast.FuncDecl | None:
        """The function type of a function or a pointer to one (else None)."""
        resolved = self.resolve(node)
        if isinstance(resolved, c_ast.PtrDecl):
            resolved = self.resolve(resolved.type)
        return resolved if isinstance(resolved, c_ast.FuncDecl) else None

    def kinds(self, node: TypeNode | None) -> frozenset[Kind] | None:
        """Annotations of a function (pointer) type; None if not one."""
        func = self.function_type(node)
        return None if func is None else kinds_of(func)

    def member_type(self, aggregate: TypeNode | None, field: str) -> TypeNode | None:
        resolved = self.resolve(aggregate)
        if not isinstance(resolved, (c_ast.Struct, c_ast.Union)) or resolved.decls is None:
            return None
        for member in resolved.decls:
            if not isinstance(member, c_ast.Decl):
                continue
            if member.name == field:
                return member.type
            if member.name is None:  # anonymous struct/union member
                found = self.member_type(member.type, field)
                if found is not None:
                    return found
        return None

    def pointee(self, node: TypeNode | None) -> TypeNode | None:
        resolved = self.resolve(node)
        if isinstance(resolved, (c_ast.PtrDecl, c_ast.ArrayDecl)):
            return resolved.type
        if isinstance(resolved, c_ast.FuncDecl):
            return resolved  # *f is f
        return None

    # -- expressions ----------------------------------------------------
    def type_of(self, expr: c_ast.Node | None) -> TypeNode | None:
        """The type of an expression, as far as it matters here (None if unknown)."""
        if expr is None:
            return None
        method = getattr(self, "_type_of_" + type(expr).__name__, None)
        return method(expr) if method else None

    def _type_of_ID(self, expr: c_ast.ID) -> TypeNode | None:
        symbol = self.lookup(expr.name)
        return symbol.type if symbol else None

    def _type_of_Constant(self, expr: c_ast.Constant) -> TypeNode | None:
        if expr.type == "string":
            return _CHAR_PTR
        if expr.type in ("double", "float"):
            return _DOUBLE
        return _INT

    def _type_of_UnaryOp(self, expr: c_ast.UnaryOp) -> TypeNode | None:
        if expr.op == "&":
            inner = self.type_of(expr.expr)
            return c_ast.PtrDecl([], inner) if inner is not None else None
        if expr.op == "*":
            return self.pointee(self.type_of(expr.expr))
        if expr.op in ("sizeof", "_Alignof", "alignof", "__alignof__"):
            return _ULONG
        if expr.op == "!":
            return _INT
        return self.type_of(expr.expr)

    def _type_of_StructRef(self, expr: c_ast.StructRef) -> TypeNode | None:
        base = self.type_of(expr.name)
        if expr.type == "->":
            base = self.pointee(base)
        return self.member_type(base, expr.field.name)

    def _type_of_ArrayRef(self, expr: c_ast.ArrayRef) -> TypeNode | None:
        element = self.pointee(self.type_of(expr.name))
        if element is None:  # i[array]
            element = self.pointee(self.type_of(expr.subscript))
        return element

    def _type_of_FuncCall(self, expr: c_ast.FuncCall) -> TypeNode | None:
        func = self.function_type(self.type_of(expr.name))
        return func.type if func is not None else None

    def _type_of_Cast(self, expr: c_ast.Cast) -> TypeNode | None:
        return expr.to_type

    def _type_of_CompoundLiteral(self, expr: c_ast.CompoundLiteral) -> TypeNode | None:
        return expr.type

    def _type_of_TernaryOp(self, expr: c_ast.TernaryOp) -> TypeNode | None:
        then = self.type_of(expr.iftrue) if expr.iftrue is not None else self.type_of(expr.cond)
        if then is not None and not _is_null_constant(expr.iftrue):
            return then
        return self.type_of(expr.iffalse)

    def _type_of_OmittedConditional(self, expr: c_ast.Node) -> TypeNode | None:
        cond = self.type_of(expr.cond)  # type: ignore[attr-defined]
        return cond if cond is not None else self.type_of(expr.iffalse)  # type: ignore[attr-defined]

    def _type_of_Assignment(self, expr: c_ast.Assignment) -> TypeNode | None:
        return self.type_of(expr.lvalue)

    def _type_of_ExprList(self, expr: c_ast.ExprList) -> TypeNode | None:
        return self.type_of(expr.exprs[-1]) if expr.exprs else None

    def _type_of_BinaryOp(self, expr: c_ast.BinaryOp) -> TypeNode | None:
        if expr.op in ("==", "!=", "<", ">", "<=", ">=", "&&", "||"):
            return _INT
        left = self.type_of(expr.left)
        if isinstance(self.resolve(left), (c_ast.PtrDecl, c_ast.ArrayDecl)):
            if expr.op == "-" and isinstance(
                self.resolve(self.type_of(expr.right)), (c_ast.PtrDecl, c_ast.ArrayDecl)
            ):
                return _ULONG
            return left
        right = self.type_of(expr.right)
        if isinstance(self.resolve(right), (c_ast.PtrDecl, c_ast.ArrayDecl)):
            return right
        return left if left is not None else right

    def _type_of_TypeOf(self, node: c_ast.Node) -> TypeNode | None:
        return self._type_of_typeof(node)

    def _type_of_typeof(self, node: c_ast.Node) -> TypeNode | None:
        operand = getattr(node, "expr", None)
        if isinstance(operand, c_ast.Typename):
            return operand.type
        return self.type_of(operand)

    def _type_of_StmtExpr(self, expr: c_ast.Node) -> TypeNode | None:
        block = getattr(expr, "stmt", None) or getattr(expr, "compound", None)
        items = getattr(block, "block_items", None) or []
        return self.type_of(items[-1]) if items else None


def _is_null_constant(expr: c_ast.Node | None) -> bool:
    if isinstance(expr, c_ast.Constant) and expr.value in ("0", "0L", "0UL"):
        return True
    return (
        isinstance(expr, c_ast.Cast)
        and isinstance(expr.expr, c_ast.Constant)
        and expr.expr.value == "0"
    )


def _tag_key(node: c_ast.Node) -> str:
    return f"{type(node).__name__}:{node.name}"  # type: ignore[attr-defined]


def _type_parts(node: c_ast.Node | None) -> Iterator[c_ast.Node]:
    """The struct/union/enum specifiers inside a (possibly derived) type."""
    while node is not None:
        if isinstance(node, (c_ast.Struct, c_ast.Union, c_ast.Enum)):
            yield node
            return
        if isinstance(node, c_ast.FuncDecl) and node.args is not None:
            for param in node.args.params:
                if isinstance(param, (c_ast.Decl, c_ast.Typename)):
                    yield from _type_parts(param.type)
        node = getattr(node, "type", None)
        if not isinstance(node, c_ast.Node):
            return


class ScopedWalker(c_ast.NodeVisitor):
    """A NodeVisitor whose ``env`` always describes the scope being visited.

    Subclasses override the ``visit_*`` methods they care about and call
    ``self.generic_visit(node)`` (or the ``super()`` method) to keep walking.
    ``self.function`` is the ``FuncDef`` being visited, if any.
    """

    def __init__(self, env: TypeEnv | None = None) -> None:
        self.env = env or TypeEnv()
        self.function: c_ast.FuncDef | None = None

    def visit(self, node: c_ast.Node) -> object:
        # pycparser's ``visit`` caches bound methods on the instance, a cycle
        # (the walker holds methods that hold the walker) that only the cyclic
        # collector can free, with everything the walker references; worker
        # processes run without it between units (``project.runner``).
        return _visitor(type(self), type(node))(self, node)

    def visit_Decl(self, node: c_ast.Decl) -> None:
        # The name is in scope in its own initialiser (int x = sizeof x;).
        self.env.declare(node)
        self.generic_visit(node)

    def visit_Typedef(self, node: c_ast.Typedef) -> None:
        self.env.declare_typedef(node)
        self.generic_visit(node)

    def visit_Typename(self, node: c_ast.Typename) -> None:
        self.env.declare_tags(node.type)
        self.generic_visit(node)

    def visit_FuncDef(self, node: c_ast.FuncDef) -> None:
        self.env.declare(node.decl)
        outer = self.function
        self.function = node
        self.env.push()
        func = node.decl.type
        if isinstance(func, c_ast.FuncDecl) and func.args is not None:
            for param in func.args.params:
                if isinstance(param, c_ast.Decl):
                    self.env.declare(param)
        for param_decl in node.param_decls or ():  # K&R
            self.env.declare(param_decl)
        self.visit_function_body(node)
        self.env.pop()
        self.function = outer

    def visit_function_body(self, node: c_ast.FuncDef) -> None:
        """Visit a function's body (its parameters are already in scope)."""
        self.visit(node.body)

    def visit_Compound(self, node: c_ast.Compound) -> None:
        self.env.push()
        self.generic_visit(node)
        self.env.pop()

    def visit_For(self, node: c_ast.For) -> None:
        self.env.push()  # for (int i = ...) has its own scope
        self.generic_visit(node)
        self.env.pop()

    def visit_FuncDecl(self, node: c_ast.FuncDecl) -> None:
        # Parameter names of a prototype are not in scope outside it.
        self.env.push()
        self.generic_visit(node)
        self.env.pop()


@cache
def _visitor(
    walker: type[ScopedWalker], node: type[c_ast.Node]
) -> Callable[[ScopedWalker, c_ast.Node], object]:
    """The method of ``walker`` that visits ``node``: its ``visit_<Node>`` or ``generic_visit``."""
    return getattr(walker, "visit_" + node.__name__, walker.generic_visit)  # type: ignore[no-any-return]
