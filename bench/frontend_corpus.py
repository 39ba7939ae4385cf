"""Front-end coverage of a real tree: preprocess and parse every unit of a compile database.

Each unit is preprocessed with its own compiler and flags (as the checker does)
and parsed; failures are grouped by message and location, so one header
construct the parser does not know shows up once with the number of units it
breaks.  Prints figures, asserts nothing.

Usage, from the checkout (so that its coroproj is the one imported):
    python3 -m bench.frontend_corpus COMPILE_COMMANDS.json [--sample N] [--seed S] [-j JOBS] [--progress]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from coroproj.errors import SourceError, UserError
from coroproj.frontend.preprocess import preprocess
from coroproj.frontend.unit import parse_unit_text
from coroproj.project.compile_db import CompileJob, load_compile_database

# (stage, message, location) of a failed unit; None when it parsed.
Failure = tuple[str, str, str]


def run_job(job: CompileJob) -> tuple[str, Failure | None, float]:
    start = time.perf_counter()
    try:
        text = preprocess(job.file, job.flags, compiler=job.compiler, cwd=job.directory)
    except (SourceError, UserError) as error:
        return str(job.file), ("preprocess", str(error), ""), time.perf_counter() - start
    try:
        parse_unit_text(text, str(job.file), cwd=job.directory)
    except SourceError as error:
        spot = error.spot
        where = f"{spot.file}:{spot.line}"
        return str(job.file), ("parse", error.message, where), time.perf_counter() - start
    return str(job.file), None, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="compile_commands.json")
    parser.add_argument("--sample", type=int, default=0, help="parse N units picked at random")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sample")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--progress", action="store_true", help="print each unit as it ends")
    options = parser.parse_args()
    try:
        jobs = load_compile_database(options.database).jobs
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if 0 < options.sample < len(jobs):
        jobs = random.Random(options.seed).sample(jobs, options.sample)

    groups: dict[Failure, list[str]] = defaultdict(list)
    durations: Counter[str] = Counter()
    start = time.perf_counter()
    if options.jobs > 1:
        with ProcessPoolExecutor(options.jobs) as pool:
            results = pool.map(run_job, jobs, chunksize=1)
            done = _collect(results, groups, durations, options.progress, len(jobs))
    else:
        done = _collect(map(run_job, jobs), groups, durations, options.progress, len(jobs))
    elapsed = time.perf_counter() - start

    failed = sum(len(files) for files in groups.values())
    print(f"{options.database}: {done} units, {done - failed} parsed, {failed} failed, {elapsed:.0f} s")
    for (stage, message, where), files in sorted(groups.items(), key=lambda item: -len(item[1])):
        print(f"  {len(files):4d}  {stage}: {where}: {message}")
        print(f"        e.g. {files[0]}")
    slowest = durations.most_common(3)
    if slowest:
        print("slowest: " + ", ".join(f"{Path(f).name} {s:.1f} s" for f, s in slowest))
    return 1 if failed else 0


def _collect(
    results: object,
    groups: dict[Failure, list[str]],
    durations: Counter[str],
    progress: bool,
    total: int,
) -> int:
    done = 0
    for file, failure, seconds in results:  # type: ignore[attr-defined]
        done += 1
        durations[file] = seconds
        if failure is not None:
            groups[failure].append(file)
        if progress:
            status = "ok" if failure is None else f"FAIL {failure[2]}: {failure[1]}"
            print(f"[{done}/{total}] {seconds:.1f} s {file}: {status}", flush=True)
    return done


if __name__ == "__main__":
    sys.exit(main())
