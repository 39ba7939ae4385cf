"""Project configuration: coroproj.toml / [tool.coroproj], defaults and mistakes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from coroproj.analysis.findings import CHECKS
from coroproj.errors import UserError
from coroproj.frontend.annotations import Kind
from coroproj.project.config import Config, load_config


def test_defaults_without_any_file(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.source is None
    names = config.attribute_names()
    assert names.classify("coroutine_fn") is Kind.COROUTINE
    assert names.classify("cps") is Kind.COROUTINE
    assert names.classify("no_coroutine_fn") is Kind.BLOCKING
    assert names.classify("coroutine_mixed_fn") is Kind.MIXED
    assert config.hybrid_predicates == ("qemu_in_coroutine",)
    assert config.effective_cache_dir() == tmp_path / ".coroproj"
    for check, default in CHECKS.items():
        assert config.severity_of(check) == default


def test_pyproject_table_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        """
[project]
name = "x"

[tool.coroproj]
coroutine-attr = ["co_fn"]
blocking-attr = ["sync_fn"]
mixed-attr = ["both_fn"]
roots = ["my_yield", "my_sleep"]
hybrid-predicates = ["in_co"]
exclude = ["third_party/**/*.c", "*_test.c"]
compile-commands = "out/compile_commands.json"
cache-dir = ".cache/coroproj"
compiler = "clang"

[tool.coroproj.severity]
spurious = "off"
missing = "error"
"""
    )
    config = load_config(tmp_path)
    assert config.source == tmp_path / "pyproject.toml"
    names = config.attribute_names()
    assert names.classify("co_fn") is Kind.COROUTINE
    assert names.classify("coroutine_fn") is None
    assert names.classify("sync_fn") is Kind.BLOCKING
    assert names.classify("both_fn") is Kind.MIXED
    assert config.roots == ("my_yield", "my_sleep")
    assert config.hybrid_predicates == ("in_co",)
    assert config.compile_commands == tmp_path / "out" / "compile_commands.json"
    assert config.effective_cache_dir() == tmp_path / ".cache" / "coroproj"
    assert config.compiler == "clang"
    assert config.severity_of("spurious") is None
    assert config.severity_of("missing") == "error"
    assert config.severity_of("conflict") == "error"
    assert config.is_excluded(tmp_path / "third_party" / "lib" / "x.c")
    assert config.is_excluded(tmp_path / "third_party" / "x.c")
    assert config.is_excluded(tmp_path / "src" / "io_test.c")
    assert not config.is_excluded(tmp_path / "src" / "io.c")


def test_pyproject_without_table_gives_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 80\n")
    assert load_config(tmp_path) == Config(root=tmp_path)


def test_coroproj_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.coroproj]\nroots = ["from_pyproject"]\n')
    (tmp_path / "coroproj.toml").write_text('roots = ["from_coroproj_toml"]\n')
    config = load_config(tmp_path)
    assert config.roots == ("from_coroproj_toml",)
    assert config.source == tmp_path / "coroproj.toml"


def test_fingerprint_follows_analysis_settings_only(tmp_path: Path) -> None:
    base = Config(root=tmp_path)
    assert base.fingerprint() == Config(root=tmp_path / "elsewhere").fingerprint()
    assert (
        base.fingerprint()
        == dataclasses.replace(base, severity=(("spurious", "off"),), exclude=("x/*",)).fingerprint()
    )
    assert base.fingerprint() != dataclasses.replace(base, roots=("other",)).fingerprint()
    assert base.fingerprint() != dataclasses.replace(base, coroutine_attr=("co",)).fingerprint()
    assert base.fingerprint() != dataclasses.replace(base, hybrid_predicates=("in_co",)).fingerprint()


TABLE = "[tool.coroproj]\n"


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (TABLE + 'roots = []\ncolour = "red"\n', "unknown key 'colour' in [tool.coroproj]", 3),
        (
            TABLE + 'roots = "qemu_coroutine_yield"\n',
            "'roots' in [tool.coroproj] must be a list",
            2,
        ),
        (TABLE + "coroutine-attr = []\n", "must not be empty", 2),
        (TABLE + "compiler = 3\n", "'compiler' in [tool.coroproj] must be a non-empty string", 2),
        (TABLE + 'severity = "loud"\n', "must be a table", 2),
        ('[tool.coroproj.severity]\nmisssing = "error"\n', "unknown check id 'misssing'", 2),
        (TABLE + 'severity = { missing = "fatal" }\n', "unknown severity 'fatal' for 'missing'", 2),
        (TABLE + 'blocking-attr = ["coroutine_fn"]\n', "'coroutine_fn' is in both", 2),
        (TABLE + "roots = [\n", "invalid TOML", None),
        ("[tool]\ncoroproj = 3\n", "[tool.coroproj] must be a table", None),
    ],
)
def test_mistakes_in_pyproject_name_file_and_line(
    tmp_path: Path, text: str, message: str, line: int | None
) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    with pytest.raises(UserError) as caught:
        load_config(tmp_path)
    error = str(caught.value)
    assert message in error
    if line is None:
        assert error.startswith(f"{path}")
    else:
        assert error.startswith(f"{path}:{line}: ")


def test_unknown_key_in_coroproj_toml(tmp_path: Path) -> None:
    path = tmp_path / "coroproj.toml"
    path.write_text('# settings\nroots = []\n\nhybrid_predicates = ["x"]\n')
    with pytest.raises(UserError, match=rf"^{path}:4: unknown key 'hybrid_predicates'"):
        load_config(tmp_path)
