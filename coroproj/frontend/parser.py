"""GNU C parser: pycparser's recursive-descent ``CParser`` taught GCC's syntax.

Design in one paragraph: the lexer turns each ``__attribute__((...))`` into
one ``ATTRIBUTE_BEGIN`` token, so every place where pycparser already
accepts C23 attributes accepts GNU ones too; this class adds the places
GCC allows and C23 does not (anywhere among declaration specifiers, at the
start of a declarator or parenthesised declarator, between pointer
qualifiers, after a struct/enum closing brace, after a bit-field width),
plus GNU expressions and statements.  GNU attributes become ``Attribute``
nodes in the ``gnu`` namespace, kept where they were written.  Coroutine
annotations are recognised here (``AttributeNames.classify``) but only
*marked* as pending; the ``placement`` pass then moves each one to the
function type it belongs to.
"""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from pycparser import c_ast, c_parser
from pycparser.c_lexer import Token
from pycparser.c_parser import Coord, CParser, ParseError, _TokenStream

from coroproj.frontend import gnu_ast
from coroproj.frontend.annotations import AttributeNames
from coroproj.frontend.lexer import GnuCLexer

# Namespaces of annotation attributes between parsing and placement.
# PENDING: attached where written; TRAILING: written after a complete
# declarator, i.e. on the declared entity itself (its first derived type).
PENDING = "coroproj-pending"
TRAILING = "coroproj-trailing"

# ISO/IEC TS 18661-3 interchange types: keywords for gcc (since gcc 7), but
# plain identifiers for clang 14, for which glibc's <bits/floatn-common.h>
# declares them (``typedef float _Float32;``).  The lexer leaves them
# identifiers and the parser treats them as typedef names declared in a scope
# enclosing the file scope: a use and a redeclaring typedef are then both
# ordinary C, and a use gives the same AST as gcc's keyword would.
FLOATN_TYPE_NAMES = frozenset(
    {"_Float16", "_Float32", "_Float64", "_Float128", "_Float32x", "_Float64x", "_Float128x"}
)

_TYPE_QUALIFIERS = frozenset({"CONST", "RESTRICT", "VOLATILE", "_ATOMIC"})
_STORAGE_CLASSES = frozenset(
    {"AUTO", "CONSTEXPR", "REGISTER", "STATIC", "EXTERN", "TYPEDEF", "_THREAD_LOCAL"}
)
_FUNCTION_SPECIFIERS = frozenset({"INLINE", "_NORETURN"})
_SIMPLE_TYPE_SPECIFIERS = frozenset(
    {
        "VOID",
        "_BOOL",
        "CHAR",
        "SHORT",
        "INT",
        "LONG",
        "FLOAT",
        "DOUBLE",
        "_DECIMAL32",
        "_DECIMAL64",
        "_DECIMAL128",
        "_COMPLEX",
        "SIGNED",
        "UNSIGNED",
        "__INT128",
        "GNU_TYPE",
    }
)
_COMPLEX_SPELLINGS = frozenset({"_Complex", "__complex", "__complex__"})
_TYPEOF_SPECIFIERS = frozenset({"TYPEOF", "TYPEOF_UNQUAL"})

_DECLARATION_START = frozenset(c_parser._DECL_START | {"GNU_TYPE"})
_EXPRESSION_START = frozenset(
    c_parser._STARTS_EXPRESSION | {"LAND", "GNU_REAL", "GNU_IMAG", "GNU_TYPE_BUILTIN"}
)
# The arguments of each GNU_TYPE_BUILTIN, in order: a type name or an
# assignment expression.  clang's <emmintrin.h> and <ia32intrin.h> use the
# last two in inline functions every SSE-using unit includes.
_TYPE_BUILTIN_ARGUMENTS = {
    "__builtin_types_compatible_p": ("type", "type"),
    "__builtin_convertvector": ("expression", "type"),
    "__builtin_bit_cast": ("type", "expression"),
}
_ASM_QUALIFIERS = frozenset({"VOLATILE", "INLINE", "GOTO"})
_STRING_LITERALS = frozenset(c_parser._STRING_LITERAL)
_IDENTIFIER_TYPES = frozenset({"ID", "TYPEID"})

_ATTRIBUTE_NAME = re.compile(r"\s*([A-Za-z_$][\w$]*)\s*")


# Recursive descent needs roughly a dozen Python frames per nesting level
# of C; this lets real code nest deeply while absurd input still ends in a
# (caught) RecursionError instead of exhausting the C stack.
_RECURSION_LIMIT = 12_000


@contextmanager
def deep_recursion() -> Iterator[None]:
    """The recursion limit parsing real C needs, for the time of a parse."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, _RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def _no_lexer_errors(message: str, line: int, column: int) -> None:
    """A released parser's lexer reads nothing more (``GnuCParser.release``)."""


class GnuParseError(ParseError):
    """A parse error with a structured position (``coord``) and message."""

    def __init__(self, message: str, coord: Coord | None, filename: str) -> None:
        super().__init__(f"{coord or filename}: {message}")
        self.message = message
        self.coord = coord
        self.filename = filename


class GnuCParser(CParser):
    """Parses preprocessed GNU C (gcc -E output) into a pycparser AST."""

    def __init__(self, names: AttributeNames | None = None) -> None:
        super().__init__(lexer=GnuCLexer)
        self.names = names if names is not None else AttributeNames()
        # The attribute specifiers parsed last and the token index after
        # them: lets a declarator tell whether attributes trail it.
        self._last_attributes: list[c_ast.AttributeSpecifier] = []
        self._last_attributes_end = -1
        # Which external declarations contain annotations (by id), so the
        # placement pass need not walk the thousands of header declarations
        # that have none.
        self.annotation_count = 0
        self.annotated_externals: set[int] = set()
        # When set, every file-scope binding made (name, is a typedef), in order.
        self.file_scope_log: list[tuple[str, bool]] | None = None

    def parse(self, text: str, filename: str = "", debug: bool = False) -> c_ast.FileAST:
        self.annotation_count = 0
        self.annotated_externals = set()
        return super().parse(text, filename, debug)

    # ------------------------------------------------------------------
    # A unit parsed piece by piece (see ``segments``)
    # ------------------------------------------------------------------
    def begin_unit(self) -> None:
        """Forget every binding: the next piece starts a translation unit."""
        self._scope_stack = [{}]
        self._typedef_checked_token = None
        self.annotation_count = 0
        self.annotated_externals = set()

    def parse_piece(self, text: str, filename: str) -> list[c_ast.Node]:
        """More external declarations of the unit begun, in the scope the others left."""
        self._typedef_checked_token = None
        self._last_attributes = []
        self._last_attributes_end = -1
        self.clex.input(text, filename)
        self._tokens = _TokenStream(self.clex.token)
        return self._parse_translation_unit()

    def release(self) -> None:
        """Drop what the last parse left: the token buffer and the lexer's hold on the parser.

        The lexer reports errors through a bound method of the parser and the
        parser reads tokens through one of the lexer, a cycle that would keep
        the last piece's tokens alive until the cyclic collector runs.
        """
        self._tokens = _TokenStream(lambda: None)
        self.clex.error_func = _no_lexer_errors
        self._typedef_checked_token = None

    def lexed_to_end(self) -> bool:
        """Whether the last piece was read to its end (an error there may be a cut)."""
        buffer = self._tokens._buffer
        return bool(buffer) and buffer[-1] is None

    def file_scope(self) -> dict[str, bool]:
        return self._scope_stack[0]

    def restore_file_scope(self, scope: dict[str, bool], annotated: set[int]) -> None:
        """Back to the state before a piece that failed (nested scopes dropped)."""
        self._scope_stack = [scope]
        self._typedef_checked_token = None
        self.annotated_externals = annotated

    def bind_at_file_scope(self, bindings: list[tuple[str, bool]]) -> None:
        """Replay the file-scope bindings a reused piece made when it was parsed."""
        scope = self._scope_stack[0]
        for name, is_type in bindings:
            scope[name] = is_type
        self._typedef_checked_token = None

    def _add_typedef_name(self, name: str, coord: Coord | None) -> None:
        super()._add_typedef_name(name, coord)
        if self.file_scope_log is not None and len(self._scope_stack) == 1:
            self.file_scope_log.append((name, True))

    def _add_identifier(self, name: str, coord: Coord | None) -> None:
        super()._add_identifier(name, coord)
        if self.file_scope_log is not None and len(self._scope_stack) == 1:
            self.file_scope_log.append((name, False))

    def _parse_translation_unit(self) -> list[c_ast.Node]:
        ext: list[c_ast.Node] = []
        while self._peek() is not None:
            before = self.annotation_count
            items = self._parse_external_declaration()
            if self.annotation_count != before:
                self.annotated_externals.update(id(item) for item in items)
            ext.extend(items)
        return ext

    # ------------------------------------------------------------------
    # Token access: pycparser's own helpers, with its token stream's code
    # inlined (a fifth of parsing was these calls).  Same tokens, same
    # typedef-name classification, same errors.
    # ------------------------------------------------------------------
    def _peek(self, k: int = 1) -> Token | None:
        stream = self._tokens
        position = stream._index + k - 1
        if k <= 0:
            tok = None
        else:
            if position >= len(stream._buffer):
                stream._fill(k)
            tok = stream._buffer[position]
        if tok is not self._typedef_checked_token:
            if tok is not None and tok.type in _IDENTIFIER_TYPES:
                tok.type = "TYPEID" if self._is_type_in_scope(tok.value) else "ID"
            self._typedef_checked_token = tok
        return tok

    def _peek_type(self, k: int = 1) -> str | None:
        tok = self._peek(k)
        return tok.type if tok is not None else None

    def _advance(self) -> Token:
        stream = self._tokens
        if stream._index >= len(stream._buffer):
            stream._fill(1)
        tok = stream._buffer[stream._index]
        stream._index += 1
        if tok is None:
            self._parse_error("At end of input", self.clex.filename)
        if tok is not self._typedef_checked_token:
            if tok.type in _IDENTIFIER_TYPES:
                tok.type = "TYPEID" if self._is_type_in_scope(tok.value) else "ID"
            self._typedef_checked_token = tok
        return tok

    def _accept(self, token_type: str) -> Token | None:
        tok = self._peek()
        if tok is not None and tok.type == token_type:
            return self._advance()
        return None

    def _is_type_in_scope(self, name: str) -> bool:
        for scope in reversed(self._scope_stack):
            if name in scope:
                return scope[name]
        return name in FLOATN_TYPE_NAMES

    # ------------------------------------------------------------------
    # Errors
    # ------------------------------------------------------------------
    def _parse_error(self, msg: str, coord: Coord | str | None) -> NoReturn:
        if not isinstance(coord, Coord):
            coord = self.last_coord()
        if msg.startswith("before: "):
            msg = f"syntax error before '{msg[len('before: ') :]}'"
        elif msg == "At end of input":
            msg = "unexpected end of input"
        raise GnuParseError(msg, coord, self.clex.filename)

    def last_coord(self) -> Coord | None:
        """Coordinates of the last token read (the best guess for errors)."""
        buffer = self._tokens._buffer
        index = min(self._tokens._index, len(buffer)) - 1
        while index >= 0:
            tok = buffer[index]
            if tok is not None:
                return self._tok_coord(tok)
            index -= 1
        return None

    # ------------------------------------------------------------------
    # Attributes
    # ------------------------------------------------------------------
    def _parse_attribute_specifier_sequence(self) -> list[c_ast.AttributeSpecifier]:
        groups: list[c_ast.AttributeSpecifier] = []
        while True:
            tok = self._peek()
            if tok is None:
                break
            if tok.type == "ATTRIBUTE_BEGIN":
                if tok.value[0] == "_":
                    self._advance()
                    groups.append(self._gnu_attribute_specifier(tok))
                else:
                    groups.append(self._standard_attribute_specifier())
            elif tok.type == "ASM" and self._peek_type(2) == "LPAREN":
                groups.append(self._parse_asm_label())
            else:
                break
        if groups:
            self._last_attributes = groups
            self._last_attributes_end = self._mark()
        return groups

    def _gnu_attribute_specifier(self, tok: Token) -> c_ast.AttributeSpecifier:
        coord = self._tok_coord(tok)
        text = tok.value
        outer = text[text.index("(") + 1 : -1].strip()
        if not (outer.startswith("(") and outer.endswith(")")):
            self._parse_error("expected '((' in __attribute__", coord)
        attributes = []
        for item in _split_top_level(outer[1:-1]):
            match = _ATTRIBUTE_NAME.match(item)
            if match is None:
                self._parse_error(f"malformed attribute '{item.strip()}'", coord)
            rest = item[match.end() :].strip()
            arguments = None
            if rest:
                if not (rest.startswith("(") and rest.endswith(")")):
                    self._parse_error(f"malformed attribute '{item.strip()}'", coord)
                arguments = rest[1:-1].strip()
            attributes.append(
                self._make_attribute(match.group(1), gnu_ast.GNU_NAMESPACE, arguments, coord)
            )
        return c_ast.AttributeSpecifier(attributes, coord)

    def _standard_attribute_specifier(self) -> c_ast.AttributeSpecifier:
        """One ``[[...]]`` group (accepted by gcc as an extension)."""
        opening = self._advance()
        attributes = []
        while self._peek_type() != "ATTRIBUTE_END":
            if self._accept("COMMA"):
                continue
            name = self._parse_identifier_or_typeid()
            namespace = None
            if self._accept("COLONCOLON"):
                namespace = name.name
                name = self._parse_identifier_or_typeid()
            arguments = self._accept("ATTRIBUTE_ARGUMENTS")
            attributes.append(
                self._make_attribute(
                    name.name,
                    namespace,
                    arguments.value if arguments is not None else None,
                    name.coord,
                )
            )
            if not self._accept("COMMA"):
                break
        self._expect("ATTRIBUTE_END")
        return c_ast.AttributeSpecifier(attributes, self._tok_coord(opening))

    def _make_attribute(
        self, name: str, namespace: str | None, arguments: str | None, coord: Coord | None
    ) -> c_ast.Attribute:
        if namespace in (None, gnu_ast.GNU_NAMESPACE):
            kind = self.names.classify(name, arguments)
            if kind is not None:
                # The spelling is kept in ``arguments`` for diagnostics.
                spelled = name if arguments is None else f"{name}({arguments})"
                self.annotation_count += 1
                return c_ast.Attribute(kind.value, PENDING, spelled, coord)
        return c_ast.Attribute(name, namespace, arguments, coord)

    def _parse_asm_label(self) -> gnu_ast.AsmLabel:
        tok = self._advance()
        self._expect("LPAREN")
        label = self._parse_unified_string_literal()
        self._expect("RPAREN")
        return gnu_ast.AsmLabel(tok.value, label, self._tok_coord(tok))

    def _mark_trailing(self) -> None:
        """Annotations right after a complete declarator name its entity."""
        if self._last_attributes and self._last_attributes_end == self._mark():
            for spec in self._last_attributes:
                for attribute in spec.attributes:
                    if attribute.namespace == PENDING:
                        attribute.namespace = TRAILING

    def _attach_type_attributes(self, decl: Any, spec: Any) -> Any:
        # GCC applies attributes written among the declaration specifiers to
        # the whole declaration, exactly as if written before it; keeping
        # them as the declaration's prefix (not pycparser's AttributedType
        # wrapper) leaves the base type node untouched for later stages.
        if spec["type_attributes"]:
            decl.attributes = _clone(spec["type_attributes"]) + list(decl.attributes or [])
        return decl

    def _attribute_declarations(
        self, nodes: list[c_ast.Node], attributes: list[c_ast.AttributeSpecifier]
    ) -> list[c_ast.Node]:
        declarations = [n for n in nodes if not isinstance(n, c_ast.Pragma)]
        if not declarations:
            self._parse_error("expected a declaration after attributes", attributes[0].coord)
        for node in declarations:
            decl = node.decl if isinstance(node, c_ast.FuncDef) else node
            if not isinstance(decl, (c_ast.Decl, c_ast.Typedef)):
                self._parse_error("expected a declaration after attributes", attributes[0].coord)
            decl.attributes = _clone(attributes) + list(decl.attributes or [])
        return nodes

    # ------------------------------------------------------------------
    # Declaration specifiers
    # ------------------------------------------------------------------
    def _starts_declaration(self, tok: Token | None = None) -> bool:
        tok = tok or self._peek()
        return tok is not None and tok.type in _DECLARATION_START

    def _parse_specifiers(
        self, *, allow_storage_and_function: bool
    ) -> tuple[Any, bool, Coord | None]:
        """Like pycparser's, but GNU attributes may sit between specifiers."""
        spec: Any = None
        saw_type = False
        first_coord = None
        attributes: list[c_ast.AttributeSpecifier] = []

        while True:
            tok = self._peek()
            if tok is None:
                break
            tok_type = tok.type
            if first_coord is None:
                first_coord = self._tok_coord(tok)
            if tok_type == "ATTRIBUTE_BEGIN":
                attributes.extend(self._parse_attribute_specifier_sequence())
                continue
            if tok_type == "TYPEID" and saw_type and not _completes_complex(tok, spec):
                break

            kind = "type"
            newspec: Any
            if tok_type == "_ALIGNAS":
                kind = "alignment"
                newspec = self._parse_alignment_specifier()
            elif tok_type == "_ATOMIC" and self._peek_type(2) == "LPAREN":
                newspec = self._parse_atomic_specifier()
            elif tok_type in _TYPEOF_SPECIFIERS:
                newspec = self._parse_typeof_specifier()
            elif tok_type == "_BITINT":
                newspec = self._parse_bitint_specifier()
            elif tok_type in _TYPE_QUALIFIERS:
                kind = "qual"
                newspec = self._advance().value
            elif allow_storage_and_function and tok_type in _STORAGE_CLASSES:
                kind = "storage"
                newspec = self._advance().value
            elif allow_storage_and_function and tok_type in _FUNCTION_SPECIFIERS:
                kind = "function"
                newspec = self._advance().value
            elif tok_type in _SIMPLE_TYPE_SPECIFIERS or tok_type == "TYPEID":
                tok = self._advance()
                newspec = c_ast.IdentifierType([tok.value], coord=self._tok_coord(tok))
            elif tok_type in ("STRUCT", "UNION"):
                newspec = self._parse_struct_or_union_specifier()
            elif tok_type == "ENUM":
                newspec = self._parse_enum_specifier()
            else:
                break

            spec = self._add_declaration_specifier(spec, newspec, kind)  # type: ignore[arg-type]
            if kind == "type":
                saw_type = True

        if attributes:
            if spec is None:
                spec = {
                    "qual": [],
                    "storage": [],
                    "type": [],
                    "function": [],
                    "alignment": [],
                    "type_attributes": [],
                }
            spec["type_attributes"] = spec["type_attributes"] + attributes
        return spec, saw_type, first_coord

    def _parse_struct_or_union_specifier(self) -> c_ast.Node:
        node = super()._parse_struct_or_union_specifier()
        # Attributes right after the closing brace belong to the type.
        if node.decls is not None and self._peek_type() == "ATTRIBUTE_BEGIN":
            node.attributes = list(node.attributes) + self._parse_attribute_specifier_sequence()
        return node

    def _parse_enum_specifier(self) -> c_ast.Node:
        node = super()._parse_enum_specifier()
        if node.values is not None and self._peek_type() == "ATTRIBUTE_BEGIN":
            node.attributes = list(node.attributes) + self._parse_attribute_specifier_sequence()
        return node

    def _parse_parameter_declaration(self) -> c_ast.Node:
        # Leading attributes are declaration specifiers like any other.
        return self._parse_parameter_declaration_body()

    def _parse_struct_declarator(self) -> Any:
        info = super()._parse_struct_declarator()
        if self._peek_type() == "ATTRIBUTE_BEGIN":  # after a bit-field width
            # Kept on the member declaration (printed before it): gcc takes
            # nothing between a declarator and its ':'.
            info["declaration_attributes"] = self._parse_attribute_specifier_sequence()  # type: ignore[typeddict-unknown-key]
            self._mark_trailing()
        return info

    def _build_declarations(
        self, spec: Any, decls: list[Any], typedef_namespace: bool = False
    ) -> list[c_ast.Node]:
        declarations = super()._build_declarations(spec, decls, typedef_namespace)
        for info, declaration in zip(decls, declarations, strict=True):
            extra = info.get("declaration_attributes")
            if extra:
                declaration.attributes = list(declaration.attributes or []) + extra
        return declarations

    # ------------------------------------------------------------------
    # Declarators
    # ------------------------------------------------------------------
    def _parse_declarator_kind(self, kind: str, allow_paren: bool) -> c_ast.Node:
        # Attributes at the start of a (possibly parenthesised) declarator
        # apply to its outermost derivation: kept on that node.
        leading = (
            self._parse_attribute_specifier_sequence()
            if self._peek_type() == "ATTRIBUTE_BEGIN"
            else []
        )
        decl = super()._parse_declarator_kind(kind, allow_paren)
        if leading:
            decl.attributes = leading + list(decl.attributes or [])
        return decl

    def _parse_id_declarator(self) -> c_ast.Node:
        decl = super()._parse_id_declarator()
        self._mark_trailing()
        return decl

    def _parse_typeid_declarator(self) -> c_ast.Node:
        decl = super()._parse_typeid_declarator()
        self._mark_trailing()
        return decl

    def _parse_typeid_noparen_declarator(self) -> c_ast.Node:
        decl = super()._parse_typeid_noparen_declarator()
        self._mark_trailing()
        return decl

    def _scan_declarator_name_info(self) -> tuple[str | None, bool]:
        """Look ahead for the declared name, skipping GNU attributes."""
        saw_paren = False
        self._parse_attribute_specifier_sequence()
        while self._accept("TIMES"):
            while True:
                tok_type = self._peek_type()
                if tok_type == "ATTRIBUTE_BEGIN":
                    self._parse_attribute_specifier_sequence()
                elif tok_type in _TYPE_QUALIFIERS:
                    self._advance()
                else:
                    break
        tok = self._peek()
        if tok is None:
            return None, saw_paren
        if tok.type in ("ID", "TYPEID"):
            self._advance()
            return tok.type, saw_paren
        if tok.type == "LPAREN":
            saw_paren = True
            self._advance()
            tok_type, nested_paren = self._scan_declarator_name_info()
            if nested_paren:
                saw_paren = True
            depth = 1
            while True:
                tok = self._peek()
                if tok is None:
                    return None, saw_paren
                if tok.type == "LPAREN":
                    depth += 1
                elif tok.type == "RPAREN":
                    depth -= 1
                    self._advance()
                    if depth == 0:
                        break
                    continue
                self._advance()
            return tok_type, saw_paren
        return None, saw_paren

    def _parse_pointer(self) -> c_ast.Node | None:
        """``*`` followed by qualifiers and attributes in any order."""
        stars = []
        times_tok = self._accept("TIMES")
        while times_tok:
            attributes: list[c_ast.AttributeSpecifier] = []
            quals: list[str] = []
            while True:
                tok_type = self._peek_type()
                if tok_type == "ATTRIBUTE_BEGIN":
                    attributes.extend(self._parse_attribute_specifier_sequence())
                elif tok_type in _TYPE_QUALIFIERS:
                    quals.append(self._advance().value)
                else:
                    break
            stars.append((quals, self._tok_coord(times_tok), attributes))
            times_tok = self._accept("TIMES")
        ptr = None
        for quals, coord, attributes in stars:
            ptr = c_ast.PtrDecl(quals=quals, type=ptr, coord=coord, attributes=attributes)
        return ptr

    def _parse_direct_abstract_declarator(self) -> c_ast.Node:
        # ``( attributes abstract-declarator )``, e.g. ``(coroutine_fn *)``;
        # pycparser would take the attribute for a parameter list.
        if self._peek_type() == "LPAREN" and self._peek_type(2) == "ATTRIBUTE_BEGIN":
            mark = self._mark()
            self._advance()
            attributes = self._parse_attribute_specifier_sequence()
            if self._peek_type() in ("TIMES", "LPAREN", "LBRACKET"):
                decl = self._parse_abstract_declarator_opt()
                self._expect("RPAREN")
                assert decl is not None
                decl.attributes = attributes + list(decl.attributes or [])
                return self._parse_decl_suffixes(decl)
            self._reset(mark)
        return super()._parse_direct_abstract_declarator()

    # ------------------------------------------------------------------
    # External declarations and statements
    # ------------------------------------------------------------------
    def _parse_external_declaration(self) -> list[c_ast.Node]:
        if self._peek_type() == "ASM":
            asm = self._parse_asm()
            self._expect("SEMI")
            return [asm]
        return super()._parse_external_declaration()

    def _starts_statement(self) -> bool:
        tok_type = self._peek_type()
        if tok_type == "ASM" or (tok_type == "TYPEID" and self._peek_type(2) == "COLON"):
            return True
        return super()._starts_statement()

    def _starts_expression(self, tok: Token | None = None) -> bool:
        tok = tok or self._peek()
        return tok is not None and tok.type in _EXPRESSION_START

    def _parse_block_item(self) -> c_ast.Node | list[c_ast.Node]:
        if self._peek_type() == "TYPEID" and self._peek_type(2) == "COLON":
            return self._parse_statement()  # a label named like a typedef
        if self._peek_type() == "GNU_LABEL":
            tok = self._advance()
            names = [self._parse_identifier().name]
            while self._accept("COMMA"):
                names.append(self._parse_identifier().name)
            self._expect("SEMI")
            return gnu_ast.LocalLabels(names, self._tok_coord(tok))
        return super()._parse_block_item()

    def _parse_statement(self) -> c_ast.Node:
        tok_type = self._peek_type()
        if tok_type == "ASM":
            asm = self._parse_asm()
            self._expect("SEMI")
            return asm
        if tok_type == "GOTO" and self._peek_type(2) == "TIMES":
            tok = self._advance()
            self._advance()
            expr = self._parse_expression()
            self._expect("SEMI")
            return gnu_ast.ComputedGoto(expr, self._tok_coord(tok))
        if tok_type == "CASE":
            return self._parse_case()
        if tok_type == "TYPEID" and self._peek_type(2) == "COLON":
            # Labels have their own namespace: a typedef name can be one.
            name_tok = self._advance()
            self._advance()
            if self._starts_statement():
                stmt = self._parse_pragmacomp_or_statement()
            else:
                stmt = c_ast.EmptyStatement(self._tok_coord(name_tok))
            return c_ast.Label(name_tok.value, stmt, self._tok_coord(name_tok))
        if tok_type == "GOTO" and self._peek_type(2) == "TYPEID":
            tok = self._advance()
            name_tok = self._advance()
            self._expect("SEMI")
            return c_ast.Goto(name_tok.value, self._tok_coord(tok))
        return super()._parse_statement()

    def _parse_labeled_statement(self) -> c_ast.Node:
        if self._peek_type() == "CASE":
            return self._parse_case()
        return super()._parse_labeled_statement()

    def _parse_case(self) -> c_ast.Node:
        """``case e:`` and the GNU range ``case low ... high:``."""
        case_tok = self._advance()
        low = self._parse_constant_expression()
        high = None
        if self._accept("ELLIPSIS"):
            high = self._parse_constant_expression()
        self._expect("COLON")
        if self._starts_statement():
            stmt = self._parse_pragmacomp_or_statement()
        else:
            stmt = c_ast.EmptyStatement(self._tok_coord(case_tok))
        coord = self._tok_coord(case_tok)
        if high is None:
            return c_ast.Case(low, [stmt], coord)
        return gnu_ast.CaseRange(low, high, [stmt], coord)

    def _parse_asm(self) -> gnu_ast.Asm:
        """``asm qualifiers ( "template" : outs : ins : clobbers : labels )``"""
        tok = self._advance()
        qualifiers = []
        while self._peek_type() in _ASM_QUALIFIERS:
            qualifiers.append(self._advance().value)
        self._expect("LPAREN")
        template = self._parse_unified_string_literal()
        sections: list[list[Any]] = [[], [], [], []]
        written = 0
        while True:
            tok_type = self._peek_type()
            if tok_type == "COLON":
                written += 1
            elif tok_type == "COLONCOLON":  # '::' is lexed as one token
                written += 2
            else:
                break
            self._advance()
            if written > 4:
                self._parse_error("too many ':' in asm", self._tok_coord(tok))
            sections[written - 1] = self._parse_asm_section(written)
        self._expect("RPAREN")
        outputs, inputs, clobbers, labels = sections
        return gnu_ast.Asm(
            tok.value,
            qualifiers,
            template,
            outputs,
            inputs,
            clobbers,
            labels,
            written,
            self._tok_coord(tok),
        )

    def _parse_asm_section(self, number: int) -> list[Any]:
        items: list[Any] = []
        if number <= 2:
            while self._peek_type() in _STRING_LITERALS or self._peek_type() == "LBRACKET":
                items.append(self._parse_asm_operand())
                if not self._accept("COMMA"):
                    break
        elif number == 3:
            while self._peek_type() in _STRING_LITERALS:
                items.append(self._parse_unified_string_literal())
                if not self._accept("COMMA"):
                    break
        else:
            while self._peek_type() in ("ID", "TYPEID"):
                items.append(self._parse_identifier_or_typeid())
                if not self._accept("COMMA"):
                    break
        return items

    def _parse_asm_operand(self) -> gnu_ast.AsmOperand:
        name = None
        start = self._peek()
        assert start is not None
        if self._accept("LBRACKET"):
            name = self._parse_identifier_or_typeid().name
            self._expect("RBRACKET")
        constraint = self._parse_unified_string_literal()
        self._expect("LPAREN")
        expr = self._parse_expression()
        self._expect("RPAREN")
        return gnu_ast.AsmOperand(name, constraint, expr, self._tok_coord(start))

    # ------------------------------------------------------------------
    # Expressions
    # ------------------------------------------------------------------
    def _parse_unary_expression(self) -> c_ast.Node:
        tok_type = self._peek_type()
        if tok_type == "LAND" and self._peek_type(2) in ("ID", "TYPEID"):
            tok = self._advance()
            name = self._advance()
            return gnu_ast.LabelAddress(name.value, self._tok_coord(tok))
        if tok_type in ("GNU_REAL", "GNU_IMAG"):
            tok = self._advance()
            expr = self._parse_cast_expression()
            return c_ast.UnaryOp(tok.value, expr, self._tok_coord(tok))
        if tok_type == "_ALIGNOF":
            # GNU __alignof__ also takes an expression, like sizeof.
            tok = self._advance()
            result = self._try_parse_paren_type_name()
            if result is not None:
                typ, mark, _, _ = result
                if self._peek_type() != "LBRACE":
                    return c_ast.UnaryOp(tok.value, typ, self._tok_coord(tok))
                self._reset(mark)
            expr = self._parse_unary_expression()
            return c_ast.UnaryOp(tok.value, expr, self._tok_coord(tok))
        return super()._parse_unary_expression()

    def _parse_primary_expression(self) -> c_ast.Node:
        tok_type = self._peek_type()
        if tok_type == "LPAREN" and self._peek_type(2) == "LBRACE":
            tok = self._advance()
            compound = self._parse_compound_statement()
            self._expect("RPAREN")
            return gnu_ast.StmtExpr(compound, self._tok_coord(tok))
        if tok_type == "GNU_TYPE_BUILTIN":
            tok = self._advance()
            coord = self._tok_coord(tok)
            self._expect("LPAREN")
            arguments = []
            for index, kind in enumerate(_TYPE_BUILTIN_ARGUMENTS[tok.value]):
                if index:
                    self._expect("COMMA")
                if kind == "type":
                    arguments.append(self._parse_type_name())
                else:
                    arguments.append(self._parse_assignment_expression())
            self._expect("RPAREN")
            return c_ast.FuncCall(
                c_ast.ID(tok.value, coord), c_ast.ExprList(arguments, coord), coord
            )
        return super()._parse_primary_expression()

    def _parse_conditional_expression(self) -> c_ast.Node:
        expr = self._parse_binary_expression()
        if self._accept("CONDOP"):
            if self._accept("COLON"):  # GNU: cond ?: otherwise
                iffalse = self._parse_conditional_expression()
                return gnu_ast.OmittedConditional(expr, iffalse, expr.coord)
            iftrue = self._parse_expression()
            self._expect("COLON")
            iffalse = self._parse_conditional_expression()
            return c_ast.TernaryOp(expr, iftrue, iffalse, expr.coord)
        return expr

    def _parse_designator(self) -> c_ast.Node:
        tok = self._peek()
        if tok is not None and tok.type == "LBRACKET":
            self._advance()
            low = self._parse_constant_expression()
            if self._accept("ELLIPSIS"):
                high = self._parse_constant_expression()
                self._expect("RBRACKET")
                return gnu_ast.RangeDesignator(low, high, self._tok_coord(tok))
            self._expect("RBRACKET")
            return c_ast.ArrayDesignator(low, self._tok_coord(tok))
        return super()._parse_designator()


def _completes_complex(tok: Token, spec: Any) -> bool:
    """Is ``tok`` the gcc keyword ``_FloatN`` in ``_Complex _FloatN``?

    A typedef name cannot follow ``_Complex``, so this reading is the only
    valid one (and exactly what gcc's glibc headers write in ``__CFLOAT32``).
    """
    if tok.value not in FLOATN_TYPE_NAMES or spec is None:
        return False
    return all(
        isinstance(node, c_ast.IdentifierType) and set(node.names) <= _COMPLEX_SPELLINGS
        for node in spec["type"]
    )


def _clone(specs: list[c_ast.AttributeSpecifier]) -> list[c_ast.AttributeSpecifier]:
    """Give each declaration of a shared specifier list its own copy, so the
    placement pass can move an annotation off one without touching another."""
    clones: list[c_ast.AttributeSpecifier] = []
    for spec in specs:
        clone = copy.copy(spec)
        if not isinstance(spec, gnu_ast.AsmLabel):
            clone.attributes = [copy.copy(attribute) for attribute in spec.attributes]
        clones.append(clone)
    return clones


def _split_top_level(text: str) -> list[str]:
    """Split an attribute list at commas outside parentheses and quotes."""
    items = []
    depth = 0
    start = 0
    pos = 0
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch in "\"'":
            quote = ch
            pos += 1
            while pos < n and text[pos] != quote:
                pos += 2 if text[pos] == "\\" else 1
        elif ch == "," and depth == 0:
            items.append(text[start:pos])
            start = pos + 1
        pos += 1
    items.append(text[start:])
    return [item for item in items if item.strip()]
