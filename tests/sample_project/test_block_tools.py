"""sample-img and sample-io as a user runs them: stress rounds with pattern verification on every
driver and backend followed by `sample-img check`, data surviving the process that wrote it, and
the image commands with their exit statuses."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.sample_project.conftest import ALL_BACKENDS

BACKENDS = ALL_BACKENDS
STRESS_LINE = re.compile(r"^stress workers=(\d+) ops=(\d+) errors=(\d+) ops_per_sec=(\d+)$", re.M)
TIMEOUT_SECONDS = 120
CHECK_CLEAN, CHECK_CORRUPT, CHECK_LEAKS = 0, 2, 3


class Tools:
    """The two tools of one build, run in a scratch directory."""

    def __init__(self, build: Path, workdir: Path) -> None:
        self.build = build
        self.workdir = workdir

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.build / "tools" / tool), *args],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )

    def ok(self, tool: str, *args: str) -> str:
        done = self.run(tool, *args)
        command = " ".join((tool, *args))
        assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout}{done.stderr}"
        return done.stdout

    def img(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("sample-img", *args)

    def io(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("sample-io", *args)


@pytest.fixture
def tools(sample_build: Callable[[str], Path], tmp_path: Path) -> Tools:
    return Tools(sample_build("ucontext"), tmp_path)


def make_image(tools: Tools, driver: str) -> list[str]:
    """sample-io's leading arguments (format and file) for a fresh 64 MiB image of `driver`."""
    if driver == "memory":
        return ["-f", "memory", "mem:64M"]
    if driver == "raw":
        tools.ok("sample-img", "create", "-f", "raw", "disk.raw", "64M")
        return ["-f", "raw", "disk.raw"]
    tools.ok("sample-img", "create", "-f", "raw", "base.raw", "64M")
    tools.ok("sample-io", "base.raw", "-c", "write -P 0x5a 0 1M")
    tools.ok("sample-img", "create", "-f", "cow", "-b", "base.raw", "-o", "cluster_size=16K", "disk.cow")
    return ["-f", "cow", "disk.cow"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("driver", ["memory", "raw", "cow"])
def test_stress_round_verifies_every_read_and_leaves_a_clean_image(
    sample_build: Callable[[str], Path], tmp_path: Path, backend: str, driver: str
) -> None:
    tools = Tools(sample_build(backend), tmp_path)
    image = make_image(tools, driver)
    out = tools.ok(
        "sample-io", *image, "stress", "--workers", "200", "--ops", "3000", "--seed", "7", "--region", "4096"
    )
    match = STRESS_LINE.search(out)
    assert match, out
    workers, ops, errors, ops_per_sec = map(int, match.groups())
    assert (workers, ops, errors) == (200, 3000, 0)
    assert ops_per_sec > 0
    if driver != "memory":
        checked = tools.img("check", image[-1])
        assert checked.returncode == CHECK_CLEAN, checked.stdout + checked.stderr
    if driver == "cow":
        assert "No errors were found on the image." in checked.stdout
        # The base the overlay was made from still holds its pattern: writes went to the overlay.
        tools.ok("sample-io", "-r", "base.raw", "-c", "read -P 0x5a 0 1M")


def test_stress_detects_data_that_changes_behind_its_back(tools: Tools) -> None:
    """Verification is real: the null driver drops writes, so reading them back must fail."""
    done = tools.io("-f", "null", "null:16M", "stress", "--workers", "4", "--ops", "400", "--region", "16")
    assert done.returncode == 1
    match = STRESS_LINE.search(done.stdout)
    assert match and int(match.group(3)) > 0
    assert "does not hold what was written last" in done.stderr


@pytest.mark.parametrize("fmt", ["raw", "cow"])
def test_data_written_before_a_clean_exit_is_read_back_by_a_new_process(tools: Tools, fmt: str) -> None:
    tools.ok("sample-img", "create", "-f", fmt, "img", "8M")
    tools.ok(
        "sample-io",
        "img",
        "-c",
        "write -P 0xa1 0 64K",
        "-c",
        "write -P 0xb2 1M 5000",
        "-c",
        "aio_write -P 0xc3 7M 128K",
        "-c",
        "aio_write -P 0xd4 3M 512",
    )
    out = tools.ok(
        "sample-io",
        "-r",
        "img",
        "-c",
        "read -P 0xa1 0 64K",
        "-c",
        "read -P 0xb2 1M 5000",
        "-c",
        "aio_read -P 0xc3 7M 128K",
        "-c",
        "read -P 0xd4 3M 512",
        "-c",
        "read -P 0 2M 4K",
    )
    assert "Pattern verification failed" not in out
    assert out.count("read ") == 5
    failed = tools.io("-r", "img", "-c", "read -P 0xb2 0 4K")
    assert failed.returncode == 1
    assert "Pattern verification failed at offset 0" in failed.stdout


def test_img_create_info_map(tools: Tools) -> None:
    tools.ok("sample-img", "create", "-f", "raw", "base.raw", "1M")
    tools.ok("sample-io", "base.raw", "-c", "write -P 9 0 8K")
    tools.ok("sample-img", "create", "-f", "cow", "-b", "base.raw", "-o", "cluster_size=4K", "top.cow")
    info = tools.ok("sample-img", "info", "top.cow")
    assert "file format: cow" in info
    assert "virtual size: 1 MiB (1048576 bytes)" in info
    assert "cluster_size: 4096" in info
    assert "backing file: base.raw\n" in info
    assert "backing file path: ./base.raw" in info
    assert "backing file format: raw" in info
    assert "dirty: no" in info
    tools.ok("sample-io", "top.cow", "-c", "write -P 1 8K 8K")
    lines = tools.ok("sample-img", "map", "top.cow").splitlines()
    assert lines[0].split() == ["Offset", "Length", "Mapped", "to", "File"]
    extents = [(int(row[0], 16), int(row[1], 16), row[3]) for row in map(str.split, lines[1:])]
    # The base's data, then the overlay's own clusters at 8K-16K (two rows when the L2 table
    # allocated by the first cluster sits between their host clusters).  The rest of the base is
    # a hole, listed only where the file system cannot tell holes (no SEEK_HOLE).
    assert extents[0] == (0, 0x2000, "./base.raw")
    overlay = [extent for extent in extents if extent[2] == "top.cow"]
    assert overlay[0][0] == 0x2000 and sum(length for _, length, _ in overlay) == 0x2000
    assert extents[1 : 1 + len(overlay)] == overlay
    assert extents[1 + len(overlay) :] in ([], [(0x4000, 0xFC000, "./base.raw")])


def test_img_convert_and_commit(tools: Tools) -> None:
    tools.ok("sample-img", "create", "-f", "raw", "base.raw", "2M")
    tools.ok("sample-io", "base.raw", "-c", "write -P 0x11 0 2M")
    created = tools.ok("sample-img", "create", "-f", "cow", "-b", "base.raw", "top.cow")
    assert "size=2097152 backing_file=base.raw" in created  # the size comes from the backing file
    tools.ok("sample-io", "top.cow", "-c", "write -P 0x22 64K 64K")
    # convert flattens the chain into a standalone image of either format.
    tools.ok("sample-img", "convert", "-O", "cow", "top.cow", "flat.cow")
    assert "backing file" not in tools.ok("sample-img", "info", "flat.cow")
    tools.ok(
        "sample-io",
        "-r",
        "flat.cow",
        "-c",
        "read -P 0x11 0 64K",
        "-c",
        "read -P 0x22 64K 64K",
        "-c",
        "read -P 0x11 128K 1M",
    )
    tools.ok("sample-img", "convert", "-O", "raw", "top.cow", "flat.raw")
    assert (tmp := tools.workdir / "flat.raw").stat().st_size == 2 << 20, tmp
    # commit writes the overlay's clusters into its backing file.
    assert "Image committed." in tools.ok("sample-img", "commit", "top.cow")
    tools.ok("sample-io", "-r", "base.raw", "-c", "read -P 0x11 0 64K", "-c", "read -P 0x22 64K 64K")


def test_img_check_exit_statuses(tools: Tools) -> None:
    tools.ok("sample-img", "create", "-f", "cow", "-o", "cluster_size=4K", "img.cow", "1M")
    tools.ok("sample-io", "img.cow", "-c", "write -P 3 0 4K")
    assert tools.img("check", "img.cow").returncode == CHECK_CLEAN

    # Leaked clusters: two unreferenced clusters at the end of the file.
    path = tools.workdir / "img.cow"
    size = path.stat().st_size
    with path.open("r+b") as image:
        image.truncate(size + 8192)
    leaked = tools.img("check", "img.cow")
    assert leaked.returncode == CHECK_LEAKS
    assert "2 leaked clusters were found" in leaked.stdout
    repaired = tools.img("check", "-r", "leaks", "img.cow")
    assert repaired.returncode == CHECK_CLEAN, repaired.stdout
    assert path.stat().st_size == size

    # Corruption: the L1 entry of the only L2 table points outside the image.
    with path.open("r+b") as image:
        image.seek(4096)  # the L1 table: cluster 1
        image.write((1 << 40).to_bytes(8, "little"))
    corrupt = tools.img("check", "img.cow")
    assert corrupt.returncode == CHECK_CORRUPT
    assert "1 errors were found on the image." in corrupt.stdout

    # Not an image of the format at all.
    (tools.workdir / "junk").write_bytes(b"SCOW" + b"\0" * 60)
    assert tools.img("check", "-f", "cow", "junk").returncode == CHECK_CORRUPT


def test_io_rejects_bad_usage(tools: Tools) -> None:
    assert tools.io().returncode == 2
    assert tools.io("-f", "memory", "mem:1M", "-c", "read 0").returncode == 1
    assert tools.io("-f", "memory", "mem:1M", "-c", "write -P 1 1M 1").returncode == 1
    assert tools.io("mem:1M", "stress", "--workers", "0").returncode == 2
    assert tools.img("create", "-f", "cow", "x.cow").returncode == 2
    assert tools.img("frobnicate", "x").returncode == 2


def test_io_throttling_limits_the_rate(tools: Tools) -> None:
    # 20 ops/s with 0.1 s of burst: 2 of 12 writes go at once, the other 10 take about 0.5 s.
    commands = [arg for i in range(12) for arg in ("-c", f"aio_write -q -P 1 {i * 512} 512")]
    commands += ["-c", "aio_flush", "-c", "read -q -P 1 0 6K"]
    start = time.monotonic()
    done = tools.io("-t", "iops=20,burst=0.1", "-f", "memory", "mem:1M", *commands)
    throttled = time.monotonic() - start
    assert done.returncode == 0, done.stdout + done.stderr
    # Unthrottled, the same commands take milliseconds; the upper bound is generous for busy machines.
    assert 0.4 < throttled < 10


def test_cow_image_survives_a_killed_writer(tools: Tools) -> None:
    """SIGKILL in the middle of a stress round on an overlay: check finds no corruption, only
    leaks, repairs them, and the image serves a new round with every read verified."""
    tools.ok("sample-img", "create", "-f", "raw", "base.raw", "64M")
    tools.ok("sample-img", "create", "-f", "cow", "-b", "base.raw", "-o", "cluster_size=4K", "top.cow")
    writer = subprocess.Popen(
        [
            str(tools.build / "tools" / "sample-io"),
            "top.cow",
            "stress",
            "--workers",
            "64",
            "--ops",
            "100000000",
            "--region",
            "16384",
            "--write-percent",
            "90",
        ],
        cwd=tools.workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stderr is not None
    assert "workers starting" in writer.stderr.readline()
    # Kill it once it has allocated a good number of clusters (however busy the machine is).
    image = tools.workdir / "top.cow"
    created_size = image.stat().st_size
    deadline = time.monotonic() + 30
    while image.stat().st_size < created_size + 64 * 4096 and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.kill()
    writer.stderr.close()
    assert writer.wait(timeout=TIMEOUT_SECONDS) == -signal.SIGKILL  # it was still running
    # The round never flushed: the clusters it wrote are in the file, the tables on disk do not
    # refer to them yet (metadata is written back at flush) — leaks, and nothing worse.
    checked = tools.img("check", "top.cow")
    assert checked.returncode == CHECK_LEAKS, checked.stdout + checked.stderr
    assert not re.search(r"\d+ errors were found", checked.stdout), checked.stdout
    tools.ok("sample-img", "check", "-r", "leaks", "top.cow")
    assert "No errors were found" in tools.ok("sample-img", "check", "top.cow")
    out = tools.ok("sample-io", "top.cow", "stress", "--workers", "50", "--ops", "2000", "--region", "16384")
    assert " errors=0 " in out
    assert tools.img("check", "top.cow").returncode == CHECK_CLEAN
