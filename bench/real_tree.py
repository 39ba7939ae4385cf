"""`coroproj check` on a real tree, against `gcc -fsyntax-only` over the same units.

Usage, from the checkout (so that its coroproj is the one measured):

    python3 -m bench.real_tree BUILD_DIR [--root SRC] [-j 2] [--repeat 3] [--json FILE]

BUILD_DIR holds the tree's ``compile_commands.json``; SRC is the project the
check is run on (default: the parent of BUILD_DIR).  Measured side by side in
one run, medians of ``--repeat`` runs, each a separate process as a user runs it:

- ``gcc -fsyntax-only``: every entry's own compiler and flags, ``-j`` at a time;
- cold: ``coroproj check`` with an empty cache directory;
- warm: the same again, nothing changed;
- one ``.c`` touched: a function appended to one unit (then restored);
- one header touched: a prototype appended to a header that few units
  include (then restored): only its includers may be analysed again.

Peak memory is sampled every 50 ms over the whole process tree (parent and
workers, their proportional set sizes summed, so pages a forked worker
shares with its parent count once), and the largest single process's
resident set beside it.  A child that still runs in its parent's memory
(``vfork``: the moment between a worker starting the preprocessor and the
``exec``) is the same memory, and is not counted a second time.
The tree's files are restored byte for byte after each edit, whatever happens.
"""

from __future__ import annotations

import argparse
import array
import compileall
import contextlib
import ctypes
import ctypes.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import coroproj
from coroproj.frontend.preprocess import preprocessor_flags
from coroproj.project.compile_db import CompileJob, load_compile_database


@dataclass
class Measure:
    seconds: float
    peak_tree_mb: float
    peak_process_mb: float
    parsed: int | None = None  # units analysed again (from --stats JSON), when known


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(word) for word in handle.read().split()]
    except OSError:
        pass
    return found


_KCMP = {"x86_64": 312, "aarch64": 272}.get(platform.machine())  # kcmp(2)'s syscall number
_KCMP_VM = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _same_memory(pid: int, other: int) -> bool:
    """Whether two processes share one address space (a vforked child before its exec)."""
    if _KCMP is None:
        return False
    return _LIBC.syscall(_KCMP, pid, other, _KCMP_VM, 0, 0) == 0


def _memory_mb(pid: int) -> tuple[float, float]:
    """(proportional set size, resident set size) of one process, in MB.

    The tree's total sums PSS: pages a forked worker still shares with its
    parent count once, not once per process as summed RSS would.
    """
    sizes = {"Pss:": 0.0, "Rss:": 0.0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                field, _, rest = line.partition(" ")
                if field in sizes:
                    sizes[field] = int(rest.split()[0]) / 1e3
    except (OSError, IndexError, ValueError):
        pass
    return sizes["Pss:"], sizes["Rss:"]


def run_measured(
    command: list[str], cwd: Path | None = None
) -> tuple[Measure, subprocess.CompletedProcess[str]]:
    """Run ``command``, sampling the resident memory of it and all its descendants."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks = [0.0, 0.0]

    def sample() -> None:
        while process.poll() is None:
            pids, frontier = [], [process.pid]
            while frontier:
                pid = frontier.pop()
                pids.append(pid)
                frontier += [child for child in _children(pid) if not _same_memory(child, pid)]
            sizes = [_memory_mb(pid) for pid in pids]
            peaks[0] = max(peaks[0], sum(pss for pss, _ in sizes))
            peaks[1] = max(peaks[1], max((rss for _, rss in sizes), default=0.0))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    elapsed = time.perf_counter() - start
    sampler.join()
    completed = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    return Measure(elapsed, peaks[0], peaks[1]), completed


def gcc_syntax_only(jobs: list[CompileJob], workers: int) -> float:
    def one(job: CompileJob) -> int:
        command = [job.compiler, *preprocessor_flags(job.flags), "-fsyntax-only", "-w", str(job.file)]
        return subprocess.run(command, cwd=job.directory, capture_output=True, check=False).returncode

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        statuses = list(pool.map(one, jobs))
    elapsed = time.perf_counter() - start
    failed = sum(1 for status in statuses if status)
    if failed:
        print(f"note: gcc -fsyntax-only failed on {failed} of {len(jobs)} units", file=sys.stderr)
    return elapsed


def coroproj_check(root: Path, build: Path, cache: Path, workers: int) -> Measure:
    command = [
        sys.executable, "-m", "coroproj", "check", str(root), "-p", str(build),
        "--cache-dir", str(cache), "-j", str(workers), "-q", "--keep-going",
        "--format", "json", "--stats",
    ]
    measure, completed = run_measured(command)
    if completed.returncode not in (0, 1, 2):
        raise SystemExit(f"coroproj check failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    with contextlib.suppress(ValueError, KeyError, TypeError):
        measure.parsed = json.loads(completed.stdout)["summary"]["parsed"]
    return measure


class Edit:
    """Append ``text`` to ``path`` for the duration of a ``with`` block, then restore it exactly."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text
        self.original = path.read_bytes()

    def __enter__(self) -> Edit:
        self.path.write_bytes(self.original + self.text.encode())
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.write_bytes(self.original)


def header_with_few_includers(jobs: list[CompileJob], root: Path, cache: Path) -> Path | None:
    """A project header read by 2-10 units (from the dependency index of a warm cache)."""
    import sqlite3

    counts: Counter[str] = Counter()
    try:
        with sqlite3.connect(cache / "index.sqlite3") as connection:
            paths = dict(connection.execute("SELECT id, path FROM files"))
            for (deps,) in connection.execute("SELECT deps FROM unit_deps"):
                ids = array.array("q")
                ids.frombytes(deps)
                for state in ids[1:]:  # the unit's own file first
                    counts[paths[state]] += 1
    except sqlite3.Error:
        return None
    candidates = [
        path
        for path, count in counts.items()
        if 2 <= count <= 10 and path.endswith(".h") and path.startswith(str(root))
        and "/.coroproj/" not in path and str(cache) not in path
    ]
    return Path(sorted(candidates)[len(candidates) // 2]) if candidates else None


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build", type=Path, help="directory holding compile_commands.json")
    parser.add_argument("--root", type=Path, help="the project checked (default: BUILD/..)")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    build = args.build.resolve()
    root = (args.root or build.parent).resolve()
    jobs = load_compile_database(build / "compile_commands.json").jobs
    print(f"{len(jobs)} units, -j {args.jobs}, medians of {args.repeat}", file=sys.stderr)
    # Bytecode compiled as an installed package has it: with PYTHONDONTWRITEBYTECODE
    # set, every measured process would otherwise compile the modules edited since.
    compileall.compile_dir(Path(coroproj.__file__).parent, quiet=2)

    gcc, cold, warm, touched_c, touched_h = [], [], [], [], []
    scratch = Path(tempfile.mkdtemp(prefix="coroproj-bench-"))
    unit = next((job.file for job in jobs if str(job.file).startswith(str(root))), jobs[0].file)
    header: Path | None = None
    try:
        for round_number in range(args.repeat):
            gcc.append(gcc_syntax_only(jobs, args.jobs))
            cache = scratch / f"cache-{round_number}"
            cold.append(coroproj_check(root, build, cache, args.jobs))
            warm.append(coroproj_check(root, build, cache, args.jobs))
            with Edit(unit, f"\nstatic void coroproj_bench_{round_number}(void) {{ }}\n"):
                touched_c.append(coroproj_check(root, build, cache, args.jobs))
            coroproj_check(root, build, cache, args.jobs)  # back to warm
            header = header or header_with_few_includers(jobs, root, cache)
            if header is not None:
                with Edit(header, f"\nvoid coroproj_bench_prototype_{round_number}(void);\n"):
                    touched_h.append(coroproj_check(root, build, cache, args.jobs))
            shutil.rmtree(cache, ignore_errors=True)
            print(f"round {round_number + 1}: gcc {gcc[-1]:.1f} s, cold {cold[-1].seconds:.1f} s, "
                  f"warm {warm[-1].seconds:.2f} s", file=sys.stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    gcc_s = median(gcc)
    rows = [("gcc -fsyntax-only", gcc_s, None)]
    for name, measures in (("cold", cold), ("warm, nothing changed", warm),
                           ("one .c touched", touched_c), ("one header touched", touched_h)):
        if measures:
            rows.append((name, median([m.seconds for m in measures]), measures))
    print(f"\n{len(jobs)} units, -j {args.jobs}, medians of {args.repeat}")
    print(f"{'run':24} {'seconds':>9} {'x gcc':>7} {'peak MB (tree)':>15} "
          f"{'largest process':>16} {'re-analysed':>12}")
    figures = {}
    for name, seconds, measures in rows:
        ratio = seconds / gcc_s if gcc_s else float("nan")
        if measures is None:
            print(f"{name:24} {seconds:9.2f} {1.0:7.2f}")
            figures[name] = {"seconds": seconds}
            continue
        tree = median([m.peak_tree_mb for m in measures])
        single = median([m.peak_process_mb for m in measures])
        parsed = measures[-1].parsed
        shown = "" if parsed is None else parsed
        print(f"{name:24} {seconds:9.2f} {ratio:7.2f} {tree:15.0f} {single:16.0f} {shown:>12}")
        figures[name] = {"seconds": seconds, "x_gcc": ratio, "peak_tree_mb": tree, "peak_process_mb": single,
                         "reanalysed": parsed}
    if header is not None:
        print(f"(header touched: {header})")
    if args.json:
        summary = {"units": len(jobs), "jobs": args.jobs, "figures": figures}
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
