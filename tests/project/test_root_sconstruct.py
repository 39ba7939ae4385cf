"""The repository's root SConstruct builds sample_project/: its compile database and
coroproj's cache are the sample project's own, and the root gets neither."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 300


@pytest.fixture(scope="module")
def repository_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build description and sample project sources, without anything built or generated."""
    copy = tmp_path_factory.mktemp("repository")
    shutil.copy(REPO / "SConstruct", copy / "SConstruct")
    shutil.copytree(REPO / "site_scons", copy / "site_scons",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "sample_project", copy / "sample_project",
                    ignore=shutil.ignore_patterns("build", ".coroproj", "compile_commands.json",
                                                  ".sconsign.dblite", "__pycache__"))
    return copy


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=TIMEOUT_SECONDS, check=False)


@pytest.mark.parametrize("target", ["compiledb", "check"])
def test_scons_at_the_root_writes_only_the_sample_projects_files(repository_copy: Path, target: str) -> None:
    result = run([sys.executable, "-m", "SCons", "-Q", target], repository_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    sample = repository_copy / "sample_project"
    assert (sample / "compile_commands.json").is_file()
    assert not (repository_copy / "compile_commands.json").exists()
    assert not (repository_copy / ".coroproj").exists()
    if target == "check":
        assert (sample / ".coroproj").is_dir()
        assert " 0 findings" in result.stderr  # the summary line: check ran on the sample project


def test_coroproj_check_at_the_root_names_the_project_to_check(repository_copy: Path) -> None:
    result = run([sys.executable, "-m", "coroproj", "check"], repository_copy)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("coroproj check sample_project")
    assert "sample_project/compile_commands.json" in result.stderr
    assert not (repository_copy / "compile_commands.json").exists()
    assert not (repository_copy / ".coroproj").exists()
