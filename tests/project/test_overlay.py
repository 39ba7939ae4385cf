"""Annotations as shipped: macros a project compiles away under gcc are still seen.

The tree below is shaped like QEMU 9.2: ``qemu/osdep.h`` defines the
annotations as ``QEMU_ANNOTATE(...)`` under clang and as nothing otherwise,
includes a sibling header by a quoted relative name, and a wrapper macro
(``co_wrapper``) expands to an annotation macro.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from coroproj.analysis.pipeline import AnalysisOptions
from coroproj.project.analyse import ProjectAnalysis, analyse_project
from coroproj.project.config import Config
from coroproj.project.overlay import HeaderOverlay, include_directories

OSDEP = """\
#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H
#include "compat.h"
#ifdef __clang__
#define QEMU_ANNOTATE(x) __attribute__((annotate(x)))
#else
#define QEMU_ANNOTATE(x)
#endif
#ifdef __clang__
#define coroutine_fn QEMU_ANNOTATE("coroutine_fn")
#else
#define coroutine_fn
#endif
#define no_coroutine_fn \\
    QEMU_ANNOTATE("no_coroutine_fn")
#define co_wrapper no_coroutine_fn
void helper_from_osdep(void);
#endif
"""
OSDEP_PROTOTYPE_LINE = 17  # `void helper_from_osdep(void);`, after a two-line definition

UNIT = """\
#include "qemu/osdep.h"
int co_wrapper bdrv_read(void);
static int coroutine_fn bdrv_co_read(void) { qemu_coroutine_yield(); return 0; }
void helper_from_osdep(void) { bdrv_co_read(); }
void coroutine_fn entry(void) { bdrv_read(); }
void *keep[] = { (void *)helper_from_osdep, (void *)entry };
"""


def _tree(root: Path, osdep: str = OSDEP, compiler: str = "cc") -> Path:
    (root / "include" / "qemu").mkdir(parents=True)
    (root / "include" / "qemu" / "osdep.h").write_text(osdep)
    (root / "include" / "qemu" / "compat.h").write_text("void qemu_coroutine_yield(void);\n")
    (root / "src").mkdir()
    (root / "src" / "a.c").write_text(UNIT)
    (root / "build").mkdir()
    entry = {
        "directory": str(root / "build"),
        "arguments": [compiler, "-iquote", "../include", "-c", "../src/a.c", "-o", "a.o"],
        "file": "../src/a.c",
    }
    (root / "build" / "compile_commands.json").write_text(json.dumps([entry]))
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and ".coroproj" not in path.parts
    }


def _analyse(root: Path, options: AnalysisOptions | None = None) -> ProjectAnalysis:
    return analyse_project(
        Config(root=root), options or AnalysisOptions(), build_dir=root / "build", workers=1, quiet=True
    )


def _checks(result: ProjectAnalysis) -> set[tuple[str, str, int]]:
    return {
        (finding.check, Path(finding.file).name, finding.line) for finding in result.analysis.findings
    }


def test_annotations_defined_away_under_gcc_are_seen(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    before = _snapshot(root)
    result = _analyse(root)
    assert result.stats.failed == 0
    assert result.stats.overlaid == (str(root / "include" / "qemu" / "osdep.h"),)
    checks = _checks(result)
    # coroutine_fn on entry and no_coroutine_fn (through co_wrapper) on bdrv_read.
    assert ("forbidden-call", "a.c", 5) in checks
    # The prototype in the overlaid header is reported at the original's line:
    # the copy kept every line where it was, and names the original.
    assert ("proto-mismatch", "osdep.h", OSDEP_PROTOTYPE_LINE) in checks
    assert ("missing", "a.c", 4) in checks
    assert all(".coroproj" not in finding.file for finding in result.analysis.findings)
    assert _snapshot(root) == before  # the tree is never written


@pytest.mark.skipif(shutil.which("clang-14") is None, reason="clang-14 is not installed")
def test_gcc_and_clang_databases_see_the_same_annotations(tmp_path: Path) -> None:
    with_gcc = _checks(_analyse(_tree(tmp_path / "gcc")))
    with_clang = _checks(_analyse(_tree(tmp_path / "clang", compiler="clang-14")))
    assert with_gcc == with_clang
    assert ("forbidden-call", "a.c", 5) in with_clang


def test_warm_run_reuses_every_summary_and_header_edits_are_seen(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    first = _analyse(root)
    assert first.stats.parsed == 1
    copies = list((root / ".coroproj" / "overlay").rglob("osdep.h"))
    assert len(copies) == 1
    written = copies[0].stat().st_mtime_ns
    second = _analyse(root)
    assert (second.stats.parsed, second.stats.cached) == (0, 1)
    assert copies[0].stat().st_mtime_ns == written  # unchanged copies are not rewritten
    # One line more at the top of the header moves its finding one line down.
    (root / "include" / "qemu" / "osdep.h").write_text("/* licence */\n" + OSDEP)
    third = _analyse(root)
    assert third.stats.parsed == 1
    assert ("proto-mismatch", "osdep.h", OSDEP_PROTOTYPE_LINE + 1) in _checks(third)


def test_a_header_that_stops_defining_annotations_leaves_no_stale_copy(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    _analyse(root)
    cooperating = OSDEP.replace(
        '#ifdef __clang__\n#define coroutine_fn QEMU_ANNOTATE("coroutine_fn")',
        "#ifdef __COROPROJ__\n#define coroutine_fn __attribute__((coroutine_fn))",
    )
    (root / "include" / "qemu" / "osdep.h").write_text(cooperating)
    result = _analyse(root)
    assert result.stats.overlaid == ()
    assert not list((root / ".coroproj" / "overlay").rglob("*.h"))
    # The project's own __COROPROJ__ definition now makes coroutine_fn visible,
    # but no_coroutine_fn is defined away again: no forbidden call any more.
    assert ("missing", "a.c", 4) in _checks(result)
    assert not any(check == "forbidden-call" for check, _, _ in _checks(result))


def test_headers_using_include_next_are_left_alone(tmp_path: Path) -> None:
    root = _tree(tmp_path, osdep=OSDEP.replace('#include "compat.h"', "#include_next <compat.h>"))
    (root / "include" / "qemu" / "compat.h").unlink()
    (root / "build" / "compat.h").write_text("void qemu_coroutine_yield(void);\n")
    entry = json.loads((root / "build" / "compile_commands.json").read_text())
    entry[0]["arguments"][1:1] = ["-I", "."]
    (root / "build" / "compile_commands.json").write_text(json.dumps(entry))
    result = _analyse(root)
    assert result.stats.overlaid == ()


def test_overlay_directories_go_right_before_the_directory_they_shadow() -> None:
    overlay = HeaderOverlay(shadows={"/p/include": "/cache/o1", "/p": "/cache/o2"})
    flags = ["-I/usr/include/glib-2.0", "-iquote", "/p/include", "-I/p", "-DX=1"]
    assert overlay.flags_for(flags) == [
        "-I/usr/include/glib-2.0",
        "-iquote", "/cache/o1", "-iquote", "/p/include",
        "-I", "/cache/o2", "-I/p",
        "-DX=1",
    ]
    assert include_directories(["-isystem", "/s", "-I/p/x/../include", "-D", "I"]) == ["/s", "/p/include"]


def test_a_damaged_overlay_or_scan_memo_is_rebuilt(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    expected = _checks(_analyse(root))
    overlay = root / ".coroproj" / "overlay"
    for memo in overlay.glob("scan-*.json"):
        memo.write_text('{"' + str(root / "include" / "qemu" / "osdep.h") + '": [1, 2]}')
    for copy in overlay.rglob("osdep.h"):
        copy.write_text("garbage\n")
    assert _checks(_analyse(root)) == expected
    for memo in overlay.glob("scan-*.json"):
        memo.write_bytes(b"\x00not json")
    assert _checks(_analyse(root)) == expected
