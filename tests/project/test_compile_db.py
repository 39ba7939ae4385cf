"""Loading compilation databases in the forms real build tools write."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coroproj.errors import UserError
from coroproj.project.compile_db import CompileJob, load_compile_database, split_command
from coroproj.runtime.cpc import BACKENDS


def write_db(directory: Path, entries: object) -> Path:
    path = directory / "compile_commands.json"
    path.write_text(json.dumps(entries, indent=2))
    return path


def test_arguments_form_keeps_preprocessing_flags_and_makes_paths_absolute(tmp_path: Path) -> None:
    db = write_db(
        tmp_path,
        [
            {
                "directory": str(tmp_path / "build"),
                "arguments": [
                    "gcc", "-c", "-o", "main.o", "-MD", "-MF", "main.d", "-Wall", "-g",
                    "-I../include", "-I", "gen", "-isystem", "/opt/sys", "-iquote", "q",
                    "-include", "config.h", "-DDEBUG=1", "-D", "NAME=x", "-UOLD", "-std=gnu11",
                    "-O2", "-fPIC", "-m64", "-pthread", "-lm", "-L", "lib", "../src/main.c",
                ],
                "file": "../src/main.c",
            }
        ],
    )  # fmt: skip
    loaded = load_compile_database(db)
    assert loaded.skipped == []
    [job] = loaded.jobs
    build = tmp_path / "build"
    assert job.file == tmp_path / "src" / "main.c"
    assert job.directory == build
    assert job.compiler == "gcc"
    assert job.flags == (
        f"-I{tmp_path}/include", f"-I{build}/gen", "-isystem", "/opt/sys", "-iquote",
        f"{build}/q", "-include", f"{build}/config.h", "-DDEBUG=1", "-DNAME=x", "-UOLD",
        "-std=gnu11", "-O2", "-fPIC", "-m64", "-pthread",
    )  # fmt: skip
    assert job.key == f"{job.file}#{job.config_id}"


def test_command_form_is_shell_split_and_wrappers_dropped(tmp_path: Path) -> None:
    db = write_db(
        tmp_path,
        [
            {
                "directory": str(tmp_path),
                "command": 'ccache /usr/bin/cc -DMSG="\\"hi there\\"" -c a.c -o a.o',
                "file": "a.c",
            }
        ],
    )
    [job] = load_compile_database(db).jobs
    assert job.compiler == "/usr/bin/cc"
    assert job.flags == ('-DMSG="hi there"',)
    assert job.file == tmp_path / "a.c"


def test_relative_directory_is_relative_to_the_database(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    db = write_db(
        tmp_path / "out",
        [{"directory": "..", "arguments": ["cc", "-Iinc", "-c", "x.c"], "file": "x.c"}],
    )
    [job] = load_compile_database(db).jobs
    assert job.directory == tmp_path
    assert job.file == tmp_path / "x.c"
    assert job.flags == (f"-I{tmp_path}/inc",)


def test_response_files_are_expanded_relative_to_directory(tmp_path: Path) -> None:
    (tmp_path / "rsp").mkdir()
    (tmp_path / "rsp" / "flags.rsp").write_text('-Iinc "-DGREETING=hello world" @rsp/more.rsp\n')
    (tmp_path / "rsp" / "more.rsp").write_text("-DNESTED -o ignored.o\n")
    db = write_db(
        tmp_path,
        [{"directory": str(tmp_path), "arguments": ["gcc", "@rsp/flags.rsp", "-c", "m.c"],
          "file": "m.c"}],
    )  # fmt: skip
    [job] = load_compile_database(db).jobs
    assert job.flags == (f"-I{tmp_path}/inc", "-DGREETING=hello world", "-DNESTED")


@pytest.mark.parametrize(
    ("file", "arguments", "reason"),
    [
        ("w.cpp", ["g++", "-c", "w.cpp"], "C++"),
        ("w.cc", ["gcc", "-c", "w.cc"], "C++"),
        ("w.c", ["g++", "-c", "w.c"], "C++"),
        ("w.c", ["gcc", "-x", "c++", "-c", "w.c"], "c++"),
        ("w.S", ["gcc", "-c", "w.S"], "assembly"),
        ("w.s", ["gcc", "-c", "w.s"], "assembly"),
        ("w.m", ["clang", "-c", "w.m"], "Objective-C"),
        ("w.c", ["gcc", "-xassembler-with-cpp", "-c", "w.c"], "assembler-with-cpp"),
    ],
)
def test_non_c_entries_are_skipped_with_a_reason(
    tmp_path: Path, file: str, arguments: list[str], reason: str
) -> None:
    db = write_db(
        tmp_path,
        [
            {"directory": str(tmp_path), "arguments": arguments, "file": file},
            {"directory": str(tmp_path), "arguments": ["gcc", "-c", "ok.c"], "file": "ok.c"},
        ],
    )
    loaded = load_compile_database(db)
    assert [job.file.name for job in loaded.jobs] == ["ok.c"]
    [(skipped_file, why)] = loaded.skipped
    assert skipped_file == file
    assert reason in why


def test_a_backend_linked_into_coroproj_runtime_is_skipped(tmp_path: Path) -> None:
    # `coroproj backend qemu-1.6 TREE` makes TREE/coroutine-cpc.c a link to
    # the runtime: native code of coroproj's, not the project's to check.
    (tmp_path / "coroutine-cpc.c").symlink_to(BACKENDS["qemu-1.6"].source)
    db = write_db(
        tmp_path,
        [
            {"directory": str(tmp_path), "arguments": ["gcc", "-c", "coroutine-cpc.c"],
             "file": "coroutine-cpc.c"},
            {"directory": str(tmp_path), "arguments": ["gcc", "-c", "ok.c"], "file": "ok.c"},
        ],
    )
    loaded = load_compile_database(db)
    assert [job.file.name for job in loaded.jobs] == ["ok.c"]
    [(skipped_file, why)] = loaded.skipped
    assert skipped_file == "coroutine-cpc.c" and "coroproj backend" in why


def test_explicit_c_language_overrides_the_suffix(tmp_path: Path) -> None:
    db = write_db(
        tmp_path,
        [{"directory": str(tmp_path), "arguments": ["gcc", "-x", "c", "-c", "gen.inc"],
          "file": "gen.inc"}],
    )  # fmt: skip
    assert [job.file.name for job in load_compile_database(db).jobs] == ["gen.inc"]


def test_duplicates_same_flags_merge_different_flags_stay_apart(tmp_path: Path) -> None:
    def entry(*flags: str) -> dict[str, object]:
        arguments = ["gcc", *flags, "-c", "u.c"]
        return {"directory": str(tmp_path), "arguments": arguments, "file": "u.c"}

    db = write_db(
        tmp_path,
        [
            entry("-DBACKEND=1", "-o", "a.o"),
            entry("-DBACKEND=1", "-o", "b.o", "-Wextra"),  # same preprocessing view
            entry("-DBACKEND=2"),
        ],
    )
    jobs = load_compile_database(db).jobs
    assert len(jobs) == 2
    assert {job.flags for job in jobs} == {("-DBACKEND=1",), ("-DBACKEND=2",)}
    assert len({job.key for job in jobs}) == 2
    assert jobs[0].config_id != jobs[1].config_id


def test_config_id_is_stable_across_loads(tmp_path: Path) -> None:
    job = CompileJob(file=tmp_path / "a.c", directory=tmp_path, compiler="cc", flags=("-DX",))
    again = CompileJob(file=tmp_path / "a.c", directory=tmp_path, compiler="gcc", flags=("-DX",))
    other = CompileJob(file=tmp_path / "a.c", directory=tmp_path, compiler="cc", flags=("-DY",))
    assert job.config_id == again.config_id != other.config_id
    assert len(job.config_id) == 12


def test_linux_style_wp_dependency_flags_keep_macros(tmp_path: Path) -> None:
    db = write_db(
        tmp_path,
        [{"directory": str(tmp_path),
          "arguments": ["gcc", "-Wp,-MMD,dep/.k.o.d,-DKERNEL", "-c", "k.c"], "file": "k.c"}],
    )  # fmt: skip
    [job] = load_compile_database(db).jobs
    assert job.flags == ("-DKERNEL",)


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "compile_commands.json"
    path.write_text('[\n  {"directory": "/", "file": "a.c",\n   "command": "cc a.c",,}\n]\n')
    with pytest.raises(UserError, match=rf"^{path}:3:\d+: invalid JSON"):
        load_compile_database(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"directory": "/"}, "must be a JSON array"),
        (["cc a.c"], "entry 0 must be a JSON object"),
        ([{"file": "a.c", "command": "cc a.c"}], 'entry 0: missing "directory"'),
        ([{"directory": "/", "command": "cc a.c"}], 'missing "file"'),
        ([{"directory": "/", "file": "a.c"}], 'needs "arguments" or "command"'),
        ([{"directory": "/", "file": "a.c", "arguments": "cc a.c"}], "array of strings"),
        ([{"directory": "/", "file": 3, "command": "cc"}], '"file" must be a non-empty string'),
        ([{"directory": "/", "file": "a.c", "command": "cc 'a.c"}], "cannot split"),
    ],
)
def test_wrong_shape_is_a_user_error_naming_the_file(tmp_path: Path, content: object, message: str) -> None:
    path = write_db(tmp_path, content)
    with pytest.raises(UserError) as caught:
        load_compile_database(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_missing_database_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        load_compile_database(tmp_path / "nope.json")


@given(st.text(alphabet=" \t\nab=-\"'\\\x0b\u00a0", max_size=30))
@settings(max_examples=400, deadline=None)
def test_command_splitting_agrees_with_shlex(command: str) -> None:
    try:
        expected: list[str] | type[ValueError] = shlex.split(command)
    except ValueError:
        expected = ValueError
    try:
        got: list[str] | type[ValueError] = split_command(command)
    except ValueError:
        got = ValueError
    assert got == expected
