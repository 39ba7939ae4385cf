"""Drive a project's own build with a coroutine backend.

SCons trees get ``BACKEND=<name>`` (the project's ``coroproj`` site tool
turns that into the backend's sources, and for ``cpc`` into ``CC=coroproj
cc --backend cpc``).  Make trees get the compiler driver as ``CC`` for the
cpc backend; a Make tree knows nothing of the stack backends, so those are
a plain ``make`` (both get ``BACKEND=<name>``).  What the build produced is
found afterwards: every ELF executable under ``build/<backend>/`` when the
project has that directory, else every one written since the build started.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from coroproj.driver.steps import StepPrinter
from coroproj.errors import UserError

MAKEFILE_NAMES = ("GNUmakefile", "makefile", "Makefile")
_ELF_MAGIC = b"\x7fELF"
_SKIPPED_DIRS = {".git", ".coroproj", "__pycache__"}
_TOOL_REMARK = re.compile(r"^(?:scons|g?make(?:\[\d+\])?): ")


@dataclass
class BuildResult:
    command: list[str]
    status: int
    executables: list[Path]


def compiler_driver_command(backend: str) -> str:
    """The ``CC`` value that compiles through coroproj with ``backend``."""
    return shlex.join([sys.executable, "-m", "coroproj", "cc", "--backend", backend])


def build_command(root: Path, backend: str, jobs: int, extra: list[str]) -> list[str]:
    """The command that builds ``root`` with ``backend`` (SCons first, then Make).

    Both print each command they run on a line of its own and little else
    (``-Q``, ``--no-print-directory``): what ``coroproj build`` turns into
    its status lines.
    """
    if (root / "SConstruct").is_file():
        scons = shutil.which("scons")
        program = [scons] if scons else [sys.executable, "-m", "SCons"]
        return [*program, "-C", str(root), "-Q", f"BACKEND={backend}", f"-j{jobs}", *extra]
    if any((root / name).is_file() for name in MAKEFILE_NAMES):
        # BACKEND as for SCons, so a Makefile can pick the backend's objects.
        command = ["make", "--no-print-directory", "-C", str(root), f"-j{jobs}", f"BACKEND={backend}"]
        if backend == "cpc":
            command.append(f"CC={compiler_driver_command(backend)}")
        return [*command, *extra]
    raise UserError(
        f"coroproj build: {root} has no SConstruct or Makefile; build it with "
        f'CC="{compiler_driver_command(backend)}" in your own build system'
    )


def run_build(root: Path, backend: str, jobs: int, extra: list[str], *, verbose: bool = False,
              quiet: bool = False, out: TextIO | None = None) -> BuildResult:
    """Build ``root``, printing one status line per step to ``out`` (see ``coroproj.driver.steps``)."""
    out = out if out is not None else sys.stdout
    command = build_command(root, backend, jobs, extra)
    started = time.time()
    environment = dict(os.environ)
    # The compiler driver must find the same coroproj that runs this build.
    package_parent = str(Path(__file__).resolve().parents[2])
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_parent, environment.get("PYTHONPATH", "")) if p
    )
    printer = StepPrinter(out, _dry_run(command, root, environment), verbose=verbose, quiet=quiet,
                          terminal=out.isatty())
    try:
        with subprocess.Popen(command, cwd=root, env=environment, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace", bufsize=1) as build:
            assert build.stdout is not None
            try:
                for line in build.stdout:
                    printer.line(line.rstrip("\n"))
            finally:
                printer.finish()
            status = build.wait()
    except FileNotFoundError as error:
        raise UserError(f"coroproj build: cannot run {command[0]}: {error.strerror}") from None
    return BuildResult(command, status, build_executables(root, backend, started))


def _dry_run(command: list[str], root: Path, environment: dict[str, str]) -> list[str]:
    """The commands the build is going to run (``-n``: nothing is run), for the steps' total.

    A dry run that fails says nothing of the steps: the build itself then
    runs with an unknown total (its failure is the real build's to report).
    """
    try:
        listed = subprocess.run([*command, "-n"], cwd=root, env=environment, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, errors="replace", check=False)
    except OSError:
        return []
    if listed.returncode != 0:
        return []
    # The tools' own remarks ("scons: `.' is up to date.") are not steps.
    return [line for line in listed.stdout.splitlines() if not _TOOL_REMARK.match(line)]


def build_executables(root: Path, backend: str, started: float) -> list[Path]:
    """The executables of this build.

    A project that builds each backend into ``build/<backend>/`` (the
    coroproj site tool's layout) has all of them there, whether this run
    rebuilt them or found them up to date; elsewhere only what this run
    wrote is known to be its output.
    """
    variant = root / "build" / backend
    if variant.is_dir():
        return executables_since(variant, 0.0)
    return executables_since(root, started)


def executables_since(root: Path, started: float) -> list[Path]:
    """ELF executables under ``root`` written at or after ``started``."""
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in _SKIPPED_DIRS]
        for name in files:
            path = Path(directory) / name
            try:
                stat = path.stat()
                if stat.st_mtime + 1 < started or not os.access(path, os.X_OK):
                    continue
                with path.open("rb") as handle:
                    if handle.read(4) != _ELF_MAGIC:
                        continue
            except OSError:
                continue
            found.append(path)
    return sorted(found)
