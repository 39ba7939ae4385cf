"""The project-level command line as a user meets it: builds, errors, reports."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import ROOT, run_coroproj
from tests.whole.test_fixpoint import CHAIN
from tests.whole.trees import make_tree, write_database

MAKEFILE = """\
CC ?= cc
CFLAGS = -Iinclude -std=gnu11
OBJS = a.o b.o c.o
prog: $(OBJS)
\t$(CC) -o $@ $(OBJS)
%.o: %.c
\t$(CC) $(CFLAGS) -c $< -o $@
"""

SCONSTRUCT = """\
env = Environment(CPPPATH=['include'], CCFLAGS=['-std=gnu11'])
env.Program('prog', ['a.c', 'b.c', 'c.c'])
"""


def _missing(data: dict) -> list[str]:
    return sorted(f["function"] for f in data["findings"] if f["check"] == "missing")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_tree_with_only_a_makefile(tmp_path: Path, coroproj_json) -> None:
    root = make_tree(tmp_path, CHAIN, database=False)
    (root / "Makefile").write_text(MAKEFILE)
    status, data = coroproj_json("-q", cwd=root)
    assert status == 1 and _missing(data) == ["a_top", "b_step"]
    assert (root / "compile_commands.json").is_file()
    assert not list(root.glob("*.o")), "generating the database must not build"


def test_tree_with_only_a_sconstruct(tmp_path: Path, coroproj_json) -> None:
    root = make_tree(tmp_path, CHAIN, database=False)
    (root / "SConstruct").write_text(SCONSTRUCT)
    status, data = coroproj_json("-q", cwd=root)
    assert status == 1 and _missing(data) == ["a_top", "b_step"]


def test_no_database_and_nothing_to_generate_it_from(tmp_path: Path) -> None:
    root = make_tree(tmp_path, CHAIN, database=False)
    (root / ".git").mkdir()
    result = run_coroproj("check", cwd=root)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "compile_commands.json" in result.stderr and "CMAKE_EXPORT_COMPILE_COMMANDS" in result.stderr


def test_sarif_output_validates_against_the_official_schema(tmp_path: Path) -> None:
    root = make_tree(tmp_path, CHAIN)
    result = run_coroproj("check", "-q", "--format", "sarif", cwd=root)
    assert result.returncode == 1, result.stderr
    sarif = json.loads(result.stdout)
    schema = json.loads((ROOT / "coroproj/report/schemas/sarif-schema-2.1.0.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(sarif)
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert rules == {"coroproj-missing", "coroproj-proto-mismatch"}


def test_a_unit_that_fails_is_in_the_machine_output_with_every_other_result(tmp_path: Path) -> None:
    broken = "int broken(;\n"
    root = make_tree(tmp_path, {**CHAIN, "d.c": broken})
    write_database(root, ["a.c", "b.c", "c.c", "d.c"])
    sarif_path = root / "out.sarif"
    result = run_coroproj("check", "-q", "--format", "sarif", "-o", str(sarif_path), cwd=root)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    sarif = json.loads(sarif_path.read_text())
    schema = json.loads((ROOT / "coroproj/report/schemas/sarif-schema-2.1.0.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(sarif)
    run = sarif["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is False
    [notification] = run["invocations"][0]["toolExecutionNotifications"]
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "d.c"
    by_rule = {(r["ruleId"], r["level"]) for r in run["results"]}
    assert ("coroproj-parse-error", "error") in by_rule and ("coroproj-missing", "warning") in by_rule
    result = run_coroproj("check", "-q", "--format", "json", cwd=root)
    data = json.loads(result.stdout)
    assert result.returncode == 2
    assert [(Path(f["file"]).name, f["line"]) for f in data["failures"]] == [("d.c", 1)]
    assert {f["function"] for f in data["findings"] if f["check"] == "missing"} == {"a_top", "b_step"}


def test_unknown_configuration_key_is_a_one_line_error(tmp_path: Path) -> None:
    root = make_tree(tmp_path, CHAIN)
    (root / "coroproj.toml").write_text('roots = ["qemu_coroutine_yield"]\ncolour = "red"\n')
    result = run_coroproj("check", cwd=root)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "colour" in result.stderr and "coroproj.toml" in result.stderr


def test_configured_severity_and_roots(tmp_path: Path, coroproj_json) -> None:
    root = make_tree(
        tmp_path,
        {
            **CHAIN,
            "c.c": '#include "c.h"\nvoid my_wait(void) {}\nvoid coroutine_fn c_wait(void) { my_wait(); }\n',
        },
    )
    (root / "coroproj.toml").write_text('roots = ["my_wait"]\n[severity]\nproto-mismatch = "off"\n')
    _, data = coroproj_json("-q", cwd=root)
    assert sorted((f["check"], f["function"]) for f in data["findings"]) == [
        ("missing", "a_top"),
        ("missing", "b_step"),
    ]


def test_broken_unit_fails_with_exit_2_unless_keep_going(tmp_path: Path, coroproj_json) -> None:
    root = make_tree(tmp_path, {**CHAIN, "d.c": '#include "compiler.h"\nint broken( {\n'})
    result = run_coroproj("check", "-q", cwd=root)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "d.c:2:" in result.stderr and "[coroproj-parse-error]" in result.stderr
    assert result.stdout == ""
    status, data = coroproj_json("-q", "--keep-going", cwd=root)
    assert status == 2 and _missing(data) == ["a_top", "b_step"]


def test_why_explains_the_chain(tmp_path: Path) -> None:
    root = make_tree(tmp_path, CHAIN)
    result = run_coroproj("why", "a_top", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "'a_top' calls 'b_step'" in result.stdout
    assert "'c_wait' calls 'qemu_coroutine_yield'" in result.stdout
    native = run_coroproj("why", "main", cwd=root)
    assert "need not be coroutine_fn" in native.stdout


def test_graph_around_a_function_as_svg(tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        pytest.skip("graphviz is not installed")
    root = make_tree(tmp_path, CHAIN)
    out = tmp_path / "b_step.svg"
    result = run_coroproj("graph", "b_step", "--callers", "--depth", "1", "-o", str(out), cwd=root)
    assert result.returncode == 0, result.stderr
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg
    assert "a_top" in svg and "c_wait" not in svg
    dot = run_coroproj("graph", "b_step", "--callees", cwd=root).stdout
    assert '"b_step" -> "c_wait"' in dot and "a_top" not in dot


def test_graph_writes_the_format_its_extension_names(tmp_path: Path) -> None:
    root = make_tree(tmp_path, CHAIN)
    unknown = run_coroproj("graph", "b_step", "-o", str(tmp_path / "b.jpg"), cwd=root)
    assert unknown.returncode == 2 and "unknown graph format '.jpg'" in unknown.stderr
    assert not (tmp_path / "b.jpg").exists()
    dot = run_coroproj("graph", "b_step", "-o", str(tmp_path / "b.dot"), cwd=root)
    assert dot.returncode == 0 and (tmp_path / "b.dot").read_text().startswith("digraph")
    if shutil.which("dot") is None:
        pytest.skip("graphviz is not installed")
    for suffix, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF")):
        out = tmp_path / f"b{suffix}"
        result = run_coroproj("graph", "b_step", "-o", str(out), cwd=root)
        assert result.returncode == 0, result.stderr
        assert out.read_bytes().startswith(magic)


def test_cxx_and_assembly_entries_are_skipped_with_one_note(tmp_path: Path) -> None:
    root = make_tree(tmp_path, CHAIN)
    entries = json.loads((root / "compile_commands.json").read_text())
    (root / "x.cc").write_text("int f() { return 0; }\n")
    (root / "y.S").write_text("nop\n")
    entries += [
        {"directory": str(root), "arguments": ["c++", "-c", "x.cc"], "file": "x.cc"},
        {"directory": str(root), "arguments": ["cc", "-c", "y.S"], "file": "y.S"},
    ]
    (root / "compile_commands.json").write_text(json.dumps(entries))
    result = run_coroproj("check", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    notes = [line for line in result.stderr.splitlines() if "skipped" in line]
    assert len(notes) == 1 and "skipped 2" in notes[0]
    assert json.loads(result.stdout)["summary"]["units"] == 3


def test_full_graph_keeps_native_functions_defined_elsewhere(tmp_path: Path) -> None:
    root = make_tree(
        tmp_path,
        {
            "u.c": '#include <stdio.h>\n#include "compiler.h"\n'
            'void coroutine_fn f(void) { puts("x"); qemu_coroutine_yield(); }\n'
        },
    )
    pruned, full = tmp_path / "pruned.dot", tmp_path / "full.dot"
    run_coroproj("check", str(root / "u.c"), "--dot", str(pruned), "--", "-Iinclude", cwd=root)
    run_coroproj("check", str(root / "u.c"), "--dot", str(full), "--full-graph", "--", "-Iinclude", cwd=root)
    assert '"puts"' not in pruned.read_text() and '"qemu_coroutine_yield"' in pruned.read_text()
    assert '"puts"' in full.read_text()


def test_stats_count_only_the_projects_own_functions(tmp_path: Path, coroproj_json) -> None:
    outside = tmp_path / "vendor"
    outside.mkdir()
    (outside / "inline.h").write_text("static inline int vendor_helper(void) { return 1; }\n")
    main = '#include "inline.h"\nint main(void) { return vendor_helper(); }\n'
    root = make_tree(tmp_path / "proj", {"main.c": main})
    database = json.loads((root / "compile_commands.json").read_text())
    database[0]["arguments"].insert(1, f"-I{outside}")
    (root / "compile_commands.json").write_text(json.dumps(database))
    status, data = coroproj_json("-q", cwd=root)
    assert status == 0
    assert {f["name"] for f in data["functions"] if f["defined"]} >= {"main", "vendor_helper"}
    assert data["summary"]["functions"] == 1  # main; the vendor header's inline function is not ours


def test_a_check_ends_with_one_summary_line_unless_quiet(tmp_path: Path) -> None:
    root = make_tree(tmp_path, CHAIN)
    result = run_coroproj("check", cwd=root)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("3 units, 4 functions, 3 findings (3 warnings) in "), result.stderr
    assert run_coroproj("check", "-q", cwd=root).stderr == ""
    clean = make_tree(tmp_path / "clean", {"a.c": "int main(void) { return 0; }\n"})
    result = run_coroproj("check", "--stats", cwd=clean)
    assert result.returncode == 0
    assert "│ findings " in result.stderr and "0 findings in" in result.stderr.splitlines()[-1]


def test_a_database_pointing_outside_the_project_gets_a_warning(tmp_path: Path) -> None:
    original = make_tree(tmp_path / "original", CHAIN)
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    result = run_coroproj("check", "-q", cwd=copy)
    assert "Traceback" not in result.stderr
    assert f"lie outside the project {copy}: they point to {original}" in result.stderr
    assert "outside the project" not in run_coroproj("check", "-q", cwd=original).stderr


@pytest.mark.skipif(shutil.which("patch") is None, reason="patch is not installed")
def test_fix_diff_applies_from_where_it_was_run(tmp_path: Path) -> None:
    root = make_tree(tmp_path, {f"src/{name}": text for name, text in CHAIN.items()})
    for where in (root, root / "src"):
        result = run_coroproj("fix", "--diff", cwd=where)
        assert result.returncode == 1 and result.stdout.startswith("--- a/"), result.stderr
        patch = tmp_path / "fix.patch"
        patch.write_text(result.stdout)
        dry_run = ["patch", "-p1", "--dry-run", "-i", str(patch)]
        check = subprocess.run(dry_run, cwd=where, capture_output=True, text=True)
        assert check.returncode == 0, (where, check.stdout, check.stderr)


def test_default_graph_highlights_the_function_and_folds_tests(tmp_path: Path) -> None:
    files = {
        **CHAIN,
        "tests/t.c": '#include "../b.h"\nvoid test_b(void) { b_step(); }\nvoid test_b2(void) { b_step(); }\n',
    }
    root = make_tree(tmp_path, files)
    dot = run_coroproj("graph", "b_step", "-q", cwd=root).stdout
    [b_step] = [line for line in dot.splitlines() if line.startswith('  "b_step" [')]
    assert 'fillcolor="lightyellow"' in b_step and 'style="dashed,filled,bold"' in b_step  # missing: dashed
    assert "test_b" not in dot and '"2 more"' in dot and '"2 more" -> "b_step"' in dot
    everything = run_coroproj("graph", "b_step", "-q", "--all", cwd=root).stdout
    assert '"test_b" -> "b_step"' in everything and "more" not in everything
