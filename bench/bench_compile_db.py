"""Loading speed of a large compilation database: prints timings, asserts nothing.

Usage: python3 bench/bench_compile_db.py [ENTRIES]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from coroproj.project.compile_db import load_compile_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entries", nargs="?", type=int, default=20000, help="database entries")
    entries = parser.parse_args().entries
    with tempfile.TemporaryDirectory(prefix="coroproj-bench-") as scratch:
        root = Path(scratch)
        # Shaped like a QEMU build: long command lines, a few configurations per file.
        flags = " ".join(f"-I../include/sub{n} -DCONFIG_OPTION_{n}=1" for n in range(40))
        database = [
            {
                "directory": str(root / "build"),
                "command": f"ccache cc -m64 -std=gnu11 -O2 -g -Wall -MD -MQ o{n}.o -MF o{n}.d "
                f"{flags} -DVARIANT={n % 3} -o o{n}.o -c ../src/file{n // 3}.c",
                "file": f"../src/file{n // 3}.c",
            }
            for n in range(entries)
        ]
        path = root / "compile_commands.json"
        path.write_text(json.dumps(database))
        start = time.perf_counter()
        loaded = load_compile_database(path)
        elapsed = time.perf_counter() - start
    print(
        f"entries={entries} jobs={len(loaded.jobs)} load {elapsed:.3f} s "
        f"({elapsed / entries * 1e6:.1f} us/entry)"
    )


if __name__ == "__main__":
    main()
