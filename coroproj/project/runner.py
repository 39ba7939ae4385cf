"""Run one function over many compile jobs in parallel, never losing the run to one job.

``run_jobs(work, jobs, workers=N)`` applies ``work(job)`` in a process pool
and returns every result and every failure in the order of ``jobs``:

- ``UserError`` / ``SourceError`` from a job is an ordinary failure (a parse
  error, a missing header) with its message;
- any other exception is a bug in coroproj, but it still only fails that job:
  it is reported as an internal error with the traceback kept for debugging;
- a worker process that dies (a crash, ``os._exit``, the OOM killer) breaks
  the pool; the jobs that were in flight are then retried one per fresh
  process, so only the job that really kills its process fails.

``work`` and the jobs must be picklable (a module-level function).  With one
worker everything runs in this process, which is what a debugger wants.
A rich progress bar is shown on a terminal unless ``quiet``; otherwise
nothing is printed, so CI logs stay clean.
"""

from __future__ import annotations

import gc
import os
import signal
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from coroproj.errors import UserError

JobT = TypeVar("JobT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class JobFailure(Generic[JobT]):
    job: JobT
    message: str  # one or more lines, ready to show the user
    internal: bool = False  # True for a bug in coroproj or a crashed worker
    details: str = ""  # the traceback of an internal error


@dataclass
class RunResult(Generic[JobT, ResultT]):
    """Outcome of a run, both lists in the order the jobs were given."""

    results: list[tuple[JobT, ResultT]] = field(default_factory=list)
    failures: list[JobFailure[JobT]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class _Outcome(Generic[ResultT]):
    """What a worker sends back; exceptions never cross the process boundary raw."""

    value: ResultT | None = None
    failure: str | None = None
    internal: bool = False
    details: str = ""


def _run_one(work: Callable[[JobT], ResultT], job: JobT) -> _Outcome[ResultT]:
    try:
        return _Outcome(value=work(job))
    except UserError as error:  # SourceError included: already "file:line:col: error: ..."
        return _Outcome(failure=str(error))
    except Exception as error:  # a bug must not end the whole run
        return _Outcome(
            failure=f"internal error: {type(error).__name__}: {error}",
            internal=True,
            details=traceback.format_exc(),
        )


def run_jobs(
    work: Callable[[JobT], ResultT],
    jobs: Sequence[JobT],
    *,
    workers: int | None = None,
    quiet: bool = False,
    description: str = "Analysing",
    describe: Callable[[JobT], str] = str,
    console: Console | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> RunResult[JobT, ResultT]:
    """Apply ``work`` to every job (``workers`` processes; default: all CPUs).

    ``meanwhile`` is called in this process while the worker processes run
    (before the jobs, when they run here): work of its own that overlaps theirs.
    """
    workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    console = console or Console(stderr=True)
    outcomes: dict[int, _Outcome[ResultT]] = {}
    progress = _Progress(console, _wants_progress(console, quiet), description, len(jobs))
    try:
        if workers == 1 or not jobs:
            if meanwhile is not None:
                meanwhile()
            progress.start()
            for position, job in enumerate(jobs):
                outcomes[position] = _run_one(work, job)
                progress.advance(describe(job))
        else:
            _run_in_pool(work, jobs, min(workers, len(jobs)), outcomes, progress, describe, meanwhile)
    finally:
        progress.stop()
    run: RunResult[JobT, ResultT] = RunResult()
    for position, job in enumerate(jobs):
        outcome = outcomes[position]
        if outcome.failure is None:
            run.results.append((job, outcome.value))  # type: ignore[arg-type]
        else:
            run.failures.append(JobFailure(job, outcome.failure, outcome.internal, outcome.details))
    return run


def _run_in_pool(
    work: Callable[[JobT], ResultT],
    jobs: Sequence[JobT],
    workers: int,
    outcomes: dict[int, _Outcome[ResultT]],
    progress: _Progress,
    describe: Callable[[JobT], str],
    meanwhile: Callable[[], object] | None,
) -> None:
    orphaned: list[int] = []  # jobs whose worker pool broke under them
    with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker) as pool:
        futures: dict[Future[_Outcome[ResultT]], int] = {
            pool.submit(_run_one, work, job): position for position, job in enumerate(jobs)
        }
        # Workers are forked by now; the bar's refresh thread starts only after,
        # so no child inherits a lock that thread might hold.
        progress.start()
        try:
            if meanwhile is not None:
                meanwhile()
            for future in as_completed(futures):
                position = futures[future]
                try:
                    outcomes[position] = future.result()
                except BrokenProcessPool:
                    orphaned.append(position)
                    continue
                except Exception as error:  # e.g. a result that cannot be pickled
                    outcomes[position] = _Outcome(
                        failure=f"internal error: {type(error).__name__}: {error}",
                        internal=True,
                        details="".join(traceback.format_exception(error)),
                    )
                progress.advance(describe(jobs[position]))
        except KeyboardInterrupt:
            # Stop now, not when the units in flight are done: the workers are
            # killed (every cache write is a rename or a SQLite transaction, so
            # an interrupted one leaves nothing half-written behind).
            workers_running = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)  # forgets its processes
            for process in workers_running:
                process.kill()
            raise
    # Which orphan killed the pool is unknown: give each its own process.
    if orphaned:
        progress.stop()
    for position in sorted(orphaned):
        outcomes[position] = _run_isolated(work, jobs[position])
        progress.advance(describe(jobs[position]))


def _start_worker() -> None:
    # Ctrl-C reaches the whole process group: the parent alone decides what
    # to do, so workers print no traceback of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Like the parent (``cli.collector_paused``), a worker runs without the
    # cyclic collector.  It keeps millions of objects alive from one unit to
    # the next (the header parses of ``frontend.segments``), which every
    # collection would scan to free nothing (a quarter of a cold run on
    # QEMU), and the code it runs leaves no cycles behind: the parser and the
    # walkers break their own, so reference counting frees each unit's garbage.
    gc.disable()


def _run_isolated(work: Callable[[JobT], ResultT], job: JobT) -> _Outcome[ResultT]:
    with ProcessPoolExecutor(max_workers=1, initializer=_start_worker) as pool:
        try:
            return pool.submit(_run_one, work, job).result()
        except BrokenProcessPool:
            return _Outcome(
                failure="internal error: the worker process died while analysing this unit",
                internal=True,
            )
        except Exception as error:
            return _Outcome(failure=f"internal error: {type(error).__name__}: {error}", internal=True)


class _Progress:
    """A rich progress bar on a terminal; nothing otherwise."""

    def __init__(self, console: Console, enabled: bool, description: str, total: int) -> None:
        self._bar: Progress | None = None
        self._task = None
        if enabled:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[current]}", style="dim"),
                console=console,
                transient=True,
            )
            self._task = self._bar.add_task(description, total=total, current="")

    def advance(self, label: str) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, current=label)

    def start(self) -> None:
        if self._bar is not None and not self._bar.live.is_started:
            self._bar.start()

    def stop(self) -> None:
        if self._bar is not None and self._bar.live.is_started:
            self._bar.stop()


def _wants_progress(console: Console, quiet: bool) -> bool:
    return not quiet and console.is_terminal and not console.is_dumb_terminal


def format_failures(failures: Sequence[JobFailure[object]], *, debug: bool = False) -> str:
    """The failures as text for the user (tracebacks of internal errors with ``debug``)."""
    lines: list[str] = []
    for failure in failures:
        lines.append(failure.message)
        if failure.internal:
            if debug and failure.details:
                lines.append(failure.details.rstrip())
            else:
                lines.append(f"  (while processing {failure.job}; this is a bug in coroproj)")
    return "\n".join(lines)


__all__ = ["JobFailure", "RunResult", "format_failures", "run_jobs"]
