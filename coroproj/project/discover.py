"""Find the checked project's root and its compilation database, or make one.

Order of preference for the database:

1. the file given explicitly (``--compile-commands``);
2. ``BUILD_DIR/compile_commands.json`` when a build directory is given;
3. an existing ``compile_commands.json`` at the root, in ``build/``,
   ``builddir/``, ``_build/`` or one level below ``build/`` (CMake/Meson
   trees with several configurations, e.g. ``build/ucontext/``);
4. generated from the project's own build description:
   SCons (through the project's ``coroproj`` site tool if it has one, else
   through SCons's ``compilation_db`` tool enabled by a wrapper SConstruct),
   or Make (``compiledb -n make``: a dry run, nothing is compiled).

Anything else is a ``UserError`` that says how to produce a database.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coroproj.errors import UserError
from coroproj.project.config import CONFIG_FILE, PYPROJECT_FILE, has_coroproj_table

DATABASE_NAME = "compile_commands.json"
BUILD_DIR_CANDIDATES = ("build", "builddir", "_build")
MAKEFILE_NAMES = ("GNUmakefile", "makefile", "Makefile")
PROJECT_SCONS_TOOL = Path("site_scons") / "site_tools" / "coroproj.py"
GENERATION_TIMEOUT_SECONDS = 600
OUTPUT_LINES_SHOWN = 15

HOW_TO_MAKE_A_DATABASE = """\
no compile_commands.json found in {root} (looked at the root, build/, builddir/, _build/ and \
build/*/), and no SConstruct or Makefile to generate one from. Produce one with your build \
system and pass it with --compile-commands (or set compile-commands in the configuration):
  CMake:  cmake -B build -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
  Meson:  meson setup builddir   (writes builddir/compile_commands.json)
  Make:   compiledb make   or   bear -- make
  SCons:  env.Tool('compilation_db'); env.CompilationDatabase()"""


def find_project_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` that looks like a project root.

    Markers: ``coroproj.toml``, a ``pyproject.toml`` with ``[tool.coroproj]``,
    ``compile_commands.json``, ``SConstruct``, a Makefile, or ``.git``.
    Without any, ``start`` itself.
    """
    start = Path(os.path.abspath(start))
    if start.is_file():
        start = start.parent
    for directory in (start, *start.parents):
        if _is_project_root(directory):
            return directory
    return start


def _is_project_root(directory: Path) -> bool:
    plain_markers = (CONFIG_FILE, DATABASE_NAME, "SConstruct", *MAKEFILE_NAMES, ".git")
    if any((directory / marker).exists() for marker in plain_markers):
        return True
    pyproject = directory / PYPROJECT_FILE
    return pyproject.is_file() and has_coroproj_table(pyproject)


def locate_database(root: Path, *, build_dir: Path | None, explicit: Path | None) -> Path:
    """The compilation database to use for the project at ``root`` (generated if needed)."""
    root = Path(os.path.abspath(root))
    if explicit is not None:
        explicit = Path(os.path.abspath(explicit))
        if explicit.is_dir():
            explicit = explicit / DATABASE_NAME
        if not explicit.is_file():
            raise UserError(f"{explicit}: compilation database not found")
        return explicit
    if build_dir is not None:
        candidate = Path(os.path.abspath(build_dir)) / DATABASE_NAME
        if not candidate.is_file():
            raise UserError(
                f"{candidate}: not found; configure the build directory to export a "
                "compilation database (CMake: -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)"
            )
        return candidate
    existing = find_existing_database(root)
    if existing is not None:
        return existing
    if (root / "SConstruct").is_file():
        return generate_with_scons(root)
    if any((root / name).is_file() for name in MAKEFILE_NAMES):
        return generate_with_compiledb(root)
    raise UserError(HOW_TO_MAKE_A_DATABASE.format(root=root))


def find_existing_database(root: Path) -> Path | None:
    candidates = [root / DATABASE_NAME]
    candidates += [root / name / DATABASE_NAME for name in BUILD_DIR_CANDIDATES]
    build = root / "build"
    if build.is_dir():
        # Several configurations side by side: take them in a stable order.
        candidates += sorted(build.glob(f"*/{DATABASE_NAME}"))
    return next((path for path in candidates if path.is_file()), None)


# --- generation ---------------------------------------------------------------------------

# Loaded instead of the project's SConstruct: every construction environment
# gets SCons's compilation_db tool before the project's SConstruct builds
# anything, so all compile commands are recorded; then one database target is
# declared.  Clones copy their parent's builders and so inherit the tool.
_SCONS_WRAPPER = """\
import SCons.Environment

_original_init = SCons.Environment.Base.__init__


def _init_with_compilation_db(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    if "CompilationDatabase" not in self["BUILDERS"]:
        self.Tool("compilation_db")


SCons.Environment.Base.__init__ = _init_with_compilation_db
SConscript("SConstruct")
Environment(tools=[]).CompilationDatabase({output!r})
"""


def generate_with_scons(root: Path) -> Path:
    """Write ``root/compile_commands.json`` through SCons (nothing is compiled)."""
    output = root / DATABASE_NAME
    scons = _tool_command("scons", "SCons")
    # A project that loads coroproj's SCons tool (possibly from a site_scons
    # above it, as sample_project does) defines the `compiledb` alias, which
    # knows its variants; otherwise take the generic route.
    started = time.time()
    try:
        log = _run_generator([*scons, "-C", str(root), "-Q", "compiledb"], root, "SCons")
    except UserError as error:
        if "Do not know how to make" not in str(error):
            raise
    else:
        written = _databases_written_below(root, since=started)
        if not output.exists() and written:
            # A tree whose SConstruct builds subprojects (the repository root
            # building sample_project/): each database belongs to its subproject.
            names = ", ".join(str(path.relative_to(root)) for path in written)
            subproject = shlex.quote(str(written[0].parent.relative_to(root)))
            raise UserError(
                f"coroproj: {root} is not a project of its own: its SCons build wrote {names}; "
                f"check that project: coroproj check {subproject}"
            )
        return _check_generated(output, "SCons", log)
    with tempfile.TemporaryDirectory(prefix="coroproj-scons-") as scratch:
        wrapper = Path(scratch) / "SConstruct.coroproj"
        wrapper.write_text(_SCONS_WRAPPER.format(output=str(output)))
        command = [*scons, "-C", str(root), "-Q", "-f", str(wrapper), str(output)]
        log = _run_generator(command, root, "SCons")
    return _check_generated(output, "SCons", log)


def _databases_written_below(root: Path, *, since: float) -> list[Path]:
    """Databases in the subdirectories of ``root`` (two levels down) modified since ``since``."""
    candidates = [*root.glob(f"*/{DATABASE_NAME}"), *root.glob(f"*/*/{DATABASE_NAME}")]
    # One-second slack: some file systems keep modification times in whole seconds.
    return sorted(path for path in candidates if path.stat().st_mtime >= since - 1)


def generate_with_compiledb(root: Path) -> Path:
    """Write ``root/compile_commands.json`` from ``make``'s dry run (``make -Bnwk``)."""
    output = root / DATABASE_NAME
    command = [*_tool_command("compiledb", "compiledb"), "-n", "make"]
    log = _run_generator(command, root, "compiledb")
    # compiledb exits 0 even when make fails; an empty database is how that shows.
    return _check_generated(output, "compiledb", log)


def _tool_command(executable: str, module: str) -> list[str]:
    found = shutil.which(executable)
    if found:
        return [found]
    try:
        __import__(module)
    except ImportError:
        raise UserError(
            f"{executable} is needed to generate compile_commands.json but is not installed"
        ) from None
    return [sys.executable, "-m", module]


def _run_generator(command: list[str], root: Path, tool: str) -> str:
    try:
        completed = subprocess.run(
            command,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=GENERATION_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UserError(
            f"{tool} did not finish generating compile_commands.json in "
            f"{GENERATION_TIMEOUT_SECONDS} s (in {root})"
        ) from None
    except OSError as error:
        raise UserError(f"cannot run {tool}: {error}") from None
    if completed.returncode != 0:
        raise UserError(
            f"{tool} failed to generate compile_commands.json in {root} "
            f"(exit status {completed.returncode}):\n{_last_lines(completed.stdout)}"
        )
    return completed.stdout


def _check_generated(output: Path, tool: str, log: str = "") -> Path:
    """The generated database, or a UserError (and no useless file left behind)."""
    try:
        entries = json.loads(output.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{tool} did not write {output}:\n{_last_lines(log)}") from None
    except (OSError, ValueError) as error:
        output.unlink(missing_ok=True)
        raise UserError(f"{tool} wrote an unusable {output}: {error}") from None
    if not entries:
        # Left in place, an empty database would be picked up by the next run.
        output.unlink(missing_ok=True)
        raise UserError(f"{tool} found no compile commands for {output.parent}:\n{_last_lines(log)}")
    return output


def _last_lines(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    shown = lines[-OUTPUT_LINES_SHOWN:] or ["(no output)"]
    return "\n".join(f"  {line}" for line in shown)
