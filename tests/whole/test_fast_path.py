"""The fast path of a whole-project check gives exactly the plain path's result.

The fast path shares header parses and walks between the units of a worker
(``frontend.segments``, ``analysis.summarize``), keeps them on disk for later
runs (``frontend.segment_store``), drops the function bodies of kept headers
and parses them again when a unit needs them, and replays unchanged units
from the summary cache and its snapshot.  The plain path summarises every
unit on its own, from its whole text.  On a tree made of the cases where
sharing could go wrong, both must give the same findings and the same
function list, byte for byte, cold, warm and after edits.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from coroproj.analysis.pipeline import AnalysisOptions, analyse, preprocess_unit, summarize_text
from coroproj.project.compile_db import load_compile_database
from tests.whole.trees import make_tree

# `(T)(q)` is a cast where T names a type and a call where T is an object.
AMBIGUOUS_H = """\
#ifndef AMBIGUOUS_H
#define AMBIGUOUS_H
static inline int ambiguous(int q) { return (T)(q); }
#endif
"""

# One header, two configurations: FAST makes its inline wait yield.
CONFIG_H = """\
#ifndef CONFIG_H
#define CONFIG_H
#include "compiler.h"
#ifdef FAST
static inline void coroutine_fn settle(void) { qemu_coroutine_yield(); }
#else
static inline void settle(void) { }
#endif
#endif
"""

# A header with a static inline coroutine function, and a typedef-heavy API.
CO_H = """\
#ifndef CO_H
#define CO_H
#include "compiler.h"
typedef struct Job Job;
typedef void coroutine_fn JobFn(Job *job);
struct Job { JobFn *run; int id; };
static inline void coroutine_fn co_wait(Job *job) { (void)job; qemu_coroutine_yield(); }
static inline void job_step(Job *job) { job->run(job); }
void coroutine_fn job_yield(Job *job);
void job_done(Job *job);
void on_ready(Job *job);
/* A mismatch or not, as the unit's later declarations of on_ready say
   (only u11 sees no coroutine_fn on it). */
static inline void arm(Job *job) { job->run = on_ready; }
#endif
"""

# Included inside a function body.
BODY_INC = """\
    int total = 0;
    for (int i = 0; i < n; i++)
        total += i;
"""


def _unit(number: int) -> str:
    # T names a type, except in u11, where it is a coroutine function pointer.
    prelude = "int (coroutine_fn *T)(int);" if number == 11 else "typedef int T;"
    yields = "co_wait(job);" if number % 2 else "job_yield(job);"
    return f"""\
        #include "compiler.h"
        {prelude}
        #include "ambiguous.h"
        #include "co.h"
        #include "config.h"
        int sum{number}(int n)
        {{
        #include "body.inc"
            return total + ambiguous(n);
        }}
        void {"coroutine_fn " if number % 4 else ""}step{number}(Job *job)
        {{
            {yields}
            settle();
        }}
        void run{number}(Job *job) {{ step{number}(job); job_step(job); }}
        static void coroutine_fn idle{number}(void) {{ }}
        void native{number}(Job *job) {{ (void)job; }}
        Job make{number}(void)
        {{
            Job job = {{ {"native" if number % 5 == 0 else "step"}{number}, {number} }};
            return job;
        }}
        void *keep{number}(void) {{ return (void *)idle{number}; }}
        {"void coroutine_fn job_done(Job *job) { co_wait(job); }" if number == 0 else ""}
        {"void coroutine_fn on_ready(Job *job);" if number != 11 else ""}
        """


def _tree(root: Path, units: int = 12) -> Path:
    files = {f"u{n}.c": _unit(n) for n in range(units)}
    files |= {"ambiguous.h": AMBIGUOUS_H, "config.h": CONFIG_H, "co.h": CO_H, "body.inc": BODY_INC}
    make_tree(root, files)
    # Every other unit is compiled with FAST: the same header, two texts.
    database = root / "compile_commands.json"
    entries = json.loads(database.read_text())
    for number, entry in enumerate(entries):
        entry["arguments"][1:1] = ["-I."] + (["-DFAST"] if number % 2 else [])
    database.write_text(json.dumps(entries, indent=1))
    return root


def _plain(root: Path) -> tuple[str, str]:
    """Findings and functions as JSON text, every unit summarised alone from its whole text."""
    options = AnalysisOptions()
    summaries = []
    for job in load_compile_database(root / "compile_commands.json").jobs:
        text = preprocess_unit(job.file, job.flags, options, cwd=job.directory, compiler=job.compiler)
        summaries.append(summarize_text(text, str(job.file), options, unit=job.key))
    analysis = analyse(summaries, options)
    functions = sorted(
        (symbol, sorted(function.kinds), analysis.program.should_be_coroutine(symbol))
        for symbol, function in analysis.program.functions.items()
        if not function.indirect
    )
    return json.dumps([f.to_json() for f in analysis.findings]), json.dumps(functions)


def _fast(root: Path, coroproj_json) -> tuple[str, str]:
    status, data = coroproj_json("-j", "2", "-q", cwd=root)
    assert status in (0, 1)
    functions = sorted(
        (entry["symbol"], entry["written"], entry["inferred"] == "coroutine") for entry in data["functions"]
    )
    return json.dumps(data["findings"]), json.dumps(functions)


def test_the_fast_path_equals_the_plain_path_cold_warm_and_after_edits(tmp_path: Path, coroproj_json) -> None:
    root = _tree(tmp_path)
    expected = _plain(root)
    checks = {finding["check"] for finding in json.loads(expected[0])}
    assert {"missing", "pointer-mismatch", "proto-mismatch"} <= checks, checks
    assert _fast(root, coroproj_json) == expected  # cold: headers shared between the units of a worker
    assert _fast(root, coroproj_json) == expected  # warm: the report replayed
    (root / "u5.c").write_text((root / "u5.c").read_text() + "void extra5(Job *job) { co_wait(job); }\n")
    expected = _plain(root)
    assert _fast(root, coroproj_json) == expected  # one unit again, its headers from the store
    # A header every unit includes: all of them again, the kept walks no longer holding.
    co_h = root / "co.h"
    co_h.write_text(co_h.read_text().replace("int id;", "int id; int flags;"))
    os.utime(co_h, (1, 1))  # an older timestamp than before: the content decides
    expected = _plain(root)
    assert _fast(root, coroproj_json) == expected
