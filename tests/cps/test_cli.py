"""``coroproj translate`` (every stage, -o) and ``coroproj cc --backend cpc`` end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from coroproj.runtime import cpc
from tests.cps.harness import COMMON_LAYER, HERE, INCLUDE, RUNTIME_TESTS, SAMPLE_INCLUDE, CpsBuilder, run

REPO = Path(__file__).resolve().parents[2]
SIMPLE = HERE / "programs" / "simple.c"


def coroproj(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "coroproj", *args], capture_output=True, text=True, env=environment, cwd=cwd
    )


STAGE_MARKERS = {
    "normalize": ["/* coroutine call */ cpc__t1 = add(1, 2);", "x = cpc__t1 + cpc__t2;"],
    "box": ["/* coroutine call */"],
    "split": ["piece worker__p1(", "entry label"],
    "lift": ["piece add__p1(a, b)"],
    "convert": ["static cpc_cont *add(cpc_cont *cpc__k)", "CPC_RETURN(cpc__k, int, (a + b));"],
    "emit": ['#include "cpc_runtime.h"', "cpc_cont *qemu_coroutine_yield(cpc_cont *cpc__k);"],
}


@pytest.mark.parametrize("stage", list(STAGE_MARKERS))
def test_translate_shows_every_stage(stage: str) -> None:
    done = coroproj("translate", str(SIMPLE), "--stage", stage, "--", "-I", str(INCLUDE))
    assert done.returncode == 0, done.stderr
    for marker in STAGE_MARKERS[stage]:
        assert marker in done.stdout, (marker, done.stdout[:2000])


def test_translate_maps_lines_back_to_the_source() -> None:
    done = coroproj("translate", str(SIMPLE), "--", "-I", str(INCLUDE))
    assert f'#line 9 "{SIMPLE}"' in done.stdout  # qemu_coroutine_yield() inside add()


def test_translate_writes_the_output_file(tmp_path: Path) -> None:
    out = tmp_path / "out.c"
    done = coroproj("translate", str(SIMPLE), "-o", str(out), "--", "-I", str(INCLUDE))
    assert done.returncode == 0 and done.stdout == ""
    assert "static cpc_cont *worker(cpc_cont *cpc__k)" in out.read_text()


def test_translate_rejects_an_unknown_stage() -> None:
    done = coroproj("translate", str(SIMPLE), "--stage", "nope", "--", "-I", str(INCLUDE))
    assert done.returncode == 2
    assert "unknown stage 'nope'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("content", [b"root:x:0:0:root:/root:/bin/bash\n", b"\x7fELF\x02\x01\x01\0\0\0"])
def test_translate_refuses_what_is_not_a_c_source(tmp_path: Path, content: bytes) -> None:
    for name in ("passwd", "object.o", "renamed.c"):
        path = tmp_path / name
        path.write_bytes(content)
        result = coroproj("translate", str(path))
        if name == "renamed.c" and b"\0" not in content:
            continue  # C by its name and text: the front end judges it
        assert result.returncode == 2 and result.stdout == "", (name, result)
        assert f"{path}: not a C source file" in result.stderr
        assert "Traceback" not in result.stderr


def test_cc_driver_compiles_and_links_a_translated_program(tmp_path: Path, builder: CpsBuilder) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    support = []
    backend = [source for source in cpc.SOURCES if source.name != "cpc_runtime.c"]
    for source in (COMMON_LAYER, *backend):  # the driver adds the continuation runtime itself
        obj = tmp_path / f"{source.stem}.o"
        subprocess.run(
            [
                "gcc",
                "-std=gnu11",
                "-O2",
                "-I",
                str(cpc.RUNTIME_DIR),
                "-I",
                str(RUNTIME_TESTS),
                "-I",
                str(SAMPLE_INCLUDE),
                "-c",
                str(source),
                "-o",
                str(obj),
            ],
            check=True,
        )
        support.append(str(obj))
    compiled = coroproj(
        "cc",
        "--backend",
        "cpc",
        "-std=gnu11",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-I",
        str(INCLUDE),
        "-c",
        str(SIMPLE),
        "-o",
        str(tmp_path / "simple.o"),
        env=env,
    )
    assert compiled.returncode == 0, compiled.stderr
    linked = coroproj(
        "cc",
        "--backend",
        "cpc",
        str(tmp_path / "simple.o"),
        *support,
        "-o",
        str(tmp_path / "simple"),
        env=env,
    )
    assert linked.returncode == 0, linked.stderr
    expected = run(builder.native([SIMPLE], "simple-for-cc"))
    assert run(tmp_path / "simple") == expected


def test_cc_driver_reports_a_rejected_unit_with_status_2(tmp_path: Path) -> None:
    source = tmp_path / "bad.c"
    source.write_text(
        '#include "qemu/coroutine.h"\nint coroutine_fn co(void);\nint native(void) { return co(); }\n'
    )
    done = coroproj(
        "cc",
        "--backend",
        "cpc",
        "-I",
        str(INCLUDE),
        "-c",
        str(source),
        "-o",
        str(tmp_path / "bad.o"),
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert done.returncode == 2
    assert f"{source}:3:" in done.stderr and "[coroproj-cps-native-call]" in done.stderr
    assert "Traceback" not in done.stderr


def test_cc_driver_keeps_the_order_of_inputs_when_it_compiles_and_links(tmp_path: Path) -> None:
    # The archive comes after the source that needs it, as gcc requires; the
    # translated object must take the source's place, not go after the archive.
    (tmp_path / "lib.c").write_text("int answer(void) { return 42; }\n")
    subprocess.run(["gcc", "-c", str(tmp_path / "lib.c"), "-o", str(tmp_path / "lib.o")], check=True)
    subprocess.run(["ar", "rcs", str(tmp_path / "libanswer.a"), str(tmp_path / "lib.o")], check=True)
    (tmp_path / "prog.c").write_text("int answer(void);\nint main(void) { return answer() == 42 ? 0 : 1; }\n")
    environment = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    for inputs in (["prog.c", "libanswer.a"], ["prog.c", "-L.", "-lanswer"]):
        done = coroproj("cc", "--backend", "cpc", "-O1", *inputs, "-o", "prog", cwd=tmp_path, env=environment)
        assert done.returncode == 0, done.stderr
        assert subprocess.run([str(tmp_path / "prog")]).returncode == 0


def test_cc_help_no_input_and_a_missing_backend_value() -> None:
    helped = coroproj("cc", "--help")
    assert helped.returncode == 0
    assert helped.stdout.startswith("usage: coroproj cc [--backend")
    assert "--print-runtime-dir" in helped.stdout and "`cc --help`" in helped.stdout
    nothing = coroproj("cc", "--backend", "cpc")
    assert nothing.returncode != 0 and "no input files" in nothing.stderr
    assert "undefined reference" not in nothing.stderr
    missing = coroproj("cc", "--backend")
    assert missing.returncode == 2
    expected = "coroproj cc: --backend needs a value (cpc, ucontext, sigaltstack, thread)"
    assert missing.stderr.strip() == expected
    listed = coroproj("--help")
    assert " cc " in listed.stdout
