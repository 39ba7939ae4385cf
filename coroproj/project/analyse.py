"""Whole-project analysis: compile database -> cached unit summaries -> one program.

Each unit goes through the incremental protocol of ``cache.cached_or_build``
in a worker process (unchanged units are not even preprocessed); then all
summaries, cached or fresh, are linked and checked together, so a finding
in one file can be caused by a chain through many others.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coroproj.analysis.findings import Finding
from coroproj.analysis.pipeline import (
    Analysis,
    AnalysisOptions,
    analyse,
    failure_finding,
    preprocess_unit,
    summarize_text,
)
from coroproj.analysis.summary import UnitSummary
from coroproj.errors import SourceError, SourceSpot
from coroproj.frontend.markers import read_files
from coroproj.frontend.segments import SegmentCache
from coroproj.project.cache import Summarised, SummaryCache, UnitIndex, cached_or_build
from coroproj.project.compile_db import CompileJob, LoadedDatabase, load_compile_database
from coroproj.project.config import Config
from coroproj.project.discover import locate_database
from coroproj.project.overlay import OVERLAY_DIR, HeaderOverlay, build_overlay
from coroproj.project.parts import PartLoader, is_layout, split_summary
from coroproj.project.runner import RunResult, run_jobs
from coroproj.project.snapshot import Entries, load_snapshot, save_snapshot, worth_rewriting


@dataclass
class RunStats:
    units: int = 0
    parsed: int = 0  # preprocessed and parsed in this run
    cached: int = 0  # summary reused without parsing
    failed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # not C: (file, reason)
    overlaid: tuple[str, ...] = ()  # headers whose annotation macros were made visible
    overlay_error: str | None = None  # why they could not be (the analysis went on without)


@dataclass
class ProjectAnalysis:
    root: Path
    database: Path
    analysis: Analysis
    stats: RunStats
    cache_dir: Path | None = None  # where this run's summaries and results are kept


# Header parses shared by the units one worker process analyses, and with
# later runs through the segment store in the cache directory.
_SEGMENTS = SegmentCache()
SEGMENTS_DIR = "segments"

# A worker is replaced by a fresh process once its resident memory is past
# this after a unit.  It needs ~45 MB for the interpreter and ~55 MB for the
# header parses it keeps (``_SEGMENTS``, full after a few dozen QEMU units)
# with what they derived; the rest of a long run leaves memory behind that
# Python never gives back (a large unit's arenas pinned by the few objects
# kept after it), 30-50 MB within a few hundred units.  A new worker reads
# the headers it needs from the segment store: ~2 s of work each time.  On
# QEMU 9.2 at -j 2 (single cold runs): 150 MB retired 1-2 workers and
# peaked at 332-375 MB, 135 retired 3-4 and peaked at 293-298 MB, 125
# retired 9 for no lower peak; the times were within the machine's noise.
WORKER_RETIRE_MB = 135


@dataclass(frozen=True)
class _Work:
    """One unit's work order (picklable, for the process pool)."""

    job: CompileJob
    cache_dir: Path
    options: AnalysisOptions
    fingerprint: str
    overlay: HeaderOverlay
    run: str = ""  # which run this belongs to: file states are judged once per run and process
    rebuild: bool = False  # summarise again whatever is cached (a part was found damaged)


@dataclass(frozen=True)
class _Done:
    job_key: str
    # The layout (see ``parts``) as JSON text, when the summary cache does not
    # hold it under ``summary_key``; otherwise the parent reads it there once
    # every unit is in (sent along, QEMU's would wait in its memory: 45 MB).
    layout: bytes | None
    rebuilt: bool
    summary_key: str = ""
    failure: Finding | None = None  # the parse-error finding
    # The header parts the layout names, as JSON text, when the cache could not store them.
    parts: dict[str, bytes] | None = None
    unit: UnitSummary | None = None  # joined from the layout once the workers are done


# This process's unit index for the run under way: the few thousand headers
# that a project's units share are stat'ed (and if need be hashed) once per
# run instead of once per unit, and one SQLite connection serves every unit.
_RUN_INDEX: dict[str, UnitIndex] = {}


def _run_index(work: _Work) -> UnitIndex:
    index = _RUN_INDEX.get(work.run)
    if index is None:
        _end_run()
        index = _RUN_INDEX[work.run] = UnitIndex(SummaryCache(work.cache_dir), work.fingerprint)
        _SEGMENTS.use_store(work.cache_dir / SEGMENTS_DIR)
    return index


def _end_run() -> None:
    for index in _RUN_INDEX.values():
        index.close()
    _RUN_INDEX.clear()


def _summarise_job(work: _Work) -> _Done:
    """Runs in a worker: the cached summary, or preprocess + parse + summarise."""
    job = work.job
    index = _run_index(work)
    cache = index.cache
    unstored: dict[str, bytes] = {}  # parts the cache could not store
    try:

        def preprocess(job: CompileJob) -> str:
            flags = work.overlay.flags_for(job.flags)
            return preprocess_unit(
                job.file, flags, work.options, cwd=job.directory, compiler=job.compiler
            )

        def summarise(job: CompileJob, text: str) -> Summarised:
            summary = summarize_text(
                text, str(job.file), work.options, unit=job.key, segments=_SEGMENTS
            )
            layout, parts = split_summary(summary)
            # Content-addressed: a stored part is right unless it was damaged,
            # which is what a rebuild is for.
            if not cache.put_content_addressed(parts, again=work.rebuild):
                unstored.update(parts)
            return Summarised(layout, read_files(summary.marked_files, job.directory))

        def usable(entry: dict[str, Any]) -> bool:
            return is_layout(entry) and not work.rebuild

        built = cached_or_build(job, index, preprocess, summarise, usable)
        if built.stored and not unstored and not work.rebuild:
            return _Done(job.key, None, built.rebuilt, built.key)
        # A rebuild's layout is not read back: the cache just failed to give it.
        layout = json.dumps(built.summary, separators=(",", ":")).encode()
        return _Done(job.key, layout, built.rebuilt, built.key, parts=unstored or None)
    except SourceError as error:
        return _Done(job.key, None, True, failure=failure_finding(error))


@dataclass
class PreparedProject:
    """A project's units and the configuration they are analysed under (no unit read yet)."""

    config: Config
    options: AnalysisOptions
    database: Path
    loaded: LoadedDatabase
    jobs: list[CompileJob]
    cache_dir: Path
    overlay: HeaderOverlay
    overlay_error: str | None
    fingerprint: str  # what every unit's summary depends on besides its own files
    _index: UnitIndex | None = field(default=None, repr=False, compare=False)

    def index(self) -> UnitIndex:
        """This process's view of the unit index for the run: each file stat'ed once in it."""
        if self._index is None:
            self._index = UnitIndex(SummaryCache(self.cache_dir), self.fingerprint)
        return self._index


def prepare_project(
    config: Config,
    options: AnalysisOptions,
    *,
    database: Path | None = None,
    build_dir: Path | None = None,
) -> PreparedProject:
    """Find and load the compile database, and build the annotation overlay."""
    root = config.root
    database = locate_database(root, build_dir=build_dir, explicit=database or config.compile_commands)
    loaded: LoadedDatabase = load_compile_database(database)
    jobs = [job for job in loaded.jobs if not config.is_excluded(job.file)]
    cache_dir = config.effective_cache_dir()
    overlay, overlay_error = _annotation_overlay(jobs, root, cache_dir, options)
    # The overlay changes what every unit preprocesses to: part of the key.
    fingerprint = config.fingerprint() + options.fingerprint() + overlay.digest
    return PreparedProject(
        config, options, database, loaded, jobs, cache_dir, overlay, overlay_error, fingerprint
    )


def unchanged_summaries(project: PreparedProject) -> list[str] | None:
    """Every unit's summary key if no unit changed since it was summarised, else None.

    The cheap test of ninja's deps log: one index lookup and the stat of each
    file a unit read last time (each file stat'ed once), nothing preprocessed.
    """
    index = project.index()
    keys = []
    for job in project.jobs:
        key = index.unchanged_summary_key(job)
        if key is None:
            return None
        keys.append(key)
    return keys


def analyse_project(
    config: Config,
    options: AnalysisOptions,
    *,
    database: Path | None = None,
    build_dir: Path | None = None,
    workers: int | None = None,
    quiet: bool = False,
    keep_going: bool = True,
    prepared: PreparedProject | None = None,
) -> ProjectAnalysis:
    """Analyse every C unit of the project's compile database."""
    project = prepared or prepare_project(config, options, database=database, build_dir=build_dir)
    root = config.root
    jobs, cache_dir, overlay = project.jobs, project.cache_dir, project.overlay
    run_token = secrets.token_hex(8)
    orders = [_Work(job, cache_dir, options, project.fingerprint, overlay, run_token) for job in jobs]
    # Each header part is decoded once for the whole run and its records shared
    # by the summaries of every unit that includes it.
    summaries_cache = SummaryCache(cache_dir)
    sent_parts: dict[str, bytes] = {}  # parts a worker could not store in the cache

    def read_part(key: str) -> Any:
        sent = sent_parts.get(key)
        return json.loads(sent) if sent is not None else summaries_cache.get(key)

    parts = PartLoader(read_part)
    by_key = {work.job.key: work for work in orders}

    def layout(done: _Done) -> dict[str, Any]:
        found = json.loads(done.layout) if done.layout is not None else summaries_cache.get(done.summary_key)
        if found is None:
            raise KeyError(done.summary_key)
        return found

    def join(done: _Done) -> _Done:
        if done.failure is not None:
            return done
        try:
            sent_parts.update(done.parts or {})
            unit = parts.join(layout(done))
        except (KeyError, TypeError, ValueError):
            # The layout or a part went missing or was damaged since: summarise this unit again.
            done = _summarise_job(dataclasses.replace(by_key[done.job_key], rebuild=True))
            if done.failure is not None:
                return done
            sent_parts.update(done.parts or {})
            unit = parts.join(layout(done))
        return dataclasses.replace(done, layout=None, parts=None, unit=unit)

    # Units unchanged since the last full run come from its snapshot, in one
    # read; only the others go to the workers.  Which units changed the index
    # says alone, so the snapshot is read while the workers summarise those.
    index = project.index()
    current = [index.unchanged_summary_key(job, remember_moves=True) for job in jobs]
    snapshot: Entries = {}

    def summarise(
        works: list[_Work], meanwhile: Callable[[], object] | None = None
    ) -> RunResult[_Work, _Done]:
        return run_jobs(
            _summarise_job,
            works,
            workers=workers or os.cpu_count() or 1,
            quiet=quiet,
            description="Analysing",
            describe=lambda work: os.path.relpath(work.job.file, root),
            meanwhile=meanwhile,
            retire_above_mb=WORKER_RETIRE_MB,
        )

    try:
        run = summarise(
            [work for work, key in zip(orders, current, strict=True) if key is None],
            meanwhile=lambda: snapshot.update(load_snapshot(cache_dir, project.fingerprint)),
        )
        held = [_held(snapshot, job.key, key) for job, key in zip(jobs, current, strict=True)]
        # Unchanged units the snapshot lacks (it is rewritten only now and then)
        # come from their cached summaries.
        lacking = summarise(
            [work for work, key, unit in zip(orders, current, held, strict=True) if key and unit is None]
        )
        run.results += lacking.results
        run.failures += lacking.failures
        # Joined once the workers are gone: the records of the whole program
        # and the workers' header caches are never in memory at the same time.
        run.results = [(work, join(done)) for work, done in run.results]
    finally:
        _end_run()  # this process's (with -j 1, or for a unit summarised again here)
    stats = RunStats(
        units=len(jobs),
        skipped=list(project.loaded.skipped),
        overlaid=overlay.headers,
        overlay_error=project.overlay_error,
    )
    summaries: list[UnitSummary] = []
    failures: list[Finding] = []
    entries: Entries = {}
    done_by_key = {work.job.key: done for work, done in run.results}
    for work, unit in zip(orders, held, strict=True):
        job_key = work.job.key
        if unit is not None:
            summaries.append(unit)
            entries[job_key] = snapshot[job_key]
            stats.cached += 1
            continue
        done = done_by_key.get(job_key)
        if done is None:
            continue  # the worker failed: among run.failures below
        if done.failure is not None:
            failures.append(done.failure)
            stats.failed += 1
            continue
        assert done.unit is not None
        summaries.append(done.unit)
        entries[job_key] = (done.summary_key, done.unit)
        if done.rebuilt:
            stats.parsed += 1
        else:
            stats.cached += 1
    for failure in run.failures:
        failures.append(_failure(str(failure.job.job.file), 0, 0, failure.message))
        stats.failed += 1
    used = sum(unit is not None for unit in held)
    if worth_rewriting(snapshot, used, len(jobs)):
        save_snapshot(cache_dir, project.fingerprint, entries)
    analysis = analyse(summaries, options, failures)
    return ProjectAnalysis(root, project.database, analysis, stats, cache_dir)


def _held(snapshot: Entries, job_key: str, summary_key: str | None) -> UnitSummary | None:
    """The unit's summary from the snapshot, if the index vouches for the key it was saved under."""
    entry = snapshot.get(job_key) if summary_key else None
    return entry[1] if entry is not None and entry[0] == summary_key else None


def _annotation_overlay(
    jobs: list[CompileJob], root: Path, cache_dir: Path, options: AnalysisOptions
) -> tuple[HeaderOverlay, str | None]:
    """The overlay that shows annotation macros compiled away (see ``overlay``)."""
    roots = [root]
    files = [str(job.file) for job in jobs]
    if files:
        common = os.path.commonpath(files)
        if common != os.sep:
            roots.append(Path(common))
    try:
        overlay = build_overlay(
            (job.flags for job in jobs), options.names, roots=roots, overlay_root=cache_dir / OVERLAY_DIR
        )
    except OSError as error:
        return HeaderOverlay(), f"{error.filename or cache_dir}: {error.strerror or error}"
    return overlay, None


def _failure(file: str, line: int, column: int, message: str) -> Finding:
    first_line = message.splitlines()[0] if message else "could not analyse this unit"
    # The message is already "file:line:col: error: ... [coroproj-parse-error]".
    text = first_line.split(": error: ", 1)[-1].removesuffix(" [coroproj-parse-error]")
    return failure_finding(SourceError(SourceSpot(file, line, column), text))
