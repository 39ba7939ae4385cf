"""Finding the project root and its compilation database, generating it if needed."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from coroproj.errors import UserError
from coroproj.project.compile_db import load_compile_database
from coroproj.project.discover import find_project_root, locate_database

needs_scons = pytest.mark.skipif(
    shutil.which("scons") is None and importlib.util.find_spec("SCons") is None,
    reason="SCons not installed",
)
needs_make = pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("gcc") is None, reason="make/gcc not installed"
)


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def database(path: Path, files: list[str]) -> Path:
    entries = [{"directory": str(path.parent), "command": f"cc -c {f}", "file": f} for f in files]
    return write(path, json.dumps(entries))


@pytest.mark.parametrize(
    "marker",
    ["coroproj.toml", "compile_commands.json", "SConstruct", "Makefile", "GNUmakefile", ".git"],
)
def test_root_is_nearest_ancestor_with_a_marker(tmp_path: Path, marker: str) -> None:
    write(tmp_path / "outer" / ".git" / "HEAD")
    project = tmp_path / "outer" / "project"
    write(project / marker)
    deep = project / "src" / "block"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == project
    assert find_project_root(write(deep / "io.c")) == project


def test_pyproject_counts_only_with_a_coroproj_table(tmp_path: Path) -> None:
    write(tmp_path / ".git" / "HEAD")
    plain = write(tmp_path / "plain" / "pyproject.toml", "[tool.black]\n").parent
    configured = write(tmp_path / "conf" / "pyproject.toml", "[tool.coroproj]\nroots = []\n")
    assert find_project_root(plain) == tmp_path
    assert find_project_root(configured.parent) == configured.parent


def test_root_defaults_to_start_without_markers(tmp_path: Path) -> None:
    # tmp_path may sit inside some marked directory; only check the fallback
    # when nothing above is marked.
    start = tmp_path / "a" / "b"
    start.mkdir(parents=True)
    root = find_project_root(start)
    assert root == start or start.is_relative_to(root)


def test_explicit_file_or_directory_wins(tmp_path: Path) -> None:
    database(tmp_path / "compile_commands.json", ["a.c"])
    chosen = database(tmp_path / "elsewhere" / "db.json", ["b.c"])
    assert locate_database(tmp_path, build_dir=None, explicit=chosen) == chosen
    in_dir = database(tmp_path / "other" / "compile_commands.json", ["c.c"])
    assert locate_database(tmp_path, build_dir=None, explicit=in_dir.parent) == in_dir
    with pytest.raises(UserError, match=r"nope\.json: compilation database not found"):
        locate_database(tmp_path, build_dir=None, explicit=tmp_path / "nope.json")


def test_build_dir_option(tmp_path: Path) -> None:
    database(tmp_path / "compile_commands.json", ["a.c"])
    in_build = database(tmp_path / "out" / "compile_commands.json", ["a.c"])
    assert locate_database(tmp_path, build_dir=tmp_path / "out", explicit=None) == in_build
    with pytest.raises(UserError, match="EXPORT_COMPILE_COMMANDS"):
        locate_database(tmp_path, build_dir=tmp_path / "empty", explicit=None)


@pytest.mark.parametrize(
    "where",
    ["compile_commands.json", "build/compile_commands.json", "builddir/compile_commands.json",
     "_build/compile_commands.json", "build/ucontext/compile_commands.json"],
)  # fmt: skip
def test_existing_databases_are_found(tmp_path: Path, where: str) -> None:
    found = database(tmp_path / where, ["a.c"])
    write(tmp_path / "Makefile", "all:\n\tfalse\n")  # must not be used
    assert locate_database(tmp_path, build_dir=None, explicit=None) == found


def test_root_database_preferred_over_build_dirs(tmp_path: Path) -> None:
    database(tmp_path / "build" / "compile_commands.json", ["a.c"])
    top = database(tmp_path / "compile_commands.json", ["a.c"])
    assert locate_database(tmp_path, build_dir=None, explicit=None) == top


def test_nothing_to_go_on_explains_how_to_make_a_database(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        locate_database(tmp_path, build_dir=None, explicit=None)
    message = str(caught.value)
    for hint in ("CMAKE_EXPORT_COMPILE_COMMANDS=ON", "meson", "bear -- make", "compiledb make"):
        assert hint in message


MAKEFILE = """\
CFLAGS = -O2 -Iinclude -DFROM_MAKE
OBJS = src/main.o src/util.o
app: $(OBJS)
\t$(CC) -o $@ $(OBJS)
src/%.o: src/%.c
\t$(CC) $(CFLAGS) -c -o $@ $<
"""


@needs_make
@pytest.mark.skipif(shutil.which("compiledb") is None, reason="compiledb not installed")
def test_make_tree_generates_database_without_building(tmp_path: Path) -> None:
    write(tmp_path / "Makefile", MAKEFILE)
    write(tmp_path / "src" / "main.c", "int main(void) { return 0; }\n")
    write(tmp_path / "src" / "util.c", "int util(void) { return 1; }\n")
    path = locate_database(tmp_path, build_dir=None, explicit=None)
    assert path == tmp_path / "compile_commands.json"
    jobs = load_compile_database(path).jobs
    assert sorted(job.file for job in jobs) == [tmp_path / "src/main.c", tmp_path / "src/util.c"]
    assert all(f"-I{tmp_path}/include" in job.flags and "-DFROM_MAKE" in job.flags for job in jobs)
    assert not list(tmp_path.rglob("*.o")), "a dry run must not compile"


@needs_make
@pytest.mark.skipif(shutil.which("compiledb") is None, reason="compiledb not installed")
def test_broken_makefile_reports_make_output(tmp_path: Path) -> None:
    write(tmp_path / "Makefile", "all:\n\tgcc -c x.c\n  not a rule\n")
    with pytest.raises(UserError) as caught:
        locate_database(tmp_path, build_dir=None, explicit=None)
    assert "missing separator" in str(caught.value)
    assert not (tmp_path / "compile_commands.json").exists()


SCONSTRUCT = """\
env = Environment(CPPPATH=["include"], CPPDEFINES=["FROM_SCONS"])
optimised = env.Clone(CCFLAGS=["-O2"])
SConscript("src/SConscript", exports="env")
optimised.Program("tool", ["tool.c"])
"""


def scons_tree(root: Path) -> Path:
    write(root / "SConstruct", SCONSTRUCT)
    write(root / "src" / "SConscript", 'Import("env")\nenv.Program("app", ["main.c"])\n')
    write(root / "src" / "main.c", "int main(void) { return 0; }\n")
    write(root / "tool.c", "int main(void) { return 1; }\n")
    return root


@needs_scons
def test_generic_scons_tree_generates_database(tmp_path: Path) -> None:
    scons_tree(tmp_path)
    path = locate_database(tmp_path, build_dir=None, explicit=None)
    assert path == tmp_path / "compile_commands.json"
    loaded = load_compile_database(path)
    jobs = {job.file.relative_to(tmp_path).as_posix(): job for job in loaded.jobs}
    assert set(jobs) == {"src/main.c", "tool.c"}
    assert f"-I{tmp_path}/src/include" in jobs["src/main.c"].flags
    assert "-O2" in jobs["tool.c"].flags and "-DFROM_SCONS" in jobs["tool.c"].flags
    assert not list(tmp_path.rglob("*.o")), "generating the database must not compile"


# Stands in for the project's own site tool: an alias 'compiledb' that writes
# compile_commands.json at the project root.
PROJECT_TOOL = """\
def generate(env):
    env.Tool("compilation_db")
    database = env.CompilationDatabase("#compile_commands.json")
    env.Alias("compiledb", database)


def exists(env):
    return True
"""


@needs_scons
def test_scons_tree_with_the_project_tool_uses_its_alias(tmp_path: Path) -> None:
    write(tmp_path / "site_scons" / "site_tools" / "coroproj.py", PROJECT_TOOL)
    write(
        tmp_path / "SConstruct",
        'env = Environment(tools=["default", "coroproj"], CPPDEFINES=["VIA_TOOL"])\n'
        'env.Program("app", ["app.c"])\n',
    )
    write(tmp_path / "app.c", "int main(void) { return 0; }\n")
    path = locate_database(tmp_path, build_dir=None, explicit=None)
    [job] = load_compile_database(path).jobs
    assert job.file == tmp_path / "app.c"
    assert "-DVIA_TOOL" in job.flags


@needs_scons
def test_project_tool_not_loaded_falls_back_to_generic_route(tmp_path: Path) -> None:
    write(tmp_path / "site_scons" / "site_tools" / "coroproj.py", PROJECT_TOOL)
    scons_tree(tmp_path)  # its SConstruct never loads the coroproj tool
    path = locate_database(tmp_path, build_dir=None, explicit=None)
    files = {job.file for job in load_compile_database(path).jobs}
    assert files == {tmp_path / "src" / "main.c", tmp_path / "tool.c"}


@needs_scons
def test_broken_sconstruct_reports_scons_output(tmp_path: Path) -> None:
    write(tmp_path / "SConstruct", "env = Environment()\nraise RuntimeError('no such variant')\n")
    with pytest.raises(UserError) as caught:
        locate_database(tmp_path, build_dir=None, explicit=None)
    message = str(caught.value)
    assert message.startswith("SCons failed to generate compile_commands.json")
    assert "no such variant" in message
