"""What ``coroproj fix`` and ``coroproj report`` cost: prints timings, asserts nothing.

Generates a project of N units in D directories; every unit defines a chain
of functions down to ``qemu_coroutine_yield`` and a header with their
prototypes, all written WITHOUT annotations.  Then, each timed R times
(median shown) on a fresh copy, with a warm summary cache unless said:

  check          coroproj check (the reference)
  fix --diff     analysis + planning, nothing written
  fix            analysis + edits written atomically + re-check (round 2 finds nothing)
  report         analysis + statistics + SQLite history + Markdown/HTML/JSON
  report GIT_REV the same plus the baseline revision analysed in a temporary
                 worktree (its summaries cached by the previous repetition)

Usage: python3 bench/fix_report.py [UNITS] [DIRECTORIES] [REPEAT]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from coroproj.cli import main  # noqa: E402
from tests.whole.trees import make_tree  # noqa: E402

CHAIN = 6  # functions per unit, each calling the next; the last one yields


def make_project(root: Path, units: int, directories: int) -> Path:
    files: dict[str, str] = {}
    for unit in range(units):
        folder = f"d{unit % directories}"
        names = [f"u{unit}_f{k}" for k in range(CHAIN)]
        header = '#include "compiler.h"\n' + "".join(f"int {n}(int x);\n" for n in names)
        body = [f'#include "u{unit}.h"\n']
        for k, name in enumerate(names):
            call = f"{names[k + 1]}(x + 1)" if k + 1 < CHAIN else "(qemu_coroutine_yield(), x)"
            body.append(f"\n/* step {k} */\nint {name}(int x)\n{{\n    return {call};\n}}\n")
        body.append(f"\nstatic int\nu{unit}_native(int x) {{ return x * 2; }}\n"
                     f"int u{unit}_entry(void) {{ return u{unit}_native(1); }}\n")
        files[f"include/u{unit}.h"] = header
        files[f"{folder}/u{unit}.c"] = "".join(body)
    make_tree(root, files)
    return root


def quietly(function: Callable[[], int]) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return function()


def timed(prepare: Callable[[], Path], action: Callable[[Path], int], repeat: int) -> tuple[float, int]:
    times, status = [], 0
    for _ in range(repeat):
        root = prepare()
        start = time.perf_counter()
        status = quietly(lambda root=root: action(root))
        times.append(time.perf_counter() - start)
    return statistics.median(times), status


def git(root: Path, *arguments: str) -> None:
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.org", *arguments],
                   cwd=root, check=True, capture_output=True)


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("units", nargs="?", type=int, default=40)
    parser.add_argument("directories", nargs="?", type=int, default=4)
    parser.add_argument("repeat", nargs="?", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coroproj-bench-") as scratch:
        pristine = make_project(Path(scratch) / "pristine", options.units, options.directories)
        (pristine / ".gitignore").write_text(".coroproj/\n")
        git(pristine, "init", "-q")
        git(pristine, "add", "-A")
        git(pristine, "commit", "-q", "-m", "unannotated")
        cache = Path(scratch) / "cache"
        common = ["-q", "-j", "2", "--cache-dir", str(cache)]

        def fresh() -> Path:
            # Same path every time: the summary cache keys (which name the files) stay valid.
            target = Path(scratch) / "work"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(pristine, target, symlinks=True)
            database = target / "compile_commands.json"
            database.write_text(database.read_text().replace(str(pristine), str(target)))
            return target

        quietly(lambda: main(["check", *common, str(fresh())]))  # warm the summary cache
        rows = [
            ("check", timed(fresh, lambda r: main(["check", *common, str(r)]), options.repeat)),
            ("fix --diff", timed(fresh, lambda r: main(["fix", *common, "--diff", str(r)]), options.repeat)),
            ("fix", timed(fresh, lambda r: main(["fix", *common, "--yes", str(r)]), options.repeat)),
            ("report", timed(fresh, lambda r: main(["report", *common, str(r), "--html", str(r / "r.html"),
                                                    "--format", "json"]), options.repeat)),
            ("report GIT_REV", timed(fresh, lambda r: main(["report", *common, str(r), "--baseline", "HEAD",
                                                            "--no-record", "--format", "json"]),
                                     options.repeat)),
        ]
    functions = options.units * (CHAIN + 2)
    print(f"units={options.units} directories={options.directories} functions={functions} "
          f"repeat={options.repeat} (median seconds, ratio to check)")
    reference = rows[0][1][0]
    for name, (seconds, status) in rows:
        print(f"{name:16s} {seconds:8.3f} s   x{seconds / reference:5.2f}   exit {status}")


if __name__ == "__main__":
    main_bench()
