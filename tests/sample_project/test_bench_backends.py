"""bench/backends.py: the backend comparison's JSON and SVG outputs."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tests.sample_project.conftest import REPO, SampleBuild

SCRIPT = REPO / "bench" / "backends.py"
SVG = "{http://www.w3.org/2000/svg}"


def test_one_backend_run_writes_json_and_svg(sample_build: SampleBuild, tmp_path: Path) -> None:
    sample_build("ucontext")
    json_file, svg_file = tmp_path / "backends.json", tmp_path / "backends.svg"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--runs", "1", "--backends", "ucontext", "--no-build",
         "--suspended", "200", "--io-ops", "2000", "--json", str(json_file), "--svg", str(svg_file)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    document = json.loads(json_file.read_text())
    ucontext = document["backends"]["ucontext"]
    assert set(ucontext["ns_per_op"]) == {
        f"{mode}/pool={pool}" for mode in ("lifecycle", "nesting", "yield") for pool in ("off", "on")
    }
    assert all(value > 0 for value in ucontext["ns_per_op"].values())
    # ucontext is the reference: its own ratio is exactly 1.
    assert all(ratio == 1.0 for ratio in ucontext["ratio_to_reference"].values())
    assert ucontext["bytes_per_suspended"]["200"] > 0

    svg = ElementTree.parse(svg_file).getroot()
    bars = [rect for rect in svg.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]
    assert len(bars) == 6  # one per benchmark for the single backend
    assert all(float(bar.get("height", "0")) > 0 for bar in bars)


def test_a_stack_backend_is_not_asked_for_more_coroutines_than_it_can_map(
    sample_build: SampleBuild, tmp_path: Path
) -> None:
    ceiling = backends_stack_ceiling()
    if ceiling is None or ceiling > 100_000:
        pytest.skip("vm.max_map_count too large to reach its ceiling quickly")
    sample_build("ucontext")
    json_file = tmp_path / "backends.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--runs", "1", "--backends", "ucontext", "--no-build",
         "--suspended", "200", str(ceiling + 1), "--io-ops", "2000", "--json", str(json_file)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(json.loads(json_file.read_text())["backends"]["ucontext"]["bytes_per_suspended"]) == {"200"}
    assert f"at most {ceiling:,} suspended coroutines" in result.stdout


def backends_stack_ceiling() -> int | None:
    try:
        return int(Path("/proc/sys/vm/max_map_count").read_text()) // 2
    except (OSError, ValueError):
        return None
