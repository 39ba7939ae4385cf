/*
 * test-throttle.c — throttle groups: the operations and bytes limits hold
 * (within the burst), waiting requests start in arrival order, a group is
 * shared by the images in it, and limits parse.
 */
#include "block-test.h"
#include "block/block_int.h"
#include "block/throttle.h"

typedef struct ThrottleRun {
    BlockDriverState *bs;
    int64_t bytes;
    int finished;
    int order[64];
} ThrottleRun;

typedef struct ThrottleWorker {
    ThrottleRun *run;
    int index;
} ThrottleWorker;

static void coroutine_fn throttle_worker(void *opaque)
{
    ThrottleWorker *w = opaque;
    uint8_t *buf = malloc(w->run->bytes);

    CHECK_EQ(bdrv_co_preadv(w->run->bs, 0, w->run->bytes, buf), 0);
    w->run->order[w->run->finished++] = w->index;
    free(buf);
}

/* Start `count` requests of `bytes` on `bs` at once; seconds until all are done. */
static double run_requests(ThrottleRun *run, int count)
{
    ThrottleWorker workers[64];
    int64_t start = qemu_clock_get_ns();

    CHECK(count <= 64);
    run->finished = 0;
    for (int i = 0; i < count; i++) {
        workers[i] = (ThrottleWorker){ .run = run, .index = i };
        qemu_coroutine_enter(qemu_coroutine_create(throttle_worker), &workers[i]);
    }
    AIO_WAIT_WHILE(run->finished < count);
    return (qemu_clock_get_ns() - start) / 1e9;
}

static void test_iops_limit(void)
{
    /* 100 ops/s with 0.1 s of burst: 10 requests go at once, the other 30
     * take about 0.3 s. */
    ThrottleLimits limits = { .iops = 100, .burst_seconds = 0.1 };
    ThrottleRun run = { .bs = test_open("mem:1M", NULL, 0), .bytes = 512 };
    ThrottleStats stats;
    double seconds;

    bdrv_set_throttle_group(run.bs, throttle_group_get("iops", &limits));
    seconds = run_requests(&run, 40);
    CHECK(seconds > 0.25);
    CHECK(seconds < 3.0);   /* generous: the machine may be busy */
    throttle_group_get_stats(run.bs->throttle_group, &stats);
    CHECK_EQ(stats.requests, 40);
    CHECK(stats.throttled >= 25);
    /* FIFO: they finished in the order they arrived. */
    for (int i = 0; i < 40; i++) {
        CHECK_EQ(run.order[i], i);
    }
    bdrv_close(run.bs);
}

static void test_bps_limit(void)
{
    /* 1 MiB/s, 64 KiB requests: 16 of them move 1 MiB; the burst (100 KiB)
     * lets two go at once, the rest take about 0.85 s. */
    ThrottleLimits limits = { .bps = 1 << 20 };
    ThrottleRun run = { .bs = test_open("mem:1M", NULL, 0), .bytes = 65536 };
    double seconds;

    bdrv_set_throttle_group(run.bs, throttle_group_get("bps", &limits));
    seconds = run_requests(&run, 16);
    CHECK(seconds > 0.7);
    CHECK(seconds < 4.0);   /* generous: the machine may be busy */
    bdrv_close(run.bs);
}

static void test_unthrottled_is_immediate(void)
{
    ThrottleLimits limits = { 0 };
    ThrottleRun run = { .bs = test_open("mem:1M", NULL, 0), .bytes = 512 };
    ThrottleStats stats;

    bdrv_set_throttle_group(run.bs, throttle_group_get("none", &limits));
    CHECK(run_requests(&run, 50) < 0.5);
    throttle_group_get_stats(run.bs->throttle_group, &stats);
    CHECK_EQ(stats.throttled, 0);
    bdrv_close(run.bs);
}

static void test_group_is_shared(void)
{
    /* Two images in one group of 50 ops/s share the budget: 10 requests on
     * each (20 in all, 5 in the burst) take about 0.3 s. */
    ThrottleLimits limits = { .iops = 50 };
    ThrottleRun a = { .bs = test_open("mem:1M", NULL, 0), .bytes = 512 };
    ThrottleRun b = { .bs = test_open("mem:1M", NULL, 0), .bytes = 512 };
    ThrottleWorker workers[20];
    ThrottleGroup *tg = throttle_group_get("shared", &limits);
    int64_t start = qemu_clock_get_ns();
    double seconds;

    bdrv_set_throttle_group(a.bs, tg);
    bdrv_set_throttle_group(b.bs, throttle_group_get("shared", &limits));
    CHECK(a.bs->throttle_group == b.bs->throttle_group);
    for (int i = 0; i < 20; i++) {
        workers[i] = (ThrottleWorker){ .run = i % 2 ? &b : &a, .index = i };
        qemu_coroutine_enter(qemu_coroutine_create(throttle_worker), &workers[i]);
    }
    AIO_WAIT_WHILE(a.finished + b.finished < 20);
    seconds = (qemu_clock_get_ns() - start) / 1e9;
    CHECK(seconds > 0.25);
    CHECK(seconds < 3.0);   /* generous: the machine may be busy */
    CHECK_STR(throttle_group_get_name(tg), "shared");
    bdrv_close(a.bs);
    bdrv_close(b.bs);
}

static void test_parse_limits(void)
{
    ThrottleLimits limits;

    CHECK(throttle_parse_limits("iops=100,bps=1M,burst=0.5", &limits));
    CHECK(limits.iops == 100);
    CHECK(limits.bps == 1 << 20);
    CHECK(limits.burst_seconds == 0.5);
    CHECK(!throttle_parse_limits("iops=fast", &limits));
    CHECK(!throttle_parse_limits("speed=1", &limits));
    CHECK(!throttle_parse_limits("iops", &limits));
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        { "iops_limit", test_iops_limit },
        { "bps_limit", test_bps_limit },
        { "unthrottled_is_immediate", test_unthrottled_is_immediate },
        { "group_is_shared", test_group_is_shared },
        { "parse_limits", test_parse_limits },
    };

    bdrv_init();
    return run_tests(tests, ARRAY_SIZE(tests), argc, argv);
}
