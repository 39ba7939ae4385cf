"""The cpc runtime and coroutine-cpc backend, driven by hand-translated C programs.

Each program in this directory is what the CPS translator must generate for
the original source quoted in its header comment.  They are compiled with
gcc -O2 -Wall -Wextra (warnings are failures), run, and their output checked
against what the original source means.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from coroproj.runtime import cpc

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RUNTIME = cpc.RUNTIME_DIR
SAMPLE_INCLUDE = REPO / "sample_project" / "include"

CFLAGS = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"]
ALIGNMENTS = {"default": [], "avx": ["-mavx"]}

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def cpu_has_avx() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return re.search(r"^flags\s*:.*\bavx\b", flags, re.MULTILINE) is not None


def compile_program(
    out_dir: Path,
    program: str,
    extra_flags: list[str],
    runtime_flags: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Compiles one test program with the runtime, backend and common layer.

    `runtime_flags` (default: `extra_flags`) lets a test build the runtime
    with different target flags than the translated code.
    """
    binary = out_dir / (program + "".join(extra_flags).replace("=", "_"))
    include = ["-I", str(RUNTIME), "-I", str(HERE), "-I", str(SAMPLE_INCLUDE)]
    objects = []
    sources = [
        (HERE / f"{program}.c", extra_flags),
        (HERE / "qemu_coroutine_cps.c", extra_flags),
        *(
            (source, runtime_flags if runtime_flags is not None else extra_flags)
            for source in cpc.SOURCES
        ),
    ]
    for source, flags in sources:
        obj = out_dir / f"{binary.name}-{source.stem}.o"
        step = subprocess.run(
            ["gcc", *CFLAGS, *flags, *include, "-c", str(source), "-o", str(obj)],
            capture_output=True,
            text=True,
        )
        assert step.returncode == 0 and step.stderr == "", step.stderr
        objects.append(str(obj))
    return subprocess.run(
        ["gcc", *extra_flags, "-o", str(binary), *objects],
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Returns a function building (once per module) a program for a flag set."""
    out_dir = tmp_path_factory.mktemp("cpc_runtime")
    built: dict[tuple[str, tuple[str, ...]], Path] = {}

    def build_one(program: str, *flags: str) -> Path:
        key = (program, flags)
        if key not in built:
            sub = out_dir / f"b{len(built)}"
            sub.mkdir()
            link = compile_program(sub, program, list(flags))
            assert link.returncode == 0 and link.stderr == "", link.stderr
            built[key] = sub / (program + "".join(flags).replace("=", "_"))
        return built[key]

    return build_one


def run(binary: Path, *args: str) -> str:
    done = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def runnable(alignment: str) -> bool:
    return alignment != "avx" or cpu_has_avx()


def parse_lines(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


@pytest.mark.parametrize("alignment", ALIGNMENTS)
def test_results_of_every_type_reach_the_caller(build, alignment: str) -> None:
    binary = build("returns", *ALIGNMENTS[alignment])
    if not runnable(alignment):
        pytest.skip("CPU without AVX: compiled only")
    output = run(binary)
    values = parse_lines(output)
    # next_letter, times_big, third and suffix each yield once.
    assert values["enters"] == "5"
    assert values["char"] == chr(ord("a") + 1)
    assert int(values["int"]) == 40 + 2
    assert int(values["long"]) == (41 + 1) * 1000000007
    assert float(values["double"]) == 5.0 / 2
    assert "long double is 1/3: yes" in output
    tag, x, n = values["struct"].split()
    assert (tag, float(x), int(n)) == ("T", 2.5, -7)
    assert values["pointer"] == "hello world"[6:]
    assert int(values["tail"]) == 21 + 21
    assert int(values["through pointer"]) == 5 + 5 + 1
    assert int(values["widened"]) == -3 + 1
    assert int(values["narrowed"]) == int(9.0 / 2)


def test_avx_and_default_builds_agree(build) -> None:
    """The result-slot rule comes from one macro, so -mavx changes nothing visible."""
    if not cpu_has_avx():
        pytest.skip("CPU without AVX")
    default = parse_lines(run(build("returns")))
    avx = parse_lines(run(build("returns", "-mavx")))
    assert (default.pop("align"), avx.pop("align")) == ("16", "32")
    assert default == avx


def test_mixing_alignments_fails_at_link_time(tmp_path: Path) -> None:
    """Translated code built with -mavx against a runtime built without must not link."""
    link = compile_program(tmp_path, "returns", ["-mavx"], runtime_flags=[])
    assert link.returncode != 0
    assert re.search(r"undefined reference to .cpc_\w+_align32", link.stderr), link.stderr


@pytest.mark.parametrize("alignment", ALIGNMENTS)
def test_frames_growth_and_trampoline_without_the_coroutine_layer(build, alignment: str) -> None:
    # raw.c also proves the result-slot rule at compile time for many types.
    binary = build("raw", *ALIGNMENTS[alignment])
    if not runnable(alignment):
        pytest.skip("CPU without AVX: compiled only")
    output = run(binary)
    assert "grew past twice the initial capacity in one push: yes" in output
    assert "data aligned: yes" in output
    # Frames run top-down; the yield stops the first run before note(3).
    assert "first run: yielded" in output
    assert "second run: terminated" in output
    assert "trace: 2 1000 3 -1 1" in output
    assert "empty at the end: yes" in output
    assert "function pointer through the result slot: 42" in output


@pytest.mark.parametrize("alignment", ALIGNMENTS)
def test_deep_recursion_grows_the_continuation_past_64k(build, alignment: str) -> None:
    binary = build("deep", *ALIGNMENTS[alignment])
    if not runnable(alignment):
        pytest.skip("CPU without AVX: compiled only")
    depth = 100_000
    output = run(binary, str(depth))
    assert "suspended at the bottom: yes" in output
    bottom = int(re.search(r"continuation bytes at the bottom: (\d+)", output).group(1))
    # At least one receiver frame (two slots) per level.
    align = 32 if alignment == "avx" else 16
    assert bottom >= depth * 2 * align > 64 * 1024
    assert "continuation data aligned to CPC_ALIGN: yes" in output
    assert "done: yes" in output
    assert int(parse_lines(output)["sum"]) == depth * (depth + 1) // 2


@pytest.mark.parametrize("alignment", ALIGNMENTS)
def test_self_and_in_coroutine_through_the_hidden_argument(build, alignment: str) -> None:
    binary = build("self", *ALIGNMENTS[alignment])
    if not runnable(alignment):
        pytest.skip("CPU without AVX: compiled only")
    answers = dict(line.rsplit(": ", 1) for line in run(binary).splitlines())
    assert answers.pop("main in coroutine") == "no"
    assert answers.pop("main in coroutine at the end") == "no"
    # Every other statement the program checks must hold.
    assert answers and set(answers.values()) == {"yes"}, answers


@pytest.mark.parametrize("pool", ["off", "on"])
def test_interleaved_coroutines_yield_and_terminate(build, pool: str) -> None:
    output = run(build("lifecycle"), f"pool={pool}")
    lines = output.splitlines()
    # Worker i takes i + 1 steps; the caller enters the live ones round robin.
    expected: list[str] = []
    steps = [1, 2, 3]
    for round_number in range(max(steps) + 1):
        expected.append(f"round {round_number}")
        for worker, worker_steps in enumerate(steps):
            if round_number < worker_steps:
                expected.append(f"worker {worker} step {round_number}")
            elif round_number == worker_steps:
                expected.append(f"worker {worker} terminated")
    assert lines[: len(expected)] == expected
    # A coroutine ending with a yield is resumed into termination, not restarted.
    assert "yield_last ran 200 times in 200 life cycles" in lines
    if pool == "on":
        assert "pooled coroutine reused 199 times" in lines
    # A woken coroutine runs as soon as its waker yields, before enter returns.
    assert lines[-6:] == [
        "sleeper suspends",
        "waker wakes the sleeper",
        "waker yields",
        "sleeper woken",
        "back in main",
        "waker finishes",
    ]


@pytest.mark.parametrize("sanitizer", [[], ["-fsanitize=thread"]], ids=["plain", "tsan"])
def test_coroutines_of_two_threads_keep_to_their_thread(build, sanitizer: list[str]) -> None:
    # Under ThreadSanitizer, any state shared between the threads is a race.
    output = run(build("threads", "-pthread", *sanitizer))
    # Per thread: the long-lived coroutine plus one short one per step but
    # the first (threads.c), STEPS in all.
    steps = 200000
    for thread in (0, 1):
        assert f"thread {thread}: {steps} coroutines finished, self never the leader: yes" in output
    assert "threads have distinct leaders: yes" in output


@pytest.mark.parametrize("sanitizer", [[], ["-fsanitize=thread"]], ids=["plain", "tsan"])
def test_blocks_freed_by_an_exited_thread_are_reused(build, sanitizer: list[str]) -> None:
    # Not lost with the exited thread's free lists: the next thread short of
    # blocks of that size adopts them (under ThreadSanitizer: without a race).
    output = run(build("blocks", "-pthread", *sanitizer))
    assert "blocks of the exited thread reused: 1000 of 1000" in output
    assert "aligned: 1000 of 1000" in output
    assert "a freed block is the next one allocated: yes" in output


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")
@pytest.mark.parametrize(
    ("program", "flags", "args"),
    [
        pytest.param("raw", ("-mavx",), (), id="raw-avx"),
        pytest.param("returns", (), (), id="returns"),
        pytest.param("deep", (), ("20000",), id="deep"),
        pytest.param("deep", ("-mavx",), ("20000",), id="deep-avx"),
        pytest.param("self", (), (), id="self"),
        pytest.param("lifecycle", (), ("pool=off",), id="lifecycle-pool-off"),
        pytest.param("lifecycle", (), ("pool=on",), id="lifecycle-pool-on"),
    ],
)
def test_no_invalid_access_and_no_leak_under_valgrind(
    build, program: str, flags: tuple[str, ...], args: tuple[str, ...]
) -> None:
    if "-mavx" in flags and not cpu_has_avx():
        pytest.skip("CPU without AVX")
    binary = build(program, *flags)
    done = subprocess.run(
        [
            "valgrind",
            "--error-exitcode=1",
            "--leak-check=full",
            "--errors-for-leak-kinds=all",
            "--show-leak-kinds=all",
            str(binary),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "All heap blocks were freed" in done.stderr, done.stderr


SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]


@pytest.mark.parametrize("program", ["raw", "returns", "deep", "self", "lifecycle"])
def test_no_misaligned_or_out_of_bounds_access_under_sanitizers(build, program: str) -> None:
    # UBSan checks every frame field access for alignment: with -mavx the
    # 32-byte rule is the interesting one.
    flags = ["-mavx"] if cpu_has_avx() else []
    # run() fails on a sanitizer report: non-zero exit status and stderr.
    run(build(program, *flags, *SANITIZE))


def test_backend_compiles_against_the_sample_project_headers(tmp_path: Path) -> None:
    step = subprocess.run(
        [
            "gcc",
            *CFLAGS,
            "-I",
            str(RUNTIME),
            "-I",
            str(SAMPLE_INCLUDE),
            "-c",
            str(RUNTIME / "coroutine-cpc.c"),  # the backend: the one including qemu headers
            "-o",
            str(tmp_path / "coroutine-cpc.o"),
        ],
        capture_output=True,
        text=True,
    )
    assert step.returncode == 0 and step.stderr == "", step.stderr
