"""sample-io stress throughput per coroutine backend and driver (the block layer's macro benchmark).

For every coroutine backend (the three stack ones, and cpc: the coroutines translated to
continuations by ``coroproj cc``; built with scons if missing), every driver setup and the
coroutine pool on and off, runs ``sample-io ... stress`` several times and reports the median
ops/s and its ratio to ucontext measured in the same run of this script:

- ``memory``: a RAM disk, requests complete without waiting: the cost of the coroutines and the
  block layer itself;
- ``memory+latency``: every request sleeps 50 us on the loop's timers (co_sleep_ns), so hundreds
  are suspended at once;
- ``raw`` / ``cow``: a file (and an overlay on a file) on the scratch directory, I/O through the
  thread pool.

    python3 bench/block_stress.py [--runs 5] [--workers 500] [--json FILE] [--no-build] [--quick]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_project"
BACKENDS = ("ucontext", "sigaltstack", "thread", "cpc")
POOLS = ("on", "off")
STRESS_LINE = re.compile(r"errors=(\d+) ops_per_sec=([0-9.]+)")
# driver name -> (ops per run, needs an image file)
DRIVERS = {
    "memory": (100_000, False),
    "memory+latency": (100_000, False),
    "raw": (10_000, True),
    "cow": (10_000, True),
}


def ensure_built(backend: str, build: bool) -> Path | None:
    tools = SAMPLE / "build" / backend / "tools"
    if not (tools / "sample-io").exists() and build:
        subprocess.run(
            [sys.executable, "-m", "SCons", "-C", str(REPO), "-Q", "-j2", f"BACKEND={backend}"],
            check=True,
            capture_output=True,
        )
    return tools if (tools / "sample-io").exists() else None


def image_arguments(tools: Path, driver: str, scratch: Path) -> list[str]:
    """sample-io's format and file arguments for a fresh image of `driver`."""
    if driver == "memory":
        return ["-f", "memory", "mem:64M"]
    if driver == "memory+latency":
        return ["-f", "memory", "mem:64M,latency=50000"]
    for name in ("base.raw", "top.cow"):
        (scratch / name).unlink(missing_ok=True)
    subprocess.run(
        [str(tools / "sample-img"), "create", "-f", "raw", str(scratch / "base.raw"), "64M"],
        check=True,
        capture_output=True,
    )
    if driver == "raw":
        return ["-f", "raw", str(scratch / "base.raw")]
    subprocess.run(
        [str(tools / "sample-img"), "create", "-f", "cow", "-b", "base.raw", str(scratch / "top.cow")],
        check=True,
        capture_output=True,
    )
    return ["-f", "cow", str(scratch / "top.cow")]


def run_stress(tools: Path, driver: str, pool: str, workers: int, scratch: Path, scale: float) -> float:
    ops = max(workers, int(DRIVERS[driver][0] * scale))
    command = [
        str(tools / "sample-io"),
        *image_arguments(tools, driver, scratch),
        "stress",
        "--workers",
        str(workers),
        "--ops",
        str(ops),
        "--region",
        "8192",
    ]
    if pool == "off":
        command.append("--no-pool")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    match = STRESS_LINE.search(done.stdout)
    if done.returncode != 0 or match is None or match.group(1) != "0":
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return float(match.group(2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=500)
    parser.add_argument("--json", type=Path, help="also write the medians and samples here")
    parser.add_argument("--no-build", action="store_true", help="only use backends already built")
    parser.add_argument("--quick", action="store_true", help="a twentieth of the operations (a smoke run)")
    args = parser.parse_args()

    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-block-") as scratch_name:
        scratch = Path(scratch_name)
        built = {b: ensure_built(b, not args.no_build) for b in BACKENDS}
        backends = [b for b in BACKENDS if built[b] is not None]
        # Runs interleave the backends so that a busy moment of the machine hits all of them.
        for _ in range(args.runs):
            for driver in DRIVERS:
                for pool in POOLS:
                    for backend in backends:
                        tools = built[backend]
                        assert tools is not None
                        samples = results.setdefault(backend, {}).setdefault(driver, {}).setdefault(pool, [])
                        samples.append(
                            run_stress(
                                tools, driver, pool, args.workers, scratch, 0.05 if args.quick else 1.0
                            )
                        )

    medians = {
        backend: {
            driver: {pool: statistics.median(s) for pool, s in pools.items()} for driver, pools in d.items()
        }
        for backend, d in results.items()
    }
    table = Table(
        title=f"sample-io stress, {args.workers} workers: median ops/s of {args.runs} runs "
        "(ratio to ucontext)"
    )
    table.add_column("driver")
    table.add_column("pool")
    for backend in medians:
        table.add_column(backend, justify="right")
    for driver in DRIVERS:
        for pool in POOLS:
            base = medians.get("ucontext", {}).get(driver, {}).get(pool)
            cells = []
            for backend in medians:
                value = medians[backend][driver][pool]
                ratio = f" ({value / base:.2f})" if base else ""
                cells.append(f"{value:,.0f}{ratio}")
            table.add_row(driver, pool, *cells)
    console = Console()
    if not console.is_terminal:
        console = Console(width=150)  # a file or pipe: no wrapped title or cells
    console.print(table)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"workers": args.workers, "runs": args.runs, "medians": medians, "samples": results}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
