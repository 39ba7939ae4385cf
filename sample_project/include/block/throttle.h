/*
 * throttle.h — I/O limits shared by a group of images, like QEMU's throttle
 * groups: a leaky bucket per limit (operations per second, bytes per second),
 * requests over the limit wait in FIFO order on a CoQueue, and a loop timer
 * wakes the head of the queue when the buckets have drained enough.
 */
#ifndef BLOCK_THROTTLE_H
#define BLOCK_THROTTLE_H

#include "qemu/osdep.h"
#include "qemu/coroutine.h"

typedef struct ThrottleGroup ThrottleGroup;

typedef struct ThrottleLimits {
    double iops;          /* operations per second; 0: unlimited */
    double bps;           /* bytes per second; 0: unlimited */
    double burst_seconds; /* how much credit may accumulate; 0: 0.1 s */
} ThrottleLimits;

typedef struct ThrottleStats {
    uint64_t requests;    /* requests accounted */
    uint64_t throttled;   /* of which had to wait */
    uint64_t bytes;
} ThrottleStats;

/* The group named `name`, created with `limits` if it does not exist yet
 * (an existing group keeps its limits).  Reference counted. */
ThrottleGroup *throttle_group_get(const char *name, const ThrottleLimits *limits);
void throttle_group_unref(ThrottleGroup *tg);
void throttle_group_set_limits(ThrottleGroup *tg, const ThrottleLimits *limits);
void throttle_group_get_stats(ThrottleGroup *tg, ThrottleStats *stats);
const char *throttle_group_get_name(ThrottleGroup *tg);

/* Wait until a request of `bytes` bytes may start, then account it. */
void coroutine_fn throttle_group_co_io_limits_intercept(ThrottleGroup *tg, int64_t bytes);

/* Parse "iops=100,bps=1M,burst=0.5" into `limits`; false on a bad spec. */
bool throttle_parse_limits(const char *spec, ThrottleLimits *limits);

#endif
