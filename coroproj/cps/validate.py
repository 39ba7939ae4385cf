"""Before any pass: reject what cannot be translated, with the reason.

Each problem stops the translation with ``file:line: error: ...
[coroproj-cps-<reason>]`` (exit status 2) instead of producing wrong code:

==========================  =====================================================
``native-call``             a coroutine function called from native code
``hybrid``                  a native or mixed function that calls coroutine
                            functions and asks ``qemu_in_coroutine()`` (split it
                            into a native and a coroutine twin)
``proto-mismatch``          declarations of one function disagree on coroutine_fn
``pointer-mismatch``        a cast, assignment, initializer, argument or return
                            between coroutine and native function pointers
``need-cont-address``       the address of a ``cpc_need_cont`` native taken
``varargs``                 a variadic coroutine function
``setjmp``, ``alloca``,     inside a coroutine function
``vla``, ``computed-goto``
``return-local-address``    ``return &local`` (checked by normalize)
``cleanup``                 a local with ``__attribute__((cleanup))`` split across
                            pieces (checked by normalize)
``unsupported``             anything else the passes cannot represent (an unnamed
                            struct type travelling between pieces, ...)
``typedef-annotation``      an annotation on a typedef-name reference that cannot
                            be named (``references``: a block-scope typedef, a
                            ``__typeof__``)
==========================  =====================================================
"""

from __future__ import annotations

from pycparser import c_ast

from coroproj.cps.common import Unit, has_ellipsis, parameter_types, reject, walk
from coroproj.frontend import gnu_ast
from coroproj.frontend.annotations import Kind, kinds_of
from coroproj.frontend.typing import ScopedWalker

SETJMP_NAMES = frozenset(
    {
        "setjmp",
        "_setjmp",
        "__setjmp",
        "sigsetjmp",
        "__sigsetjmp",
        "__builtin_setjmp",
        "longjmp",
        "_longjmp",
        "siglongjmp",
        "__builtin_longjmp",
        "__longjmp_chk",
    }
)
ALLOCA_NAMES = frozenset({"alloca", "__builtin_alloca", "__builtin_alloca_with_align"})
IN_COROUTINE_PREDICATES = frozenset({"qemu_in_coroutine"})


def validate(unit: Unit) -> None:
    _check_declarations(unit)
    _Checker(unit).visit(unit.ast)


def _check_declarations(unit: Unit) -> None:
    seen: dict[str, tuple[bool, c_ast.Node]] = {}
    for ext in unit.ast.ext:
        decl = ext.decl if isinstance(ext, c_ast.FuncDef) else ext
        if not isinstance(decl, c_ast.Decl) or not isinstance(decl.type, c_ast.FuncDecl):
            continue
        is_coroutine = Kind.COROUTINE in kinds_of(decl.type)
        if is_coroutine and has_ellipsis(decl.type):
            reject(decl, "varargs", f"variadic coroutine function '{decl.name}'")
        if decl.name in unit.need_cont:
            continue
        if decl.name in seen and seen[decl.name][0] != is_coroutine:
            other = seen[decl.name][1]
            where = f"{other.coord.file}:{other.coord.line}" if other.coord else "elsewhere"
            reject(
                decl,
                "proto-mismatch",
                f"'{decl.name}' is declared {'with' if is_coroutine else 'without'} coroutine_fn "
                f"here but {'without' if is_coroutine else 'with'} it at {where}",
            )
        seen.setdefault(decl.name, (is_coroutine, decl))
        if is_coroutine:
            unit.coroutine_functions.add(decl.name)


class _Checker(ScopedWalker):
    def __init__(self, unit: Unit) -> None:
        super().__init__()
        self.unit = unit
        self.parents: list[c_ast.Node] = []

    def visit(self, node: c_ast.Node) -> object:
        self.parents.append(node)
        try:
            return super().visit(node)
        finally:
            self.parents.pop()

    # -- where we are ------------------------------------------------------
    def _in_coroutine(self) -> bool:
        return self.function is not None and Kind.COROUTINE in kinds_of(self.function.decl.type)

    def _coroutine_kind(self, type_node: c_ast.Node | None) -> bool | None:
        kinds = self.env.kinds(type_node)
        if kinds is None:
            return None
        functype = self.env.function_type(type_node)
        if functype is not None and self._names_need_cont(functype):
            return None
        return Kind.COROUTINE in kinds

    def _names_need_cont(self, functype: c_ast.FuncDecl) -> bool:
        for name in self.unit.need_cont:
            symbol = self.env.lookup(name)
            if symbol is not None and symbol.type is functype:
                return True
        return False

    def _check_pair(
        self, node: c_ast.Node, target: c_ast.Node | None, value: c_ast.Node | None, what: str
    ) -> None:
        if value is None or target is None:
            return
        wanted = self._coroutine_kind(target)
        given = self._coroutine_kind(self.env.type_of(value))
        if wanted is None or given is None or wanted == given:
            return

        def describe(flag: bool) -> str:
            return "coroutine" if flag else "native"

        reject(
            node,
            "pointer-mismatch",
            f"{what} converts a {describe(given)} function pointer to a {describe(wanted)} one",
        )

    # -- hooks -------------------------------------------------------------
    def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
        name = node.name.name if isinstance(node.name, c_ast.ID) else None
        if (
            self.function is not None
            and self.unit.is_coroutine_call(node, self.env)
            and not self._in_coroutine()
        ):
            kinds = kinds_of(self.function.decl.type)
            hybrid = Kind.MIXED in kinds or any(
                isinstance(n, c_ast.FuncCall)
                and isinstance(n.name, c_ast.ID)
                and n.name.name in IN_COROUTINE_PREDICATES
                for n in walk(self.function.body)
            )
            callee = name or "a coroutine function pointer"
            if hybrid:
                reject(
                    node,
                    "hybrid",
                    f"'{self.function.decl.name}' runs in both contexts (it asks qemu_in_coroutine()) "
                    f"and calls coroutine function '{callee}': split it into a native and a coroutine "
                    "twin before translating",
                )
            reject(
                node,
                "native-call",
                f"coroutine function '{callee}' called from native function '{self.function.decl.name}'",
            )
        symbol = self.env.lookup(name) if name is not None else None
        if self._in_coroutine() and name is not None and (symbol is None or symbol.is_function):
            if name in SETJMP_NAMES:
                reject(
                    node,
                    "setjmp",
                    f"'{name}' in a coroutine function (a continuation has no stack to jump to)",
                )
            if name in ALLOCA_NAMES:
                reject(
                    node,
                    "alloca",
                    f"'{name}' in a coroutine function (the stack frame does not survive a split)",
                )
        functype = self.env.function_type(self.env.type_of(node.name))
        if functype is not None and node.args is not None:
            types = parameter_types(functype, self.env)
            for param_type, arg in zip(types, node.args.exprs, strict=False):
                self._check_pair(arg, param_type, arg, "this argument")
        self.visit(node.name)
        if node.args is not None:
            self.visit(node.args)

    def visit_ID(self, node: c_ast.ID) -> None:
        if node.name not in self.unit.need_cont:
            return
        symbol = self.env.lookup(node.name)
        if symbol is None or not symbol.is_function:
            return
        parent = self.parents[-2] if len(self.parents) > 1 else None
        if isinstance(parent, c_ast.FuncCall) and parent.name is node:
            return
        reject(
            node,
            "need-cont-address",
            f"the address of '{node.name}' is taken; it receives the current continuation as a hidden "
            "argument and can only be called directly",
        )

    def visit_Cast(self, node: c_ast.Cast) -> None:
        self._check_pair(node, node.to_type, node.expr, "this cast")
        self.generic_visit(node)

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        if node.op == "=":
            self._check_pair(node, self.env.type_of(node.lvalue), node.rvalue, "this assignment")
        self.generic_visit(node)

    def visit_Decl(self, node: c_ast.Decl) -> None:
        super().visit_Decl(node)
        if node.init is not None and not isinstance(node.init, c_ast.InitList):
            self._check_pair(node, node.type, node.init, f"the initializer of '{node.name}'")
        if isinstance(node.init, c_ast.InitList):
            self._check_init_list(node.type, node.init)
        if self._in_coroutine() and self.env is not None and not self.env.at_file_scope:
            self._check_vla(node)

    def _check_init_list(self, type_node: c_ast.Node, init: c_ast.InitList) -> None:
        resolved = self.env.resolve(type_node)
        if isinstance(resolved, (c_ast.Struct, c_ast.Union)) and resolved.decls:
            members = [m for m in resolved.decls if isinstance(m, c_ast.Decl)]
            position = 0
            for item in init.exprs:
                if isinstance(item, c_ast.NamedInitializer):
                    if len(item.name) == 1 and isinstance(item.name[0], c_ast.ID):
                        member_type = self.env.member_type(resolved, item.name[0].name)
                        self._check_pair(
                            item.expr, member_type, item.expr, f"the initializer of '.{item.name[0].name}'"
                        )
                    continue
                if position < len(members):
                    if isinstance(item, c_ast.InitList):
                        self._check_init_list(members[position].type, item)
                    else:
                        self._check_pair(item, members[position].type, item, "this initializer")
                position += 1
        elif isinstance(resolved, c_ast.ArrayDecl):
            for item in init.exprs:
                value = item.expr if isinstance(item, c_ast.NamedInitializer) else item
                if isinstance(value, c_ast.InitList):
                    self._check_init_list(resolved.type, value)
                else:
                    self._check_pair(item, resolved.type, value, "this initializer")

    def _check_vla(self, node: c_ast.Decl) -> None:
        current = node.type
        while isinstance(current, (c_ast.ArrayDecl, c_ast.PtrDecl)):
            if isinstance(current, c_ast.ArrayDecl) and current.dim is not None:
                for sub in walk(current.dim, evaluated_only=True):
                    if isinstance(sub, c_ast.ID):
                        symbol = self.env.lookup(sub.name)
                        if symbol is not None and symbol.decl is not None and not symbol.is_function:
                            reject(
                                node, "vla", f"variable-length array '{node.name}' in a coroutine function"
                            )
            current = current.type

    def visit_Return(self, node: c_ast.Return) -> None:
        if self.function is not None and node.expr is not None:
            self._check_pair(node, self.function.decl.type.type, node.expr, "this return")
        self.generic_visit(node)

    def visit_ComputedGoto(self, node: gnu_ast.ComputedGoto) -> None:
        if self._in_coroutine():
            reject(node, "computed-goto", "computed goto in a coroutine function")
        self.generic_visit(node)

    def visit_LabelAddress(self, node: gnu_ast.LabelAddress) -> None:
        if self._in_coroutine():
            reject(node, "computed-goto", "label address (&&label) in a coroutine function")


