"""``--compiler`` with a compile database replaces every entry's compiler for preprocessing."""

from __future__ import annotations

import json
from pathlib import Path

from coroproj.analysis.pipeline import AnalysisOptions
from coroproj.project.analyse import analyse_project
from coroproj.project.config import Config


def _tree(root: Path) -> Path:
    (root / "a.c").write_text("int f(void) { return 0; }\n")
    entry = {"directory": str(root), "arguments": ["no-such-cc-coroproj", "-c", "a.c"], "file": "a.c"}
    (root / "compile_commands.json").write_text(json.dumps([entry]))
    return root


def test_database_compiler_is_used_without_override(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    result = analyse_project(Config(root=root), AnalysisOptions(), workers=1, quiet=True)
    assert result.stats.failed == 1


def test_override_replaces_the_database_compiler(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    result = analyse_project(Config(root=root), AnalysisOptions(compiler="cc"), workers=1, quiet=True)
    assert result.stats.failed == 0 and result.stats.parsed == 1
