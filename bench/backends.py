"""The paper's Table 2 on this machine: the coroutine backends side by side.

For every built backend (ucontext, sigaltstack, thread, and cpc when
sample_project/build/cpc exists) x {lifecycle, nesting, yield} x pool
{off, on}: the median ns per operation over several runs of
``test-coroutine perf``, and its ratio to ucontext measured in the same
run of this script; the resident memory per suspended coroutine
(``test-coroutine suspended N`` for each N of ``--suspended``; a stack
backend is skipped above its ceiling, vm.max_map_count / 2: each of its
coroutines maps a stack and a guard page); and, where the backend's
``sample-io`` was built, its stress mode's ops/s with 500 coroutine
workers on the memory driver.

    python3 bench/backends.py [--runs 5] [--json FILE] [--svg FILE] [--callgrind]
                              [--suspended N...] [--compare NAME=BUILD_DIR]

``--compare cpc-before=/tmp/before/sample_project/build/cpc`` adds another
build of the sample project (say, of an earlier runtime) as a column of the
same run.

Missing stack-backend builds are made with scons first (``--no-build`` to
only use what exists).  ``--callgrind`` adds instructions per operation
under valgrind's callgrind — stable where wall-clock times are noisy — as
the difference between two runs of different lengths divided by the
difference in operations, so start-up and tear-down cancel out.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from coroproj.util.files import write_text_atomically  # noqa: E402

SAMPLE = REPO / "sample_project"
STACK_BACKENDS = ("ucontext", "sigaltstack", "thread")
ALL_BACKENDS = (*STACK_BACKENDS, "cpc")
MODES = ("lifecycle", "nesting", "yield")
POOLS = ("off", "on")
REFERENCE = "ucontext"
MAP_COUNT = Path("/proc/sys/vm/max_map_count")
NESTING_DEPTH = 1000
IO_WORKERS = 500
# Operations of the short and the long callgrind run per mode (nesting:
# whole chains of NESTING_DEPTH coroutines).
CALLGRIND_OPS = {"lifecycle": (1000, 3000), "nesting": (1000, 3000), "yield": (1000, 11000)}
PERF_LINE = re.compile(r"^perf (\w+) pool=(on|off) backend=(\w+) ns_per_op=([0-9.]+) iterations=(\d+)$", re.M)


@dataclass
class BackendResult:
    backend: str
    ns_per_op: dict[str, float] = field(default_factory=dict)          # "mode/pool" -> median
    samples: dict[str, list[float]] = field(default_factory=dict)
    ratio_to_reference: dict[str, float] = field(default_factory=dict)
    instructions_per_op: dict[str, float] = field(default_factory=dict)
    bytes_per_suspended: dict[int, float] = field(default_factory=dict)  # N -> resident bytes / N
    io_ops_per_sec: float | None = None
    io_samples: list[float] = field(default_factory=list)


def key(mode: str, pool: str) -> str:
    return f"{mode}/pool={pool}"


# Build directories measured besides sample_project/build/<backend> (--compare).
EXTRA_BUILDS: dict[str, Path] = {}


def build_dir(backend: str) -> Path:
    return EXTRA_BUILDS.get(backend, SAMPLE / "build" / backend)


def test_coroutine(backend: str) -> Path:
    return build_dir(backend) / "tests" / "test-coroutine"


def stack_ceiling() -> int | None:
    """Suspended coroutines a stack backend can hold at once here (two mappings each)."""
    try:
        return int(MAP_COUNT.read_text()) // 2
    except (OSError, ValueError):
        return None


def ensure_builds(backends: list[str], build: bool) -> list[str]:
    """The backends that can be measured, building missing stack backends if asked."""
    available = []
    for backend in backends:
        if not test_coroutine(backend).exists() and build and backend in STACK_BACKENDS:
            print(f"building BACKEND={backend} ...", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "SCons", "-C", str(REPO), "-Q", "-j2",
                            f"BACKEND={backend}"], check=True, stdout=subprocess.DEVNULL)
        if test_coroutine(backend).exists():
            available.append(backend)
    return available


def run_perf(backend: str, mode: str, pool: str, iterations: int | None) -> tuple[float, int]:
    command = [str(test_coroutine(backend)), "perf", mode, "--pool", pool]
    if iterations is not None:
        command += ["--iterations", str(iterations)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    match = PERF_LINE.search(output)
    if match is None:
        raise RuntimeError(f"unexpected output of {' '.join(command)}: {output!r}")
    return float(match.group(4)), int(match.group(5))


def measure_times(results: dict[str, BackendResult], runs: int) -> None:
    """Median ns/op; the first run calibrates the count, the others reuse it.

    Runs are interleaved across backends so a slow phase of a noisy machine
    hits every backend alike, keeping the ratios meaningful.
    """
    iterations: dict[tuple[str, str], int] = {}
    for run in range(runs):
        for backend, result in results.items():
            for mode in MODES:
                for pool in POOLS:
                    ns, count = run_perf(backend, mode, pool, iterations.get((backend, key(mode, pool))))
                    iterations.setdefault((backend, key(mode, pool)), count)
                    result.samples.setdefault(key(mode, pool), []).append(ns)
        print(f"run {run + 1}/{runs} done", file=sys.stderr)
    for result in results.values():
        result.ns_per_op = {k: statistics.median(v) for k, v in result.samples.items()}
    reference = results.get(REFERENCE)
    if reference is None:
        return
    for result in results.values():
        result.ratio_to_reference = {
            k: result.ns_per_op[k] / reference.ns_per_op[k] for k in result.ns_per_op
        }


def measure_memory(results: dict[str, BackendResult], counts: list[int]) -> None:
    ceiling = stack_ceiling()
    for backend, result in results.items():
        for count in counts:
            if backend in STACK_BACKENDS and ceiling is not None and count > ceiling:
                continue  # it would abort on mmap: "too many mappings"
            output = subprocess.run([str(test_coroutine(backend)), "suspended", str(count)],
                                    check=True, capture_output=True, text=True).stdout
            match = re.search(r"bytes_per_coroutine=(-?[0-9.]+)", output)
            if match:
                result.bytes_per_suspended[count] = float(match.group(1))


def measure_io(results: dict[str, BackendResult], runs: int, ops: int) -> None:
    """sample-io stress on the memory driver, where the backend's tools were built."""
    for backend, result in results.items():
        sample_io = build_dir(backend) / "tools" / "sample-io"
        if not sample_io.exists():
            continue
        for _ in range(runs):
            done = subprocess.run(
                [str(sample_io), "mem:64M", "stress", "--workers", str(IO_WORKERS), "--ops", str(ops)],
                capture_output=True, text=True,
            )
            match = re.search(r"errors=(\d+) ops_per_sec=([0-9.]+)", done.stdout)
            if done.returncode != 0 or match is None or match.group(1) != "0":
                print(f"sample-io stress failed on {backend}:\n{done.stdout}{done.stderr}", file=sys.stderr)
                break
            result.io_samples.append(float(match.group(2)))
        if result.io_samples:
            result.io_ops_per_sec = statistics.median(result.io_samples)


def _callgrind_instructions(binary: Path, mode: str, pool: str, ops: int, scratch: Path) -> int | None:
    """Instructions of one run under callgrind; None when it cannot run there."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch / 'callgrind.out'}",
         str(binary), "perf", mode, "--pool", pool, "--iterations", str(ops)],
        capture_output=True, text=True,
    )
    match = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if done.returncode != 0 or match is None:
        # e.g. the sigaltstack backend creating a coroutine inside a
        # coroutine: valgrind refuses the nested sigaltstack call.
        last_line = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no output"]
        print(f"callgrind: {binary.parent.parent.name} {mode} pool={pool} failed: {last_line[0]}",
              file=sys.stderr)
        return None
    return int(match.group(1))


def measure_instructions(results: dict[str, BackendResult]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-backends-") as scratch_name:
        scratch = Path(scratch_name)
        for backend, result in results.items():
            binary = test_coroutine(backend)
            for mode in MODES:
                short, long = CALLGRIND_OPS[mode]
                for pool in POOLS:
                    long_count = _callgrind_instructions(binary, mode, pool, long, scratch)
                    short_count = _callgrind_instructions(binary, mode, pool, short, scratch)
                    if long_count is not None and short_count is not None:
                        per_op = (long_count - short_count) / (long - short)
                        result.instructions_per_op[key(mode, pool)] = per_op
            print(f"callgrind {backend} done", file=sys.stderr)


# --- output --------------------------------------------------------------------------------

def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _ratio(ratio: float) -> str:
    """``1.49x``; a backend many times faster than the reference reads ``1/323x``, not ``0.00x``."""
    if 0 < ratio < 0.1:
        return f"1/{1 / ratio:,.0f}x"
    return f"{ratio:.2f}x"


def print_table(results: dict[str, BackendResult], console: Console, counts: list[int]) -> None:
    """The table; `counts`: the suspended counts asked for (a stack backend above its ceiling reads -)."""
    backends = list(results)
    table = Table(title="Coroutine backends (median ns/op; x = ratio to ucontext in this run)")
    table.add_column("benchmark")
    for backend in backends:
        table.add_column(backend, justify="right")
    for mode in MODES:
        for pool in POOLS:
            cells = []
            for backend in backends:
                result = results[backend]
                ns = result.ns_per_op.get(key(mode, pool))
                ratio = result.ratio_to_reference.get(key(mode, pool))
                text = _number(ns) + (f" ({_ratio(ratio)})" if ratio is not None else "")
                instructions = result.instructions_per_op.get(key(mode, pool))
                if instructions is not None:
                    text += f"\n{_number(instructions, 0)} instr"
                cells.append(text)
            table.add_row(f"{mode}, pool {pool}", *cells)
    for count in counts:
        table.add_row(f"bytes per suspended coroutine ({count:,})",
                      *(_number(results[b].bytes_per_suspended.get(count), 1) for b in backends))
    ceiling = stack_ceiling()
    if ceiling is not None and any(count > ceiling for count in counts):
        table.caption = (f"stack backends: at most {ceiling:,} suspended coroutines here "
                         f"(vm.max_map_count {ceiling * 2:,}, two mappings each)")
    if any(r.io_ops_per_sec for r in results.values()):
        table.add_row(f"sample-io stress ops/s ({IO_WORKERS} workers, memory)",
                      *(_number(results[b].io_ops_per_sec, 0) for b in backends))
    console.print(table)


# One colour per backend, readable on white.
COLOURS = {"ucontext": "#4477aa", "sigaltstack": "#66ccee", "thread": "#ee6677", "cpc": "#228833"}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_svg(results: dict[str, BackendResult]) -> str:
    """Grouped bars of ns/op per benchmark, one bar per backend, log scale
    (the thread backend is orders of magnitude slower)."""
    backends = list(results)
    groups = [(mode, pool) for mode in MODES for pool in POOLS]
    values = [results[b].ns_per_op.get(key(m, p)) for m, p in groups for b in backends]
    positive = [v for v in values if v]
    low = 10 ** math.floor(math.log10(min(positive))) if positive else 1.0
    high = 10 ** math.ceil(math.log10(max(positive))) if positive else 10.0
    if high <= low:
        high = low * 10
    width, height = 900, 420
    left, right, top, bottom = 70, 20, 50, 80
    plot_w, plot_h = width - left - right, height - top - bottom
    group_w = plot_w / len(groups)
    bar_w = group_w * 0.8 / max(len(backends), 1)

    def y_of(value: float) -> float:
        fraction = (math.log10(value) - math.log10(low)) / (math.log10(high) - math.log10(low))
        return top + plot_h * (1 - fraction)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">'
        "Coroutine backends: ns per operation (median, log scale)</text>",
    ]
    decade = low
    while decade <= high * 1.0001:
        y = y_of(decade)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#dddddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{decade:,.0f}</text>')
        decade *= 10
    for index, (mode, pool) in enumerate(groups):
        x0 = left + index * group_w + group_w * 0.1
        for slot, backend in enumerate(backends):
            value = results[backend].ns_per_op.get(key(mode, pool))
            if not value:
                continue
            y = y_of(value)
            parts.append(
                f'<rect x="{x0 + slot * bar_w:.1f}" y="{y:.1f}" width="{bar_w * 0.9:.1f}" '
                f'height="{top + plot_h - y:.1f}" fill="{COLOURS.get(backend, "#999999")}">'
                f"<title>{_escape(backend)} {mode}, pool {pool}: {value:.1f} ns/op</title></rect>"
            )
        parts.append(
            f'<text x="{left + (index + 0.5) * group_w:.1f}" y="{top + plot_h + 18}" '
            f'text-anchor="middle">{mode}</text>'
            f'<text x="{left + (index + 0.5) * group_w:.1f}" y="{top + plot_h + 33}" '
            f'text-anchor="middle" fill="#555555">pool {pool}</text>'
        )
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
                 'stroke="black"/>')
    for slot, backend in enumerate(backends):
        x = left + slot * 130
        parts.append(f'<rect x="{x}" y="{height - 25}" width="12" height="12" '
                     f'fill="{COLOURS.get(backend, "#999999")}"/>')
        parts.append(f'<text x="{x + 17}" y="{height - 15}">{_escape(backend)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per cell (median; default 5)")
    parser.add_argument("--backends", nargs="+", choices=ALL_BACKENDS, default=list(ALL_BACKENDS),
                        help="backends to measure (those without a build are skipped)")
    parser.add_argument("--suspended", type=int, nargs="+", default=[10_000, 1_000_000], metavar="N",
                        help="suspended coroutines for the memory figures (default 10000 1000000; stack "
                             "backends are skipped above vm.max_map_count / 2)")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=BUILD_DIR",
                        help="also measure the sample project built in BUILD_DIR, as column NAME")
    parser.add_argument("--io-ops", type=int, default=20_000, help="operations per sample-io stress run")
    parser.add_argument("--no-build", action="store_true", help="do not build missing stack backends")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions per op (valgrind)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    parser.add_argument("--svg", type=Path, metavar="FILE", help="write a bar chart of ns/op as SVG")
    options = parser.parse_args()
    if options.runs < 1 or min(options.suspended) < 1 or options.io_ops < 1:
        parser.error("--runs, --suspended and --io-ops take positive numbers")
    for extra in options.compare:
        name, _, directory = extra.partition("=")
        if not name or not directory or name in ALL_BACKENDS:
            parser.error(f"--compare takes NAME=BUILD_DIR with a new name, not {extra!r}")
        if not (Path(directory) / "tests" / "test-coroutine").exists():
            parser.error(f"--compare {extra}: no tests/test-coroutine in {directory}")
        EXTRA_BUILDS[name] = Path(directory)
    if options.callgrind and shutil.which("valgrind") is None:
        parser.error("--callgrind needs valgrind (apt-get install valgrind)")

    backends = ensure_builds(options.backends, build=not options.no_build) + list(EXTRA_BUILDS)
    if not backends:
        print("no backend built: run scons BACKEND=ucontext first", file=sys.stderr)
        return 2
    results = {backend: BackendResult(backend) for backend in backends}
    measure_times(results, options.runs)
    measure_memory(results, options.suspended)
    measure_io(results, options.runs, options.io_ops)
    if options.callgrind:
        measure_instructions(results)

    console = Console()
    if not console.is_terminal:
        console = Console(width=150)  # a file or pipe: no wrapped cells
    print_table(results, console, options.suspended)
    if options.json:
        document = {
            "runs": options.runs,
            "suspended_count": options.suspended,
            "io_workers": IO_WORKERS,
            "io_ops": options.io_ops,
            "reference": REFERENCE,
            "backends": {name: asdict(result) for name, result in results.items()},
        }
        write_text_atomically(options.json, json.dumps(document, indent=2) + "\n")
    if options.svg:
        write_text_atomically(options.svg, render_svg(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
