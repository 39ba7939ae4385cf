"""SARIF output: valid against the official 2.1.0 schema, and carrying what users rely on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from jsonschema import Draft7Validator

from coroproj.analysis.findings import CHECKS, Finding, Note, Step
from coroproj.report.sarif import SCHEMA_PATH, to_sarif


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def findings(root: Path) -> list[Finding]:
    return [
        Finding(
            check="missing",
            severity="warning",
            file=str(root / "block" / "io.c"),
            line=42,
            column=5,
            function="bdrv_flush",
            message="bdrv_flush should be coroutine_fn: it reaches qemu_coroutine_yield",
            chain=[
                Step("bdrv_flush", "bdrv_co_flush", str(root / "block/io.c"), 44, 12),
                Step(
                    "bdrv_co_flush",
                    "qemu_coroutine_yield",
                    str(root / "block/co.c"),
                    7,
                    3,
                    why="configured root",
                ),
            ],
            notes=[Note(str(root / "include/block.h"), 10, 1, "declared here without it")],
        ),
        Finding(
            check="spurious",
            severity="note",
            file="util/my file.c",  # relative to the root, with a space
            line=3,
            column=0,
            function="maybe_async",
            message="maybe_async is coroutine_fn but reaches no coroutine",
            suppressed=True,
            suppression_reason="kept for the planned async path",
        ),
        Finding(
            check="parse-error",
            severity="error",
            file="/usr/include/weird.h",  # outside the project
            line=0,
            column=0,
            function="",
            message="expected ';'",
        ),
    ]


def test_log_is_valid_sarif(tmp_path: Path, validator: Draft7Validator) -> None:
    log = to_sarif(findings(tmp_path), tool_version="1.2.3", root=tmp_path)
    errors = sorted(validator.iter_errors(log), key=str)
    assert errors == [], "\n".join(error.message for error in errors)
    json.dumps(log)  # serialisable as is


def test_empty_log_is_valid(tmp_path: Path, validator: Draft7Validator) -> None:
    log = to_sarif([], tool_version="0.1.0", root=tmp_path)
    assert list(validator.iter_errors(log)) == []
    assert log["runs"][0]["results"] == []


def test_schema_rejects_a_broken_log(tmp_path: Path, validator: Draft7Validator) -> None:
    log = to_sarif(findings(tmp_path), tool_version="1.2.3", root=tmp_path)
    log["runs"][0]["results"][0]["level"] = "fatal"
    del log["runs"][0]["tool"]["driver"]["name"]
    assert len(list(validator.iter_errors(log))) == 2


def run_of(root: Path) -> dict[str, Any]:
    return to_sarif(findings(root), tool_version="1.2.3", root=root)["runs"][0]


def test_driver_and_one_rule_per_check(tmp_path: Path) -> None:
    driver = run_of(tmp_path)["tool"]["driver"]
    assert driver["name"] == "coroproj" and driver["version"] == "1.2.3"
    assert urlparse(driver["informationUri"]).scheme == "https"
    rules = driver["rules"]
    assert [rule["id"] for rule in rules] == [f"coroproj-{check}" for check in CHECKS]
    for rule, (_check, level) in zip(rules, CHECKS.items(), strict=True):
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] == level


def test_result_rule_level_location_relative_to_root(tmp_path: Path) -> None:
    run = run_of(tmp_path)
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
    missing = next(r for r in run["results"] if r["ruleId"] == "coroproj-missing")
    assert missing["level"] == "warning"
    assert run["tool"]["driver"]["rules"][missing["ruleIndex"]]["id"] == "coroproj-missing"
    assert missing["message"]["text"].startswith("bdrv_flush should be coroutine_fn")
    [location] = missing["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "block/io.c", "uriBaseId": "%SRCROOT%"}
    assert physical["region"] == {"startLine": 42, "startColumn": 5}
    assert location["logicalLocations"] == [{"name": "bdrv_flush", "kind": "function"}]


def test_witness_chain_as_related_locations_and_code_flow(tmp_path: Path) -> None:
    missing = next(r for r in run_of(tmp_path)["results"] if r["ruleId"] == "coroproj-missing")
    related = missing["relatedLocations"]
    assert [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in related] == [
        "block/io.c", "block/co.c", "include/block.h",
    ]  # fmt: skip
    assert [loc["message"]["text"] for loc in related] == [
        "bdrv_flush calls bdrv_co_flush",
        "bdrv_co_flush calls qemu_coroutine_yield (configured root)",
        "declared here without it",
    ]
    assert len({loc["id"] for loc in related}) == 3
    [flow] = missing["codeFlows"]
    [thread] = flow["threadFlows"]
    steps = thread["locations"]
    assert [s["location"]["physicalLocation"]["region"]["startLine"] for s in steps] == [44, 7]
    assert [s["nestingLevel"] for s in steps] == [0, 1]


def test_suppressed_finding_stays_visible_as_suppressed(tmp_path: Path) -> None:
    results = run_of(tmp_path)["results"]
    spurious = next(r for r in results if r["ruleId"] == "coroproj-spurious")
    assert spurious["suppressions"] == [
        {"kind": "inSource", "justification": "kept for the planned async path"}
    ]
    assert spurious["level"] == "note"
    uri = spurious["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "util/my%20file.c" and unquote(uri) == "util/my file.c"
    assert spurious["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    assert "suppressions" not in next(r for r in results if r["ruleId"] == "coroproj-missing")


def test_file_outside_root_and_unknown_line(tmp_path: Path) -> None:
    results = run_of(tmp_path)["results"]
    failure = next(r for r in results if r["ruleId"] == "coroproj-parse-error")
    physical = failure["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "file:///usr/include/weird.h"}
    assert "region" not in physical
    assert "logicalLocations" not in failure["locations"][0]


def test_fingerprints_follow_the_finding_not_its_line(tmp_path: Path) -> None:
    first = findings(tmp_path)
    moved = findings(tmp_path)
    moved[0].line += 10
    before = to_sarif(first, tool_version="1", root=tmp_path)["runs"][0]["results"]
    after = to_sarif(moved, tool_version="1", root=tmp_path)["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in before] == [r["partialFingerprints"] for r in after]
    prints = [next(iter(r["partialFingerprints"].values())) for r in before]
    assert len(set(prints)) == 3
    assert first[0].fingerprint in prints


def test_results_in_stable_order(tmp_path: Path) -> None:
    forward = to_sarif(findings(tmp_path), tool_version="1", root=tmp_path)
    backward = to_sarif(findings(tmp_path)[::-1], tool_version="1", root=tmp_path)
    assert forward == backward
