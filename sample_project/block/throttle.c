/*
 * throttle.c — throttle groups: I/O limits shared by every image in a group.
 *
 * Each limit is a leaky bucket: a request pours its cost into the bucket
 * (1 for the operations limit, its size for the bytes limit) and the bucket
 * leaks at the limit's rate.  A request may start while every bucket is at
 * most `burst` full; the request that finds a bucket fuller than that, or
 * finds others already waiting, queues on the group's CoQueue.  Only the head
 * of the queue is ever woken, by the group's timer, set to the moment the
 * fullest bucket has leaked down to its burst level — so the requests start
 * in arrival order, and when the head has accounted itself it passes the
 * turn on (wakes the next one at once, or re-arms the timer).
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "block/block.h"
#include "block/throttle.h"

#define NS_PER_SECOND_F 1e9
#define DEFAULT_BURST_SECONDS 0.1

typedef struct LeakyBucket {
    double rate;    /* units per second; 0: unlimited */
    double max;     /* level up to which requests may start */
    double level;
} LeakyBucket;

struct ThrottleGroup {
    char *name;
    unsigned refcount;
    LeakyBucket ops;
    LeakyBucket bytes;
    int64_t last_leak_ns;
    CoQueue queue;
    unsigned waiting;         /* coroutines queued, or woken and not yet accounted */
    QEMUTimer *timer;
    bool timer_armed;
    ThrottleStats stats;
    ThrottleGroup *next;
};

static ThrottleGroup *all_groups;

static void bucket_configure(LeakyBucket *bucket, double rate, double burst_seconds, double unit)
{
    bucket->rate = rate;
    /* At least one request's worth of credit, or nothing could ever start. */
    bucket->max = MAX(rate * burst_seconds, unit);
    bucket->level = MIN(bucket->level, bucket->max);
}

static void bucket_leak(LeakyBucket *bucket, double seconds)
{
    if (bucket->rate > 0) {
        bucket->level = MAX(0.0, bucket->level - bucket->rate * seconds);
    }
}

/* Nanoseconds until the bucket is down to its start level. */
static int64_t bucket_wait_ns(const LeakyBucket *bucket)
{
    if (bucket->rate <= 0 || bucket->level <= bucket->max) {
        return 0;
    }
    return (int64_t)((bucket->level - bucket->max) / bucket->rate * NS_PER_SECOND_F) + 1;
}

static void throttle_leak(ThrottleGroup *tg)
{
    int64_t now = qemu_clock_get_ns();
    double seconds = (now - tg->last_leak_ns) / NS_PER_SECOND_F;

    if (seconds > 0) {
        bucket_leak(&tg->ops, seconds);
        bucket_leak(&tg->bytes, seconds);
        tg->last_leak_ns = now;
    }
}

static int64_t throttle_wait_ns(ThrottleGroup *tg)
{
    throttle_leak(tg);
    return MAX(bucket_wait_ns(&tg->ops), bucket_wait_ns(&tg->bytes));
}

static void throttle_arm_timer(ThrottleGroup *tg, int64_t wait_ns)
{
    timer_mod(tg->timer, qemu_clock_get_ns() + wait_ns);
    tg->timer_armed = true;
}

/* Timer callback (native): the buckets have drained; let the head go. */
static void throttle_timer_cb(void *opaque)
{
    ThrottleGroup *tg = opaque;
    int64_t wait_ns;

    tg->timer_armed = false;
    if (qemu_co_queue_empty(&tg->queue)) {
        return;
    }
    wait_ns = throttle_wait_ns(tg);
    if (wait_ns > 0) {
        /* Woken early (clock granularity): try again later. */
        throttle_arm_timer(tg, wait_ns);
        return;
    }
    qemu_co_enter_next(&tg->queue);
}

static void throttle_account(ThrottleGroup *tg, int64_t bytes)
{
    if (tg->ops.rate > 0) {
        tg->ops.level += 1;
    }
    if (tg->bytes.rate > 0) {
        tg->bytes.level += bytes;
    }
    tg->stats.requests++;
    tg->stats.bytes += bytes;
}

void coroutine_fn throttle_group_co_io_limits_intercept(ThrottleGroup *tg, int64_t bytes)
{
    int64_t wait_ns;

    if (tg->waiting > 0 || throttle_wait_ns(tg) > 0) {
        tg->waiting++;
        tg->stats.throttled++;
        if (!tg->timer_armed && tg->waiting == 1) {
            throttle_arm_timer(tg, throttle_wait_ns(tg));
        }
        qemu_co_queue_wait(&tg->queue, NULL);
        tg->waiting--;
    }
    throttle_account(tg, bytes);

    /* Pass the turn on to the next waiter, if any. */
    if (!qemu_co_queue_empty(&tg->queue) && !tg->timer_armed) {
        wait_ns = throttle_wait_ns(tg);
        if (wait_ns > 0) {
            throttle_arm_timer(tg, wait_ns);
        } else {
            qemu_co_queue_next(&tg->queue);
        }
    }
}

ThrottleGroup *throttle_group_get(const char *name, const ThrottleLimits *limits)
{
    ThrottleGroup *tg;

    for (tg = all_groups; tg; tg = tg->next) {
        if (strcmp(tg->name, name) == 0) {
            tg->refcount++;
            return tg;
        }
    }
    tg = qemu_mallocz(sizeof(*tg));
    tg->name = qemu_strdup(name);
    tg->refcount = 1;
    tg->last_leak_ns = qemu_clock_get_ns();
    qemu_co_queue_init(&tg->queue);
    tg->timer = timer_new_ns(throttle_timer_cb, tg);
    throttle_group_set_limits(tg, limits);
    tg->next = all_groups;
    all_groups = tg;
    return tg;
}

void throttle_group_unref(ThrottleGroup *tg)
{
    ThrottleGroup **link;

    if (--tg->refcount > 0) {
        return;
    }
    assert(qemu_co_queue_empty(&tg->queue));
    for (link = &all_groups; *link != tg; link = &(*link)->next) {
        /* find the link that points at tg */
    }
    *link = tg->next;
    timer_del(tg->timer);
    timer_free(tg->timer);
    free(tg->name);
    free(tg);
}

void throttle_group_set_limits(ThrottleGroup *tg, const ThrottleLimits *limits)
{
    double burst = limits->burst_seconds > 0 ? limits->burst_seconds : DEFAULT_BURST_SECONDS;

    throttle_leak(tg);
    bucket_configure(&tg->ops, limits->iops, burst, 1.0);
    bucket_configure(&tg->bytes, limits->bps, burst, 1.0);
}

void throttle_group_get_stats(ThrottleGroup *tg, ThrottleStats *stats)
{
    *stats = tg->stats;
}

const char *throttle_group_get_name(ThrottleGroup *tg)
{
    return tg->name;
}

bool throttle_parse_limits(const char *spec, ThrottleLimits *limits)
{
    char *copy = qemu_strdup(spec), *saveptr = NULL, *item;
    bool ok = true;

    memset(limits, 0, sizeof(*limits));
    for (item = strtok_r(copy, ",", &saveptr); item && ok; item = strtok_r(NULL, ",", &saveptr)) {
        char *value = strchr(item, '=');
        char *end;

        if (!value) {
            ok = false;
            break;
        }
        *value++ = '\0';
        if (strcmp(item, "iops") == 0) {
            limits->iops = strtod(value, &end);
            ok = end != value && *end == '\0' && limits->iops >= 0;
        } else if (strcmp(item, "bps") == 0) {
            int64_t bps = qemu_parse_size(value);
            limits->bps = (double)bps;
            ok = bps >= 0;
        } else if (strcmp(item, "burst") == 0) {
            limits->burst_seconds = strtod(value, &end);
            ok = end != value && *end == '\0' && limits->burst_seconds >= 0;
        } else {
            ok = false;
        }
    }
    free(copy);
    return ok;
}
