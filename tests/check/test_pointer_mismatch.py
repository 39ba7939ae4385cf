"""pointer-mismatch: every way a function pointer can gain or lose the annotation."""

from __future__ import annotations

from pathlib import Path

from tests.check.helpers import line_of, write_unit

SOURCE = """
    typedef struct BDS BDS;
    typedef void coroutine_fn CoEntry(void *);
    typedef void NativeEntry(void *);
    struct Driver {
        int coroutine_fn (*co_flush)(BDS *bs);
        int (coroutine_fn *co_write)(BDS *bs, long off);
        int (*probe)(const char *name);
    };
    int coroutine_fn flush_impl(BDS *bs);
    int coroutine_fn write_impl(BDS *bs, long off);
    int probe_impl(const char *name);
    int native_flush(BDS *bs);
    void coroutine_fn co_entry(void *opaque);
    void native_entry(void *opaque);
    void run(CoEntry *entry, void *opaque);

    struct Driver good_driver = { .co_flush = flush_impl, .co_write = write_impl, .probe = probe_impl };
    struct Driver bad_designated = { .co_flush = native_flush, .probe = probe_impl };
    struct Driver bad_positional = { flush_impl, write_impl, (int (*)(const char *))flush_impl };
    CoEntry *good_var = co_entry;
    NativeEntry *bad_init = co_entry;

    void assignments(struct Driver *d, CoEntry **slot) {
        d->co_flush = flush_impl;
        d->co_flush = native_flush;
        *slot = native_entry;
        run(co_entry, 0);
        run(native_entry, 0);
        d->probe = 0;
    }
    NativeEntry *returns_bad(void) { return co_entry; }
    CoEntry *returns_good(void) { return &co_entry; }
"""


def test_each_mismatch_is_reported_at_its_line(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(tmp_path, SOURCE)
    _, data = coroproj_json(str(unit))
    lines = sorted(f["line"] for f in data["findings"] if f["check"] == "pointer-mismatch")
    expected = sorted(
        [
            line_of(unit, "bad_designated ="),
            line_of(unit, "bad_positional ="),
            line_of(unit, "bad_init ="),
            line_of(unit, "d->co_flush = native_flush"),
            line_of(unit, "*slot = native_entry"),
            line_of(unit, "run(native_entry, 0)"),
            line_of(unit, "return co_entry;"),
        ]
    )
    assert lines == expected


def test_mismatch_points_at_the_target_declaration(tmp_path: Path, coroproj_json) -> None:
    unit = write_unit(tmp_path, SOURCE)
    _, data = coroproj_json(str(unit))
    finding = next(
        f
        for f in data["findings"]
        if f["check"] == "pointer-mismatch" and f["line"] == line_of(unit, "bad_init =")
    )
    assert "drops coroutine_fn" in finding["message"]
    assert [n["line"] for n in finding["notes"]] == [line_of(unit, "typedef void NativeEntry")]
