"""A synthetic report of any size: stored runs, findings over files with their sources.

Used by the browser tests (small) and by bench/report_page.py (hundreds of
findings over a hundred files).  Deterministic: the same arguments give the
same report.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter

from coroproj.history.compare import compare, describe
from coroproj.history.report import Report
from coroproj.history.statistics import COUNTERS, TOTAL, Statistics
from coroproj.history.store import FindingRecord, Run, streak_starts

CHECKS = (("missing", "warning"), ("proto-mismatch", "warning"), ("spurious", "note"),
          ("wrong-context", "error"), ("suspicious-call", "warning"))


def source_of(functions: list[str], lines_per_function: int) -> str:
    """C text defining ``functions``, each ``lines_per_function`` lines long, with a <, & and a tag."""
    text = ["/* A synthetic unit: <generated> & not compiled. */", "#include \"qemu-common.h\"", ""]
    for name in functions:
        text.append(f"int {name}(int key)")
        text.append("{")
        text.extend(f"    key = key < {i} ? key & {i} : key + {i};" for i in range(lines_per_function - 4))
        text.append("    return key;")
        text.append("}")
    return "\n".join(text) + "\n"


def finding(check: str, severity: str, file: str, line: int, function: str,
            chain: list[dict] | None = None) -> FindingRecord:
    return FindingRecord(fingerprint=f"{check}:{function}:{file}", check=check, function=function, file=file,
                         line=line, column=5, severity=severity, message=f"{function}: {check} <here>",
                         chain=chain or [])


def statistics(findings: int, annotations: int) -> Statistics:
    total = dict.fromkeys(COUNTERS, 0)
    total.update(coroutine_h=annotations, coroutine_c=annotations // 3, findings=findings,
                 missing=findings // 2, spurious=findings // 5, functions=annotations * 10)
    return Statistics(rows={"block": dict(total), TOTAL: total}, checks={TOTAL: {"missing": findings}})


def synthetic_report(findings: int, files: int, runs: int, *, lines_per_function: int = 30,
                     seed: int = 14) -> Report:
    """``runs`` stored nightly runs; the last has ``findings`` findings over ``files`` files.

    About a tenth of the findings are new in the last run and as many of the
    previous run's are fixed; the rest persist, first seen on various nights.
    """
    rng = random.Random(seed)
    directories = ("block", "hw", "util", "migration", "net")
    names = [f"{directories[i % len(directories)]}/unit{i:03d}.c" for i in range(files)]
    per_file = max(1, -(-findings // files) + 1)
    functions = {name: [f"fn_{i:03d}_{j}" for j in range(per_file)] for i, name in enumerate(names)}
    sources = {name: source_of(functions[name], lines_per_function) for name in names}

    def record(index: int) -> FindingRecord:
        file = names[index % files]
        j = (index // files) % per_file
        check, severity = CHECKS[index % len(CHECKS)]
        line = 4 + j * lines_per_function
        callee_file = names[(index + 1) % files]
        chain = [{"caller": functions[file][j], "callee": functions[callee_file][0], "file": file,
                  "line": line + 5, "column": 9, "why": ""},
                 {"caller": functions[callee_file][0], "callee": "qemu_coroutine_yield", "file": callee_file,
                  "line": 9, "column": 5, "why": "annotated coroutine_fn"}] if check == "missing" else []
        return finding(check, severity, file, line, functions[file][j], chain)

    fresh = max(1, findings // 10)
    history = []
    for number in range(1, runs + 1):
        count = findings - fresh if number < runs else findings
        start = fresh if number == runs else 0  # the last run loses the first `fresh`, gains new ones
        indices = range(start, start + count) if number == runs else range(count + fresh)
        run_findings = [record(i) for i in indices if number == runs or i < fresh
                        or rng.random() < 0.5 + number / (2 * runs)]
        day = datetime.date(2026, 11, 1) + datetime.timedelta(days=number - 1)
        created = f"{day.isoformat()}T02:00:00+00:00"
        history.append(Run(number, created, f"{number:07x}abc", "master",
                           statistics(len(run_findings), 80 + number), run_findings, "nightly"))
    streaks = streak_starts((run.id or 0, run.created, Counter(f.fingerprint for f in run.findings))
                            for run in reversed(history[:-1]))
    current, baseline = history[-1], history[-2] if runs > 1 else None
    comparison = compare(current, baseline, describe(baseline)) if baseline else None
    return Report(current, comparison, history, None if baseline else "The first run.", streaks, sources)
