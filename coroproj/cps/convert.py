"""Pass 5, CPS-convert: every piece becomes ``cpc_cont *piece(cpc_cont *k)``.

A piece pops its argument struct (its live variables, then the result slot
of a receiver), runs its native code, and ends by

* a jump to another piece: a direct call (push only its arguments), except
  for the jumps that close a cycle of jumps (back edges of a depth-first
  search), which push a frame and return to the trampoline — so no chain of
  direct calls is unbounded and loops never grow the C stack, at any -O;
  jumps to labels inside the same piece stay C ``goto``s;
* a coroutine call: push the receiver's frame (result slot left empty),
  then the callee's frame, return to the trampoline; when the receiver
  would only return the result (``return g(...)``) no receiver is pushed and
  the callee writes straight into our caller's slot; when a void call's
  receiver would only jump on, the piece it jumps to receives instead;
* ``return e``: ``CPC_RETURN`` into the receiver our caller pushed.

Coroutine function types become ``cpc_function`` everywhere (``runtime_type``)
and ``cpc_need_cont`` natives get the continuation as a hidden first argument.
"""

from __future__ import annotations

import copy

from pycparser import c_ast

from coroproj.cps.common import (
    CONT,
    RUNTIME_FUNCTION_TYPE,
    Unit,
    declaration,
    innermost_typedecl,
    is_void,
    parameter_types,
    reject,
    set_child,
    type_text,
)
from coroproj.cps.ir import CoroutineCall, CpsGenerator, Piece, SplitFunction
from coroproj.cps.lift import referenced
from coroproj.frontend import gnu_ast
from coroproj.frontend.annotations import Kind, kinds_of
from coroproj.frontend.typing import TypeEnv

RESULT_SLOT = "cpc__result"
"""The receiver's last field (never a user's variable name: those travel too)."""


class RawStatement(gnu_ast.GnuNode):
    """Generated C text standing for one statement."""

    __slots__ = ("__weakref__", "coord", "text")
    attr_names = ("text",)

    def __init__(self, text: str, coord: object = None) -> None:
        self.text = text
        self.coord = coord


class ConvertGenerator(CpsGenerator):
    def visit_RawStatement(self, n: RawStatement) -> str:
        return n.text

    def _generate_stmt(self, n: c_ast.Node, add_indent: bool = False) -> str:
        if isinstance(n, RawStatement):
            indent = " " * (self.indent_level + (2 if add_indent else 0))
            return "".join(indent + line + "\n" for line in n.text.splitlines())
        return super()._generate_stmt(n, add_indent)


# --- types ---------------------------------------------------------------------


def runtime_type(type_node: c_ast.Node, unit: Unit, *, keep_top: bool = False) -> c_ast.Node:
    """A copy of ``type_node`` in which every coroutine function type is ``cpc_function``.

    With ``keep_top`` the outermost function type (a declared function itself)
    is left alone; only types inside it are rewritten.
    """
    fresh = copy.deepcopy(type_node)
    return _rewrite_types_in(fresh, unit, keep_top=keep_top)


def _rewrite_types_in(node: c_ast.Node, unit: Unit, *, keep_top: bool = False) -> c_ast.Node:
    if isinstance(node, (c_ast.Decl, c_ast.FuncDef)) and isinstance(
        getattr(node, "type", None), c_ast.FuncDecl
    ):
        _rewrite_types_in(node.type, unit, keep_top=True)  # a declared function keeps its own type
        for slot, child in node.children():
            if slot != "type":
                replaced = _rewrite_types_in(child, unit)
                if replaced is not child:
                    set_child(node, slot, replaced)
        return node
    if isinstance(node, c_ast.FuncDecl) and not keep_top and unit.is_coroutine_type(node):
        base = innermost_typedecl(node)
        name = base.declname if base is not None else None
        return c_ast.TypeDecl(name, [], None, c_ast.IdentifierType([RUNTIME_FUNCTION_TYPE]), node.coord)
    for slot, child in node.children():
        replaced = _rewrite_types_in(child, unit)
        if replaced is not child:
            set_child(node, slot, replaced)
    return node


def rewrite_need_cont_calls(node: c_ast.Node, unit: Unit, env: TypeEnv, continuation: str) -> None:
    """Give every call of a ``cpc_need_cont`` native its hidden first argument, in place."""
    for current in _all_nodes(node):
        if isinstance(current, c_ast.FuncCall) and unit.is_need_cont_call(current, env):
            hidden = c_ast.ID(continuation) if continuation != "NULL" else _null()
            if current.args is None:
                current.args = c_ast.ExprList([hidden], current.coord)
            else:
                current.args.exprs.insert(0, hidden)


def _null() -> c_ast.Node:
    void_ptr = c_ast.Typename(
        None, [], None, c_ast.PtrDecl([], c_ast.TypeDecl(None, [], None, c_ast.IdentifierType(["void"])))
    )
    return c_ast.Cast(void_ptr, c_ast.Constant("int", "0"))


def _all_nodes(node: c_ast.Node) -> list[c_ast.Node]:
    out = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(child for _, child in current.children())
    return out


# --- pieces --------------------------------------------------------------------


class Converter:
    def __init__(self, split: SplitFunction, unit: Unit) -> None:
        self.split = split
        self.function = split.function
        self.unit = unit
        self.variables = self.function.variables()
        self.generator = ConvertGenerator()
        self.by_label = {piece.label: piece for piece in split.pieces}
        self._declarations: dict[tuple[str, int], str] = {}
        self.tail_receivers = self._tail_receivers()
        self.bouncing_jumps = self._bouncing_jumps()
        self.receiver_alias = self._empty_receivers()
        self.direct = self._direct_pieces()
        # Bytes each push site of the piece being converted pushes (C
        # constant expressions): its top reserves the most of them at once.
        self._push_sites: list[str] = []

    def _direct_pieces(self) -> set[str]:
        """Pieces only ever entered by a direct call: their live variables are
        C parameters (registers) instead of an argument struct pushed on the
        continuation and popped at once."""
        framed = {target for _, target in self.bouncing_jumps} | set(self.receiver_alias.values())
        for piece in self.split.pieces:  # receivers: the trampoline enters them
            for statement, following in zip(piece.body, piece.body[1:], strict=False):
                if isinstance(statement, CoroutineCall) and isinstance(following, c_ast.Goto):
                    framed.add(following.name)
        return {piece.label for piece in self.split.pieces if piece.index != 0 and piece.label not in framed}

    def signature(self, piece: Piece) -> str:
        """``(cpc_cont *k[, T v, ...])``: a direct piece takes its live variables."""
        params = [f"cpc_cont *{CONT}"]
        if piece.label in self.direct:
            params += [
                self._decl_text(name, self.variables[name].type) + " __attribute__((unused))"
                for name in piece.params
            ]
        return "(" + ", ".join(params) + ")"

    def _empty_receivers(self) -> dict[str, str]:
        """Receivers of void calls that would only jump on: the piece jumped to
        receives instead (same live variables, no result slot), and the empty
        piece is not emitted."""
        alias: dict[str, str] = {}
        for piece in self.split.pieces:
            for statement, following in zip(piece.body, piece.body[1:], strict=False):
                if not (isinstance(statement, CoroutineCall) and isinstance(following, c_ast.Goto)):
                    continue
                receiver = self.by_label[following.name]
                if receiver.label in self.tail_receivers or not is_void(
                    statement.functype.type, self.unit.env
                ):
                    continue
                if len(receiver.body) == 1 and isinstance(receiver.body[0], c_ast.Goto):
                    target = self.by_label.get(receiver.body[0].name)
                    if target is not None and target is not receiver and target.params == receiver.params:
                        alias[receiver.label] = target.label
        return alias

    def _bouncing_jumps(self) -> set[tuple[str, str]]:
        """Jumps that must go through the trampoline: the back edges of a depth-first
        search of the jump graph (calls excluded: they return to the trampoline).

        Every other jump calls its piece directly.  Cutting the back edges
        leaves no cycle of direct calls, so the C stack stays bounded at any
        optimisation level while a loop whose body calls a coroutine (a
        receiver jumping back to the loop head) costs no extra bounce.
        """
        edges: dict[str, list[str]] = {}
        for piece in self.split.pieces:
            targets: list[str] = []
            for position, statement in enumerate(piece.body):
                after_call = position > 0 and isinstance(piece.body[position - 1], CoroutineCall)
                for node in _all_nodes(statement):
                    if isinstance(node, c_ast.Goto) and node.name in self.by_label and not after_call:
                        targets.append(node.name)
            edges[piece.label] = targets
        back: set[tuple[str, str]] = set()
        state: dict[str, int] = {}  # 1 on the stack, 2 done
        for root in edges:
            if root in state:
                continue
            stack = [(root, iter(edges[root]))]
            state[root] = 1
            while stack:
                node, successors = stack[-1]
                advanced = False
                for successor in successors:
                    if state.get(successor) == 1:
                        back.add((node, successor))
                    elif successor not in state:
                        state[successor] = 1
                        stack.append((successor, iter(edges.get(successor, []))))
                        advanced = True
                        break
                if not advanced:
                    state[node] = 2
                    stack.pop()
        return back

    def _tail_receivers(self) -> set[str]:
        """Receivers made pointless by ``return g(...)``: not emitted at all.

        Only when nothing else jumps to them: the piece after ``if (c) g();``
        in a void function is both the receiver of the tail call and the
        target of the ``if``'s other branch.
        """
        found: set[str] = set()
        tail_jumps: set[int] = set()
        for piece in self.split.pieces:
            for statement, following in zip(piece.body, piece.body[1:], strict=False):
                if (
                    isinstance(statement, CoroutineCall)
                    and isinstance(following, c_ast.Goto)
                    and self._is_tail_call(statement, self.by_label[following.name])
                ):
                    found.add(following.name)
                    tail_jumps.add(id(following))
        jumped_to = {
            node.name
            for piece in self.split.pieces
            for statement in piece.body
            for node in _all_nodes(statement)
            if isinstance(node, c_ast.Goto) and id(node) not in tail_jumps
        }
        return found - jumped_to

    # names
    def struct_name(self, piece: Piece) -> str:
        return f"{piece.name}__args"

    def _decl_text(self, name: str, type_node: c_ast.Node) -> str:
        key = (name, id(type_node))
        text = self._declarations.get(key)
        if text is None:
            text = self.generator.visit(declaration(name, runtime_type(type_node, self.unit)))
            self._declarations[key] = text
        return text

    def _result_type(self, piece: Piece) -> c_ast.Node | None:
        if piece.receives is None:
            return None
        return self.variables[piece.receives].type

    def frame_struct(self, piece: Piece) -> str | None:
        """``struct piece__args {...};`` or None when the piece takes nothing."""
        if piece.index == 0 or piece.label in self.direct:
            return None
        fields = [self._decl_text(name, self.variables[name].type) + ";" for name in piece.params]
        result = self._result_type(piece)
        if result is not None:
            fields.append("_Alignas(CPC_ALIGN) " + self._decl_text(RESULT_SLOT, result) + ";")
        if not fields:
            return None
        return f"struct {self.struct_name(piece)} {{ " + " ".join(fields) + " };"

    def has_frame_struct(self, piece: Piece) -> bool:
        return piece.index != 0 and piece.label not in self.direct and bool(piece.params or piece.receives)

    def entry_args_struct(self) -> str | None:
        types = parameter_types(self.function.functype, self.unit.env)
        if not types:
            return None
        return args_struct_text(types, self.unit)

    # statements
    def piece_text(self, piece: Piece) -> str:
        self._push_sites = []
        lines: list[str] = []
        popped = "0"  # bytes of the piece's own argument struct
        body = piece.body  # converted in place: each statement belongs to this piece only
        used = set()
        for statement in body:
            part = statement.call if isinstance(statement, CoroutineCall) else statement
            used |= referenced(part, set(self.variables), evaluated_only=False)
            for node in _all_nodes(statement):
                if isinstance(node, c_ast.Goto) and node.name in self.by_label:
                    used |= set(self.by_label[node.name].params)
        if piece.index == 0:
            entry_struct = self.entry_args_struct()
            if entry_struct is not None:
                popped = f"sizeof({entry_struct})"
                lines.append(f"{entry_struct} *cpc__a = cpc_pop({CONT}, sizeof *cpc__a);")
                for position, param in enumerate(self.function.params):
                    if param.name in used:
                        lines.append(self._decl_text(param.name, param.type) + f" = cpc__a->a{position};")
                if not used & {param.name for param in self.function.params}:
                    lines.append("(void)cpc__a;")
            copied = {param.name for param in self.function.params}
        elif piece.label in self.direct:
            copied = set(piece.params)  # C parameters
        else:
            copied = set()
            if self.has_frame_struct(piece):
                popped = f"sizeof(struct {self.struct_name(piece)})"
                lines.append(f"struct {self.struct_name(piece)} *cpc__a = cpc_pop({CONT}, sizeof *cpc__a);")
                for name in piece.params:
                    lines.append(self._decl_text(name, self.variables[name].type) + f" = cpc__a->{name};")
                    copied.add(name)
                if piece.receives is not None and piece.receives in used:
                    received = self._decl_text(piece.receives, self._result_type(piece))
                    lines.append(f"{received} = cpc__a->{RESULT_SLOT};")
                    copied.add(piece.receives)
                if not piece.params and (piece.receives is None or piece.receives not in used):
                    lines.append("(void)cpc__a;")
        for name in self.variables:
            if name in used and name not in copied:
                # Zeroed: a variable written only in part (a field) before a
                # split travels whole; no indeterminate bytes are copied.
                # Unused attribute: a temporary may be set in a piece and dead after it.
                lines.append(
                    "__attribute__((unused)) "
                    + self._decl_text(name, self.variables[name].type)
                    + " = { 0 };"
                )
        out = [*lines]
        index = 0
        while index < len(body):
            statement = body[index]
            if isinstance(statement, CoroutineCall):
                following = body[index + 1]
                assert isinstance(following, c_ast.Goto)
                out.append(self._line(statement) + self.call_text(piece, statement, following.name))
                index += 2
                continue
            out.append(self._line(statement) + self.statement_text(piece, statement))
            index += 1
        if self._push_sites:
            # One capacity check for the whole piece, net of the piece's own
            # arguments, before anything is live: every push below is
            # unchecked.  When short, a piece of the trampoline's type grows
            # the continuation and runs again in a tail call, so the hot path
            # needs no stack frame; a direct piece (C parameters) grows in place.
            pushed = self._push_sites[0]
            for site in self._push_sites[1:]:
                pushed = f"cpc_max({site}, {pushed})"
            if piece.label in self.direct:
                out.insert(0, f"cpc_reserve_piece(&{CONT}, {popped}, {pushed});")
            else:
                out[0:0] = [
                    f"__SIZE_TYPE__ cpc__short = cpc_piece_shortfall({CONT}, {popped}, {pushed});",
                    f"if (__builtin_expect(cpc__short != 0, 0)) return cpc_grow_and_run({CONT}, cpc__short, "
                    f"{piece.name});",
                ]
        return "\n".join(out)

    def _line(self, statement: c_ast.Node) -> str:
        return _line_of(statement)

    def statement_text(self, piece: Piece, statement: c_ast.Node) -> str:
        rewrite_need_cont_calls(statement, self.unit, self.unit.env, CONT)
        statement = self._types_in_statement(statement)
        if isinstance(statement, c_ast.Return):
            return self.return_text(statement)
        if isinstance(statement, c_ast.Goto) and statement.name in self.by_label:
            return "{\n" + _indent(self.jump_text(piece, statement.name)) + "\n}"
        if isinstance(statement, c_ast.Label):
            return f"{statement.name}:;"
        statement = self._replace_gotos(piece, statement)
        return self.generator._generate_stmt(statement).rstrip("\n")

    def _types_in_statement(self, statement: c_ast.Node) -> c_ast.Node:
        return _rewrite_types_in(statement, self.unit)

    def _replace_gotos(self, piece: Piece, node: c_ast.Node) -> c_ast.Node:
        for current in _all_nodes(node):
            for slot, child in current.children():
                if isinstance(child, c_ast.Goto) and child.name in self.by_label:
                    set_child(
                        current,
                        slot,
                        RawStatement("{\n" + _indent(self.jump_text(piece, child.name)) + "\n}", child.coord),
                    )
        return node

    def return_text(self, statement: c_ast.Return) -> str:
        if statement.expr is None or not self.function.returns_value:
            return f"return {CONT};"
        rtype = type_text(runtime_type(self.function.return_type, self.unit))
        if "," in rtype:  # protect the commas of a function pointer type from the macro
            rtype = f"__typeof__({rtype})"
        value = self.generator.visit(statement.expr)
        return f"CPC_RETURN({CONT}, {rtype}, ({value}));"

    def jump_text(self, source: Piece, label: str) -> str:
        target = self.by_label[label]
        fill = [f"cpc__j->{name} = {name};" for name in target.params]
        if label in self.direct:
            return f"return {target.name}({', '.join([CONT, *target.params])});"
        if (source.label, label) not in self.bouncing_jumps:
            if not target.params:
                return f"return {target.name}({CONT});"
            self._push_sites.append(f"CPC_ROUND(sizeof(struct {self.struct_name(target)}))")
            return "\n".join(
                [
                    f"struct {self.struct_name(target)} *cpc__j = cpc_push_reserved({CONT}, sizeof *cpc__j);",
                    *fill,
                    f"return {target.name}({CONT});",
                ]
            )
        if not self.has_frame_struct(target):
            self._push_sites.append("cpc_frame_bytes(0)")
            return f"cpc_push_frame_reserved({CONT}, 0, {target.name});\nreturn {CONT};"
        self._push_sites.append(f"cpc_frame_bytes(sizeof(struct {self.struct_name(target)}))")
        return "\n".join(
            [
                f"struct {self.struct_name(target)} *cpc__j = "
                f"cpc_push_frame_reserved({CONT}, sizeof *cpc__j, {target.name});",
                *fill,
                f"return {CONT};",
            ]
        )

    def _expression(self, expr: c_ast.Node) -> str:
        text = self.generator.visit(expr)
        return f"({text})" if isinstance(expr, c_ast.ExprList) else text

    def _is_tail_call(self, call: CoroutineCall, receiver: Piece) -> bool:
        """``return g(...)``: the receiver would only hand the result on."""
        if receiver.params or len(receiver.body) != 1 or not isinstance(receiver.body[0], c_ast.Return):
            return False
        value = receiver.body[0].expr
        callee_void = is_void(call.functype.type, self.unit.env)
        if not self.function.returns_value:
            return callee_void and value is None
        if callee_void or call.result is None:
            return False
        if not (isinstance(value, c_ast.ID) and value.name == call.result.name):
            return False
        mine = type_text(runtime_type(self.function.return_type, self.unit))
        theirs = type_text(runtime_type(call.functype.type, self.unit))
        return mine == theirs

    def call_text(self, piece: Piece, call: CoroutineCall, receiver_label: str) -> str:
        receiver = self.by_label[self.receiver_alias.get(receiver_label, receiver_label)]
        lines: list[str] = []
        frames: list[str] = []  # argument struct sizes of the frames pushed
        # The receiver's live variables are saved after the arguments are
        # evaluated: an argument such as `index++` changes what it receives.
        saves: list[str] = []
        if not self._is_tail_call(call, receiver):
            if self.has_frame_struct(receiver):
                frames.append(f"sizeof(struct {self.struct_name(receiver)})")
                lines.append(
                    f"struct {self.struct_name(receiver)} *cpc__r = "
                    f"cpc_push_frame_reserved({CONT}, sizeof *cpc__r, {receiver.name});"
                )
                saves = [f"cpc__r->{name} = {name};" for name in receiver.params]
            else:
                frames.append("0")
                lines.append(f"cpc_push_frame_reserved({CONT}, 0, {receiver.name});")
        expression = call.call  # belongs to this piece only
        rewrite_need_cont_calls(expression, self.unit, self.unit.env, CONT)
        expression = self._types_in_statement(expression)
        callee = self.generator.visit(expression.name)
        if not isinstance(expression.name, c_ast.ID):
            callee = f"({callee})"
        types = parameter_types(call.functype, self.unit.env)
        args = list(expression.args.exprs) if expression.args is not None else []
        if len(args) != len(types):
            reject(
                call.call,
                "unsupported",
                f"coroutine call with {len(args)} arguments to a function type with {len(types)} "
                "parameters (prototypes are required)",
            )
        if types:
            struct = args_struct_text(types, self.unit)
            frames.append(f"sizeof({struct})")
            lines.append(f"{struct} *cpc__c = cpc_push_frame_reserved({CONT}, sizeof *cpc__c, {callee});")
            for position, arg in enumerate(args):
                lines.append(f"cpc__c->a{position} = {self._expression(arg)};")
        else:
            frames.append("0")
            lines.append(f"cpc_push_frame_reserved({CONT}, 0, {callee});")
        self._push_sites.append(" + ".join(f"cpc_frame_bytes({size})" for size in frames))
        lines += saves
        lines.append(f"return {CONT};")
        return "{\n" + _indent("\n".join(lines)) + "\n}"


def args_struct_text(types: list[c_ast.Node], unit: Unit) -> str:
    """The (anonymous, layout-defined) argument struct of a coroutine function type."""
    generator = ConvertGenerator()
    fields = [
        generator.visit(declaration(f"a{position}", runtime_type(t, unit))) + ";"
        for position, t in enumerate(types)
    ]
    return "struct { " + " ".join(fields) + " }"


def _indent(text: str) -> str:
    return "\n".join(("  " + line) if not line.startswith("#") else line for line in text.splitlines())


def _escape(path: str) -> str:
    return path.replace("\\", "\\\\").replace('"', '\\"')


def convert(split: SplitFunction, unit: Unit) -> str:
    """The C text of one translated coroutine function (structs, prototypes, pieces)."""
    converter = Converter(split, unit)
    function = split.function
    storage = "static " if "static" in (function.definition.decl.storage or []) else ""
    out: list[str] = []
    generator = ConvertGenerator()
    for moved in function.file_scope:
        if isinstance(moved, c_ast.Decl) and is_coroutine_decl(moved, unit):
            # a block-scope prototype of a coroutine function
            out.append(_line_of(moved) + f"cpc_cont *{moved.name}(cpc_cont *{CONT});")
            continue
        moved = runtime_type(
            moved, unit, keep_top=isinstance(moved, c_ast.Decl) and isinstance(moved.type, c_ast.FuncDecl)
        )
        out.append(_line_of(moved) + generator.visit(moved) + ";")
    skipped = converter.tail_receivers | set(converter.receiver_alias)
    pieces = [piece for piece in split.pieces if piece.label not in skipped]
    for piece in pieces[1:]:
        struct = converter.frame_struct(piece)
        if struct is not None:
            out.append(struct)
        out.append(f"static cpc_cont *{piece.name}{converter.signature(piece)};")
    for piece in pieces:
        head = (
            f"{storage}cpc_cont *{piece.name}(cpc_cont *{CONT})"
            if piece.index == 0
            else f"static cpc_cont *{piece.name}{converter.signature(piece)}"
        )
        out.append(_line_of(function.definition) + head)
        out.append("{")
        out.append(_indent(converter.piece_text(piece)))
        out.append("}")
    return "\n".join(out) + "\n"


SYSTEM_HEADER_DIRS = ("/usr/include/", "/usr/local/include/", "/usr/lib/gcc/", "/usr/lib64/gcc/")


def _line_of(node: c_ast.Node) -> str:
    """The line directive mapping what follows back to ``node``'s source line.

    Declarations from system headers get GCC's line marker with the
    system-header flag (``# N "file" 3``), so the compiler keeps silencing
    their warnings (-Wredundant-decls on glibc's scanf aliases, ...) as it
    did before preprocessing.
    """
    coord = getattr(node, "coord", None)
    if coord is None or not getattr(coord, "line", None) or not getattr(coord, "file", None):
        return ""
    if coord.file.startswith(SYSTEM_HEADER_DIRS):
        return f'# {coord.line} "{_escape(coord.file)}" 3\n'
    return f'#line {coord.line} "{_escape(coord.file)}"\n'


def is_coroutine_decl(decl: c_ast.Decl, unit: Unit) -> bool:
    return (
        isinstance(decl.type, c_ast.FuncDecl)
        and Kind.COROUTINE in kinds_of(decl.type)
        and decl.name not in unit.need_cont
    )
