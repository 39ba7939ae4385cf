"""From source files to findings: parse, summarise, link, infer, check.

``AnalysisOptions`` holds what affects the analysis; ``summarize_unit``
is the per-unit step (the unit of caching and parallelism in
whole-project runs), ``analyse`` the program-wide one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coroproj.analysis.checks import run_checks
from coroproj.analysis.findings import CHECKS, Finding
from coroproj.analysis.inference import Program
from coroproj.analysis.summarize import DEFAULT_HYBRID_PREDICATES, summarize
from coroproj.analysis.summary import UnitSummary
from coroproj.errors import SourceError
from coroproj.frontend.annotations import AttributeNames
from coroproj.frontend.segments import SegmentCache
from coroproj.frontend.unit import ParsedUnit

DEFAULT_ROOTS = ("qemu_coroutine_yield",)


@dataclass(frozen=True)
class AnalysisOptions:
    names: AttributeNames = field(default_factory=AttributeNames)
    roots: tuple[str, ...] = DEFAULT_ROOTS
    hybrid_predicates: tuple[str, ...] = DEFAULT_HYBRID_PREDICATES
    severity: Mapping[str, str] = field(default_factory=dict)
    # None: each compile job's own compiler (files mode: cc); set, it replaces them all.
    compiler: str | None = None

    def fingerprint(self) -> str:
        """What changes a unit's summary (the cache key includes it)."""
        names = self.names
        return repr(
            (names.coroutine, names.blocking, names.mixed, sorted(self.hybrid_predicates), self.compiler)
        )


@dataclass
class Analysis:
    program: Program
    summaries: list[UnitSummary]
    findings: list[Finding]
    failures: list[Finding]  # parse-error findings of units that could not be analysed

    @property
    def exit_status(self) -> int:
        if self.failures:
            return 2
        serious = [
            f for f in self.findings if not f.suppressed and f.severity in ("error", "warning")
        ]
        return 1 if serious else 0


def preprocess_unit(
    path: str | Path,
    flags: Sequence[str],
    options: AnalysisOptions,
    *,
    cwd: str | Path | None = None,
    compiler: str | None = None,
) -> str:
    """The unit's text after ``cc -E`` with its own flags (and ``-D__COROPROJ__``)."""
    from coroproj.frontend.preprocess import preprocess

    return preprocess(path, flags, compiler=options.compiler or compiler or "cc", cwd=cwd)


def summarize_text(
    text: str,
    main_file: str,
    options: AnalysisOptions,
    *,
    unit: str | None = None,
    segments: SegmentCache | None = None,
) -> UnitSummary:
    """Parse preprocessed text and summarise it; raises SourceError.

    ``segments``: header parses shared with the other units of this process.
    """
    from coroproj.frontend.unit import parse_unit_text

    parsed = parse_unit_text(text, main_file, options.names, segments=segments)
    summary = summarize(
        parsed.ast,
        unit=unit or main_file,
        main_file=main_file,
        preprocessed_text=text,
        names=options.names,
        hybrid_predicates=options.hybrid_predicates,
        segments=parsed.segments,
        files=parsed.files,
    )
    summary.local_findings.extend(_misplaced_annotations(parsed, options.names))
    return summary


def summarize_unit(
    path: str | Path,
    flags: Sequence[str],
    options: AnalysisOptions,
    *,
    unit: str | None = None,
    cwd: str | Path | None = None,
) -> UnitSummary:
    """Preprocess, parse and summarise one unit; raises SourceError/UserError."""
    text = preprocess_unit(path, flags, options, cwd=cwd)
    return summarize_text(text, str(path), options, unit=unit)


def _misplaced_annotations(parsed: ParsedUnit, names: AttributeNames) -> list[Finding]:
    findings = []
    for spot, kind, what in parsed.misplaced_annotations:
        macro = names.macro[kind]
        findings.append(
            Finding(
                check="misplaced-annotation",
                severity=CHECKS["misplaced-annotation"],
                file=spot.file,
                line=spot.line,
                column=spot.column,
                function=str(what),
                message=f"{macro} on '{what}', which is not a function or function pointer",
            )
        )
    return findings


def failure_finding(error: SourceError) -> Finding:
    return Finding(
        check="parse-error",
        severity="error",
        file=error.spot.file,
        line=error.spot.line,
        column=error.spot.column,
        function="",
        message=error.message,
        source_line=error.source_line,
    )


def analyse(
    summaries: Iterable[UnitSummary],
    options: AnalysisOptions,
    failures: Iterable[Finding] = (),
) -> Analysis:
    summaries = list(summaries)
    program = Program(summaries, roots=options.roots)
    failures = list(failures)
    findings = run_checks(
        program, summaries, options.names, options.severity, extra=failures,
        predicates=options.hybrid_predicates,
    )
    return Analysis(program, summaries, findings, failures)
