"""Compare what the programmer wrote with what the inference requires.

One function per check id of DESIGN.md; ``run_checks`` gathers them, adds
the local findings the summaries carry, drops duplicates (a header seen by
many units is reported once), applies severities and suppressions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from coroproj.analysis.findings import CHECKS, Finding, Step
from coroproj.analysis.inference import BLOCKING, COROUTINE, MIXED, NATIVE, Function, Program
from coroproj.analysis.summary import Call, Declaration, Suppression, UnitSummary
from coroproj.frontend.annotations import AttributeNames, Kind


class Checker:
    def __init__(
        self, program: Program, names: AttributeNames, predicates: Sequence[str] = ()
    ) -> None:
        self.program = program
        self.macro = {kind.value: spelling for kind, spelling in names.macro.items()}
        self.coroutine_fn = names.macro[Kind.COROUTINE]
        self.blocking_fn = names.macro[Kind.BLOCKING]
        self.mixed_fn = names.macro[Kind.MIXED]
        self.predicate = predicates[0] if predicates else "qemu_in_coroutine"

    def findings(self) -> Iterator[Finding]:
        for function in self._defined_functions():
            yield from self.conflict(function)
            yield from self.missing_or_wrong(function)
            yield from self.spurious(function)
            calls = self._calls_in_context(function)
            yield from self.blocking_calls(function, calls)
            yield from self.wrong_context(function, calls)
            yield from self.proto_mismatch(function)
            yield from self.hybrid(function)

    def _defined_functions(self) -> list[Function]:
        functions = [f for f in self.program.functions.values() if not f.indirect and f.location]
        return sorted(functions, key=lambda f: (f.location.file, f.location.line, f.symbol))

    # -- the checks -----------------------------------------------------------
    def conflict(self, function: Function) -> Iterator[Finding]:
        if COROUTINE in function.kinds and BLOCKING in function.kinds:
            yield self._at(
                function, "conflict",
                f"'{function.name}' is annotated both {self.coroutine_fn} and {self.blocking_fn}",
            )

    def missing_or_wrong(self, function: Function) -> Iterator[Finding]:
        if not function.definitions or not self.program.should_be_coroutine(function.symbol):
            return
        kinds = function.kinds
        if COROUTINE in kinds or MIXED in kinds:
            return
        root = self.program.roots.get(function.symbol)
        if root is not None and root.kind == "configured":
            return  # a primitive trusted by configuration, whatever it is written as
        chain = self.witness(function.symbol)
        if BLOCKING in kinds:
            yield self._at(
                function, "wrong-blocking",
                f"'{function.name}' is annotated {self.blocking_fn} but must be "
                f"{self.coroutine_fn}: {self._reason(function.symbol)}",
                chain,
            )
        else:
            yield self._at(
                function, "missing",
                f"missing {self.coroutine_fn} annotation on '{function.name}': "
                f"{self._reason(function.symbol)}",
                chain,
            )

    def spurious(self, function: Function) -> Iterator[Finding]:
        if (
            function.definitions
            and COROUTINE in function.kinds
            and function.symbol not in self.program.roots
            and not self.program.should_be_coroutine(function.symbol)
        ):
            yield self._at(
                function, "spurious",
                f"spurious {self.coroutine_fn} annotation on '{function.name}': "
                "it reaches no coroutine function",
            )

    def _calls_in_context(self, function: Function) -> list[tuple[Function, Call, str]]:
        """Each call with its callee and the context it runs in ("" if unknown)."""
        native_only = NATIVE if function.asserted == NATIVE else ""
        return [
            (self.program.functions[callee], call, call.context or native_only)
            for callee, call in self.program.calls_from(function.symbol)
        ]

    def blocking_calls(
        self, function: Function, calls: list[tuple[Function, Call, str]]
    ) -> Iterator[Finding]:
        annotated = COROUTINE in function.kinds or function.asserted == COROUTINE
        inferred = self.program.should_be_coroutine(function.symbol)
        for target, call, context in calls:
            if BLOCKING not in target.kinds or COROUTINE in target.kinds:
                continue
            if context == NATIVE:
                continue  # P is false here: a native call in native context
            if context == COROUTINE:
                check = "forbidden-call"
                message = (
                    f"'{function.name}' calls {self.blocking_fn} function '{target.name}'"
                    f" where it runs in a coroutine ({self._predicate_text()} holds)"
                )
            elif annotated and inferred:
                check = "forbidden-call"
                message = (
                    f"{self.coroutine_fn} function '{function.name}' calls "
                    f"{self.blocking_fn} function '{target.name}'"
                )
            elif annotated or inferred:
                check = "suspicious-call"
                status = "should be" if inferred else "is annotated"
                message = (
                    f"'{function.name}' {status} {self.coroutine_fn} and calls "
                    f"{self.blocking_fn} function '{target.name}'"
                )
            else:
                continue
            yield Finding(
                check=check, severity=CHECKS[check], file=call.file, line=call.line,
                column=call.column, function=function.name, message=message,
            )

    def wrong_context(
        self, function: Function, calls: list[tuple[Function, Call, str]]
    ) -> Iterator[Finding]:
        """A coroutine function called where the predicate says it is not in a coroutine."""
        for target, call, context in calls:
            if context != NATIVE or not self._is_coroutine(target):
                continue
            what = f"through '{target.name}'" if target.indirect else f"'{target.name}'"
            yield Finding(
                check="wrong-context", severity=CHECKS["wrong-context"], file=call.file,
                line=call.line, column=call.column, function=function.name,
                message=(
                    f"'{function.name}' calls {self.coroutine_fn} {what} where it does not run"
                    f" in a coroutine ({self._predicate_text()} is false)"
                ),
            )

    def _is_coroutine(self, target: Function) -> bool:
        """Coroutine by what is written (an annotation or a coroutine pointer), or a root."""
        if target.indirect:
            return COROUTINE in target.kinds
        if MIXED in target.kinds and COROUTINE not in target.kinds:
            return False
        return COROUTINE in target.kinds or target.symbol in self.program.roots

    def _predicate_text(self) -> str:
        return f"{self.predicate}()"

    def proto_mismatch(self, function: Function) -> Iterator[Finding]:
        definition = function.definition
        if definition is None:
            return
        required = COROUTINE in function.kinds or (
            self.program.should_be_coroutine(function.symbol) and not function.kinds & {BLOCKING, MIXED}
        )
        for declaration in [*function.prototypes, *function.definitions]:
            has = COROUTINE in declaration.kinds
            if has == required:
                continue
            if declaration is definition and COROUTINE not in function.kinds:
                continue  # reported as `missing` at the definition itself
            what = "definition" if declaration.is_definition else "declaration"
            if required:
                message = (
                    f"this {what} of '{function.name}' lacks {self.coroutine_fn}"
                    + (", which its other declarations have" if COROUTINE in function.kinds
                       else f": {self._reason(function.symbol)}")
                )
            else:
                message = (
                    f"this {what} of '{function.name}' is annotated {self.coroutine_fn}"
                    f" but its definition at {definition.file}:{definition.line} is not"
                )
            yield Finding(
                check="proto-mismatch", severity=CHECKS["proto-mismatch"],
                file=declaration.file, line=declaration.line, column=declaration.column,
                function=function.name, message=message,
            )
        yield from self._prototype_lacks_definition_kind(function, definition)

    def _prototype_lacks_definition_kind(
        self, function: Function, definition: Declaration
    ) -> Iterator[Finding]:
        """A prototype without the no_coroutine_fn / coroutine_mixed_fn its definition has.

        Callers that see only that prototype (a forward declaration, a header)
        are judged without the restriction.  The other direction is the norm
        and not reported: generated wrappers (QEMU's block-gen.c) are defined
        bare under a header that carries the annotation.
        """
        for kind in (BLOCKING, MIXED):
            if kind not in definition.kinds or COROUTINE in function.kinds:
                continue
            for prototype in function.prototypes:
                if kind in prototype.kinds:
                    continue
                yield Finding(
                    check="proto-mismatch", severity=CHECKS["proto-mismatch"],
                    file=prototype.file, line=prototype.line, column=prototype.column,
                    function=function.name,
                    message=(
                        f"this declaration of '{function.name}' lacks {self.macro[kind]},"
                        f" which its definition at {definition.file}:{definition.line} has"
                    ),
                )

    def hybrid(self, function: Function) -> Iterator[Finding]:
        if not function.hybrid:
            return
        if MIXED in function.kinds:
            advice = (
                f"for CPS, split it into a native ({self.blocking_fn}) and a coroutine"
                f" ({self.coroutine_fn}) twin"
            )
        else:
            advice = (
                f"it is callable from both contexts: annotate it {self.mixed_fn}"
                f" (for CPS, split it into a native and a {self.coroutine_fn} twin)"
            )
        yield self._at(
            function, "hybrid",
            f"'{function.name}' branches on whether it runs in a coroutine"
            f" ({self._predicate_text()}): {advice}",
        )

    # -- explanations ---------------------------------------------------------
    def witness(self, symbol: str) -> list[Step]:
        steps = [
            Step(
                caller=self.program.functions[call.caller].name,
                callee=self.program.functions[_callee_node(call)].name,
                file=call.file, line=call.line, column=call.column,
            )
            for call in self.program.chain(symbol)
        ]
        end = self.program.chain_end(symbol)
        reason = self.program.roots.get(end)
        if steps and reason is not None:
            last = steps[-1]
            steps[-1] = Step(last.caller, last.callee, last.file, last.line, last.column, reason.text)
        return steps

    def _reason(self, symbol: str) -> str:
        chain = self.program.chain(symbol)
        if not chain:
            root = self.program.roots.get(symbol)
            return root.text if root is not None else "it is a root"
        first = chain[0]
        callee = self.program.functions[_callee_node(first)]
        if callee.indirect:
            return f"it calls through '{callee.name}'"
        return f"it calls '{callee.name}'"

    def _at(self, function: Function, check: str, message: str, chain: list[Step] | None = None) -> Finding:
        where = function.location
        assert where is not None
        return Finding(
            check=check, severity=CHECKS[check], file=where.file, line=where.line,
            column=where.column, function=function.name, message=message, chain=chain or [],
        )


def _callee_node(call) -> str:  # type: ignore[no-untyped-def]
    return f"{call.callee}@{call.caller}" if call.indirect else call.callee


def run_checks(
    program: Program,
    summaries: Iterable[UnitSummary],
    names: AttributeNames,
    severity: Mapping[str, str] | None = None,
    extra: Iterable[Finding] = (),
    predicates: Sequence[str] = (),
) -> list[Finding]:
    """All findings of a program, de-duplicated, with severities and suppressions applied."""
    summaries = list(summaries)
    findings = list(Checker(program, names, predicates).findings())
    for summary in summaries:
        findings.extend(summary.local_findings)
    findings.extend(extra)
    findings = _deduplicate(findings)
    suppressions = _deduplicate_suppressions(s for summary in summaries for s in summary.suppressions)
    findings.extend(_apply_suppressions(findings, suppressions))
    return _apply_severity(sorted(findings, key=Finding.sort_key), severity or {})


def _deduplicate(findings: Iterable[Finding]) -> list[Finding]:
    seen: dict[tuple[str, str, int, int, str, str], Finding] = {}
    for finding in findings:
        key = (finding.check, finding.file, finding.line, finding.column, finding.function,
               finding.message)
        seen.setdefault(key, finding)
    return list(seen.values())


def _deduplicate_suppressions(suppressions: Iterable[Suppression]) -> list[Suppression]:
    unique: dict[tuple[str, int], Suppression] = {}
    for suppression in suppressions:
        unique.setdefault((suppression.file, suppression.line), suppression)
    return list(unique.values())


def _apply_suppressions(findings: list[Finding], suppressions: list[Suppression]) -> list[Finding]:
    """Mark suppressed findings; return findings for suppressions that matched nothing."""
    by_line = {(s.file, s.line): s for s in suppressions}
    used: set[tuple[str, int]] = set()
    for finding in findings:
        suppression = by_line.get((finding.file, finding.line))
        if suppression and (not suppression.checks or finding.check in suppression.checks):
            finding.suppressed = True
            finding.suppression_reason = suppression.reason or None
            used.add((suppression.file, suppression.line))
    unused = []
    for suppression in suppressions:
        if (suppression.file, suppression.line) in used:
            continue
        checks = ", ".join(suppression.checks) or "all checks"
        unused.append(
            Finding(
                check="unused-suppression", severity=CHECKS["unused-suppression"],
                file=suppression.file, line=suppression.line, column=0, function="",
                message=f"this suppression of {checks} matches no finding",
            )
        )
    return unused


def _apply_severity(findings: list[Finding], severity: Mapping[str, str]) -> list[Finding]:
    kept = []
    for finding in findings:
        level = severity.get(finding.check)
        if level == "off":
            continue
        if level in ("error", "warning", "note"):
            finding.severity = level  # type: ignore[assignment]
        kept.append(finding)
    return kept
