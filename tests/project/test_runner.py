"""Running work over jobs in a process pool: order, failures, crashes, progress."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from coroproj.errors import SourceError, SourceSpot, UserError
from coroproj.project.runner import format_failures, run_jobs


def square_or_fail(job: int) -> object:
    """Module level so the pool can pickle it."""
    if job == 3:
        raise UserError("unit 3: cannot run the preprocessor")
    if job == 5:
        raise SourceError(SourceSpot("five.c", 12, 4), "expected ';'")
    if job == 7:
        raise KeyError("oops")
    if job == 9:
        os._exit(17)  # the worker dies: the pool breaks
    if job == 11:
        return threading.Lock()  # cannot be sent back to the parent
    return job * job


def quiet_console() -> Console:
    return Console(file=io.StringIO(), force_terminal=False)


@pytest.mark.parametrize("workers", [1, 2])
def test_results_in_job_order_and_failures_reported(workers: int) -> None:
    jobs = [4, 3, 2, 5, 1, 7, 0]
    run = run_jobs(square_or_fail, jobs, workers=workers, console=quiet_console())
    assert run.results == [(4, 16), (2, 4), (1, 1), (0, 0)]
    assert [failure.job for failure in run.failures] == [3, 5, 7]
    user, source, bug = run.failures
    assert (user.message, user.internal) == ("unit 3: cannot run the preprocessor", False)
    assert source.message == "five.c:12:4: error: expected ';' [coroproj-parse-error]"
    assert not source.internal
    assert bug.internal
    assert bug.message == "internal error: KeyError: 'oops'"
    assert "square_or_fail" in bug.details  # the traceback is kept for --debug
    assert not run.ok


def test_a_dying_worker_fails_only_its_own_job() -> None:
    jobs = [1, 9, 2, 4, 6, 8, 10, 12]
    run = run_jobs(square_or_fail, jobs, workers=2, console=quiet_console())
    assert [job for job, _ in run.results] == [1, 2, 4, 6, 8, 10, 12]
    assert [result for _, result in run.results] == [1, 4, 16, 36, 64, 100, 144]
    [died] = run.failures
    assert died.job == 9 and died.internal
    assert "worker process died" in died.message


def job_and_process(job: int) -> tuple[int, int]:
    return job, os.getpid()


def test_a_worker_past_its_memory_limit_is_replaced_between_jobs() -> None:
    jobs = list(range(6))
    # Every worker is past 0 MB after its first job: each job gets a fresh process.
    run = run_jobs(job_and_process, jobs, workers=2, console=quiet_console(), retire_above_mb=0)
    assert [result[0] for _, result in run.results] == jobs and run.ok
    assert len({pid for _, (_, pid) in run.results}) == len(jobs)
    # Without a limit the two workers take every job between them.
    run = run_jobs(job_and_process, jobs, workers=2, console=quiet_console())
    assert [result[0] for _, result in run.results] == jobs
    assert len({pid for _, (_, pid) in run.results}) <= 2
    assert os.getpid() not in {pid for _, (_, pid) in run.results}


def test_unpicklable_result_is_an_internal_failure() -> None:
    run = run_jobs(square_or_fail, [11, 2], workers=2, console=quiet_console())
    assert run.results == [(2, 4)]
    [failure] = run.failures
    assert failure.job == 11 and failure.internal


def test_all_good_run_is_ok() -> None:
    run = run_jobs(square_or_fail, list(range(3)), workers=2, console=quiet_console())
    assert run.ok and [value for _, value in run.results] == [0, 1, 4]


def test_no_output_when_not_a_terminal_or_quiet() -> None:
    plain = quiet_console()
    run_jobs(square_or_fail, [1, 2, 4], workers=2, console=plain)
    assert plain.file.getvalue() == ""  # type: ignore[attr-defined]
    terminal = Console(file=io.StringIO(), force_terminal=True)
    run_jobs(square_or_fail, [1, 2, 4], workers=2, console=terminal, quiet=True)
    assert terminal.file.getvalue() == ""  # type: ignore[attr-defined]


def test_progress_bar_on_a_terminal() -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100)
    run_jobs(square_or_fail, [1, 2], workers=1, console=terminal, description="Summarising")
    assert "Summarising" in terminal.file.getvalue()  # type: ignore[attr-defined]


def test_format_failures_hides_tracebacks_unless_debugging() -> None:
    run = run_jobs(square_or_fail, [3, 7], workers=1, console=quiet_console())
    short = format_failures(run.failures)
    assert "unit 3: cannot run the preprocessor" in short
    assert "this is a bug in coroproj" in short
    assert "Traceback" not in short
    assert "Traceback" in format_failures(run.failures, debug=True)


INTERRUPTED_RUN = """
import sys, time
from coroproj.project.runner import run_jobs

def slow(job):
    time.sleep(60)
    return job

if __name__ == "__main__":
    try:
        run_jobs(slow, list(range(8)), workers=2, quiet=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
"""


def test_ctrl_c_stops_the_run_without_waiting_for_the_units_in_flight(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(INTERRUPTED_RUN)
    process = subprocess.Popen(
        [sys.executable, str(script)], start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)  # the workers are busy with their 60-second units
    sent = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and stdout.strip() == "interrupted", stderr
    assert time.monotonic() - sent < 10, "the run waited for the units in flight"
    assert "Traceback" not in stderr  # the workers leave the interrupt to the parent


def wait_for_file(job: str) -> str:
    """Finishes only once the parent's ``meanwhile`` has created the file."""
    deadline = time.monotonic() + 30
    while not Path(job).exists():
        if time.monotonic() > deadline:
            return "never saw it"
        time.sleep(0.01)
    return "saw it"


def test_meanwhile_runs_here_while_the_workers_run(tmp_path: Path) -> None:
    # Even for one job: the worker waits for what the parent does meanwhile.
    flag = tmp_path / "flag"
    calls: list[int] = []

    def meanwhile() -> None:
        calls.append(os.getpid())
        flag.touch()

    run = run_jobs(wait_for_file, [str(flag)], workers=2, console=quiet_console(), meanwhile=meanwhile)
    assert run.results == [(str(flag), "saw it")] and calls == [os.getpid()]
    calls.clear()
    run = run_jobs(square_or_fail, [2], workers=1, console=quiet_console(), meanwhile=meanwhile)
    assert run.results == [(2, 4)] and len(calls) == 1
    run = run_jobs(square_or_fail, [], workers=2, console=quiet_console(), meanwhile=meanwhile)
    assert run.results == [] and len(calls) == 2
