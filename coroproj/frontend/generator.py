"""Regenerate GNU C from the front-end's AST.

Attributes are printed as ``__attribute__((...))`` wherever they are kept
in the AST (gcc in gnu11 mode does not take ``[[...]]`` everywhere), the
coroproj annotations as ``__attribute__((coroutine_fn))`` (or omitted), and
the GNU nodes of ``gnu_ast`` in their GCC syntax.
"""

from __future__ import annotations

from collections.abc import Callable

from pycparser import c_ast
from pycparser.c_generator import CGenerator

from coroproj.frontend import gnu_ast
from coroproj.frontend.annotations import NAMESPACE, AttributeNames, Kind

# Statement-level nodes that the base generator would print without ';'.
_NEEDS_SEMICOLON = (
    gnu_ast.Asm,
    gnu_ast.ComputedGoto,
    gnu_ast.LocalLabels,
    gnu_ast.StmtExpr,
    gnu_ast.LabelAddress,
    gnu_ast.OmittedConditional,
)


class GnuCGenerator(CGenerator):
    """``CGenerator`` printing GNU attributes and the GNU constructs.

    ``annotations``: print the coroproj annotations (as the first spelling
    configured in ``names``) or leave them out, e.g. for code given to a
    compiler that warns about unknown attributes.
    """

    def __init__(
        self,
        names: AttributeNames | None = None,
        *,
        annotations: bool = True,
        reduce_parentheses: bool = False,
    ) -> None:
        super().__init__(reduce_parentheses=reduce_parentheses)
        self.names = names if names is not None else AttributeNames()
        self.annotations = annotations

    # Attributes ---------------------------------------------------------
    def _generate_attributes(self, attributes: list[c_ast.AttributeSpecifier]) -> str:
        return " ".join(text for spec in attributes if (text := self.visit(spec)))

    def visit_Attribute(self, n: c_ast.Attribute) -> str:
        if n.namespace == NAMESPACE:
            if not self.annotations:
                return ""
            return self.names.macro[Kind(n.name)]
        text = n.name
        if n.arguments is not None:
            text += "(" + n.arguments + ")"
        return text

    def visit_AttributeSpecifier(self, n: c_ast.AttributeSpecifier) -> str:
        inner = [text for attribute in n.attributes if (text := self.visit(attribute))]
        if not inner:
            return ""
        return "__attribute__((" + ", ".join(inner) + "))"

    def _generate_decl(self, n: c_ast.Decl) -> str:
        prefix, suffix, restore = self._move_annotations(n, abstract=False)
        try:
            text = super()._generate_decl(n)
        finally:
            restore()
        return _join(prefix, text, suffix)

    def visit_Typedef(self, n: c_ast.Typedef) -> str:
        prefix, suffix, restore = self._move_annotations(n, abstract=False)
        try:
            text = super().visit_Typedef(n)
        finally:
            restore()
        return _join(prefix, text, suffix)

    def visit_Typename(self, n: c_ast.Typename) -> str:
        prefix, _, restore = self._move_annotations(n, abstract=True)
        try:
            text = super().visit_Typename(n)
        finally:
            restore()
        return _join(prefix, text, "")

    def _generate_type(
        self,
        n: c_ast.Node,
        modifiers: list[c_ast.Node] | None = None,
        emit_declname: bool = True,
        emit_base_type: bool = True,
    ) -> str:
        if not isinstance(n, c_ast.Typename) or not emit_base_type:
            return super()._generate_type(n, modifiers, emit_declname, emit_base_type)
        prefix, _, restore = self._move_annotations(n, abstract=True)
        try:
            text = super()._generate_type(n, modifiers, emit_declname, emit_base_type)
        finally:
            restore()
        return _join(prefix, text, "")

    def _move_annotations(
        self, declaration: c_ast.Node, *, abstract: bool
    ) -> tuple[str, str, Callable[[], None]]:
        """Choose where a declaration's annotations are printed.

        gcc takes no attribute after the ')' of an abstract declarator or
        inside a declarator, so annotations of the function type nearest
        the base are printed before the declaration (the base position),
        those of the declared function itself after the whole declarator,
        those of the first function type reached through a pointer after
        that '*'; all read back to the same FuncDecl.  Returns (prefix, suffix,
        restore) where restore puts the moved attributes back.
        """
        chain = []
        link = declaration.type
        while isinstance(link, (c_ast.PtrDecl, c_ast.ArrayDecl, c_ast.FuncDecl)):
            chain.append(link)
            link = link.type
        functions = [link for link in chain if isinstance(link, c_ast.FuncDecl)]
        prefix: list[c_ast.AttributeSpecifier] = []
        suffix: list[c_ast.AttributeSpecifier] = []
        saved: list[tuple[c_ast.Node, list[c_ast.AttributeSpecifier]]] = []
        for index, function in enumerate(chain):
            if not isinstance(function, c_ast.FuncDecl):
                continue
            moved = [spec for spec in function.attributes or () if _is_annotation(spec)]
            if not moved:
                continue
            pointer = chain[index - 1] if index > 0 else None
            saved.append((function, function.attributes))
            if function is functions[-1]:
                prefix.extend(moved)
            elif function is chain[0] and not abstract:
                suffix.extend(moved)
            elif function is functions[0] and isinstance(pointer, c_ast.PtrDecl):
                # After the '*' of the pointer to it: from there the nearest
                # function type toward the base is this one.
                saved.append((pointer, pointer.attributes))
                pointer.attributes = [*moved, *(pointer.attributes or [])]
            else:
                saved.pop()
                continue  # stays after its ')' (gcc may not take it there)
            function.attributes = [spec for spec in function.attributes if spec not in moved]

        def restore() -> None:
            for node, attributes in reversed(saved):
                node.attributes = attributes

        return self._generate_attributes(prefix), self._generate_attributes(suffix), restore

    def visit_AsmLabel(self, n: gnu_ast.AsmLabel) -> str:
        return f"{n.keyword}({self.visit(n.label)})"

    def visit_FuncDef(self, n: c_ast.FuncDef) -> str:
        # gcc rejects attributes between a definition's ')' and '{'; those of
        # the defined function's type are printed before the declaration.
        funcdecl = n.decl.type
        if not isinstance(funcdecl, c_ast.FuncDecl) or not funcdecl.attributes:
            return super().visit_FuncDef(n)
        moved = funcdecl.attributes
        funcdecl.attributes = []
        try:
            text = super().visit_FuncDef(n)
        finally:
            funcdecl.attributes = moved
        prefix = self._generate_attributes(moved)
        return prefix + " " + text if prefix else text

    # GNU expressions ----------------------------------------------------
    def visit_StmtExpr(self, n: gnu_ast.StmtExpr) -> str:
        return "(" + self.visit(n.compound).rstrip("\n") + ")"

    def visit_LabelAddress(self, n: gnu_ast.LabelAddress) -> str:
        return "&&" + n.name

    def visit_UnaryOp(self, n: c_ast.UnaryOp) -> str:
        if n.op.startswith("_"):
            # __real__, __imag__, _Alignof, __alignof__: keyword operators.
            return f"{n.op}({self._visit_expr(n.expr, allow_comma=True)})"
        return super().visit_UnaryOp(n)

    def visit_OmittedConditional(self, n: gnu_ast.OmittedConditional) -> str:
        return "(" + self._visit_expr(n.cond) + ") ?: (" + self._visit_expr(n.iffalse) + ")"

    def visit_RangeDesignator(self, n: gnu_ast.RangeDesignator) -> str:
        return "[" + self._visit_expr(n.low) + " ... " + self._visit_expr(n.high) + "]"

    # GNU statements -----------------------------------------------------
    def visit_CaseRange(self, n: gnu_ast.CaseRange) -> str:
        text = "case " + self._visit_expr(n.expr) + " ... " + self._visit_expr(n.high) + ":\n"
        return text + self._generate_body(n.stmts or [], add_indent=True)

    def visit_ComputedGoto(self, n: gnu_ast.ComputedGoto) -> str:
        return "goto *" + self._parenthesize_unless_simple(n.expr)

    def visit_LocalLabels(self, n: gnu_ast.LocalLabels) -> str:
        return "__label__ " + ", ".join(n.names)

    def visit_Asm(self, n: gnu_ast.Asm) -> str:
        text = " ".join([n.keyword, *n.qualifiers]) + " (" + self.visit(n.template)
        sections = [
            ", ".join(self.visit(operand) for operand in n.outputs),
            ", ".join(self.visit(operand) for operand in n.inputs),
            ", ".join(self.visit(clobber) for clobber in n.clobbers),
            ", ".join(self.visit(label) for label in n.labels),
        ]
        for section in sections[: n.sections]:
            text += " : " + section
        return text + ")"

    def visit_AsmOperand(self, n: gnu_ast.AsmOperand) -> str:
        name = f"[{n.name}] " if n.name else ""
        return f"{name}{self.visit(n.constraint)} ({self._visit_expr(n.expr, allow_comma=True)})"

    def _generate_stmt(self, n: c_ast.Node, add_indent: bool = False) -> str:
        if isinstance(n, _NEEDS_SEMICOLON):
            indent = " " * (self.indent_level + (2 if add_indent else 0))
            return indent + self.visit(n) + ";\n"
        return super()._generate_stmt(n, add_indent)


def _is_annotation(spec: c_ast.Node) -> bool:
    return type(spec) is c_ast.AttributeSpecifier and all(
        attribute.namespace == NAMESPACE for attribute in spec.attributes
    )


def _join(prefix: str, text: str, suffix: str) -> str:
    if prefix:
        text = prefix + " " + text
    if suffix:
        text = text + " " + suffix
    return text
