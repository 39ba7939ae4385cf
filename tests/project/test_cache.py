"""Summary cache robustness and the incremental unit index."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from coroproj.project import cache as cache_module
from coroproj.project.cache import (
    Summarised,
    SummaryCache,
    UnitIndex,
    cached_or_build,
    included_files,
)
from coroproj.project.compile_db import CompileJob

SUMMARY = {"functions": ["f", "g"], "edges": [["f", "g"]], "unit": "a.c"}


def stored_body(cache: SummaryCache, key: str) -> bytes | None:
    """An entry's bytes as they are on disk (None if absent)."""
    with sqlite3.connect(cache.database.path) as connection:
        row = connection.execute("SELECT body FROM entries WHERE key = ?", (key,)).fetchone()
    return None if row is None else bytes(row[0])


def store_body(cache: SummaryCache, key: str, body: bytes) -> None:
    """Put bytes on disk under ``key``, bypassing the cache (as damage would)."""
    with sqlite3.connect(cache.database.path) as connection:
        connection.execute("INSERT OR REPLACE INTO entries (key, body) VALUES (?, ?)", (key, body))


def test_round_trip_and_key_depends_on_text_and_fingerprint(tmp_path: Path) -> None:
    cache = SummaryCache(tmp_path / "cache")
    key = cache.key("int f(void);", "fp1")
    assert key == cache.key("int f(void);", "fp1")
    assert key != cache.key("int f(void); ", "fp1")
    assert key != cache.key("int f(void);", "fp2")
    assert cache.get(key) is None
    assert cache.put(key, SUMMARY)
    assert cache.get(key) == SUMMARY
    assert SummaryCache(tmp_path / "cache").get(key) == SUMMARY  # persisted


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda raw: raw[: len(raw) // 2], id="truncated"),
        pytest.param(lambda raw: raw[:-3] + b"X" + raw[-2:], id="body-byte-flipped"),
        pytest.param(lambda raw: raw.replace(b" 1 ", b" 999 ", 1), id="other-format-version"),
        pytest.param(lambda raw: b"", id="empty"),
        pytest.param(lambda raw: b"\x00" * 100, id="garbage"),
    ],
)
def test_damaged_entries_are_misses_and_removed(tmp_path: Path, damage: Any) -> None:
    cache = SummaryCache(tmp_path)
    key = cache.key("text", "fp")
    cache.put(key, SUMMARY)
    raw = stored_body(cache, key)
    assert raw is not None
    store_body(cache, key, damage(raw))
    assert cache.get(key) is None
    assert stored_body(cache, key) is None
    # And the slot is usable again.
    cache.put(key, SUMMARY)
    assert cache.get(key) == SUMMARY


def test_entry_filed_under_another_key_is_not_trusted(tmp_path: Path) -> None:
    cache = SummaryCache(tmp_path)
    key_a, key_b = cache.key("a", "fp"), cache.key("b", "fp")
    cache.put(key_a, {"unit": "a"})
    raw = stored_body(cache, key_a)
    assert raw is not None
    store_body(cache, key_b, raw)
    assert cache.get(key_b) is None


def test_unreadable_cache_is_a_miss(tmp_path: Path) -> None:
    cache = SummaryCache(tmp_path)
    key = cache.key("text", "fp")
    cache.database.path.mkdir(parents=True)  # opening a directory as a database fails
    assert cache.get(key) is None
    assert cache.put(key, SUMMARY) is False  # cannot replace a directory; not fatal


def test_a_damaged_database_file_is_thrown_away(tmp_path: Path) -> None:
    cache = SummaryCache(tmp_path)
    key = cache.key("text", "fp")
    cache.put(key, SUMMARY)
    cache.close()
    cache.database.path.write_bytes(b"this is not a database" * 100)
    assert cache.get(key) is None
    assert cache.put(key, SUMMARY)
    assert cache.get(key) == SUMMARY


def test_cache_directory_deleted_between_writes(tmp_path: Path) -> None:
    cache = SummaryCache(tmp_path / "c")
    key = cache.key("text", "fp")
    cache.put(key, SUMMARY)
    shutil.rmtree(tmp_path / "c")
    assert cache.get(key) is None
    assert cache.put(key, SUMMARY)
    assert cache.get(key) == SUMMARY


def test_content_addressed_entries_are_written_once(tmp_path: Path) -> None:
    cache = SummaryCache(tmp_path)
    key = cache.key("part", "fp")
    cache.put_content_addressed({key: b'{"records":[]}'})
    store_body(cache, key, b"damaged")
    cache.put_content_addressed({key: b'{"records":[]}'})  # known stored: not written again
    assert stored_body(cache, key) == b"damaged"
    cache.put_content_addressed({key: b'{"records":[]}'}, again=True)  # a rebuild writes it
    assert cache.get(key) == {"records": []}


def test_only_the_most_recently_used_run_results_are_kept(tmp_path: Path) -> None:
    # One per edit of the project: kept forever they would fill the disk.
    cache = SummaryCache(tmp_path)
    keys = [cache.key(f"run {n}", "fp") for n in range(cache_module.MEMOS_KEPT + 5)]
    cache.remember(keys[0], b"first")
    for key in keys[1:]:
        cache.remember(key, key.encode())
        assert cache.recall(keys[0]) == b"first"  # in use: kept
    with sqlite3.connect(cache.database.path) as connection:
        assert connection.execute("SELECT count(*) FROM memos").fetchone()[0] == cache_module.MEMOS_KEPT
    assert cache.recall(keys[1]) is None  # the least recently used went first
    assert cache.recall(keys[-1]) == keys[-1].encode()
    with sqlite3.connect(cache.database.path) as connection:
        connection.execute("UPDATE memos SET body = substr(body, 1, 20)")
    assert cache.recall(keys[-1]) is None  # damaged: a miss


def _hammer(directory: str, worker: int, rounds: int, errors: Any) -> None:
    """Write, read and sometimes wipe the cache; report any wrong read or exception."""
    cache = SummaryCache(Path(directory))
    keys = [cache.key(f"unit{n}", "fp") for n in range(4)]
    try:
        for round_number in range(rounds):
            key = keys[round_number % len(keys)]
            payload = {"key": key, "writer": worker, "blob": "x" * (2000 * (1 + worker))}
            cache.put(key, payload)
            got = cache.get(keys[(round_number + 1) % len(keys)])
            if got is not None and (got.get("key") not in keys or len(got["blob"]) % 2000):
                errors.put(f"worker {worker} read a wrong entry")
            if worker == 2 and round_number % 25 == 0:
                shutil.rmtree(directory, ignore_errors=True)
    except Exception as error:  # the test reports any exception at all
        errors.put(f"worker {worker}: {type(error).__name__}: {error}")


def test_concurrent_writers_readers_and_deleter_never_fail(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    workers = [context.Process(target=_hammer, args=(str(tmp_path / "c"), n, 150, errors)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    reported = []
    while not errors.empty():
        reported.append(errors.get())
    assert reported == []


# --- UnitIndex -------------------------------------------------------------------------------

PROJECT = {
    "common.h": "#pragma once\nint shared(int);\n",
    "a.h": '#pragma once\n#include "common.h"\nint only_a(void);\n',
    "a.c": '#include "a.h"\nint only_a(void) { return shared(1); }\n',
    "b.c": '#include "common.h"\nint b(void) { return shared(2); }\n',
    "c.c": "int c(void) { return 3; }\n",
}


class Driver:
    """A minimal whole-project run: counts what gets preprocessed and parsed."""

    def __init__(self, root: Path, fingerprint: str = "fp") -> None:
        self.root = root
        self.cache = SummaryCache(root / ".coroproj")
        self.fingerprint = fingerprint
        self.jobs = [
            CompileJob(file=root / name, directory=root, compiler="gcc", flags=("-I.",))
            for name in ("a.c", "b.c", "c.c")
        ]

    def run(self) -> tuple[list[str], list[str]]:
        preprocessed: list[str] = []
        parsed: list[str] = []

        def preprocess(job: CompileJob) -> str:
            preprocessed.append(job.file.name)
            result = subprocess.run(
                job.preprocess_command(), cwd=job.directory, capture_output=True, text=True,
                check=True,
            )  # fmt: skip
            return result.stdout

        def summarise(job: CompileJob, text: str) -> Summarised:
            parsed.append(job.file.name)
            summary = {"unit": job.file.name, "lines": text.count("\n")}
            return Summarised(summary, included_files(text, job.directory))

        index = UnitIndex(self.cache, self.fingerprint)
        try:
            for job in self.jobs:
                summary = cached_or_build(job, index, preprocess, summarise).summary
                assert summary["unit"] == job.file.name
        finally:
            index.close()
        return preprocessed, parsed


@pytest.fixture
def project(tmp_path: Path) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    for name, text in PROJECT.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def bump(path: Path, text: str | None = None) -> None:
    """Change a file's content (or only its timestamp) visibly to stat."""
    stat = path.stat()
    if text is not None:
        path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_second_run_with_nothing_changed_does_nothing(project: Path) -> None:
    driver = Driver(project)
    assert driver.run() == (["a.c", "b.c", "c.c"], ["a.c", "b.c", "c.c"])
    assert driver.run() == ([], [])


def test_editing_one_c_file_rebuilds_only_that_unit(project: Path) -> None:
    driver = Driver(project)
    driver.run()
    bump(project / "b.c", PROJECT["b.c"] + "int extra;\n")
    assert driver.run() == (["b.c"], ["b.c"])
    assert driver.run() == ([], [])


def test_editing_a_header_rebuilds_exactly_its_includers(project: Path) -> None:
    driver = Driver(project)
    driver.run()
    bump(project / "common.h", PROJECT["common.h"] + "int more(void);\n")
    assert driver.run() == (["a.c", "b.c"], ["a.c", "b.c"])
    bump(project / "a.h", PROJECT["a.h"] + "int more_a(void);\n")
    assert driver.run() == (["a.c"], ["a.c"])


def test_touch_without_edit_rebuilds_nothing_and_is_hashed_once(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = Driver(project)
    driver.run()
    bump(project / "common.h")
    header = (project / "common.h").read_bytes()
    hashed: list[bytes] = []
    real_sha256 = cache_module._sha256

    def recording_sha256(data: bytes) -> str:
        hashed.append(data)
        return real_sha256(data)

    monkeypatch.setattr(cache_module, "_sha256", recording_sha256)
    assert driver.run() == ([], [])
    assert hashed.count(header) == 1  # shared by a.c and b.c, read once
    hashed.clear()
    assert driver.run() == ([], [])
    assert header not in hashed  # the new timestamp was remembered: stat alone suffices


def test_comment_only_edit_reuses_summary_after_preprocessing(project: Path) -> None:
    driver = Driver(project)
    driver.run()
    # A trailing comment leaves the preprocessed text byte for byte the same.
    bump(project / "c.c", PROJECT["c.c"].rstrip("\n") + " // unchanged for the compiler\n")
    assert driver.run() == (["c.c"], [])
    assert driver.run() == ([], [])


def test_other_configuration_rebuilds_everything(project: Path) -> None:
    Driver(project, fingerprint="one").run()
    assert Driver(project, fingerprint="two").run()[1] == ["a.c", "b.c", "c.c"]


def test_lost_summary_forces_rebuild(project: Path) -> None:
    driver = Driver(project)
    driver.run()
    driver.cache.database.delete()
    assert driver.run()[1] == ["a.c", "b.c", "c.c"]


def test_deleted_header_forces_rebuild_of_includers(project: Path) -> None:
    driver = Driver(project)
    driver.run()
    (project / "a.h").unlink()
    index = UnitIndex(driver.cache, "fp")
    assert [index.needs_rebuild(job) for job in driver.jobs] == [True, False, False]


def test_corrupt_index_is_discarded_not_fatal(project: Path) -> None:
    driver = Driver(project)
    driver.run()
    index_file = project / ".coroproj" / "index.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(f"{index_file}{suffix}").unlink(missing_ok=True)
    index_file.write_bytes(b"this is not a database" * 100)
    preprocessed, parsed = driver.run()
    assert preprocessed == ["a.c", "b.c", "c.c"]
    assert parsed == []  # the summaries themselves were still good
    assert driver.run() == ([], [])


def test_included_files_reads_gcc_line_markers(project: Path) -> None:
    text = subprocess.run(
        ["gcc", "-E", "a.c"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    files = included_files(text, project)
    assert files[0] == project / "a.c"
    project_files = {path for path in files if path.parent == project}
    assert project_files == {project / "a.c", project / "a.h", project / "common.h"}
    assert all(path.is_absolute() and path.exists() for path in files)


def test_included_files_handles_line_directives_and_pseudo_files(tmp_path: Path) -> None:
    text = (
        '# 1 "src/x.c"\n# 1 "<built-in>"\n# 1 "<command-line>"\n'
        '#line 7 "gen/quote\\"d.h"\nint x;\n# 3 "/abs/y.h" 2 3\n'
    )
    assert included_files(text, tmp_path) == [
        tmp_path / "src" / "x.c",
        tmp_path / "gen" / 'quote"d.h',
        Path("/abs/y.h"),
    ]


def _record_many(cache_dir: str, worker: int, files: list[str]) -> None:
    index = UnitIndex(SummaryCache(Path(cache_dir)), "fp")
    for number, name in enumerate(files):
        job = CompileJob(file=Path(name), directory=Path(name).parent, compiler="cc", flags=())
        index.record(job, [], f"{worker:02d}{number:062d}")
    index.close()


def test_two_processes_recording_at_once(tmp_path: Path) -> None:
    sources = []
    for number in range(60):
        source = tmp_path / f"u{number}.c"
        source.write_text(f"int u{number};\n")
        sources.append(str(source))
    context = multiprocessing.get_context("fork")
    halves = [sources[:30], sources[30:]]
    processes = [
        context.Process(target=_record_many, args=(str(tmp_path / "c"), n, halves[n])) for n in range(2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    with sqlite3.connect(tmp_path / "c" / "index.sqlite3") as connection:
        (count,) = connection.execute("SELECT COUNT(*) FROM unit_deps").fetchone()
    assert count == 60


def test_index_survives_its_directory_being_deleted_mid_run(tmp_path: Path) -> None:
    source = tmp_path / "u.c"
    source.write_text("int u;\n")
    job = CompileJob(file=source, directory=tmp_path, compiler="cc", flags=())
    cache = SummaryCache(tmp_path / "cache")
    index = UnitIndex(cache, "fp")
    key = cache.key("int u;", "fp")
    cache.put(key, SUMMARY)
    index.record(job, [], key)
    assert not index.needs_rebuild(job)
    shutil.rmtree(tmp_path / "cache")
    assert index.needs_rebuild(job)  # the summary is gone with the directory
    cache.put(key, SUMMARY)
    index.record(job, [], key)  # must not raise, and must be usable afterwards
    assert not UnitIndex(cache, "fp").needs_rebuild(job)
    index.close()
