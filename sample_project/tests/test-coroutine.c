/*
 * test-coroutine — the coroutine layer: unit tests, and the benchmarks.
 *
 *   test-coroutine [TEST...]          unit tests (all, or the named ones)
 *   test-coroutine perf lifecycle|nesting|yield [--pool on|off] [--iterations N]
 *   test-coroutine suspended N
 *
 * perf prints one line per result, e.g.
 *   perf lifecycle pool=off backend=ucontext ns_per_op=123.4 iterations=1048576
 * (both pool settings unless --pool is given; without --iterations the
 * count doubles until a run takes at least 0.2 s).  suspended creates N
 * coroutines that all yield and prints the resident memory they added,
 * then resumes them all to their end (it fails unless all N yielded):
 *   suspended count=N bytes_per_coroutine=8213.5 backend=ucontext
 */
#include "test-util.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"

/* --- unit tests ---------------------------------------------------------------- */

typedef struct {
    int steps;
    void *arg;
    Coroutine *self;
    bool in_coroutine;
    bool finished;
} Probe;

static void coroutine_fn probe_entry(void *opaque)
{
    Probe *probe = opaque;

    probe->arg = opaque;
    probe->self = qemu_coroutine_self();
    probe->in_coroutine = qemu_in_coroutine();
    for (probe->steps = 1; probe->steps < 4; probe->steps++) {
        qemu_coroutine_yield();
    }
    probe->finished = true;
}

static void test_enter_yield(void)
{
    Probe probe = { 0 };
    Coroutine *co = qemu_coroutine_create(probe_entry);

    qemu_coroutine_enter(co, &probe);
    CHECK(probe.arg == &probe);
    CHECK_EQ(probe.steps, 1);
    CHECK(!probe.finished);
    qemu_coroutine_enter(co, NULL);   /* opaque only counts at the first enter */
    CHECK_EQ(probe.steps, 2);
    qemu_coroutine_enter(co, NULL);
    CHECK_EQ(probe.steps, 3);
    CHECK(!probe.finished);
    qemu_coroutine_enter(co, NULL);   /* runs to the end: terminated */
    CHECK(probe.finished);
    CHECK_EQ(probe.steps, 4);
}

static void test_self_and_in_coroutine(void)
{
    Probe probe = { 0 };
    Coroutine *co = qemu_coroutine_create(probe_entry);

    CHECK(!qemu_in_coroutine());
    qemu_coroutine_enter(co, &probe);
    CHECK(probe.in_coroutine);
    CHECK(probe.self == co);
    CHECK(!qemu_in_coroutine());
    CHECK(qemu_coroutine_entered(co) == false);
    while (!probe.finished) {
        qemu_coroutine_enter(co, NULL);
    }
}

/* Nesting: each coroutine enters the next one down to a depth; each checks
 * that it is itself again after the inner one finished. */
typedef struct {
    int depth;
    int max_depth;
    int deepest;
    int finished;
} Nest;

static void coroutine_fn nest_entry(void *opaque)
{
    Nest *nest = opaque;
    Coroutine *self = qemu_coroutine_self();

    nest->depth++;
    if (nest->depth > nest->deepest) {
        nest->deepest = nest->depth;
    }
    if (nest->depth < nest->max_depth) {
        Coroutine *inner = qemu_coroutine_create(nest_entry);
        qemu_coroutine_enter(inner, nest);
    }
    CHECK(qemu_coroutine_self() == self);
    CHECK(qemu_in_coroutine());
    nest->depth--;
    nest->finished++;
}

static void test_nesting(void)
{
    Nest nest = { .max_depth = 128 };
    Coroutine *outer = qemu_coroutine_create(nest_entry);

    qemu_coroutine_enter(outer, &nest);
    CHECK_EQ(nest.deepest, 128);
    CHECK_EQ(nest.finished, 128);
    CHECK_EQ(nest.depth, 0);
    CHECK(!qemu_in_coroutine());
}

/* A nested coroutine that yields returns control to the coroutine that
 * entered it, not to the native code below. */
typedef struct {
    Trace trace;
    Coroutine *inner;
} YieldNest;

static void coroutine_fn yield_inner(void *opaque)
{
    YieldNest *state = opaque;

    trace_add(&state->trace, "inner-start");
    qemu_coroutine_yield();
    trace_add(&state->trace, "inner-end");
}

static void coroutine_fn yield_outer(void *opaque)
{
    YieldNest *state = opaque;

    state->inner = qemu_coroutine_create(yield_inner);
    trace_add(&state->trace, "outer-start");
    qemu_coroutine_enter(state->inner, state);
    trace_add(&state->trace, "outer-after-inner-yield");
    qemu_coroutine_yield();
    trace_add(&state->trace, "outer-resumes-inner");
    qemu_coroutine_enter(state->inner, NULL);
    trace_add(&state->trace, "outer-end");
}

static void test_nested_yield(void)
{
    YieldNest state = { 0 };
    Coroutine *outer = qemu_coroutine_create(yield_outer);

    qemu_coroutine_enter(outer, &state);
    trace_add(&state.trace, "main");
    qemu_coroutine_enter(outer, NULL);
    CHECK_STR(state.trace.text,
              "outer-start inner-start outer-after-inner-yield main "
              "outer-resumes-inner inner-end outer-end");
}

/* Termination returns the coroutine to the pool: the next create reuses it
 * and runs the new entry from the start. */
static void coroutine_fn count_entry(void *opaque)
{
    (*(int *)opaque)++;
}

static void test_termination_and_pool(void)
{
    int runs = 0;
    Coroutine *first, *second;

    qemu_coroutine_set_pool_enabled(true);
    first = qemu_coroutine_create(count_entry);
    qemu_coroutine_enter(first, &runs);
    CHECK_EQ(runs, 1);
    second = qemu_coroutine_create(count_entry);
    CHECK(second == first);   /* reused from the pool */
    qemu_coroutine_enter(second, &runs);
    CHECK_EQ(runs, 2);

    /* Without the pool every coroutine is new and still runs correctly. */
    qemu_coroutine_set_pool_enabled(false);
    for (int i = 0; i < 100; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(count_entry), &runs);
    }
    CHECK_EQ(runs, 102);
    qemu_coroutine_set_pool_enabled(true);
}

/* Many live coroutines interleaved round-robin, each with its own stack
 * (locals survive across yields). */
enum { ROUND_ROBIN_COROUTINES = 200, ROUND_ROBIN_ROUNDS = 20 };

typedef struct {
    int id;
    long sum;
    Trace *order;
} RoundRobin;

static void coroutine_fn round_robin_entry(void *opaque)
{
    RoundRobin *rr = opaque;
    long local = rr->id * 1000;

    for (int round = 0; round < ROUND_ROBIN_ROUNDS; round++) {
        local += round;
        qemu_coroutine_yield();
    }
    rr->sum = local;
}

static void test_round_robin(void)
{
    static RoundRobin state[ROUND_ROBIN_COROUTINES];
    static Coroutine *cos[ROUND_ROBIN_COROUTINES];

    for (int i = 0; i < ROUND_ROBIN_COROUTINES; i++) {
        state[i] = (RoundRobin){ .id = i };
        cos[i] = qemu_coroutine_create(round_robin_entry);
        qemu_coroutine_enter(cos[i], &state[i]);
    }
    for (int round = 0; round < ROUND_ROBIN_ROUNDS; round++) {
        for (int i = 0; i < ROUND_ROBIN_COROUTINES; i++) {
            qemu_coroutine_enter(cos[i], NULL);
        }
    }
    for (int i = 0; i < ROUND_ROBIN_COROUTINES; i++) {
        CHECK_EQ(state[i].sum, i * 1000L + ROUND_ROBIN_ROUNDS * (ROUND_ROBIN_ROUNDS - 1) / 2);
    }
}

/* A coroutine has a real stack of its own: deep recursion works. */
static int recurse(int depth)
{
    volatile char frame[1024];

    frame[0] = (char)depth;
    if (depth == 0) {
        return frame[0];
    }
    return recurse(depth - 1) + 1 + frame[0] - (char)depth;
}

static void coroutine_fn deep_entry(void *opaque)
{
    *(int *)opaque = recurse(256);   /* about 256 KiB of stack */
}

static void test_deep_stack(void)
{
    int result = -1;

    qemu_coroutine_enter(qemu_coroutine_create(deep_entry), &result);
    CHECK_EQ(result, 256);
}

/* A coroutine woken through a queue runs after its waker yields, never
 * nested inside it. */
typedef struct {
    CoQueue queue;
    Trace trace;
} WakeOrder;

static void coroutine_fn waiter_entry(void *opaque)
{
    WakeOrder *state = opaque;

    trace_add(&state->trace, "wait");
    qemu_co_queue_wait(&state->queue, NULL);
    trace_add(&state->trace, "woken");
}

static void coroutine_fn waker_entry(void *opaque)
{
    WakeOrder *state = opaque;

    CHECK(qemu_co_queue_next(&state->queue));
    trace_add(&state->trace, "waker-continues");
    qemu_coroutine_yield();
    trace_add(&state->trace, "waker-end");
}

static void test_wake_after_yield(void)
{
    WakeOrder state = { 0 };
    Coroutine *waker;

    qemu_co_queue_init(&state.queue);
    qemu_coroutine_enter(qemu_coroutine_create(waiter_entry), &state);
    waker = qemu_coroutine_create(waker_entry);
    qemu_coroutine_enter(waker, &state);
    trace_add(&state.trace, "main");
    qemu_coroutine_enter(waker, NULL);
    CHECK_STR(state.trace.text, "wait waker-continues woken main waker-end");
}

static const TestCase tests[] = {
    { "enter-yield", test_enter_yield },
    { "self-in-coroutine", test_self_and_in_coroutine },
    { "nesting", test_nesting },
    { "nested-yield", test_nested_yield },
    { "termination-pool", test_termination_and_pool },
    { "round-robin", test_round_robin },
    { "deep-stack", test_deep_stack },
    { "wake-after-yield", test_wake_after_yield },
};

/* --- perf ---------------------------------------------------------------------- */

enum { NESTING_DEPTH = 1000 };

static void coroutine_fn empty_entry(void *opaque)
{
    (void)opaque;
}

static void coroutine_fn yield_loop_entry(void *opaque)
{
    const bool *stop = opaque;

    while (!*stop) {
        qemu_coroutine_yield();
    }
}

typedef struct {
    int depth;
} NestPerf;

static void coroutine_fn nest_perf_entry(void *opaque)
{
    NestPerf *nest = opaque;

    if (--nest->depth > 0) {
        qemu_coroutine_enter(qemu_coroutine_create(nest_perf_entry), nest);
    }
}

/* Run `ops` operations of a mode; returns the elapsed nanoseconds. */
static int64_t run_perf(const char *mode, long ops)
{
    int64_t start = qemu_clock_get_ns();

    if (strcmp(mode, "lifecycle") == 0) {
        for (long i = 0; i < ops; i++) {
            qemu_coroutine_enter(qemu_coroutine_create(empty_entry), NULL);
        }
    } else if (strcmp(mode, "nesting") == 0) {
        /* One op is one nested coroutine: ops / NESTING_DEPTH chains. */
        for (long chain = 0; chain < ops / NESTING_DEPTH; chain++) {
            NestPerf nest = { .depth = NESTING_DEPTH };
            qemu_coroutine_enter(qemu_coroutine_create(nest_perf_entry), &nest);
        }
    } else {
        bool stop = false;
        Coroutine *co = qemu_coroutine_create(yield_loop_entry);
        qemu_coroutine_enter(co, &stop);
        start = qemu_clock_get_ns();
        for (long i = 0; i < ops; i++) {
            qemu_coroutine_enter(co, NULL);   /* one op: enter + yield back */
        }
        int64_t elapsed = qemu_clock_get_ns() - start;
        stop = true;
        qemu_coroutine_enter(co, NULL);
        return elapsed;
    }
    return qemu_clock_get_ns() - start;
}

static void perf(const char *mode, bool pool, long iterations)
{
    long ops = iterations;
    int64_t elapsed;

    qemu_coroutine_set_pool_enabled(pool);
    if (ops > 0 && strcmp(mode, "nesting") == 0) {
        /* whole chains only */
        ops = MAX(ops / NESTING_DEPTH, 1) * NESTING_DEPTH;
    }
    if (ops > 0) {
        elapsed = run_perf(mode, ops);
    } else {
        /* Calibrate: double until one run takes 0.2 s. */
        ops = strcmp(mode, "nesting") == 0 ? NESTING_DEPTH : 1000;
        run_perf(mode, ops);   /* warm-up: fills the pool, faults stacks in */
        while ((elapsed = run_perf(mode, ops)) < NANOSECONDS_PER_SECOND / 5) {
            ops *= 2;
        }
    }
    printf("perf %s pool=%s backend=%s ns_per_op=%.1f iterations=%ld\n",
           mode, pool ? "on" : "off", COROUTINE_BACKEND, (double)elapsed / ops, ops);
    fflush(stdout);
    qemu_coroutine_set_pool_enabled(true);
}

static int perf_main(int argc, char **argv)
{
    const char *mode = argc > 2 ? argv[2] : "";
    int pools = 3;   /* bit 0: off, bit 1: on */
    long iterations = 0;

    if (strcmp(mode, "lifecycle") && strcmp(mode, "nesting") && strcmp(mode, "yield")) {
        fprintf(stderr, "usage: %s perf lifecycle|nesting|yield [--pool on|off] [--iterations N]\n",
                argv[0]);
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--pool") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "on") == 0) {
                pools = 2;
            } else if (strcmp(argv[i], "off") == 0) {
                pools = 1;
            } else {
                fprintf(stderr, "%s: --pool takes on or off, not %s\n", argv[0], argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            char *end;
            iterations = strtol(argv[++i], &end, 10);
            if (*end || iterations <= 0) {
                fprintf(stderr, "%s: --iterations takes a positive number\n", argv[0]);
                return 2;
            }
        } else {
            fprintf(stderr, "%s: unknown perf option %s\n", argv[0], argv[i]);
            return 2;
        }
    }
    if (pools & 1) {
        perf(mode, false, iterations);
    }
    if (pools & 2) {
        perf(mode, true, iterations);
    }
    return 0;
}

/* --- suspended: memory per suspended coroutine ----------------------------------- */

/* Resident bytes of the process.  smaps_rollup's Rss walks the page tables:
 * exact.  VmRSS (the fallback, before Linux 4.14) is a per-CPU counter
 * since Linux 6.2, off by up to 64 pages per CPU: +-50 bytes per coroutine
 * at N = 10,000. */
static long resident_bytes(void)
{
    static const struct {
        const char *path;
        const char *format;
    } sources[] = {
        { "/proc/self/smaps_rollup", "Rss: %ld kB" },
        { "/proc/self/status", "VmRSS: %ld kB" },
    };
    char line[256];

    for (size_t i = 0; i < ARRAY_SIZE(sources); i++) {
        FILE *file = fopen(sources[i].path, "r");
        long kib = -1;

        if (!file) {
            continue;
        }
        while (fgets(line, sizeof(line), file)) {
            if (sscanf(line, sources[i].format, &kib) == 1) {
                break;
            }
        }
        fclose(file);
        if (kib >= 0) {
            return kib * 1024;
        }
    }
    return -1;
}

/* Counted before the yield, which is the entry's last statement: nothing
 * is live across it, so the measure is the bare cost of a suspended
 * coroutine (code after it would keep a frame).  The resume enters each one
 * again and it terminates. */
static long suspended_reached;

static void coroutine_fn suspended_entry(void *opaque)
{
    (void)opaque;
    suspended_reached++;
    qemu_coroutine_yield();
}

static int suspended_main(int argc, char **argv)
{
    char *end = NULL;
    long count = argc > 2 ? strtol(argv[2], &end, 10) : 0;
    Coroutine **cos;
    long before, after;

    if (count <= 0 || *end) {
        fprintf(stderr, "usage: %s suspended N (N > 0)\n", argv[0]);
        return 2;
    }
    qemu_coroutine_set_pool_enabled(false);
    cos = qemu_mallocz(count * sizeof(*cos));
    /* Touch the array before the measure: calloc hands out untouched zero
     * pages, which would count 8 bytes per coroutine against the backend. */
    for (size_t offset = 0; offset < count * sizeof(*cos); offset += 4096) {
        ((volatile char *)cos)[offset] = 0;
    }
    /* One coroutine through its whole life first, so that the code of every
     * path is mapped in before the measure (file pages count in the
     * resident size, 64 KiB at a time with the kernel's fault-around). */
    cos[0] = qemu_coroutine_create(suspended_entry);
    qemu_coroutine_enter(cos[0], NULL);
    qemu_coroutine_enter(cos[0], NULL);
    resident_bytes();   /* and the code of the reading itself, run after the kernel counted */
    before = resident_bytes();
    for (long i = 0; i < count; i++) {
        cos[i] = qemu_coroutine_create(suspended_entry);
        qemu_coroutine_enter(cos[i], NULL);
    }
    after = resident_bytes();
    if (before < 0 || after < 0) {
        fprintf(stderr, "%s: cannot read the resident size from /proc/self\n", argv[0]);
        return 1;
    }
    printf("suspended count=%ld bytes_per_coroutine=%.1f backend=%s\n",
           count, (double)(after - before) / count, COROUTINE_BACKEND);
    fflush(stdout);
    for (long i = 0; i < count; i++) {
        qemu_coroutine_enter(cos[i], NULL);
    }
    free(cos);
    if (suspended_reached != count + 1) {   /* the warm-up one too */
        fprintf(stderr, "%s: %ld of %ld coroutines reached their yield\n", argv[0],
                suspended_reached - 1, count);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "perf") == 0) {
        return perf_main(argc, argv);
    }
    if (argc > 1 && strcmp(argv[1], "suspended") == 0) {
        return suspended_main(argc, argv);
    }
    return run_tests(tests, ARRAY_SIZE(tests), argc, argv);
}
