"""bench/block_stress.py runs end to end (a quick round) and reports every backend built, driver
and pool setting, with ucontext's ratio 1."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_block_stress_bench_quick_round(sample_build: Callable[[str], Path], tmp_path: Path) -> None:
    sample_build("ucontext")
    output = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "block_stress.py"), "--runs", "1", "--quick", "--no-build",
         "--workers", "50", "--json", str(output)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(output.read_text())
    medians = report["medians"]
    assert "ucontext" in medians
    for backend in medians.values():
        assert set(backend) == {"memory", "memory+latency", "raw", "cow"}
        for pools in backend.values():
            assert set(pools) == {"on", "off"}
            assert all(ops_per_sec > 0 for ops_per_sec in pools.values())
