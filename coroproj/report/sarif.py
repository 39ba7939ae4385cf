"""Findings as a SARIF 2.1.0 log, for code-scanning dashboards and IDEs.

One run; the driver lists one rule per check id (``coroproj-<check>``) with
its default level.  Each finding becomes a result located relative to the
project root (``uriBaseId`` ``%SRCROOT%``, resolved by ``originalUriBaseIds``)
so a log stays meaningful on another checkout.  The witness chain that
explains a finding is given twice, as SARIF consumers expect: as
``relatedLocations`` (one per call, then one per note) and as a ``codeFlow``
that viewers can step through.  Suppressed findings stay in the log with an
``inSource`` suppression, and ``partialFingerprints`` carry the finding's
line-independent fingerprint so dashboards can follow it across edits.

``schemas/sarif-schema-2.1.0.json`` beside this module is the official OASIS
schema the output is tested against.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from coroproj.analysis.findings import CHECKS, Finding, Note, Step

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "coroproj"
INFORMATION_URI = "https://pypi.org/project/coroproj/"
SOURCE_ROOT_ID = "%SRCROOT%"
FINGERPRINT_KEY = "coroprojFinding/v1"
SCHEMA_PATH = Path(__file__).with_name("schemas") / "sarif-schema-2.1.0.json"

# What each check reports, for the rule descriptions a SARIF viewer shows.
CHECK_DESCRIPTIONS: dict[str, str] = {
    "missing": "A function that can reach a coroutine root is not annotated coroutine_fn.",
    "spurious": "A function annotated coroutine_fn reaches no coroutine root (it may be deliberate).",
    "conflict": "A function is annotated both coroutine and blocking.",
    "wrong-blocking": "A function annotated blocking_fn can reach a coroutine root.",
    "forbidden-call": "An annotated coroutine function calls a blocking function.",
    "suspicious-call": "A function that should be a coroutine (or is annotated one without "
    "reason) calls a blocking function.",
    "pointer-mismatch": "A cast, assignment, initializer, argument or return adds or drops "
    "the coroutine annotation of a function pointer type.",
    "proto-mismatch": "A prototype disagrees with the definition or with the inference.",
    "hybrid": "A function branches on whether it runs in a coroutine; it must be split for CPS.",
    "parse-error": "A translation unit could not be analysed.",
    "unused-suppression": "A suppression comment matches no finding.",
    "misplaced-annotation": "An annotation is written where it does not attach to a function type.",
}


def to_sarif(
    findings: list[Finding],
    *,
    tool_version: str,
    root: Path,
    information_uri: str = INFORMATION_URI,
    failures: list[Finding] | None = None,
) -> dict[str, Any]:
    """The SARIF log (a JSON-ready dict) of ``findings``; paths relative to ``root``.

    ``failures``: the ``parse-error`` findings of units that could not be
    analysed.  Each is an error-level result at its file:line and a
    notification of the invocation, which is then not successful: CI still
    gets every other unit's results, and sees that something failed.
    """
    root = Path(os.path.abspath(root))
    rule_ids = list(CHECKS)
    locator = _Locator(root)
    failures = failures or []
    everything = [*findings, *(f for f in failures if f not in findings)]
    results = [_result(finding, rule_ids, locator) for finding in sorted(everything, key=_order)]
    invocation = {
        "executionSuccessful": not failures,
        "toolExecutionNotifications": [
            {
                "level": "error",
                "message": {"text": failure.message},
                "locations": [locator.location(failure.file, failure.line, failure.column)],
                "descriptor": {"id": rule_id(failure.check)},
            }
            for failure in failures
        ],
    }
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": tool_version,
                        "informationUri": information_uri,
                        "rules": [_rule(check) for check in rule_ids],
                    }
                },
                "originalUriBaseIds": {SOURCE_ROOT_ID: {"uri": _directory_uri(root)}},
                "invocations": [invocation],
                "results": results,
            }
        ],
    }


def rule_id(check: str) -> str:
    return f"coroproj-{check}"


def _order(finding: Finding) -> tuple[str, int, int, str, str]:
    return finding.sort_key()


def _rule(check: str) -> dict[str, Any]:
    description = CHECK_DESCRIPTIONS.get(check, f"coroproj check '{check}'.")
    return {
        "id": rule_id(check),
        "name": _camel_case(check),
        "shortDescription": {"text": description},
        "defaultConfiguration": {"level": CHECKS[check]},
    }


def _camel_case(check: str) -> str:
    return "".join(part.capitalize() for part in check.split("-"))


def _result(finding: Finding, rule_ids: list[str], locator: _Locator) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": rule_id(finding.check),
        "level": finding.severity,
        "message": {"text": finding.message},
        "locations": [
            locator.location(finding.file, finding.line, finding.column, function=finding.function)
        ],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
    }
    if finding.check in rule_ids:
        result["ruleIndex"] = rule_ids.index(finding.check)
    related = [_step_location(step, locator) for step in finding.chain]
    related += [_note_location(note, locator) for note in finding.notes]
    if related:
        # Location ids must be unique within a result; numbering keeps
        # repeated call sites (recursion through one line) distinct.
        for number, location in enumerate(related, start=1):
            location["id"] = number
        result["relatedLocations"] = related
    if finding.chain:
        result["codeFlows"] = [_code_flow(finding, locator)]
    if finding.suppressed:
        # Silenced by a comment in the source, with the programmer's reason.
        suppression: dict[str, Any] = {"kind": "inSource"}
        if finding.suppression_reason:
            suppression["justification"] = finding.suppression_reason
        result["suppressions"] = [suppression]
    return result


def _step_text(step: Step) -> str:
    text = f"{step.caller} calls {step.callee}"
    return f"{text} ({step.why})" if step.why else text


def _step_location(step: Step, locator: _Locator) -> dict[str, Any]:
    location = locator.location(step.file, step.line, step.column, function=step.caller)
    location["message"] = {"text": _step_text(step)}
    return location


def _note_location(note: Note, locator: _Locator) -> dict[str, Any]:
    location = locator.location(note.file, note.line, note.column)
    location["message"] = {"text": note.message}
    return location


def _code_flow(finding: Finding, locator: _Locator) -> dict[str, Any]:
    steps = []
    for depth, step in enumerate(finding.chain):
        location = locator.location(step.file, step.line, step.column, function=step.caller)
        location["message"] = {"text": _step_text(step)}
        steps.append({"location": location, "nestingLevel": depth, "kinds": ["call"]})
    return {
        "message": {"text": f"why {finding.function}: the call chain behind this finding"},
        "threadFlows": [{"locations": steps}],
    }


class _Locator:
    """Builds SARIF locations with URIs relative to the project root where possible."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def artifact(self, file: str) -> dict[str, Any]:
        path = Path(file)
        absolute = path if path.is_absolute() else self.root / path
        absolute = Path(os.path.normpath(absolute))
        try:
            relative = absolute.relative_to(self.root)
        except ValueError:
            # Outside the project (a system header): an absolute file URI.
            return {"uri": absolute.as_uri()}
        return {"uri": quote(relative.as_posix()), "uriBaseId": SOURCE_ROOT_ID}

    def location(self, file: str, line: int, column: int, *, function: str | None = None) -> dict[str, Any]:
        physical: dict[str, Any] = {"artifactLocation": self.artifact(file)}
        # Lines and columns are 1-based in SARIF; 0 means "unknown" in a Finding.
        if line > 0:
            region: dict[str, Any] = {"startLine": line}
            if column > 0:
                region["startColumn"] = column
            physical["region"] = region
        location: dict[str, Any] = {"physicalLocation": physical}
        if function:
            location["logicalLocations"] = [{"name": function, "kind": "function"}]
        return location


def _directory_uri(root: Path) -> str:
    uri = root.as_uri()
    return uri if uri.endswith("/") else uri + "/"
