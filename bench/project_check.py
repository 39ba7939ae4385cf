"""Whole-project check benchmark on a generated synthetic tree.

    python3 bench/project_check.py [--units 300] [--functions 12] [--repeat 3]

The tree: N units, each including a handful of realistic glibc headers and
its own header; functions call into other units so that coroutine chains
cross many files (every 7th unit has a function that yields, chains run
from unit i to i+1, i+3 and i+10), with annotations written on most of the
functions that need them (the rest are findings).  Measured, side by side
in one run (medians of --repeat runs):

- cold run with -j 1 and with -j 2 (empty cache): the -j 2 / -j 1 ratio is
  the parallel speed-up;
- warm run, nothing changed (nothing may be parsed);
- warm run after touching one .c file (one unit parsed + the fixpoint).

Each run is a separate ``coroproj check`` process, as a user would run it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADERS = [
    "stdio.h", "stdlib.h", "string.h", "stdint.h", "stdbool.h", "errno.h",
    "pthread.h", "unistd.h", "sys/types.h", "sys/stat.h", "fcntl.h", "time.h",
    "poll.h", "signal.h", "inttypes.h", "limits.h",
]

COMPILER_H = """\
#ifndef COMPILER_H
#define COMPILER_H
#ifdef __COROPROJ__
#define coroutine_fn __attribute__((coroutine_fn))
#else
#define coroutine_fn
#endif
void coroutine_fn qemu_coroutine_yield(void);
#endif
"""


def generate_tree(root: Path, units: int, functions: int) -> None:
    (root / "include").mkdir(parents=True)
    (root / "include" / "compiler.h").write_text(COMPILER_H)
    entries = []
    for unit in range(units):
        yields = unit % 7 == 0
        header = [f"#ifndef UNIT{unit}_H", f"#define UNIT{unit}_H", '#include "compiler.h"']
        source = [f"#include <{h}>" for h in HEADERS] + [f'#include "unit{unit}.h"']
        for target in (unit + 1, unit + 3, unit + 10):
            if target < units:
                source.append(f'#include "unit{target}.h"')
        for index in range(functions):
            name = f"u{unit}_f{index}"
            # Written annotations: the entry function of a coroutine unit, and
            # most functions that call it; one in five is left missing.
            coroutine = (index == 0 and (yields or unit % 5 != 4)) or index == 1
            spec = "coroutine_fn " if coroutine else ""
            header.append(f"int {spec}{name}(int x);")
            body = ["    int total = x;"]
            if index == 0 and yields:
                body.append("    qemu_coroutine_yield();")
            elif index == 0:
                for target in (unit + 1, unit + 3, unit + 10):
                    if target < units:
                        body.append(f"    total += u{target}_f0(total);")
            elif index != 2:  # f1 calls f0 (a coroutine); f3... form a native chain
                body.append(f"    total += u{unit}_f{index - 1}(x) + (int)strlen(\"abc\");")
                body.append("    if (total > 1000) total = errno;")
            body.append("    for (int i = 0; i < 3; i++) total += i * x;")
            body.append("    return total;")
            source.append(f"int {spec}{name}(int x)\n{{\n" + "\n".join(body) + "\n}")
        header.append("#endif")
        (root / "include" / f"unit{unit}.h").write_text("\n".join(header) + "\n")
        (root / f"unit{unit}.c").write_text("\n".join(source) + "\n")
        entries.append(
            {
                "directory": str(root),
                "arguments": ["cc", "-Iinclude", "-std=gnu11", "-O2", "-c", f"unit{unit}.c"],
                "file": f"unit{unit}.c",
            }
        )
    (root / "compile_commands.json").write_text(json.dumps(entries))


def run_check(root: Path, jobs: int) -> tuple[float, dict]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "coroproj", "check", "--format", "json", "-q", "-j", str(jobs)],
        cwd=root, capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"coroproj check failed:\n{result.stderr}")
    return elapsed, json.loads(result.stdout)["summary"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--functions", type=int, default=12, help="functions per unit")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="coroproj-bench-") as directory:
        root = Path(directory)
        generate_tree(root, args.units, args.functions)
        preprocessed = subprocess.run(
            ["cc", "-E", "-Iinclude", "-std=gnu11", "unit1.c"], cwd=root, capture_output=True, text=True
        ).stdout.count("\n")
        times: dict[str, list[float]] = {"cold -j1": [], "cold -j2": [], "warm": [], "touched": []}
        summary: dict = {}
        for _ in range(args.repeat):
            for jobs in (1, 2):
                shutil.rmtree(root / ".coroproj", ignore_errors=True)
                elapsed, summary = run_check(root, jobs)
                assert summary["parsed"] == args.units, summary
                times[f"cold -j{jobs}"].append(elapsed)
            elapsed, warm = run_check(root, 2)
            assert warm["parsed"] == 0, warm
            times["warm"].append(elapsed)
            touched = root / f"unit{args.units // 2}.c"
            touched.write_text(touched.read_text() + f"int touched_{len(times['warm'])};\n")
            later = time.time() + 1
            os.utime(touched, (later, later))
            elapsed, after = run_check(root, 2)
            assert after["parsed"] == 1, after
            times["touched"].append(elapsed)
        medians = {name: statistics.median(values) for name, values in times.items()}
        lines_total = preprocessed * args.units
        results = {
            "units": args.units,
            "functions": summary["functions"],
            "preprocessed_lines_per_unit": preprocessed,
            "findings": summary["findings"],
            "median_seconds": medians,
            "cold_lines_per_second_j1": lines_total / medians["cold -j1"],
            "cold_lines_per_second_j2": lines_total / medians["cold -j2"],
            "speedup_j2_over_j1": medians["cold -j1"] / medians["cold -j2"],
        }
    print(f"tree: {args.units} units, {summary['functions']} functions, "
          f"{preprocessed} preprocessed lines per unit; medians of {args.repeat} runs")
    for name, value in medians.items():
        print(f"  {name:10s} {value:8.2f} s")
    print(f"  cold throughput: {results['cold_lines_per_second_j1']:,.0f} lines/s with -j1, "
          f"{results['cold_lines_per_second_j2']:,.0f} with -j2 "
          f"(x{results['speedup_j2_over_j1']:.2f})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
