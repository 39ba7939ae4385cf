/*
 * test-main-loop — bottom halves, timers, fd handlers and co_sleep_ns.
 */
#include "test-util.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"

#include <pthread.h>

/* Run the loop until cond holds, failing after a generous deadline instead
 * of hanging. */
#define LOOP_UNTIL(cond) do {                                                     \
        int64_t deadline_ = qemu_clock_get_ns() + 10 * NANOSECONDS_PER_SECOND;    \
        while (!(cond)) {                                                         \
            CHECK(qemu_clock_get_ns() < deadline_);                               \
            main_loop_wait(true);                                                 \
        }                                                                         \
    } while (0)

static void count_cb(void *opaque)
{
    (*(int *)opaque)++;
}

/* --- bottom halves ------------------------------------------------------------- */

static void test_bh_runs_once(void)
{
    int runs = 0;
    QEMUBH *bh = qemu_bh_new(count_cb, &runs);

    CHECK(!main_loop_wait(false));     /* nothing scheduled: no progress */
    qemu_bh_schedule(bh);
    qemu_bh_schedule(bh);              /* idempotent until it runs */
    CHECK(main_loop_wait(false));
    CHECK_EQ(runs, 1);
    main_loop_wait(false);
    CHECK_EQ(runs, 1);

    qemu_bh_schedule(bh);
    qemu_bh_cancel(bh);
    main_loop_wait(false);
    CHECK_EQ(runs, 1);
    qemu_bh_delete(bh);
}

typedef struct {
    QEMUBH *bh;
    int runs;
} SelfDeleting;

static void self_deleting_cb(void *opaque)
{
    SelfDeleting *state = opaque;

    state->runs++;
    qemu_bh_delete(state->bh);         /* from inside its own callback */
}

static void test_bh_delete_in_callback(void)
{
    SelfDeleting state = { 0 };

    state.bh = qemu_bh_new(self_deleting_cb, &state);
    qemu_bh_schedule(state.bh);
    main_loop_wait(false);
    main_loop_wait(false);
    CHECK_EQ(state.runs, 1);
}

static void *schedule_from_thread(void *opaque)
{
    usleep(20 * 1000);
    qemu_bh_schedule(opaque);
    return NULL;
}

/* A blocking wait with no timer and no fd sleeps in poll until another
 * thread schedules a bottom half. */
static void test_bh_wakes_blocking_loop(void)
{
    int runs = 0;
    QEMUBH *bh = qemu_bh_new(count_cb, &runs);
    pthread_t thread;

    CHECK_EQ(pthread_create(&thread, NULL, schedule_from_thread, bh), 0);
    LOOP_UNTIL(runs == 1);
    pthread_join(thread, NULL);
    qemu_bh_delete(bh);
}

/* --- timers -------------------------------------------------------------------- */

typedef struct {
    Trace *trace;
    const char *name;
} Tick;

static void tick_cb(void *opaque)
{
    Tick *tick = opaque;

    trace_add(tick->trace, tick->name);
}

static void test_timers_fire_in_deadline_order(void)
{
    Trace trace = { { 0 } };
    Tick ticks[] = { { &trace, "t30" }, { &trace, "t10" }, { &trace, "t20" }, { &trace, "never" } };
    int64_t offsets[] = { 30, 10, 20, 15 };
    QEMUTimer *timers[ARRAY_SIZE(ticks)];
    int64_t now = qemu_clock_get_ns();

    for (size_t i = 0; i < ARRAY_SIZE(ticks); i++) {
        timers[i] = timer_new_ns(tick_cb, &ticks[i]);
        timer_mod(timers[i], now + offsets[i] * 1000 * 1000);
    }
    timer_del(timers[3]);
    CHECK(!timer_pending(timers[3]));
    CHECK(timer_pending(timers[0]));
    LOOP_UNTIL(!timer_pending(timers[0]));
    CHECK(qemu_clock_get_ns() - now >= 30 * 1000 * 1000);
    CHECK_STR(trace.text, "t10 t20 t30");

    /* Re-arming a pending timer moves it. */
    timer_mod(timers[1], qemu_clock_get_ns() + 1000 * NANOSECONDS_PER_SECOND);
    timer_mod(timers[1], qemu_clock_get_ns());
    LOOP_UNTIL(!timer_pending(timers[1]));
    CHECK_STR(trace.text, "t10 t20 t30 t10");
    for (size_t i = 0; i < ARRAY_SIZE(ticks); i++) {
        timer_free(timers[i]);
    }
}

/* Timers due within the next few hundred nanoseconds, re-armed for about a
 * second: the poll timeout is computed while the deadline is passing, so a
 * timeout that reads the clock twice can come out negative (ppoll then fails
 * with EINVAL and the loop aborts). */
static void test_short_timers_stress(void)
{
    int fired = 0, rounds = 0;
    QEMUTimer *timer = timer_new_ns(count_cb, &fired);
    int64_t stop = qemu_clock_get_ns() + NANOSECONDS_PER_SECOND;

    while (qemu_clock_get_ns() < stop) {
        timer_mod(timer, qemu_clock_get_ns() + rounds % 400);
        rounds++;
        LOOP_UNTIL(!timer_pending(timer));
    }
    CHECK_EQ(fired, rounds);
    timer_free(timer);
}

/* --- fd handlers --------------------------------------------------------------- */

typedef struct {
    int fds[2];
    char received[16];
    size_t length;
    int writable_calls;
} PipeTest;

static void pipe_readable(void *opaque)
{
    PipeTest *test = opaque;
    ssize_t n = read(test->fds[0], test->received + test->length,
                     sizeof(test->received) - 1 - test->length);

    CHECK(n > 0);
    test->length += n;
}

static void pipe_writable(void *opaque)
{
    PipeTest *test = opaque;

    test->writable_calls++;
    CHECK_EQ(write(test->fds[1], "ping", 4), 4);
    qemu_set_fd_handler(test->fds[1], NULL, NULL, NULL);   /* one shot */
}

static void test_fd_handlers(void)
{
    PipeTest test = { 0 };

    CHECK_EQ(pipe(test.fds), 0);
    qemu_set_fd_handler(test.fds[0], pipe_readable, NULL, &test);
    qemu_set_fd_handler(test.fds[1], NULL, pipe_writable, &test);
    LOOP_UNTIL(test.length == 4);
    CHECK_STR(test.received, "ping");
    CHECK_EQ(test.writable_calls, 1);

    /* Removed handlers are not called any more. */
    qemu_set_fd_handler(test.fds[0], NULL, NULL, NULL);
    CHECK_EQ(write(test.fds[1], "x", 1), 1);
    main_loop_wait(false);
    CHECK_EQ(test.length, 4);
    close(test.fds[0]);
    close(test.fds[1]);
}

/* --- co_sleep_ns --------------------------------------------------------------- */

typedef struct {
    Trace *trace;
    const char *name;
    int64_t ns;
    int64_t slept_ns;
    bool done;
} Sleeper;

static void coroutine_fn sleeper_entry(void *opaque)
{
    Sleeper *sleeper = opaque;
    int64_t start = qemu_clock_get_ns();

    co_sleep_ns(sleeper->ns);
    sleeper->slept_ns = qemu_clock_get_ns() - start;
    trace_add(sleeper->trace, sleeper->name);
    sleeper->done = true;
}

static void test_co_sleep(void)
{
    Trace trace = { { 0 } };
    /* Started out of order; the gaps are wide enough that starting them
     * (a thread each under the thread backend) does not reorder them. */
    Sleeper sleepers[] = {
        { &trace, "s90", 90 * 1000 * 1000, 0, false },
        { &trace, "s30", 30 * 1000 * 1000, 0, false },
        { &trace, "s0", 0, 0, false },
        { &trace, "s60", 60 * 1000 * 1000, 0, false },
    };

    for (size_t i = 0; i < ARRAY_SIZE(sleepers); i++) {
        qemu_coroutine_enter(qemu_coroutine_create(sleeper_entry), &sleepers[i]);
        CHECK(!sleepers[i].done);     /* even a zero sleep yields to the loop */
    }
    LOOP_UNTIL(sleepers[0].done);
    CHECK_STR(trace.text, "s0 s30 s60 s90");
    for (size_t i = 0; i < ARRAY_SIZE(sleepers); i++) {
        CHECK(sleepers[i].slept_ns >= sleepers[i].ns);
    }
}

static const TestCase tests[] = {
    { "bh-runs-once", test_bh_runs_once },
    { "bh-delete-in-callback", test_bh_delete_in_callback },
    { "bh-wakes-blocking-loop", test_bh_wakes_blocking_loop },
    { "timers-deadline-order", test_timers_fire_in_deadline_order },
    { "short-timers-stress", test_short_timers_stress },
    { "fd-handlers", test_fd_handlers },
    { "co-sleep", test_co_sleep },
};

int main(int argc, char **argv)
{
    return run_tests(tests, ARRAY_SIZE(tests), argc, argv);
}
