/*
 * test-block.c — the generic block layer, with the memory and null drivers
 * underneath: request checks, the blocking and asynchronous wrappers,
 * in-flight accounting and draining, opening by name and size parsing.
 */
#include "block-test.h"
#include "block/block_int.h"

static void test_parse_size(void)
{
    CHECK_EQ(qemu_parse_size("4096"), 4096);
    CHECK_EQ(qemu_parse_size("64K"), 65536);
    CHECK_EQ(qemu_parse_size("64M"), 64 << 20);
    CHECK_EQ(qemu_parse_size("2G"), (int64_t)2 << 30);
    CHECK_EQ(qemu_parse_size("0x1000"), 4096);
    CHECK_EQ(qemu_parse_size("-1"), -1);
    CHECK_EQ(qemu_parse_size("12Q"), -1);
    CHECK_EQ(qemu_parse_size("1MB"), -1);
    CHECK_EQ(qemu_parse_size(""), -1);
}

static void test_open_by_name(void)
{
    BlockDriverState *bs = test_open("mem:1M", NULL, BDRV_O_RDWR);
    char *err = NULL;

    CHECK_STR(bdrv_get_format_name(bs), "memory");
    CHECK_EQ(bdrv_getlength(bs), 1 << 20);
    bdrv_close(bs);

    bs = test_open("null:1G", NULL, 0);
    CHECK_STR(bdrv_get_format_name(bs), "null");
    CHECK_EQ(bdrv_getlength(bs), (int64_t)1 << 30);
    CHECK(bdrv_is_read_only(bs));
    bdrv_close(bs);

    CHECK(bdrv_open("mem:lots", NULL, 0, &err) == NULL);
    CHECK(err && strstr(err, "invalid size"));
    free(err);
    err = NULL;
    CHECK(bdrv_open("mem:1M,colour=blue", NULL, 0, &err) == NULL);
    CHECK(err && strstr(err, "unknown option"));
    free(err);
    err = NULL;
    CHECK(bdrv_open("mem:1M", "qcow9", 0, &err) == NULL);
    CHECK(err && strstr(err, "unknown format"));
    free(err);
}

static void test_memory_read_write(void)
{
    BlockDriverState *bs = test_open("mem:1M", NULL, BDRV_O_RDWR);
    uint8_t *buf = malloc(65536), *back = malloc(65536);

    CHECK_EQ(bdrv_pread(bs, 0, 65536, back), 0);
    CHECK(test_all_bytes(back, 65536, 0));
    test_fill(buf, 65536, 7);
    CHECK_EQ(bdrv_pwrite(bs, 12345, 65536, buf), 0);
    CHECK_EQ(bdrv_pread(bs, 12345, 65536, back), 0);
    CHECK(test_matches(back, 65536, 7));
    /* Unaligned partial read inside the written range. */
    CHECK_EQ(bdrv_pread(bs, 12345 + 100, 10, back), 0);
    CHECK(memcmp(back, buf + 100, 10) == 0);
    CHECK_EQ(bdrv_pwrite_zeroes(bs, 12345, 4096), 0);
    CHECK_EQ(bdrv_pread(bs, 12345, 4096, back), 0);
    CHECK(test_all_bytes(back, 4096, 0));
    CHECK_EQ(bdrv_flush(bs), 0);
    free(buf);
    free(back);
    bdrv_close(bs);
}

static void test_request_checks(void)
{
    BlockDriverState *bs = test_open("mem:64K", NULL, BDRV_O_RDWR);
    BlockDriverState *ro = test_open("mem:64K", NULL, 0);
    uint8_t buf[512] = { 0 };

    CHECK_EQ(bdrv_pread(bs, 65536 - 256, 512, buf), -ERANGE);
    CHECK_EQ(bdrv_pwrite(bs, 65536, 1, buf), -ERANGE);
    CHECK_EQ(bdrv_pread(bs, -1, 1, buf), -EINVAL);
    CHECK_EQ(bdrv_pread(bs, INT64_MAX, 2, buf), -EINVAL);
    CHECK_EQ(bdrv_pread(bs, 65536, 0, buf), 0);
    CHECK_EQ(bdrv_pwrite(ro, 0, 512, buf), -EPERM);
    CHECK_EQ(bdrv_pread(ro, 0, 512, buf), 0);
    CHECK_EQ(bdrv_truncate(bs, 4096), -ENOTSUP);
    bdrv_close(bs);
    bdrv_close(ro);
}

static void test_null(void)
{
    BlockDriverState *bs = test_open("null:1M", NULL, BDRV_O_RDWR);
    uint8_t buf[4096];
    int64_t pnum, map;

    memset(buf, 0xaa, sizeof(buf));
    CHECK_EQ(bdrv_pwrite(bs, 0, sizeof(buf), buf), 0);
    CHECK_EQ(bdrv_pread(bs, 0, sizeof(buf), buf), 0);
    CHECK(test_all_bytes(buf, sizeof(buf), 0));
    CHECK_EQ(bdrv_block_status(bs, 0, 1 << 20, &pnum, &map), BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED);
    CHECK_EQ(pnum, 1 << 20);
    bdrv_close(bs);
}

static void test_block_status_clamps(void)
{
    BlockDriverState *bs = test_open("mem:64K", NULL, 0);
    int64_t pnum, map;
    int status = bdrv_block_status(bs, 4096, 1 << 20, &pnum, &map);

    CHECK(status & BDRV_BLOCK_DATA);
    CHECK(status & BDRV_BLOCK_OFFSET_VALID);
    CHECK_EQ(pnum, 65536 - 4096);
    CHECK_EQ(map, 4096);
    CHECK_EQ(bdrv_block_status(bs, 65536 + 1, 1, &pnum, &map), -EINVAL);
    bdrv_close(bs);
}

/* --- latency: requests really overlap -------------------------------------------------- */

typedef struct LatencyRun {
    BlockDriverState *bs;
    int finished;
} LatencyRun;

typedef struct LatencyWorker {
    LatencyRun *run;
    int index;
} LatencyWorker;

static void coroutine_fn latency_worker(void *opaque)
{
    LatencyWorker *w = opaque;
    uint8_t buf[512];

    CHECK_EQ(bdrv_co_preadv(w->run->bs, w->index * 512, 512, buf), 0);
    w->run->finished++;
}

static void test_memory_latency_overlaps(void)
{
    /* 20 requests of 50 ms each: together they take about 50 ms, not 1 s. */
    LatencyRun run = { .bs = test_open("mem:1M,latency=50000000", NULL, 0) };
    LatencyWorker workers[20];
    int64_t start = qemu_clock_get_ns(), elapsed;

    for (int i = 0; i < 20; i++) {
        workers[i] = (LatencyWorker){ .run = &run, .index = i };
        qemu_coroutine_enter(qemu_coroutine_create(latency_worker), &workers[i]);
    }
    CHECK_EQ(run.finished, 0);
    CHECK_EQ(bdrv_get_in_flight(run.bs), 20);
    bdrv_drain(run.bs);
    elapsed = qemu_clock_get_ns() - start;
    CHECK_EQ(run.finished, 20);
    CHECK_EQ(bdrv_get_in_flight(run.bs), 0);
    CHECK(elapsed >= 50000000);
    CHECK(elapsed < 900000000);     /* one after the other: 1 s */
    bdrv_close(run.bs);
}

/* --- asynchronous requests --------------------------------------------------------------- */

typedef struct AioResult {
    int completions;
    int last_ret;
    int failures;
} AioResult;

static void aio_cb(void *opaque, int ret)
{
    AioResult *result = opaque;

    result->completions++;
    result->last_ret = ret;
    result->failures += ret < 0;
}

static void test_aio(void)
{
    BlockDriverState *bs = test_open("mem:1M,latency=1000000", NULL, BDRV_O_RDWR);
    uint8_t *data = malloc(8192), *back = malloc(8192);
    AioResult result = { 0 };

    test_fill(data, 8192, 3);
    bdrv_aio_pwritev(bs, 4096, 8192, data, aio_cb, &result);
    CHECK_EQ(result.completions, 0);     /* waits for its latency */
    CHECK_EQ(bdrv_get_in_flight(bs), 1);
    bdrv_drain(bs);
    CHECK_EQ(result.completions, 1);
    CHECK_EQ(result.last_ret, 0);

    bdrv_aio_preadv(bs, 4096, 8192, back, aio_cb, &result);
    bdrv_aio_flush(bs, aio_cb, &result);
    bdrv_aio_pwritev(bs, 1 << 20, 1, data, aio_cb, &result);   /* past the end */
    /* The failing write and the flush (nothing to wait for) are done at
     * once, the read after its latency. */
    CHECK_EQ(result.completions, 3);
    CHECK_EQ(result.failures, 1);
    CHECK_EQ(result.last_ret, -ERANGE);
    bdrv_drain(bs);
    CHECK_EQ(result.completions, 4);
    CHECK_EQ(result.last_ret, 0);
    CHECK(test_matches(back, 8192, 3));
    free(data);
    free(back);
    bdrv_close(bs);
}

/* --- fault injection -------------------------------------------------------------------- */

static void test_inject_write_failure(void)
{
    BlockDriverState *bs = test_open("mem:64K", NULL, BDRV_O_RDWR);
    uint8_t buf[512] = { 1 };

    bdrv_inject_write_failure(bs, 2);
    CHECK_EQ(bdrv_pwrite(bs, 0, 512, buf), 0);
    CHECK_EQ(bdrv_pwrite(bs, 512, 512, buf), 0);
    CHECK_EQ(bdrv_pwrite(bs, 1024, 512, buf), -EIO);
    CHECK_EQ(bdrv_flush(bs), -EIO);
    CHECK_EQ(bdrv_pread(bs, 0, 512, buf), 0);    /* reads still work */
    bdrv_inject_write_failure(bs, -1);
    CHECK_EQ(bdrv_pwrite(bs, 1024, 512, buf), 0);
    bdrv_close(bs);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        { "parse_size", test_parse_size },
        { "open_by_name", test_open_by_name },
        { "memory_read_write", test_memory_read_write },
        { "request_checks", test_request_checks },
        { "null", test_null },
        { "block_status_clamps", test_block_status_clamps },
        { "memory_latency_overlaps", test_memory_latency_overlaps },
        { "aio", test_aio },
        { "inject_write_failure", test_inject_write_failure },
    };

    bdrv_init();
    return run_tests(tests, ARRAY_SIZE(tests), argc, argv);
}
