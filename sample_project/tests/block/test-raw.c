/*
 * test-raw.c — the raw POSIX file driver: creation, persistence across
 * opens, read-only opens, reads past the end of a growable file, truncation,
 * write-zeroes, and many coroutines doing I/O through the thread pool at
 * once.
 */
#include "block-test.h"

#include <fcntl.h>

static void test_create_and_persist(void)
{
    char *path = test_path("persist.img");
    uint8_t *buf = malloc(100000), *back = malloc(100000);
    BlockDriverState *bs;

    test_create("raw", path, 1 << 20, NULL, 0);
    CHECK_EQ(test_file_size(path), 1 << 20);
    bs = test_open(path, NULL, BDRV_O_RDWR);
    CHECK_STR(bdrv_get_format_name(bs), "raw");
    CHECK_EQ(bdrv_getlength(bs), 1 << 20);
    test_fill(buf, 100000, 11);
    CHECK_EQ(bdrv_pwrite(bs, 333, 100000, buf), 0);
    CHECK_EQ(bdrv_flush(bs), 0);
    bdrv_close(bs);

    bs = test_open(path, "raw", 0);
    CHECK_EQ(bdrv_pread(bs, 333, 100000, back), 0);
    CHECK(test_matches(back, 100000, 11));
    CHECK_EQ(bdrv_pread(bs, 0, 333, back), 0);
    CHECK(test_all_bytes(back, 333, 0));
    CHECK_EQ(bdrv_pwrite(bs, 0, 1, buf), -EPERM);
    bdrv_close(bs);
    free(buf);
    free(back);
    free(path);
}

static void test_open_missing(void)
{
    char *path = test_path("does-not-exist.img");
    char *err = NULL;

    CHECK(bdrv_open(path, "raw", 0, &err) == NULL);
    CHECK(err && strstr(err, "No such file"));
    free(err);
    free(path);
}

static void test_growable_and_truncate(void)
{
    char *path = test_path("grow.img");
    uint8_t buf[4096];
    BlockDriverState *bs;

    test_create("raw", path, 0, NULL, 0);
    bs = test_open(path, "raw", BDRV_O_RDWR | BDRV_O_GROWABLE);
    CHECK_EQ(bdrv_getlength(bs), 0);
    /* A growable node reads zeroes past its end and grows when written. */
    memset(buf, 0x55, sizeof(buf));
    CHECK_EQ(bdrv_pread(bs, 8192, sizeof(buf), buf), 0);
    CHECK(test_all_bytes(buf, sizeof(buf), 0));
    memset(buf, 0x55, sizeof(buf));
    CHECK_EQ(bdrv_pwrite(bs, 8192, sizeof(buf), buf), 0);
    CHECK_EQ(bdrv_getlength(bs), 12288);
    CHECK_EQ(bdrv_truncate(bs, 4096), 0);
    CHECK_EQ(bdrv_getlength(bs), 4096);
    bdrv_close(bs);
    CHECK_EQ(test_file_size(path), 4096);
    free(path);
}

static void test_write_zeroes(void)
{
    char *path = test_path("zero.img");
    uint8_t buf[65536];
    BlockDriverState *bs;

    test_create("raw", path, 1 << 20, NULL, 0);
    bs = test_open(path, "raw", BDRV_O_RDWR);
    memset(buf, 0xee, sizeof(buf));
    CHECK_EQ(bdrv_pwrite(bs, 0, sizeof(buf), buf), 0);
    CHECK_EQ(bdrv_pwrite_zeroes(bs, 4096, 8192), 0);
    CHECK_EQ(bdrv_pread(bs, 0, sizeof(buf), buf), 0);
    CHECK(test_all_bytes(buf, 4096, 0xee));
    CHECK(test_all_bytes(buf + 4096, 8192, 0));
    CHECK(test_all_bytes(buf + 12288, sizeof(buf) - 12288, 0xee));
    bdrv_close(bs);
    free(path);
}

/* Whether the file system reports holes (SEEK_HOLE) for a sparse file. */
static bool reports_holes(const char *path)
{
    int fd = open(path, O_RDONLY);
    off_t hole;

    CHECK(fd >= 0);
    hole = lseek(fd, 0, SEEK_HOLE);
    close(fd);
    return hole == 0;
}

static void test_block_status_sees_holes(void)
{
    char *path = test_path("sparse.img");
    uint8_t buf[8192];
    BlockDriverState *bs;
    int64_t pnum, map;
    int status;

    test_create("raw", path, 1 << 20, NULL, 0);
    bs = test_open(path, "raw", BDRV_O_RDWR);
    memset(buf, 0x42, sizeof(buf));
    CHECK_EQ(bdrv_pwrite(bs, 65536, sizeof(buf), buf), 0);
    CHECK_EQ(bdrv_flush(bs), 0);

    status = bdrv_block_status(bs, 65536, 1 << 20, &pnum, &map);
    CHECK(status & BDRV_BLOCK_DATA);
    CHECK(status & BDRV_BLOCK_OFFSET_VALID);
    CHECK_EQ(map, 65536);
    if (reports_holes(path)) {
        CHECK_EQ(pnum, sizeof(buf));
        status = bdrv_block_status(bs, 0, 1 << 20, &pnum, &map);
        CHECK_EQ(status, BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_OFFSET_VALID);
        CHECK_EQ(pnum, 65536);
        status = bdrv_block_status(bs, 65536 + sizeof(buf), 1 << 20, &pnum, &map);
        CHECK(status & BDRV_BLOCK_ZERO);
        CHECK_EQ(pnum, (1 << 20) - 65536 - (int64_t)sizeof(buf));
    } else {
        /* Everything counts as data where holes cannot be seen. */
        CHECK_EQ(bdrv_block_status(bs, 0, 1 << 20, &pnum, &map) & BDRV_BLOCK_DATA, BDRV_BLOCK_DATA);
    }
    bdrv_close(bs);
    free(path);
}

/* --- many coroutines at once ---------------------------------------------------------------- */

enum { WORKERS = 64, BLOCK = 4096, ROUNDS = 4 };

typedef struct Parallel {
    BlockDriverState *bs;
    int running;
    int max_in_flight;
    int errors;
} Parallel;

typedef struct ParallelWorker {
    Parallel *p;
    int index;
} ParallelWorker;

static void coroutine_fn parallel_worker(void *opaque)
{
    ParallelWorker *w = opaque;
    uint8_t *buf = malloc(BLOCK);

    for (int round = 0; round < ROUNDS; round++) {
        uint32_t seed = (uint32_t)(w->index * 100 + round);
        int64_t offset = (int64_t)w->index * BLOCK;

        test_fill(buf, BLOCK, seed);
        if (bdrv_co_pwritev(w->p->bs, offset, BLOCK, buf) < 0) {
            w->p->errors++;
        }
        w->p->max_in_flight = MAX(w->p->max_in_flight, (int)bdrv_get_in_flight(w->p->bs));
        memset(buf, 0, BLOCK);
        if (bdrv_co_preadv(w->p->bs, offset, BLOCK, buf) < 0 || !test_matches(buf, BLOCK, seed)) {
            w->p->errors++;
        }
    }
    free(buf);
    w->p->running--;
}

static void test_parallel_coroutines(void)
{
    char *path = test_path("parallel.img");
    Parallel p = { 0 };
    ParallelWorker workers[WORKERS];

    test_create("raw", path, WORKERS * BLOCK, NULL, 0);
    p.bs = test_open(path, "raw", BDRV_O_RDWR);
    p.running = WORKERS;
    for (int i = 0; i < WORKERS; i++) {
        workers[i] = (ParallelWorker){ .p = &p, .index = i };
        qemu_coroutine_enter(qemu_coroutine_create(parallel_worker), &workers[i]);
    }
    /* Every worker waits for the thread pool: none has finished yet. */
    CHECK_EQ(p.running, WORKERS);
    AIO_WAIT_WHILE(p.running > 0);
    CHECK_EQ(p.errors, 0);
    CHECK(p.max_in_flight > 1);
    bdrv_close(p.bs);
    free(path);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        { "create_and_persist", test_create_and_persist },
        { "open_missing", test_open_missing },
        { "growable_and_truncate", test_growable_and_truncate },
        { "write_zeroes", test_write_zeroes },
        { "block_status_sees_holes", test_block_status_sees_holes },
        { "parallel_coroutines", test_parallel_coroutines },
    };

    bdrv_init();
    return run_tests(tests, ARRAY_SIZE(tests), argc, argv);
}
