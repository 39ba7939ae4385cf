"""The checked project's coroproj configuration.

Read from a ``coroproj.toml`` at the project root (top-level keys) or from the
``[tool.coroproj]`` table of the project's ``pyproject.toml``.  When both
exist, ``coroproj.toml`` wins and ``pyproject.toml`` is not read at all:
a dedicated file is the more deliberate choice, and merging two sources would
make it unclear where a setting came from.  Command-line flags override the
result (``dataclasses.replace``).

Every mistake (unknown key, wrong type, unknown check id or severity) is a
``UserError`` naming the file, and the line when it can be found, so a typo
never silently turns a check off.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from coroproj.analysis.findings import CHECKS, Severity
from coroproj.errors import UserError
from coroproj.frontend.annotations import AttributeNames

SeveritySetting = Literal["error", "warning", "note", "off"]
SEVERITY_SETTINGS: tuple[SeveritySetting, ...] = ("error", "warning", "note", "off")

CONFIG_FILE = "coroproj.toml"
PYPROJECT_FILE = "pyproject.toml"
DEFAULT_CACHE_DIR = ".coroproj"


@dataclass(frozen=True)
class Config:
    """Settings for one checked project; paths are absolute."""

    root: Path
    source: Path | None = None  # the file the settings came from, None for defaults
    coroutine_attr: tuple[str, ...] = AttributeNames().coroutine
    blocking_attr: tuple[str, ...] = AttributeNames().blocking
    mixed_attr: tuple[str, ...] = AttributeNames().mixed
    roots: tuple[str, ...] = ("qemu_coroutine_yield",)
    hybrid_predicates: tuple[str, ...] = ("qemu_in_coroutine",)
    exclude: tuple[str, ...] = ()
    # Only the checks whose severity was configured; see ``severity_of``.
    severity: tuple[tuple[str, SeveritySetting], ...] = ()
    compile_commands: Path | None = None
    cache_dir: Path | None = None
    compiler: str | None = None
    _severity_map: dict[str, SeveritySetting] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_severity_map", dict(self.severity))

    def attribute_names(self) -> AttributeNames:
        return AttributeNames(
            coroutine=self.coroutine_attr, blocking=self.blocking_attr, mixed=self.mixed_attr
        )

    def fingerprint(self) -> str:
        """Hash of the settings that change a unit's summary (part of the cache key).

        Severity, exclusions and paths only filter or locate results, so they
        are left out: changing them must not invalidate cached summaries.
        """
        relevant = {
            "coroutine": self.coroutine_attr,
            "blocking": self.blocking_attr,
            "mixed": self.mixed_attr,
            "roots": self.roots,
            "hybrid": self.hybrid_predicates,
        }
        text = json.dumps(relevant, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def severity_of(self, check: str) -> Severity | None:
        """The severity to report ``check`` with, or None when it is turned off."""
        setting = self._severity_map.get(check, CHECKS.get(check, "warning"))
        return None if setting == "off" else setting

    def effective_cache_dir(self) -> Path:
        return self.cache_dir or self.root / DEFAULT_CACHE_DIR

    def is_excluded(self, path: Path | str) -> bool:
        """Whether ``path`` matches an ``exclude`` glob.

        Patterns match the path relative to the project root (``third_party/*``,
        ``**/generated/*.c``) or, failing that, the file name (``*_test.c``).
        """
        absolute = Path(os.path.abspath(path))
        try:
            relative = absolute.relative_to(self.root).as_posix()
        except ValueError:
            relative = absolute.as_posix()
        for pattern in self.exclude:
            candidates = (relative, absolute.as_posix(), absolute.name)
            if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
                return True
            # "dir/**/x" should also match "dir/x", as in most glob dialects.
            if "**/" in pattern and fnmatch.fnmatchcase(relative, pattern.replace("**/", "")):
                return True
        return False


def load_config(root: Path) -> Config:
    """The configuration of the project rooted at ``root`` (defaults if none)."""
    root = Path(os.path.abspath(root))
    dedicated = root / CONFIG_FILE
    if dedicated.is_file():
        document = _read_toml(dedicated)
        return _config_from_table(root, dedicated, document, section=None)
    pyproject = root / PYPROJECT_FILE
    if pyproject.is_file():
        document = _read_toml(pyproject)
        tool = document.get("tool", {})
        if isinstance(tool, dict) and "coroproj" in tool:
            table = tool["coroproj"]
            if not isinstance(table, dict):
                raise _error(pyproject, None, "[tool.coroproj] must be a table")
            return _config_from_table(root, pyproject, table, section="tool.coroproj")
    return Config(root=root)


def has_coroproj_table(pyproject: Path) -> bool:
    """Whether a pyproject.toml configures coroproj (used to find the project root)."""
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    tool = document.get("tool")
    return isinstance(tool, dict) and "coroproj" in tool


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read configuration: {error}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = _toml_error_line(str(error))
        location = f"{path}:{line}" if line else str(path)
        raise UserError(f"{location}: invalid TOML: {error}") from None


def _toml_error_line(message: str) -> int | None:
    match = re.search(r"at line (\d+)", message)
    return int(match.group(1)) if match else None


def _error(path: Path, line: int | None, message: str) -> UserError:
    location = f"{path}:{line}" if line else str(path)
    return UserError(f"{location}: {message}")


class _Reader:
    """Validates one table and turns its values into ``Config`` fields."""

    def __init__(self, path: Path, section: str | None) -> None:
        self.path = path
        self.section = section
        self.where = f"[{section}]" if section else path.name
        self.lines = path.read_text(encoding="utf-8").splitlines()

    def line_of(self, key: str, table: str | None = None) -> int | None:
        """Best-effort line of ``key =`` inside the table (``table`` for sub-tables)."""
        header = table or self.section
        inside = header is None
        quoted = re.escape(key)
        key_pattern = re.compile(rf"""^\s*(?:"{quoted}"|'{quoted}'|{quoted})\s*=""")
        for number, text in enumerate(self.lines, start=1):
            stripped = text.strip()
            if stripped.startswith("["):
                inside = stripped.strip("[] ").replace(" ", "") == header
                continue
            if inside and key_pattern.match(text):
                return number
        return None

    def fail(self, key: str, message: str, table: str | None = None) -> UserError:
        return _error(self.path, self.line_of(key, table), message)

    def names(self, key: str, value: object, *, allow_empty: bool) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(key, f"'{key}' in {self.where} must be a list of strings")
        if not value and not allow_empty:
            raise self.fail(key, f"'{key}' in {self.where} must not be empty")
        if any(not item.strip() for item in value):
            raise self.fail(key, f"'{key}' in {self.where} has an empty name")
        return tuple(value)

    def text(self, key: str, value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"'{key}' in {self.where} must be a non-empty string")
        return value

    def severity(self, key: str, value: object) -> tuple[tuple[str, SeveritySetting], ...]:
        if not isinstance(value, dict):
            raise self.fail(key, f"'{key}' in {self.where} must be a table of check = severity")
        sub_table = f"{self.section}.{key}" if self.section else key
        settings: list[tuple[str, SeveritySetting]] = []
        for check, setting in value.items():
            if check not in CHECKS:
                known = ", ".join(sorted(CHECKS))
                raise self._in_severity(
                    check, sub_table, f"unknown check id '{check}' in {self.where} "
                    f"{key} (known: {known})"
                )  # fmt: skip
            if setting not in SEVERITY_SETTINGS:
                raise self._in_severity(
                    check, sub_table, f"unknown severity {setting!r} for '{check}' in "
                    f"{self.where} {key} (use one of: {', '.join(SEVERITY_SETTINGS)})"
                )  # fmt: skip
            settings.append((check, setting))
        return tuple(sorted(settings))

    def _in_severity(self, check: str, sub_table: str, message: str) -> UserError:
        # The entry may be written in a [..severity] sub-table or inline.
        line = self.line_of(check, sub_table) or self.line_of("severity")
        return _error(self.path, line, message)


_Converter = Callable[["_Reader", str, object, Path], object]

_FIELDS: dict[str, tuple[str, _Converter]] = {
    "coroutine-attr": ("coroutine_attr", lambda r, k, v, _: r.names(k, v, allow_empty=False)),
    "blocking-attr": ("blocking_attr", lambda r, k, v, _: r.names(k, v, allow_empty=False)),
    "mixed-attr": ("mixed_attr", lambda r, k, v, _: r.names(k, v, allow_empty=False)),
    "roots": ("roots", lambda r, k, v, _: r.names(k, v, allow_empty=True)),
    "hybrid-predicates": ("hybrid_predicates", lambda r, k, v, _: r.names(k, v, allow_empty=True)),
    "exclude": ("exclude", lambda r, k, v, _: r.names(k, v, allow_empty=True)),
    "severity": ("severity", lambda r, k, v, _: r.severity(k, v)),
    "compile-commands": ("compile_commands", lambda r, k, v, root: root / r.text(k, v)),
    "cache-dir": ("cache_dir", lambda r, k, v, root: root / r.text(k, v)),
    "compiler": ("compiler", lambda r, k, v, _: r.text(k, v)),
}


def _config_from_table(root: Path, path: Path, table: dict[str, Any], section: str | None) -> Config:
    reader = _Reader(path, section)
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _FIELDS:
            known = ", ".join(sorted(_FIELDS))
            raise reader.fail(key, f"unknown key '{key}' in {reader.where} (known: {known})")
        name, convert = _FIELDS[key]
        values[name] = convert(reader, key, value, root)
    _check_attribute_overlap(reader, values)
    for name in ("compile_commands", "cache_dir"):
        if name in values:
            values[name] = Path(os.path.normpath(values[name]))
    return Config(root=root, source=path, **values)


def _check_attribute_overlap(reader: _Reader, values: dict[str, Any]) -> None:
    """One attribute name cannot mean two annotations."""
    defaults = Config(root=Path("/"))
    groups = {
        key: values.get(name, getattr(defaults, name))
        for key, name in (
            ("coroutine-attr", "coroutine_attr"),
            ("blocking-attr", "blocking_attr"),
            ("mixed-attr", "mixed_attr"),
        )
    }
    owner: dict[str, str] = {}
    for key, names in groups.items():
        for name in names:
            if name in owner:
                raise reader.fail(key, f"attribute '{name}' is in both '{owner[name]}' and '{key}'")
            owner[name] = key
