/*
 * test-cow-crash.c — the cow format's write ordering makes every crash
 * harmless (see the comment at the top of block/cow.c).
 *
 * A crash after the k-th write to the image file is simulated by failing
 * every write (and flush) of the file after the first k: nothing later
 * reaches the disk, exactly as if the process had died there.  For every k
 * from 0 to the number of writes a full workload makes, the test runs the
 * workload against a fresh copy of one image, then checks that
 *
 *   - `check` finds no corruption (leaked clusters are allowed);
 *   - every region reads either all old or all new data, never a mix and
 *     never anything else, and a region covered by a successful flush is new;
 *   - copy-on-write kept the backing data around every partial write;
 *   - the image opens writable again (the refcounts are rebuilt), takes new
 *     allocations, and after `check -r leaks` is entirely clean.
 */
#include "block-test.h"
#include "block/block_int.h"
#include "block/cow.h"

#include <fcntl.h>

#define CLUSTER 4096
#define IMAGE_SIZE (4 << 20)

/* The regions the workload writes: guest offset, length, old and new seed. */
typedef struct Region {
    const char *what;
    int64_t offset;
    int64_t length;
    uint32_t old_seed;      /* 0: the backing file's bytes */
    uint32_t new_seed;
} Region;

static const Region regions[] = {
    { "overwrite of an allocated cluster", 0, CLUSTER, 20, 30 },
    { "partial write, existing L2 table", 1 * CLUSTER + 1000, 1500, 0, 31 },
    { "whole cluster, new L2 table", 600 * CLUSTER, CLUSTER, 0, 32 },
    { "two clusters, existing L2 table", 5 * CLUSTER, 2 * CLUSTER, 0, 33 },
};
#define FLUSHED_REGIONS 3   /* the workload flushes after the first three writes */

static char *base_path, *template_path;

/* Base: raw, seed 1.  Template overlay: cluster 0 allocated (seed 20). */
static void make_images(void)
{
    uint8_t *buf = malloc(IMAGE_SIZE);
    BlockDriverState *bs;

    base_path = test_path("base.img");
    template_path = test_path("template.cow");
    test_create("raw", base_path, IMAGE_SIZE, NULL, 0);
    bs = test_open(base_path, "raw", BDRV_O_RDWR);
    test_fill(buf, IMAGE_SIZE, 1);
    CHECK_EQ(bdrv_pwrite(bs, 0, IMAGE_SIZE, buf), 0);
    bdrv_close(bs);

    test_create("cow", template_path, 0, "base.img", 12);
    bs = test_open(template_path, "cow", BDRV_O_RDWR);
    test_fill(buf, CLUSTER, 20);
    CHECK_EQ(bdrv_pwrite(bs, 0, CLUSTER, buf), 0);
    bdrv_close(bs);
    free(buf);
}

/* Runs the workload; returns the number of writes it made to the file
 * (when nothing fails) and whether the flush succeeded. */
static int64_t run_workload(const char *path, int64_t allowed_writes, bool *flushed)
{
    BlockDriverState *bs = test_open(path, "cow", BDRV_O_RDWR);
    BlockDriverState *file = bdrv_get_file(bs);
    uint8_t *buf = malloc(2 * CLUSTER);
    int64_t writes;

    bdrv_inject_write_failure(file, allowed_writes < 0 ? INT64_MAX : allowed_writes);
    *flushed = false;
    for (size_t i = 0; i < ARRAY_SIZE(regions); i++) {
        test_fill(buf, regions[i].length, regions[i].new_seed);
        /* Errors are expected once the "crash" has happened. */
        bdrv_pwrite(bs, regions[i].offset, regions[i].length, buf);
        if (i + 1 == FLUSHED_REGIONS) {
            *flushed = bdrv_flush(bs) == 0;
        }
    }
    /* The clean shutdown's flush, done here so that its writes are counted
     * (bdrv_close then finds nothing left to write); after the "crash" it
     * fails like every other write. */
    bdrv_flush(bs);
    writes = file->writes_done;
    bdrv_close(bs);
    free(buf);
    return writes;
}

/* The guest's view must be old or new per region, backing data elsewhere. */
#define LATE_WRITE_OFFSET (900 * CLUSTER)
#define LATE_WRITE_BYTE 0x77

/* With `late_write`: after the byte written by the reopened image. */
static void verify_contents(const char *path, bool flushed, int64_t k, bool late_write)
{
    BlockDriverState *bs = test_open(path, "cow", 0);
    uint8_t *disk = malloc(IMAGE_SIZE), *expect = malloc(IMAGE_SIZE), *old = malloc(2 * CLUSTER);
    uint8_t *fresh = malloc(2 * CLUSTER);

    CHECK_EQ(bdrv_pread(bs, 0, IMAGE_SIZE, disk), 0);
    test_fill(expect, IMAGE_SIZE, 1);
    test_fill(expect, CLUSTER, 20);     /* the template's cluster 0 */
    if (late_write) {
        expect[LATE_WRITE_OFFSET] = LATE_WRITE_BYTE;
    }
    for (size_t i = 0; i < ARRAY_SIZE(regions); i++) {
        const Region *r = &regions[i];

        test_fill(fresh, r->length, r->new_seed);
        if (r->old_seed) {
            test_fill(old, r->length, r->old_seed);
        } else {
            memcpy(old, expect + r->offset, r->length);
        }
        /* A write is atomic per cluster (one table entry each), not across
         * clusters: judge each cluster's part of the region on its own. */
        for (int64_t at = 0; at < r->length;) {
            int64_t piece = MIN(r->length - at, CLUSTER - (r->offset + at) % CLUSTER);
            const uint8_t *got = disk + r->offset + at;
            bool is_new = memcmp(got, fresh + at, piece) == 0;

            if (!is_new && memcmp(got, old + at, piece) != 0) {
                fprintf(stderr, "crash after write %" PRId64 ": %s holds neither old nor new data "
                        "at offset %" PRId64 "\n", k, r->what, r->offset + at);
                exit(1);
            }
            if (flushed && i < FLUSHED_REGIONS && !is_new) {
                fprintf(stderr, "crash after write %" PRId64 ": %s was flushed but is lost\n",
                        k, r->what);
                exit(1);
            }
            at += piece;
        }
        /* Whatever it holds, the rest of the comparison skips the region. */
        memcpy(expect + r->offset, disk + r->offset, r->length);
    }
    if (memcmp(disk, expect, IMAGE_SIZE) != 0) {
        int64_t at = 0;
        while (disk[at] == expect[at]) {
            at++;
        }
        fprintf(stderr, "crash after write %" PRId64 ": data outside the written regions changed "
                "(at offset %" PRId64 ")\n", k, at);
        exit(1);
    }
    bdrv_close(bs);
    free(disk);
    free(expect);
    free(old);
    free(fresh);
}

static BdrvCheckResult check(const char *path, BdrvCheckMode mode)
{
    BlockDriverState *bs = test_open(path, "cow", BDRV_O_CHECK | BDRV_O_NO_BACKING |
                                     (mode == BDRV_CHECK_ONLY ? 0 : BDRV_O_RDWR));
    BdrvCheckResult res;

    CHECK_EQ(bdrv_check(bs, &res, mode), 0);
    bdrv_close(bs);
    return res;
}

static void test_crash_at_every_write(void)
{
    char *path = test_path("crash.cow");
    bool flushed;
    int64_t total, leaky_crashes = 0;

    make_images();
    test_copy_file(template_path, path);
    total = run_workload(path, -1, &flushed);
    CHECK(flushed);
    /* 5 data clusters, and two flushes of dirty header, L2 tables, L1,
     * refcounts and clean header with the flushes between: a real sequence. */
    CHECK(total >= 20);

    for (int64_t k = 0; k <= total; k++) {
        BdrvCheckResult res;
        BlockDriverState *bs;
        uint8_t byte = LATE_WRITE_BYTE;

        test_copy_file(template_path, path);
        run_workload(path, k, &flushed);

        res = check(path, BDRV_CHECK_ONLY);
        if (res.corruptions) {
            fprintf(stderr, "crash after write %" PRId64 " of %" PRId64 ": %d corruptions\n", k, total,
                    res.corruptions);
            exit(1);
        }
        leaky_crashes += res.leaks > 0;
        verify_contents(path, flushed, k, false);

        /* Reopened writable, the image takes new allocations safely. */
        bs = test_open(path, "cow", BDRV_O_RDWR);
        CHECK_EQ(bdrv_pwrite(bs, LATE_WRITE_OFFSET, 1, &byte), 0);
        bdrv_close(bs);
        res = check(path, BDRV_CHECK_ONLY);
        CHECK_EQ(res.corruptions, 0);
        verify_contents(path, flushed, k, true);

        res = check(path, BDRV_FIX_LEAKS);
        CHECK_EQ(res.corruptions, 0);
        res = check(path, BDRV_CHECK_ONLY);
        CHECK_EQ(res.corruptions, 0);
        CHECK_EQ(res.leaks, 0);
        verify_contents(path, flushed, k, true);
    }
    /* Some crash points do leave clusters behind (data written, its entry
     * not): the test exercises the interesting cases. */
    CHECK(leaky_crashes > 0);
    printf("crash points: %" PRId64 ", with leaks: %" PRId64 "\n", total + 1, leaky_crashes);
    free(path);
}

/* The byte at `offset` as a separate open of `path` sees it on disk. */
static uint8_t byte_on_disk(const char *path, int64_t offset)
{
    BlockDriverState *other = test_open(path, "cow", 0);
    uint8_t byte;

    CHECK_EQ(bdrv_pread(other, offset, 1, &byte), 0);
    bdrv_close(other);
    return byte;
}

static void test_write_back_protocol(void)
{
    char *path = test_path("writeback.cow");
    BlockDriverState *bs;
    uint8_t byte = 0xee, base_byte;
    int64_t offset = 50 * CLUSTER;

    if (!template_path) {
        make_images();
    }
    bs = test_open(base_path, "raw", 0);
    CHECK_EQ(bdrv_pread(bs, offset, 1, &base_byte), 0);
    bdrv_close(bs);
    test_copy_file(template_path, path);
    bs = test_open(path, "cow", BDRV_O_RDWR);

    /* An allocation lives in memory until the flush: this open reads it at
     * once, a second one (another process after a crash) not yet. */
    CHECK_EQ(bdrv_pwrite(bs, offset, 1, &byte), 0);
    CHECK_EQ(bdrv_pread(bs, offset, 1, &byte), 0);
    CHECK_EQ(byte, 0xee);
    CHECK_EQ(byte_on_disk(path, offset), base_byte);
    CHECK(!(test_read_cow_header(path).flags & COW_FLAG_DIRTY));

    CHECK_EQ(bdrv_flush(bs), 0);
    CHECK_EQ(byte_on_disk(path, offset), 0xee);
    CHECK(!(test_read_cow_header(path).flags & COW_FLAG_DIRTY));

    /* A flush cut short after its first write (the dirty header) and data
     * flush leaves the flag set: the refcounts on disk are not believed. */
    CHECK_EQ(bdrv_pwrite(bs, 60 * CLUSTER, 1, &byte), 0);
    bdrv_inject_write_failure(bdrv_get_file(bs), 2);
    CHECK_EQ(bdrv_flush(bs), -EIO);
    CHECK(test_read_cow_header(path).flags & COW_FLAG_DIRTY);
    bdrv_close(bs);

    /* Opened again, the image rebuilds its refcounts and is clean after
     * the next flush; nothing written back is lost. */
    bs = test_open(path, "cow", BDRV_O_RDWR);
    CHECK_EQ(bdrv_flush(bs), 0);
    bdrv_close(bs);
    CHECK(!(test_read_cow_header(path).flags & COW_FLAG_DIRTY));
    CHECK_EQ(byte_on_disk(path, offset), 0xee);
    CHECK_EQ(check(path, BDRV_CHECK_ONLY).corruptions, 0);
    free(path);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        { "crash_at_every_write", test_crash_at_every_write },
        { "write_back_protocol", test_write_back_protocol },
    };

    bdrv_init();
    return run_tests(tests, ARRAY_SIZE(tests), argc, argv);
}
