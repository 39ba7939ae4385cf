"""Broken input: one clear GCC-style line naming the original file and line, exit 2."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_coroproj


def _one_error(result, file: Path, line: int) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [x for x in result.stderr.splitlines() if ": error: " in x]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"{file}:{line}:"), errors[0]
    assert errors[0].endswith("[coroproj-parse-error]")
    return result.stderr


def test_syntax_error_in_a_header_names_the_header(tmp_path: Path) -> None:
    header = tmp_path / "bad.h"
    header.write_text("int fine(void);\nint broken(int x;\n")
    unit = tmp_path / "unit.c"
    unit.write_text('#include "bad.h"\nint main(void) { return 0; }\n')
    stderr = _one_error(run_coroproj("check", str(unit)), header, 2)
    assert "int broken(int x;" in stderr  # the offending source line is shown


def test_missing_include_names_the_including_line(tmp_path: Path) -> None:
    unit = tmp_path / "unit.c"
    unit.write_text('int x;\n#include "nowhere.h"\n')
    stderr = _one_error(run_coroproj("check", str(unit)), unit, 2)
    assert "nowhere.h" in stderr


def test_unknown_compiler_flag(tmp_path: Path) -> None:
    unit = tmp_path / "unit.c"
    unit.write_text("int x;\n")
    result = run_coroproj("check", str(unit), "--", "-fno-such-flag-at-all")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "-fno-such-flag-at-all" in result.stderr


def test_missing_file_and_bad_option(tmp_path: Path) -> None:
    result = run_coroproj("check", str(tmp_path / "absent.c"))
    assert result.returncode == 2 and "absent.c" in result.stderr and "Traceback" not in result.stderr
    result = run_coroproj("check", "--format", "yaml", str(tmp_path))
    assert result.returncode == 2 and "yaml" in result.stderr and "Traceback" not in result.stderr
