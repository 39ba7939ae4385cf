"""One pass over a parsed translation unit that produces its ``UnitSummary``.

It records every function declaration with its written annotations, every
call made by a defined function (direct, or indirect with the pointer's
annotation), every function whose address is taken, hybrid functions, and
the pointer events whose annotations disagree (``pointer-mismatch``, a
purely local check: both sides' types are visible in the unit).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pycparser import c_ast

from coroproj.analysis.context import analyse_contexts
from coroproj.analysis.findings import CHECKS, Finding, Note
from coroproj.analysis.summary import (
    AddressTaken,
    Call,
    Declaration,
    RecordRun,
    Suppression,
    UnitSummary,
)
from coroproj.frontend.annotations import AttributeNames, Kind, kinds_of
from coroproj.frontend.markers import MarkedFile, files_of, project_files
from coroproj.frontend.segments import SegmentGroup
from coroproj.frontend.typing import ScopedWalker, ScopeLog, TypeEnv, TypeNode

DEFAULT_HYBRID_PREDICATES = ("qemu_in_coroutine",)

# Calls that end the program even where no ``noreturn`` declaration says so
# (builtins, and headers that are not part of the unit).
_NORETURN = frozenset(
    {"__assert_fail", "__assert_perror_fail", "__assert", "abort", "exit", "_exit",
     "__builtin_unreachable", "__builtin_trap", "g_assertion_message_expr"}
)
_NORETURN_ATTRIBUTES = frozenset({"noreturn", "__noreturn__"})

_SUPPRESSION = re.compile(r"coroproj:\s*ignore\[([a-z\-, ]*)\]\s*([^*\n]*?)\s*(?:\*/|$)")


def summarize(
    ast: c_ast.FileAST,
    *,
    unit: str,
    main_file: str,
    preprocessed_text: str = "",
    names: AttributeNames | None = None,
    hybrid_predicates: Sequence[str] = DEFAULT_HYBRID_PREDICATES,
    segments: list[SegmentGroup] | None = None,
    files: Sequence[MarkedFile] | None = None,
) -> UnitSummary:
    """Summarise one parsed unit (``ast`` from the front-end).

    ``segments``: the grouping of ``ast.ext`` by the header segments it was
    parsed from (``ParsedUnit.segments``); each group's records are then
    kept with its shared parse and reused by the next unit that walks the
    same nodes in a file scope that agrees on everything they looked up.
    ``files``: the files the unit's line markers name (``ParsedUnit.files``);
    read from ``preprocessed_text`` if not given.
    """
    names = names or AttributeNames()
    summary = UnitSummary(unit=unit, main_file=main_file)
    if segments is None:
        summarizer = _Summarizer(summary, _Linkage.collect(ast.ext), names, tuple(hybrid_predicates))
        summarizer.visit(ast)
    else:
        linkage = _Linkage.collect_segments(ast.ext, segments)
        summarizer = _Summarizer(summary, linkage, names, tuple(hybrid_predicates))
        summarizer.walk_segments(ast.ext, segments)
    summary.marked_files = list(files_of(preprocessed_text) if files is None else files)
    summary.included_files = project_files(summary.marked_files, main_file)
    summary.suppressions = list(find_suppressions(summary.included_files))
    return summary


class _Linkage:
    """Per-name facts gathered before the walk: linkage and written annotations.

    C merges all declarations of a function into one composite type, so the
    annotation a function "has" is the union over its declarations.  These
    facts come from the whole unit, so what a memoised stretch of the walk
    asked of them is logged in ``reads`` (see ``_Summarizer.walk_segments``).
    """

    def __init__(self) -> None:
        self.static: set[str] = set()
        self.noreturn: set[str] = set(_NORETURN)
        self.kinds: dict[str, set[Kind]] = {}
        self.definition: dict[str, c_ast.Node] = {}
        self._seen: set[str] = set()
        self.reads: dict[tuple[str, str], object] | None = None

    @classmethod
    def collect(cls, externals: list[c_ast.Node]) -> _Linkage:
        linkage = cls()
        linkage._note_all(_notes(externals))
        return linkage

    @classmethod
    def collect_segments(cls, externals: list[c_ast.Node], groups: list[SegmentGroup]) -> _Linkage:
        """``collect``, with what a kept header segment declares worked out once per process."""
        linkage = cls()
        position = 0
        for group in groups:
            items = externals[position : position + group.count]
            position += group.count
            if group.annex is None:
                notes = _notes(items)
            else:
                notes = group.annex.get(_NOTES)  # type: ignore[assignment]
                if notes is None:
                    notes = group.annex[_NOTES] = _notes(items)
            linkage._note_all(notes)
        return linkage

    def _note_all(self, notes: list[_Note]) -> None:
        for name, static, kinds, noreturn, definition in notes:
            if name not in self._seen:  # linkage is decided by the first declaration
                self._seen.add(name)
                if static:
                    self.static.add(name)
            self.kinds.setdefault(name, set()).update(kinds)
            if noreturn:
                self.noreturn.add(name)
            if definition is not None:
                self.definition[name] = definition


    # -- the facts the walk asks for ------------------------------------------
    def symbol(self, name: str, main_file: str) -> str:
        return self._logged("symbol", name, main_file)  # type: ignore[return-value]

    def is_static(self, name: str, main_file: str) -> bool:
        return self._logged("static", name, main_file)  # type: ignore[return-value]

    def annotated(self, name: str, main_file: str) -> frozenset[Kind]:
        return self._logged("kinds", name, main_file)  # type: ignore[return-value]

    def is_noreturn(self, name: str, main_file: str) -> bool:
        return self._logged("noreturn", name, main_file)  # type: ignore[return-value]

    def main_file(self, main_file: str) -> str:
        return self._logged("main_file", "", main_file)  # type: ignore[return-value]

    def agrees_with(self, reads: dict[tuple[str, str], object], main_file: str) -> bool:
        """Whether every fact in ``reads`` still holds in this unit."""
        return all(self._fact(what, name, main_file) == value for (what, name), value in reads.items())

    def _logged(self, what: str, name: str, main_file: str) -> object:
        value = self._fact(what, name, main_file)
        if self.reads is not None:
            self.reads[(what, name)] = value
        return value

    def _fact(self, what: str, name: str, main_file: str) -> object:
        if what == "symbol":
            if name not in self.static:
                return name
            definition = self.definition.get(name)
            if definition is not None and definition.coord is not None:
                return f"{name}@{definition.coord.file}:{definition.coord.line}"
            return f"{name}@{main_file}"
        if what == "static":
            return name in self.static
        if what == "kinds":
            return frozenset(self.kinds.get(name, ()))
        if what == "noreturn":
            return name in self.noreturn
        return main_file


# What one declaration of a function tells the unit's linkage: its name,
# whether it says ``static``, its written annotations, whether it says
# ``noreturn``, and itself if it is the definition.
_Note = tuple[str, bool, frozenset[Kind], bool, "c_ast.Decl | None"]
# Where a kept segment's notes are kept (its annex).
_NOTES = ("summarize", "linkage")


def _notes(externals: list[c_ast.Node]) -> list[_Note]:
    notes: list[_Note] = []
    for ext in externals:
        is_definition = isinstance(ext, c_ast.FuncDef)
        decl = ext.decl if is_definition else ext
        if isinstance(decl, c_ast.Decl) and isinstance(decl.type, c_ast.FuncDecl):
            static = "static" in (decl.storage or ())
            notes.append((decl.name, static, kinds_of(decl.type), _declares_noreturn(decl),
                          decl if is_definition else None))
    return notes

class _NoreturnNames:
    """``name in`` the unit's noreturn functions, asked through the linkage log."""

    def __init__(self, linkage: _Linkage, main_file: str) -> None:
        self.linkage, self.main_file = linkage, main_file

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.linkage.is_noreturn(name, self.main_file)


@dataclass
class _WalkedSegment:
    """What walking one segment's declarations produced, and what it depended on."""

    scope: ScopeLog
    linkage: dict[tuple[str, str], object]
    declarations: RecordRun
    calls: RecordRun
    address_taken: RecordRun
    local_findings: list[Finding]


# The record lists whose runs a summary keeps (``UnitSummary.runs``).
_RUN_LISTS = ("declarations", "calls", "address_taken")


# Walks kept per segment: a header is entered in only a few distinct file
# scopes across a project (its configurations).
_VARIANTS_PER_SEGMENT = 4


class _Summarizer(ScopedWalker):
    def __init__(
        self,
        summary: UnitSummary,
        linkage: _Linkage,
        names: AttributeNames,
        hybrid_predicates: tuple[str, ...],
    ) -> None:
        super().__init__(TypeEnv())
        self.summary = summary
        self.linkage = linkage
        self.names = names
        self.hybrid_predicates = hybrid_predicates
        self.caller: str | None = None
        # The current function's calls by node, and whether it mentions a
        # predicate: only then does the context-guard pass run on it.
        self.function_calls: list[tuple[int, Call]] = []
        self.predicate_seen = False

    # -- segments -----------------------------------------------------------
    def walk_segments(self, externals: list[c_ast.Node], groups: list[SegmentGroup]) -> None:
        """Walk the unit group by group; ``summary.runs`` then tells which records each gave."""
        summary = self.summary
        runs: dict[str, list[list[Any]]] = {name: [] for name in _RUN_LISTS}
        position = 0
        for group in groups:
            items = externals[position : position + group.count]
            position += group.count
            before = {name: len(getattr(summary, name)) for name in _RUN_LISTS}
            walked = None
            if group.annex is None or group.restore is None:
                for item in items:
                    self.visit(item)
            else:
                walked = self._walk_memoised(group.annex, group.restore)
            for name in _RUN_LISTS:
                # A replayed walk's own lists, so that what is derived from them is kept with them.
                run = getattr(walked, name) if walked is not None else getattr(summary, name)[before[name] :]
                if run:
                    runs[name].append(run)
        summary.runs = runs

    def _walk_memoised(
        self, annex: dict[object, object], items: Callable[[], list[c_ast.Node]]
    ) -> _WalkedSegment:
        """Replay an earlier walk of a kept segment that still holds, or walk its ``items()``."""
        summary, main_file = self.summary, self.summary.main_file
        walks: list[_WalkedSegment] = annex.setdefault(  # type: ignore[assignment]
            ("summarize", self.names, self.hybrid_predicates), []
        )
        for walked in walks:
            if self.env.agrees_with(walked.scope) and self.linkage.agrees_with(walked.linkage, main_file):
                self.env.replay(walked.scope)
                summary.declarations.extend(walked.declarations)
                summary.calls.extend(walked.calls)
                summary.address_taken.extend(walked.address_taken)
                summary.local_findings.extend(walked.local_findings)
                return walked
        lists = (summary.declarations, summary.calls, summary.address_taken)
        before = [len(records) for records in lists]
        findings_before = len(summary.local_findings)
        self.env.start_log()
        self.linkage.reads = {}
        try:
            for item in items():
                self.visit(item)
        finally:
            scope, reads = self.env.stop_log(), self.linkage.reads
            self.linkage.reads = None
        walked = _WalkedSegment(
            scope,
            reads,
            *(RecordRun(r[n:]) for r, n in zip(lists, before, strict=True)),
            summary.local_findings[findings_before:],
        )
        walks.append(walked)
        del walks[:-_VARIANTS_PER_SEGMENT]
        return walked

    def _fallback_file(self) -> str:
        """The file of a node without coordinates (a node the front end made)."""
        return self.linkage.main_file(self.summary.main_file)

    # -- declarations -----------------------------------------------------
    def visit_Decl(self, node: c_ast.Decl) -> None:
        if isinstance(node.type, c_ast.FuncDecl) and node.name:
            self._record_declaration(node, is_definition=False)
        self.env.declare(node)
        self.visit(node.type)
        if node.init is not None:
            self.visit(node.init)
            self._check_initializer(node.type, node.init)
        if node.bitsize is not None:
            self.visit(node.bitsize)

    def visit_FuncDef(self, node: c_ast.FuncDef) -> None:
        declaration = self._record_declaration(node.decl, is_definition=True)
        outer = (self.caller, self.function_calls, self.predicate_seen)
        self.caller, self.function_calls, self.predicate_seen = declaration.symbol, [], False
        super().visit_FuncDef(node)
        if self.predicate_seen and self.hybrid_predicates:
            self._apply_context_guards(node, declaration)
        self.caller, self.function_calls, self.predicate_seen = outer

    def _apply_context_guards(self, node: c_ast.FuncDef, declaration: Declaration) -> None:
        noreturn = _NoreturnNames(self.linkage, self.summary.main_file)
        facts = analyse_contexts(node.body, self.hybrid_predicates, noreturn)
        for node_id, call in self.function_calls:
            call.context = facts.call_context.get(node_id, "")
        declaration.asserted = facts.asserted
        declaration.hybrid = facts.guards and not facts.asserted

    def _record_declaration(self, decl: c_ast.Decl, *, is_definition: bool) -> Declaration:
        coord = decl.coord
        symbol = self.linkage.symbol(decl.name, self.summary.main_file)
        declaration = Declaration(
            name=decl.name,
            symbol=symbol,
            file=coord.file if coord else self._fallback_file(),
            line=coord.line if coord else 0,
            column=(coord.column or 0) if coord else 0,
            kinds=sorted(k.value for k in kinds_of(decl.type)),
            is_definition=is_definition,
            is_static=self.linkage.is_static(decl.name, self.summary.main_file),
        )
        self.summary.declarations.append(declaration)
        return declaration

    # -- expressions --------------------------------------------------------
    def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
        callee = _strip_deref_and_address(node.name)
        direct = self._direct_function(callee)
        if direct is not None and direct in self.hybrid_predicates:
            self.predicate_seen = True
        if self.caller is not None:
            self.function_calls.append((id(node), self._record_call(node, callee, direct)))
        if direct is None:
            self.visit(node.name)
        if node.args is not None:
            self.visit(node.args)
            self._check_arguments(node, direct)

    def visit_ID(self, node: c_ast.ID) -> None:
        symbol = self.env.lookup(node.name)
        if symbol is not None and symbol.is_function:
            coord = node.coord
            self.summary.address_taken.append(
                AddressTaken(
                    symbol=self._symbol_of(node.name),
                    name=node.name,
                    file=coord.file if coord else self._fallback_file(),
                    line=coord.line if coord else 0,
                    column=(coord.column or 0) if coord else 0,
                )
            )

    def visit_StructRef(self, node: c_ast.StructRef) -> None:
        self.visit(node.name)  # the field name is not a reference

    def visit_NamedInitializer(self, node: c_ast.NamedInitializer) -> None:
        for designator in node.name:
            if not isinstance(designator, c_ast.ID):
                self.visit(designator)
        self.visit(node.expr)

    def visit_UnaryOp(self, node: c_ast.UnaryOp) -> None:
        # Operands of sizeof/alignof are not evaluated: no calls, no address taken.
        if node.op in ("sizeof", "_Alignof", "alignof", "__alignof__", "__alignof"):
            return
        self.generic_visit(node)

    def visit_TypeOf(self, node: c_ast.Node) -> None:
        return  # typeof's operand is not evaluated

    def visit_GenericSelection(self, node: c_ast.Node) -> None:
        for association in getattr(node, "associations", None) or ():
            self.visit(association)  # the controlling expression is not evaluated

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        self.generic_visit(node)
        if node.op == "=":
            self._check_pointer(
                node, self.env.type_of(node.lvalue), node.rvalue, "assignment to", node.lvalue
            )

    def visit_Cast(self, node: c_ast.Cast) -> None:
        self.generic_visit(node)
        self._check_pointer(node, node.to_type, node.expr, "cast to", None)

    def visit_Return(self, node: c_ast.Return) -> None:
        self.generic_visit(node)
        if node.expr is not None and self.function is not None:
            func = self.function.decl.type
            if isinstance(func, c_ast.FuncDecl):
                self._check_pointer(node, func.type, node.expr, "return from", None)

    # -- helpers ------------------------------------------------------------
    def _symbol_of(self, name: str) -> str:
        # A block-scope declaration of a function refers to the file-scope one.
        return self.linkage.symbol(name, self.summary.main_file)

    def _direct_function(self, callee: c_ast.Node) -> str | None:
        """The name of the function a callee expression denotes, if it is direct."""
        if not isinstance(callee, c_ast.ID):
            return None
        symbol = self.env.lookup(callee.name)
        if symbol is None or symbol.is_function:  # unknown: implicitly declared function
            return callee.name
        return None

    def _record_call(self, node: c_ast.FuncCall, callee: c_ast.Node, direct: str | None) -> Call:
        coord = node.coord
        file = coord.file if coord else self._fallback_file()
        line = coord.line if coord else 0
        column = (coord.column or 0) if coord else 0
        assert self.caller is not None
        if direct is not None:
            call = Call(self.caller, self._symbol_of(direct), file, line, column)
            self.summary.calls.append(call)
            return call
        kinds = self.env.kinds(self.env.type_of(callee)) or frozenset()
        text = expression_text(callee)
        label = " ".join(
            [*(self.names.macro[k] for k in sorted(kinds, key=lambda k: k.value)), "*" + text]
        )
        call = Call(
            self.caller,
            label,
            file,
            line,
            column,
            indirect=True,
            pointer_kinds=sorted(k.value for k in kinds),
        )
        self.summary.calls.append(call)
        return call

    def _expr_coroutine(self, expr: c_ast.Node) -> bool | None:
        """Whether an expression is a coroutine function (pointer); None if not a function."""
        target = _strip_deref_and_address(expr)
        if isinstance(target, c_ast.ID):
            symbol = self.env.lookup(target.name)
            if symbol is not None and symbol.is_function:
                return Kind.COROUTINE in self.linkage.annotated(target.name, self.summary.main_file) or (
                    Kind.COROUTINE in (self.env.kinds(symbol.type) or ())
                )
        kinds = self.env.kinds(self.env.type_of(expr))
        return None if kinds is None else Kind.COROUTINE in kinds

    def _check_pointer(
        self,
        node: c_ast.Node,
        target_type: TypeNode | None,
        expr: c_ast.Node | None,
        what: str,
        target_expr: c_ast.Node | None,
    ) -> None:
        if expr is None or target_type is None or _is_null(expr):
            return
        target_kinds = self.env.kinds(target_type)
        if target_kinds is None:
            return
        source = self._expr_coroutine(expr)
        if source is None:
            return
        target = Kind.COROUTINE in target_kinds
        if source == target:
            return
        macro = self.names.macro[Kind.COROUTINE]
        source_text = expression_text(expr)
        where = f" '{expression_text(target_expr)}'" if target_expr is not None else ""
        if source:
            message = (
                f"{what}{where} drops {macro}: '{source_text}' is a {macro} function"
                " but the target type is a native function type"
            )
        else:
            message = (
                f"{what}{where} adds {macro}: '{source_text}' is a native function"
                f" but the target type is a {macro} function type"
            )
        finding = self._local_finding("pointer-mismatch", node, self._function_name(), message)
        declared = self.env.function_type(target_type)
        if declared is not None and declared.coord is not None:
            # Where the target's function type is written: the place a fix goes.
            finding.notes.append(
                Note(declared.coord.file, declared.coord.line, declared.coord.column or 0,
                     "the target function type is declared here")
            )

    def _check_initializer(self, target_type: TypeNode, init: c_ast.Node) -> None:
        if not isinstance(init, c_ast.InitList):
            self._check_pointer(init, target_type, init, "initialisation of", None)
            return
        resolved = self.env.resolve(target_type)
        if isinstance(resolved, c_ast.ArrayDecl):
            for item in init.exprs:
                value = item.expr if isinstance(item, c_ast.NamedInitializer) else item
                self._check_initializer(resolved.type, value)
            return
        if not isinstance(resolved, (c_ast.Struct, c_ast.Union)) or resolved.decls is None:
            return
        members = [m for m in resolved.decls if isinstance(m, c_ast.Decl)]
        position = 0
        for item in init.exprs:
            if isinstance(item, c_ast.NamedInitializer):
                first = item.name[0] if item.name else None
                if isinstance(first, c_ast.ID) and len(item.name) == 1:
                    index = next(
                        (i for i, m in enumerate(members) if m.name == first.name), None
                    )
                    if index is not None:
                        self._check_member(members[index], item.expr)
                        position = index + 1
                continue
            if position < len(members):
                self._check_member(members[position], item)
                position += 1

    def _check_member(self, member: c_ast.Decl, value: c_ast.Node) -> None:
        if isinstance(value, c_ast.InitList):
            self._check_initializer(member.type, value)
        else:
            what = f"initialisation of member '{member.name}'" if member.name else "initialisation of"
            self._check_pointer(value, member.type, value, what, None)

    def _check_arguments(self, node: c_ast.FuncCall, direct: str | None) -> None:
        if direct is not None:
            symbol = self.env.lookup(direct)
            func = self.env.function_type(symbol.type) if symbol else None
        else:
            func = self.env.function_type(self.env.type_of(node.name))
        if func is None or func.args is None or node.args is None:
            return
        params = [p for p in func.args.params if isinstance(p, (c_ast.Decl, c_ast.Typename))]
        for index, (param, arg) in enumerate(zip(params, node.args.exprs, strict=False)):
            label = param.name if isinstance(param, c_ast.Decl) and param.name else f"#{index + 1}"
            self._check_pointer(
                arg, param.type, arg,
                f"argument '{label}' of '{expression_text(node.name)}'", None,
            )

    def _function_name(self) -> str:
        return self.function.decl.name if self.function is not None else "<file scope>"

    def _local_finding(self, check: str, node: c_ast.Node, function: str, message: str) -> Finding:
        coord = node.coord
        finding = Finding(
            check=check,
            severity=CHECKS[check],
            file=coord.file if coord else self._fallback_file(),
            line=coord.line if coord else 0,
            column=(coord.column or 0) if coord else 0,
            function=function,
            message=message,
        )
        self.summary.local_findings.append(finding)
        return finding


def _strip_deref_and_address(expr: c_ast.Node) -> c_ast.Node:
    """``(*f)`` and ``(&f)`` denote ``f`` when f is a function."""
    while isinstance(expr, c_ast.UnaryOp) and expr.op in ("*", "&"):
        expr = expr.expr
    return expr


def _is_null(expr: c_ast.Node) -> bool:
    while isinstance(expr, c_ast.Cast):
        expr = expr.expr
    return isinstance(expr, c_ast.Constant) and expr.value in ("0", "0L", "0UL", "0U")


def _declares_noreturn(decl: c_ast.Decl) -> bool:
    if "_Noreturn" in (decl.funcspec or ()):
        return True
    specifiers = [*(getattr(decl, "attributes", None) or ()), *(decl.type.attributes or ())]
    return any(
        attribute.name in _NORETURN_ATTRIBUTES
        for spec in specifiers
        for attribute in getattr(spec, "attributes", ())
    )


def expression_text(expr: c_ast.Node | None) -> str:
    """Readable C for an expression, as used in messages and graph labels."""
    if expr is None:
        return ""
    try:
        from coroproj.frontend.generator import GnuCGenerator

        return str(GnuCGenerator().visit(expr))
    except Exception:  # the generator is for messages only: never fail a check on it
        from pycparser import c_generator

        try:
            return str(c_generator.CGenerator().visit(expr))
        except Exception:
            return type(expr).__name__


def find_suppressions(files: Iterable[str]) -> Iterable[Suppression]:
    """``coroproj: ignore[check] reason`` comments, applying to their line and the next."""
    for file in files:
        try:
            text = Path(file).read_text(errors="replace")
        except OSError:
            continue
        if "coroproj:" not in text:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            match = _SUPPRESSION.search(line)
            if match is None:
                continue
            checks = [c.strip() for c in match.group(1).split(",") if c.strip()]
            reason = match.group(2).strip()
            # A comment alone on its line applies to the next line; otherwise to its own.
            alone = line.strip().startswith(("/*", "//"))
            yield Suppression(file, number + 1 if alone else number, checks, reason)
