"""Runs the cpc runtime micro-benchmarks (bench/cpc_runtime_micro.c).

Builds the benchmark, then reports for lifecycle / nesting / yield, with
the coroutine pool off and on, the median wall-clock ns per operation and
the callgrind instruction count per operation, plus the memory per
suspended coroutine, next to the original CPC's figures from CPS.md.

    python3 bench/cpc_runtime_micro.py [--quick] [--cflags "-O2 -mavx"]

Instructions per operation are the difference between two runs of
different lengths divided by the difference in operations, so start-up and
tear-down cancel out.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNTIME = REPO / "coroproj" / "runtime" / "cpc"
TEST_DIR = REPO / "tests" / "cpc_runtime"

# The original CPC's callgrind instructions per operation (pool off, pool on).
ORIGINAL_INSTRUCTIONS = {"lifecycle": (624, 427), "nesting": (684, 914), "yield": (169, 183)}
ORIGINAL_BYTES_PER_SUSPENDED = 216

# Counts: (timed run, callgrind short run, callgrind long run).  Nesting
# counts chains of NESTING_DEPTH coroutines.
COUNTS = {
    "lifecycle": (2_000_000, 1000, 11_000),
    "nesting": (2000, 2, 12),
    "yield": (20_000_000, 1000, 101_000),
}
QUICK_COUNTS = {
    "lifecycle": (200_000, 1000, 11_000),
    "nesting": (200, 2, 12),
    "yield": (2_000_000, 1000, 101_000),
}
NESTING_DEPTH = 1000


def build(out_dir: Path, cflags: list[str]) -> Path:
    binary = out_dir / "cpc_runtime_micro"
    command = [
        "gcc", "-std=gnu11", "-Wall", "-Wextra", *cflags,
        "-I", str(RUNTIME), "-I", str(TEST_DIR), "-I", str(REPO / "sample_project" / "include"),
        "-o", str(binary),
        str(REPO / "bench" / "cpc_runtime_micro.c"),
        str(TEST_DIR / "qemu_coroutine_cps.c"),
        str(RUNTIME / "cpc_runtime.c"),
        str(RUNTIME / "coroutine-cpc.c"),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    return binary


def mode_args(mode: str, count: int, pool: bool) -> list[str]:
    return [mode, str(count), f"pool={'on' if pool else 'off'}"]


def operations(mode: str, count: int) -> int:
    return count * NESTING_DEPTH if mode == "nesting" else count


def wall_clock_ns(binary: Path, mode: str, count: int, pool: bool, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        out = subprocess.run(
            ["nice", str(binary), *mode_args(mode, count, pool)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        samples.append(float(re.search(r"ns_per_op=([\d.]+)", out).group(1)))
    return statistics.median(samples)


def instructions(binary: Path, mode: str, count: int, pool: bool, scratch: Path) -> int:
    done = subprocess.run(
        [
            "nice", "valgrind", "--tool=callgrind",
            f"--callgrind-out-file={scratch / 'callgrind.out'}",
            str(binary), *mode_args(mode, count, pool),
        ],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    return int(re.search(r"Collected\s*:\s*(\d+)", done.stderr).group(1))


def instructions_per_op(
    binary: Path, mode: str, short: int, long: int, pool: bool, scratch: Path
) -> float:
    extra = instructions(binary, mode, long, pool, scratch) - instructions(
        binary, mode, short, pool, scratch
    )
    return extra / (operations(mode, long) - operations(mode, short))


def memory_per_suspended(binary: Path) -> tuple[float, float]:
    """Heap bytes (malloc's heap: 0 with the runtime's free lists) and resident bytes
    per suspended coroutine."""
    out = subprocess.run(
        [str(binary), "suspended", "100000"], check=True, capture_output=True, text=True
    ).stdout
    heap = float(re.search(r"heap_bytes_per_suspended=([\d.]+)", out).group(1))
    resident = float(re.search(r"resident_bytes_per_suspended=([\d.]+)", out).group(1))
    return heap, resident


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timed runs")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per cell (median)")
    parser.add_argument("--cflags", default="-O2", help="compiler flags (default: -O2)")
    options = parser.parse_args()
    if shutil.which("gcc") is None:
        print("gcc not found", file=sys.stderr)
        return 1
    have_callgrind = shutil.which("valgrind") is not None
    counts = QUICK_COUNTS if options.quick else COUNTS
    cflags = shlex.split(options.cflags)

    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        binary = build(scratch, cflags)
        print(f"cpc runtime micro-benchmarks, cflags: {' '.join(cflags)}")
        print(f"{'mode':<10} {'pool':<5} {'ns/op':>8} {'instr/op':>9} {'original instr/op':>18}")
        for mode, (timed, short, long) in counts.items():
            for pool in (False, True):
                ns = wall_clock_ns(binary, mode, timed, pool, options.repeats)
                instr = (
                    f"{instructions_per_op(binary, mode, short, long, pool, scratch):9.1f}"
                    if have_callgrind
                    else f"{'n/a':>9}"
                )
                original = ORIGINAL_INSTRUCTIONS[mode][int(pool)]
                pool_name = "on" if pool else "off"
                print(f"{mode:<10} {pool_name:<5} {ns:8.2f} {instr} {original:>18}")
        heap, resident = memory_per_suspended(binary)
        print(
            f"per suspended coroutine: {heap:.1f} heap bytes, {resident:.1f} resident bytes "
            f"(original: {ORIGINAL_BYTES_PER_SUSPENDED} resident)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
