"""How much an incremental run saves: prints timings, asserts nothing.

Generates a synthetic project of N units (each includes a few of H shared
headers), then times, with the real ``gcc -E`` and a trivial summariser:

  cold     every unit preprocessed and recorded
  warm     nothing changed: the index alone answers
  header   one header edited: only its includers are preprocessed again

Usage: python3 bench/bench_incremental.py [UNITS] [HEADERS]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from coroproj.project.cache import SummaryCache, UnitIndex, cached_or_build
from coroproj.project.compile_db import CompileJob


def make_project(root: Path, units: int, headers: int) -> list[CompileJob]:
    include = root / "include"
    include.mkdir()
    for number in range(headers):
        lines = [f"int shared_{number}_{k}(int);" for k in range(200)]
        (include / f"h{number}.h").write_text("#pragma once\n" + "\n".join(lines) + "\n")
    jobs = []
    for number in range(units):
        source = root / f"unit{number}.c"
        wanted = {number % headers, (number * 7) % headers, (number * 13) % headers}
        includes = "".join(f'#include "h{h}.h"\n' for h in sorted(wanted))
        source.write_text(f"{includes}int unit{number}(void) {{ return {number}; }}\n")
        flags = (f"-I{include}",)
        jobs.append(CompileJob(file=source, directory=root, compiler="gcc", flags=flags))
    return jobs


def run(jobs: list[CompileJob], cache: SummaryCache) -> tuple[float, int]:
    preprocessed = 0

    def preprocess(job: CompileJob) -> str:
        nonlocal preprocessed
        preprocessed += 1
        return subprocess.run(
            job.preprocess_command(), cwd=job.directory, capture_output=True, text=True, check=True
        ).stdout

    def summarise(job: CompileJob, text: str) -> dict[str, Any]:
        return {"unit": str(job.file), "lines": text.count("\n")}

    start = time.perf_counter()
    index = UnitIndex(cache, "bench")
    for job in jobs:
        cached_or_build(job, index, preprocess, summarise)
    index.close()
    return time.perf_counter() - start, preprocessed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("units", nargs="?", type=int, default=200)
    parser.add_argument("headers", nargs="?", type=int, default=20)
    options = parser.parse_args()
    units, headers = options.units, options.headers
    with tempfile.TemporaryDirectory(prefix="coroproj-bench-") as scratch:
        root = Path(scratch)
        jobs = make_project(root, units, headers)
        cache = SummaryCache(root / ".coroproj")
        cold, cold_count = run(jobs, cache)
        warm, warm_count = run(jobs, cache)
        header = root / "include" / "h0.h"
        header.write_text(header.read_text() + "int added(void);\n")
        stat = header.stat()
        os.utime(header, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        edited, edited_count = run(jobs, cache)
    print(f"units={units} headers={headers}")
    print(f"cold    {cold:8.3f} s  preprocessed {cold_count}")
    print(f"warm    {warm:8.3f} s  preprocessed {warm_count}")
    print(f"header  {edited:8.3f} s  preprocessed {edited_count}")


if __name__ == "__main__":
    main()
