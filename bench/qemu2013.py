"""QEMU 1.6's 2013 CPC port on coroproj's cpc backend: check, fix, build, test, measure.

    python3 bench/qemu2013.py MIRROR_OR_TREE [--work DIR] [--runs 3] [--callgrind]
                              [--iotests raw,qcow2] [--test-timeout 300] [--json FILE]

MIRROR_OR_TREE is a git directory of github:kerneis/qemu (its branch
``cpc`` is used) or an unpacked source tree of that branch.  In ``--work``
(default /tmp/qemu2013):

1. ``ucontext/``: the source, with coroproj's backend selected
   (``coroproj backend qemu-1.6``), configured for the ucontext backend and
   built with gcc once for its compile database (``make V=1``);
2. ``coroproj check`` (the 2013 port's bugs), ``coroproj fix --yes``, the
   edits fix leaves to a human (``bench/qemu2013/cpc-port-by-hand.patch``,
   README "QEMU 1.6 on the cpc backend"), ``fix --yes`` again and ``check`` (only the
   stack backend's trampoline left); then
   qemu-img, qemu-io, qemu-nbd and tests/test-coroutine of that tree;
3. ``cpc/``: the same sources configured ``--with-coroutine=cpc
   --cc="python3 -m coroproj cc --backend cpc"`` and built: every unit
   translated by coroproj, linked with its runtime;
4. ``tests/test-coroutine -m perf`` of both builds in one run, alternating
   (median of --runs), and with --callgrind the instructions per operation
   of a copy of the test with 100 times fewer iterations;
5. ``tests/qemu-iotests/check -FORMAT`` for each test of the ``auto`` group,
   one test at a time under a timeout, on both builds.

It cannot run in CI (the tree is fetched); what it relies on in coroproj is
tested on small cases (tests/driver/test_backend_qemu16.py, tests/fix,
tests/cps/programs/local_types.c).  Builds use -j2 at most.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PATCH = REPO / "bench" / "qemu2013" / "cpc-port-by-hand.patch"
CONFIGURE = ["--disable-system", "--disable-user", "--disable-docs", "--disable-werror",
             # qemu-common.h uses coroutine_fn before block/coroutine.h defines it (the port's own flag).
             "--extra-cflags=-Dcoroutine_fn='__attribute__((cps))'"]
TOOLS = ["qemu-img", "qemu-io", "qemu-nbd", "tests/test-coroutine"]
PERF = {  # test path: (message word, operations per run of the real test, of the 1/100 copy)
    "lifecycle": ("Lifecycle", 1_000_000, 10_000),
    "nesting": ("Nesting", 10_000 * 1000, 100 * 1000),
    "yield": ("Yield", 100_000_000, 1_000_000),
}
# The original CPC's callgrind instructions per operation on this kind of machine (CPS.md), pool on.
ORIGINAL_CPC = {"lifecycle": 427, "nesting": 914, "yield": 169}
# The sample project's cpc/ucontext ratios of ns per operation, pool on (docs/cpc-runtime.md).
SAMPLE_RATIOS = {"lifecycle": 6.5 / 44.8, "nesting": 12.0 / 6782, "yield": 5.4 / 43.8}


@dataclass
class Results:
    check_before: dict[str, int] = field(default_factory=dict)
    port_bugs: list[str] = field(default_factory=list)
    fix_edits: list[int] = field(default_factory=list)
    fix_left_for_a_human: int = 0
    check_after: dict[str, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    translated_units: int = 0
    perf_ns: dict[str, dict[str, float]] = field(default_factory=dict)
    instructions: dict[str, dict[str, float]] = field(default_factory=dict)
    iotests: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)


def log(message: str) -> None:
    print(f"[qemu2013] {message}", file=sys.stderr, flush=True)


def run(command: list[str] | str, cwd: Path, *, env: dict[str, str] | None = None, output: Path | None = None,
        check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    shell = isinstance(command, str)
    result = subprocess.run(command, cwd=cwd, env=env, shell=shell, text=True, timeout=timeout,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if output is not None:
        output.write_text(result.stdout)
    if check and result.returncode != 0:
        shown = command if shell else shlex.join(command)
        tail = "\n".join(result.stdout.splitlines()[-30:])
        raise SystemExit(f"qemu2013: failed ({result.returncode}) in {cwd}: {shown}\n{tail}")
    return result


def coroproj_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def python2() -> str:
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("pyenv") else ""
    candidates = [os.environ.get("PYTHON2"), shutil.which("python2.7"), shutil.which("python2")]
    if root:
        candidates += [str(path) for path in sorted(Path(root, "versions").glob("2.*/bin/python2"))]
    for candidate in candidates:
        # A pyenv shim exists even where no 2.x is the active version, and then fails: try it.
        if candidate and _runs_python2(candidate):
            return candidate
    raise SystemExit("qemu2013: QEMU 1.6's configure needs a python 2 (set PYTHON2)")


def _runs_python2(candidate: str) -> bool:
    try:
        probe = subprocess.run([candidate, "-c", "import sys; sys.exit(sys.version_info[0] != 2)"],
                               capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def unpack_source(origin: Path, destination: Path) -> None:
    """The cpc branch of a mirror (git dir), or a copy of a source tree."""
    if destination.exists():
        shutil.rmtree(destination)
    is_git = subprocess.run(["git", "--git-dir", str(origin), "rev-parse", "--verify", "-q", "cpc"],
                            capture_output=True).returncode == 0
    if is_git:
        destination.mkdir(parents=True)
        with tempfile.TemporaryFile() as archive:
            subprocess.run(["git", "--git-dir", str(origin), "archive", "cpc"], stdout=archive, check=True)
            archive.seek(0)
            with tarfile.open(fileobj=archive) as tar:
                tar.extractall(destination, filter="tar")
    else:
        shutil.copytree(origin, destination, symlinks=True, ignore=shutil.ignore_patterns(".git"))


def configure(tree: Path, backend: str) -> None:
    run("make distclean", tree, check=False)
    extra = [f"--python={python2()}", f"--with-coroutine={backend}"]
    if backend == "cpc":
        extra.append(f"--cc={sys.executable} -m coroproj cc --backend cpc")
    # An argument list, no shell: the quotes of -Dcoroutine_fn='...' are
    # configure's to keep (for make's shell).
    run(["./configure", *CONFIGURE, *extra], tree, env=coroproj_env(),
        output=tree / f"configure-{backend}.log")


def build(tree: Path, backend: str, jobs: int, targets: list[str]) -> Path:
    log_file = tree / f"build-{backend}.log"
    run(["make", f"-j{jobs}", "V=1", *targets], tree, env=coroproj_env(), output=log_file)
    return log_file


def compile_database(tree: Path, build_log: Path) -> int:
    """compile_commands.json from a V=1 build log: one entry per `cc ... -c x.c`."""
    entries = []
    for line in build_log.read_text().splitlines():
        if not line.startswith("cc ") or " -c " not in line:
            continue
        arguments = shlex.split(line)
        sources = [a for a in arguments if a.endswith(".c")]
        if len(sources) == 1:
            entries.append({"directory": str(tree), "arguments": arguments, "file": sources[0]})
    entries.sort(key=lambda e: e["file"])
    (tree / "compile_commands.json").write_text(json.dumps(entries, indent=1))
    return len(entries)


def coroproj_check(tree: Path, results_file: Path) -> dict:
    result = run([sys.executable, "-m", "coroproj", "check", "-q", "--format", "json",
                  "-o", str(results_file), str(tree)], tree, env=coroproj_env(), check=False)
    if result.returncode not in (0, 1):
        raise SystemExit(f"qemu2013: coroproj check failed:\n{result.stdout}")
    return json.loads(results_file.read_text())


def counts(report: dict) -> dict[str, int]:
    tally: dict[str, int] = {}
    for finding in report.get("findings", []):
        key = f"{finding['check']} ({finding['severity']})"
        tally[key] = tally.get(key, 0) + 1
    return dict(sorted(tally.items()))


def coroproj_fix(tree: Path, results: Results, output: Path) -> None:
    result = run([sys.executable, "-m", "coroproj", "fix", "--yes", str(tree)], tree, env=coroproj_env(),
                 check=False, output=output)
    if result.returncode not in (0, 1):
        raise SystemExit(f"qemu2013: coroproj fix failed:\n{result.stdout[-3000:]}")
    made = re.search(r"coroproj fix: (\d+) edit\(s\)", result.stdout)
    results.fix_edits.append(int(made.group(1)) if made else 0)
    left = re.search(r"(\d+) spot\(s\) left for a human", result.stdout)
    if len(results.fix_edits) == 1:
        results.fix_left_for_a_human = int(left.group(1)) if left else 0


def prepare(origin: Path, work: Path, jobs: int, results: Results) -> tuple[Path, Path]:
    ucontext, cpc = work / "ucontext", work / "cpc"
    log("unpacking the cpc branch")
    unpack_source(origin, ucontext)
    run([sys.executable, "-m", "coroproj", "backend", "qemu-1.6", str(ucontext)], ucontext,
        env=coroproj_env())
    log("configure + build (ucontext, gcc) for the compile database")
    configure(ucontext, "ucontext")
    results.units["ucontext"] = compile_database(ucontext, build(ucontext, "ucontext", jobs, TOOLS[:3]))
    log("coroproj check / fix --yes / by-hand patch / fix --yes / check")
    before = coroproj_check(ucontext, work / "check-before.json")
    results.check_before = counts(before)
    results.port_bugs = sorted({
        f"{f['file'].removeprefix(str(ucontext) + '/')}:{f['line']}: {f['function']}"
        for f in before["findings"] if f["check"] == "proto-mismatch"
        and "which its other declarations have" in f["message"]})
    coroproj_fix(ucontext, results, work / "fix-1.log")
    run(["patch", "-p1", "-i", str(PATCH)], ucontext, output=work / "patch.log")
    coroproj_fix(ucontext, results, work / "fix-2.log")
    results.check_after = counts(coroproj_check(ucontext, work / "check-after.json"))
    log("build (ucontext) of the fixed tree")
    build(ucontext, "ucontext", jobs, TOOLS)
    log("build (cpc, coroproj cc) of the same sources")
    if cpc.exists():
        shutil.rmtree(cpc)
    shutil.copytree(ucontext, cpc, symlinks=True)
    configure(cpc, "cpc")
    cpc_log = build(cpc, "cpc", jobs, TOOLS)
    results.translated_units = sum(1 for line in cpc_log.read_text().splitlines()
                                   if " -m coroproj cc --backend cpc " in line and " -c " in line)
    return ucontext, cpc


def perf_copy(tree: Path, backend: str) -> Path:
    """tests/test-coroutine-small: the perf test with 100 times fewer iterations, linked like the real one."""
    source = (tree / "tests" / "test-coroutine.c").read_text()
    for real, small in (("max = 1000000;", "max = 10000;"), ("maxcycles = 10000;", "maxcycles = 100;"),
                        ("maxcycles = 100000000;", "maxcycles = 1000000;")):
        source = source.replace(real, small)
    (tree / "tests" / "test-coroutine-small.c").write_text(source)
    run(["make", "V=1", "tests/test-coroutine-small.o"], tree, env=coroproj_env())
    logs = sorted(tree.glob(f"build-{backend}*.log"), key=lambda p: p.stat().st_mtime)
    link = next(line for log_file in reversed(logs) for line in reversed(log_file.read_text().splitlines())
                if "-o tests/test-coroutine " in line)
    link = link.replace("-o tests/test-coroutine ", "-o tests/test-coroutine-small ").replace(
        "tests/test-coroutine.o", "tests/test-coroutine-small.o")
    run(link, tree, env=coroproj_env())
    return tree / "tests" / "test-coroutine-small"


def measure_perf(trees: dict[str, Path], runs: int, results: Results) -> None:
    samples: dict[str, dict[str, list[float]]] = {b: {t: [] for t in PERF} for b in trees}
    for index in range(runs):
        for test, (word, operations, _small) in PERF.items():
            for backend, tree in trees.items():  # alternating: the machine's drift hits both
                out = run([str(tree / "tests" / "test-coroutine"), "-m", "perf", "-p", f"/perf/{test}"], tree,
                          timeout=1800).stdout
                seconds = float(re.search(rf"{word} .*: ([0-9.]+) s", out).group(1))
                samples[backend][test].append(seconds * 1e9 / operations)
        log(f"perf run {index + 1}/{runs}")
    results.perf_ns = {b: {t: statistics.median(v) for t, v in tests.items()} for b, tests in samples.items()}


def measure_instructions(trees: dict[str, Path], results: Results) -> None:
    for backend, tree in trees.items():
        binary = perf_copy(tree, backend)
        results.instructions[backend] = {}
        for test, (_word, _operations, operations) in PERF.items():
            with tempfile.TemporaryDirectory() as scratch:
                out = run(["valgrind", "--tool=callgrind", f"--toggle-collect=perf_{test}",
                           f"--callgrind-out-file={scratch}/out", str(binary), "-m", "perf", "-p",
                           f"/perf/{test}"], tree, timeout=3600).stdout
            collected = int(re.search(r"Collected : (\d+)", out).group(1))
            results.instructions[backend][test] = collected / operations
        log(f"callgrind {backend} done")


def auto_tests(tree: Path) -> list[str]:
    lines = (tree / "tests" / "qemu-iotests" / "group").read_text().splitlines()
    return [line.split()[0] for line in lines if re.match(r"^\d{3}\s", line) and "auto" in line.split()[1:]]


def run_iotests(trees: dict[str, Path], formats: list[str], timeout: float, results: Results,
                scratch: Path) -> None:
    # The tests' helper scripts (qcow2.py...) are `#!/usr/bin/env python`, python 2.
    python_dir = scratch / "python2-as-python"
    python_dir.mkdir(parents=True, exist_ok=True)
    if not (python_dir / "python").exists():
        (python_dir / "python").symlink_to(python2())
    for backend, tree in trees.items():
        directory = tree / "tests" / "qemu-iotests"
        env = {**os.environ, "QEMU_IMG_PROG": str(tree / "qemu-img"), "QEMU_IO_PROG": str(tree / "qemu-io"),
               "QEMU_NBD_PROG": str(tree / "qemu-nbd"), "QEMU_PROG": str(tree / "no-system-emulator-built"),
               "PATH": f"{python_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        for fmt in formats:
            outcome: dict[str, str] = {}
            for test in auto_tests(tree):
                out = _check_one(directory, env, fmt, test, timeout)
                if out is None:
                    outcome[test] = "hang"
                    continue
                if "Not run:" in out:
                    outcome[test] = "not run"
                elif "Passed all" in out:
                    outcome[test] = "pass"
                else:
                    outcome[test] = "fail"
            results.iotests.setdefault(backend, {})[fmt] = outcome
            log(f"iotests {backend} -{fmt}: " + ", ".join(
                f"{sum(1 for v in outcome.values() if v == kind)} {kind}"
                for kind in ("pass", "fail", "not run", "hang")))


def _check_one(directory: Path, env: dict[str, str], fmt: str, test: str, timeout: float) -> str | None:
    """The output of one iotest, or None when it outlived the timeout (killed then, children too)."""
    process = subprocess.Popen(["./check", f"-{fmt}", test], cwd=directory, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        return process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        # The test's qemu-io / qemu-nbd are in the session the check started.
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None


def print_tables(results: Results) -> None:
    print("## coroproj check / fix on the 2013 port (ucontext compile database)\n")
    print(f"units: {results.units.get('ucontext', 0)}; findings before: {sum(results.check_before.values())}"
          f" {results.check_before}")
    print("prototype/definition disagreements (annotated at the definition only):")
    for bug in results.port_bugs:
        print(f"  {bug}")
    print(f"fix --yes: {results.fix_edits[0] if results.fix_edits else 0} edits, "
          f"{results.fix_left_for_a_human} spots left for a human; after the by-hand patch, fix --yes: "
          f"{results.fix_edits[1] if len(results.fix_edits) > 1 else 0} edits; findings after: "
          f"{sum(results.check_after.values())} {results.check_after}")
    print(f"cpc build: {results.translated_units} units compiled by coroproj cc\n")
    if results.perf_ns:
        print("## tests/test-coroutine -m perf, ns per operation (median), pool on\n")
        print("| test | ucontext | cpc | cpc/ucontext | sample project's cpc/ucontext |")
        print("|---|---|---|---|---|")
        for test in PERF:
            uc, cpc = results.perf_ns["ucontext"][test], results.perf_ns["cpc"][test]
            print(f"| {test} | {uc:,.1f} | {cpc:,.1f} | {cpc / uc:.3f} | {SAMPLE_RATIOS[test]:.3f} |")
        print()
    if results.instructions:
        print("## callgrind instructions per operation\n")
        print("| test | ucontext | cpc | original CPC (pool on) |")
        print("|---|---|---|---|")
        for test in PERF:
            print(f"| {test} | {results.instructions['ucontext'][test]:,.0f} | "
                  f"{results.instructions['cpc'][test]:,.0f} | {ORIGINAL_CPC[test]} |")
        print()
    for fmt in sorted({f for by_format in results.iotests.values() for f in by_format}):
        print(f"## qemu-iotests -{fmt}\n")
        for backend, by_format in results.iotests.items():
            outcome = by_format.get(fmt, {})
            for kind in ("pass", "fail", "not run", "hang"):
                tests = [t for t, v in outcome.items() if v == kind]
                print(f"{backend} {kind} ({len(tests)}): {' '.join(tests)}")
        uc = results.iotests.get("ucontext", {}).get(fmt, {})
        cpc = results.iotests.get("cpc", {}).get(fmt, {})
        regressions = [t for t, v in uc.items() if v == "pass" and cpc.get(t) != "pass"]
        print(f"passing on ucontext but not on cpc: {' '.join(regressions) or 'none'}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("origin", metavar="MIRROR_OR_TREE", type=Path)
    parser.add_argument("--work", type=Path, default=Path("/tmp/qemu2013"))
    parser.add_argument("--jobs", type=int, default=2, help="make -j (at most 2 on the shared machines)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--iotests", default="raw,qcow2", help="formats, comma-separated ('' for none)")
    parser.add_argument("--test-timeout", type=float, default=300)
    parser.add_argument("--reuse", action="store_true", help="use the builds already in --work")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = Results()
    if args.reuse and (args.work / "results.json").exists():
        results = Results(**json.loads((args.work / "results.json").read_text()))
        trees = {"ucontext": args.work / "ucontext", "cpc": args.work / "cpc"}
    else:
        ucontext, cpc = prepare(args.origin.resolve(), args.work, min(args.jobs, 2), results)
        trees = {"ucontext": ucontext, "cpc": cpc}
    (args.work / "results.json").write_text(json.dumps(asdict(results), indent=1))
    if args.runs:
        measure_perf(trees, args.runs, results)
    if args.callgrind:
        measure_instructions(trees, results)
    formats = [f for f in args.iotests.split(",") if f]
    if formats:
        run_iotests(trees, formats, args.test_timeout, results, args.work)
    (args.work / "results.json").write_text(json.dumps(asdict(results), indent=1))
    if args.json:
        args.json.write_text(json.dumps(asdict(results), indent=1))
    print_tables(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
