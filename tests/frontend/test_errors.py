"""Bad input gives one located SourceError (or a UserError), never a
traceback: syntax errors, preprocessing failures, absurd nesting."""

from __future__ import annotations

from pathlib import Path

import pytest

from coroproj.errors import SourceError, UserError
from coroproj.frontend.preprocess import preprocessor_flags
from coroproj.frontend.unit import parse_file, parse_text


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_syntax_error_in_header_names_the_header(tmp_path: Path) -> None:
    write(tmp_path, "bad.h", "int ok;\nint broken(int x;\n")
    write(tmp_path, "unit.c", '#include "bad.h"\nint main(void) { return 0; }\n')
    with pytest.raises(SourceError) as caught:
        parse_file("unit.c", cwd=tmp_path)
    error = caught.value
    assert error.spot.file == "bad.h"
    assert error.spot.line == 2
    assert error.check == "parse-error"
    assert error.exit_status == 2
    assert error.source_line == "int broken(int x;"
    assert str(error).startswith("bad.h:2:")


def test_syntax_error_in_unit_after_headers(tmp_path: Path) -> None:
    write(tmp_path, "unit.c", "#include <stdio.h>\nint main(void) {\n  return 0 0;\n}\n")
    with pytest.raises(SourceError) as caught:
        parse_file(tmp_path / "unit.c")
    assert caught.value.spot.file == str(tmp_path / "unit.c")
    assert caught.value.spot.line == 3


def test_missing_include_names_the_including_line(tmp_path: Path) -> None:
    write(tmp_path, "unit.c", 'int x;\n#include "nope.h"\n')
    with pytest.raises(SourceError) as caught:
        parse_file("unit.c", cwd=tmp_path)
    error = caught.value
    assert (error.spot.file, error.spot.line) == ("unit.c", 2)
    assert "nope.h" in error.message
    assert error.source_line == '#include "nope.h"'


def test_error_directive(tmp_path: Path) -> None:
    write(tmp_path, "unit.c", "int x;\n#error not configured\n")
    with pytest.raises(SourceError) as caught:
        parse_file("unit.c", cwd=tmp_path)
    assert caught.value.spot.line == 2
    assert "not configured" in caught.value.message


def test_unknown_compiler_flag(tmp_path: Path) -> None:
    write(tmp_path, "unit.c", "int x;\n")
    with pytest.raises(SourceError) as caught:
        parse_file("unit.c", ["--no-such-flag"], cwd=tmp_path)
    assert "--no-such-flag" in caught.value.message
    assert caught.value.spot.file == "unit.c"


def test_unknown_compiler(tmp_path: Path) -> None:
    write(tmp_path, "unit.c", "int x;\n")
    with pytest.raises(UserError) as caught:
        parse_file("unit.c", compiler="no-such-compiler-coroproj", cwd=tmp_path)
    assert not isinstance(caught.value, SourceError)
    assert "no-such-compiler-coroproj" in str(caught.value)


def test_unit_flags_are_used_and_build_outputs_dropped(tmp_path: Path) -> None:
    write(tmp_path, "unit.c", "#ifndef FROM_FLAGS\n#error flags not passed\n#endif\nint x;\n")
    out = tmp_path / "out.o"
    parse_file(
        "unit.c",
        ["-DFROM_FLAGS", "-c", "-o", str(out), "-MD", "-MF", str(tmp_path / "d.d"), "unit.c"],
        cwd=tmp_path,
    )
    assert not out.exists()
    assert not (tmp_path / "d.d").exists()


def test_preprocessor_flags_keep_what_changes_the_text() -> None:
    flags = ["-Iinc", "-I", "inc2", "-DA=1", "-UB", "-std=gnu11", "-include", "cfg.h"]
    flags += ["-isystem", "sys", "-iquote", "q", "-O2", "-Wall", "-Werror", "-g", "-c"]
    flags += ["-o", "x.o", "-MD", "-MF", "x.d", "-MT", "x.o", "src/x.c", "-Wp,-MD,x.d"]
    flags += ["-save-temps", "-L", "lib", "-fPIC", "-m64"]
    assert preprocessor_flags(["/usr/bin/cc", *flags]) == [
        "-Iinc",
        "-I",
        "inc2",
        "-DA=1",
        "-UB",
        "-std=gnu11",
        "-include",
        "cfg.h",
        "-isystem",
        "sys",
        "-iquote",
        "q",
        "-O2",
        "-g",
        "-fPIC",
        "-m64",
    ]


def test_coroproj_macro_is_defined(tmp_path: Path) -> None:
    write(tmp_path, "unit.c", "#ifndef __COROPROJ__\n#error not under coroproj\n#endif\n")
    assert parse_file("unit.c", cwd=tmp_path).ast.ext == []


def test_illegal_character() -> None:
    with pytest.raises(SourceError) as caught:
        parse_text('# 7 "weird.c"\nint x = 1 @ 2;\n', "unit.i")
    assert (caught.value.spot.file, caught.value.spot.line) == ("weird.c", 7)


def test_unbalanced_attribute() -> None:
    with pytest.raises(SourceError) as caught:
        parse_text("int x __attribute__((aligned(8));\nint y;\n", "unit.i")
    assert caught.value.spot.file == "unit.i"


def test_truncated_input() -> None:
    with pytest.raises(SourceError) as caught:
        parse_text("int f(void) {\n  return 1;\n", "unit.i")
    assert caught.value.spot.file == "unit.i"
    assert caught.value.spot.line == 2


@pytest.mark.parametrize(
    "text",
    [
        "int x = " + "(" * 20000 + "1" + ")" * 20000 + ";",
        "void f(void) { " + "{" * 20000 + "}" * 20000 + " }",
    ],
    ids=["parentheses", "blocks"],
)
def test_absurd_nesting_is_a_parse_error(text: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_text(text, "deep.c")
    assert "nested too deeply" in caught.value.message
    assert (caught.value.spot.file, caught.value.spot.line) == ("deep.c", 1)


def test_long_pointer_chain_parses() -> None:
    ast = parse_text("int " + "*" * 5000 + "p;", "deep.c")
    assert ast.ext[0].name == "p"
