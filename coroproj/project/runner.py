"""Run one function over many compile jobs in parallel, never losing the run to one job.

``run_jobs(work, jobs, workers=N)`` applies ``work(job)`` in a process pool
and returns every result and every failure in the order of ``jobs``:

- ``UserError`` / ``SourceError`` from a job is an ordinary failure (a parse
  error, a missing header) with its message;
- any other exception is a bug in coroproj, but it still only fails that job:
  it is reported as an internal error with the traceback kept for debugging;
- a worker process that dies (a crash, ``os._exit``, the OOM killer) fails
  the one job it was running, and a fresh process takes its place;
- a worker whose memory grew past ``retire_above_mb`` is replaced by a
  fresh process between two jobs (``_serve`` says why).

The jobs and their results must be picklable (they cross a pipe); workers
are forked, so ``work`` is inherited.  With one worker everything runs in
this process, which is what a debugger wants.
A rich progress bar is shown on a terminal unless ``quiet``; otherwise
nothing is printed, so CI logs stay clean.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import multiprocessing
import os
import signal
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

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
        return _internal(error)


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
    retire_above_mb: float | None = None,
) -> RunResult[JobT, ResultT]:
    """Apply ``work`` to every job (``workers`` processes; default: all CPUs).

    ``meanwhile`` is called in this process while the worker processes run
    (before the jobs, when they run here): work of its own that overlaps theirs.
    ``retire_above_mb``: a worker whose resident memory is above this after
    a job is replaced by a fresh process (see ``_serve``).
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
            _run_in_pool(
                work, jobs, min(workers, len(jobs)), outcomes, progress, describe, meanwhile, retire_above_mb
            )
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
    retire_above_mb: float | None,
) -> None:
    pool = _Pool(work, jobs, retire_above_mb)
    try:
        for _ in range(workers):
            for position, outcome in pool.dispatch(pool.start()):
                outcomes[position] = outcome
                progress.advance(describe(jobs[position]))
        # Forked by now: the bar draws only when told (``_Progress``), with no
        # thread of its own, so no worker forked later inherits a lock it holds.
        progress.start()
        if meanwhile is not None:
            meanwhile()
        for position, outcome in pool.outcomes():
            outcomes[position] = outcome
            progress.advance(describe(jobs[position]))
    except KeyboardInterrupt:
        # Stop now, not when the units in flight are done: the workers are
        # killed (every cache write is a rename or a SQLite transaction, so
        # an interrupted one leaves nothing half-written behind).
        pool.kill()
        raise
    finally:
        pool.close()


@dataclass
class _Worker:
    process: BaseProcess
    connection: Connection
    position: int | None = None  # the job it is running


class _Pool(Generic[JobT, ResultT]):
    """Worker processes fed one job at a time, each replaced when it retires or dies.

    One job at a time per worker is what lets a worker retire between two
    jobs, and what tells which job a dying worker was running: that job
    alone fails.
    """

    def __init__(
        self, work: Callable[[JobT], ResultT], jobs: Sequence[JobT], retire_above_mb: float | None
    ) -> None:
        self.work, self.jobs, self.retire_above_mb = work, jobs, retire_above_mb
        self.waiting = deque(range(len(jobs)))
        self.workers: list[_Worker] = []

    def start(self) -> _Worker:
        ours, theirs = _FORK.Pipe()
        process = _FORK.Process(target=_serve, args=(theirs, self.work, self.retire_above_mb), daemon=True)
        process.start()
        theirs.close()  # so that its death reads as the end of our side
        worker = _Worker(process, ours)
        self.workers.append(worker)
        return worker

    def dispatch(self, worker: _Worker) -> list[tuple[int, _Outcome[ResultT]]]:
        """Give ``worker`` the next job; the outcomes of jobs that could not even be sent."""
        unsent: list[tuple[int, _Outcome[ResultT]]] = []
        worker.position = None
        while self.waiting:
            position = self.waiting.popleft()
            try:
                worker.connection.send((position, self.jobs[position]))
            except Exception as error:  # a job that cannot be pickled
                unsent.append((position, _internal(error)))
                continue
            worker.position = position
            break
        return unsent

    def outcomes(self) -> Iterator[tuple[int, _Outcome[ResultT]]]:
        """Each job's outcome as it comes in, until every job has one."""
        while True:
            busy = {worker.connection: worker for worker in self.workers if worker.position is not None}
            if not busy:
                return
            for connection in wait(list(busy)):
                worker = busy[connection]
                position = worker.position
                assert position is not None
                try:
                    _, outcome, retiring = connection.recv()
                except (EOFError, OSError):
                    outcome, retiring = _DIED, True
                yield position, outcome
                if retiring:
                    self._stop(worker)
                    if not self.waiting:
                        continue
                    worker = self.start()
                yield from self.dispatch(worker)

    def _stop(self, worker: _Worker) -> None:
        self.workers.remove(worker)
        worker.connection.close()
        worker.process.join(timeout=10)
        if worker.process.is_alive():
            worker.process.kill()

    def kill(self) -> None:
        for worker in self.workers:
            worker.process.kill()

    def close(self) -> None:
        for worker in list(self.workers):
            if worker.process.is_alive():
                with contextlib.suppress(OSError):
                    worker.connection.send(None)  # done: return
            self._stop(worker)


_FORK = multiprocessing.get_context("fork")

_DIED: _Outcome[Any] = _Outcome(
    failure="internal error: the worker process died while analysing this unit", internal=True
)


def _internal(error: BaseException) -> _Outcome[Any]:
    return _Outcome(
        failure=f"internal error: {type(error).__name__}: {error}",
        internal=True,
        details="".join(traceback.format_exception(error)),
    )


def _serve(connection: Connection, work: Callable[[JobT], ResultT], retire_above_mb: float | None) -> None:
    """A worker process: run the jobs sent to it until told to stop, or until it retires.

    A worker retires when, after a job, its resident memory is above
    ``retire_above_mb``: memory Python's allocator cannot give back (one
    large unit leaves its arenas pinned by the few objects kept after it)
    is given back by ending the process, and a fresh one takes its place.
    """
    _start_worker()
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        position, job = message
        outcome = _run_one(work, job)
        _give_back_free_memory()
        retiring = retire_above_mb is not None and _resident_mb() > retire_above_mb
        try:
            connection.send((position, outcome, retiring))
        except Exception as error:  # a result that cannot be pickled
            connection.send((position, _internal(error), retiring))
        if retiring:
            return


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


def _resident_mb() -> float:
    """This process's resident set size in MB (0 where /proc cannot tell)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE / 1e6
    except (OSError, IndexError, ValueError):
        return 0.0


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_LIBC_NAME = ctypes.util.find_library("c")
_MALLOC_TRIM = getattr(ctypes.CDLL(_LIBC_NAME), "malloc_trim", None) if _LIBC_NAME else None


def _give_back_free_memory() -> None:
    # glibc keeps the free space of its heap (a unit's text, its token and
    # node arrays) unless asked to return it: 10-15 MB per worker on QEMU.
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


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
                # Drawn on each update instead of by a thread of its own: the
                # pool forks workers during the run (``_run_in_pool``).
                auto_refresh=False,
            )
            self._task = self._bar.add_task(description, total=total, current="")

    def advance(self, label: str) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, current=label, refresh=True)

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
