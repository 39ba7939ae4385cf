/*
 * Micro-benchmarks of the cpc runtime: the perf modes of the sample
 * project's tests/test-coroutine.c (QEMU's shapes), hand-translated
 * following cpc_runtime.h and linked with the hand-translated common layer
 * (tests/cpc_runtime/qemu_coroutine_cps.c) and coroutine-cpc.c.
 *
 *   cpc_runtime_micro lifecycle N [pool=on|off]  create + enter an empty
 *                                                coroutine that terminates
 *   cpc_runtime_micro nesting N [pool=on|off]    N chains of coroutines each
 *                                                creating and entering a
 *                                                child, 1000 deep
 *   cpc_runtime_micro yield N [pool=on|off]      one coroutine yielding N
 *                                                times, re-entered each time
 *   cpc_runtime_micro suspended N                N coroutines suspended at
 *                                                their first yield
 *
 * Prints `<mode> ops=<n> ns_per_op=<x>`; suspended prints the heap bytes
 * per suspended coroutine (from mallinfo2's uordblks: 0 now that blocks
 * come from the runtime's free lists, whose 1 MiB chunks malloc maps
 * outside its heap) and the resident bytes (from /proc/self/statm, like
 * test-coroutine).  Driven by cpc_runtime_micro.py, which also counts
 * instructions with callgrind.
 *
 * Originals:
 *
 *   static void coroutine_fn perf_empty(void *opaque) { (void)opaque; }
 *
 *   static void coroutine_fn perf_nest(void *opaque)
 *   {
 *       unsigned int *remaining = opaque;
 *       if (*remaining > 0) {
 *           (*remaining)--;
 *           qemu_coroutine_enter(qemu_coroutine_create(perf_nest), remaining);
 *       }
 *   }
 *
 *   static void coroutine_fn perf_yield_loop(void *opaque)
 *   {
 *       unsigned long *remaining = opaque;
 *       while (*remaining > 0) {
 *           (*remaining)--;
 *           qemu_coroutine_yield();
 *       }
 *   }
 *
 *   static void coroutine_fn perf_suspend_once(void *opaque)
 *   {
 *       (void)opaque;
 *       qemu_coroutine_yield();
 *   }
 */
#include "cps_coroutine.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { PERF_NEST_DEPTH = 1000 };

/* --- translated coroutine functions ------------------------------------ */

struct entry_args { void *opaque; };

static cpc_cont *perf_empty(cpc_cont *k)
{
    struct entry_args *args = cpc_pop(k, sizeof *args);
    (void)args->opaque;
    return k;
}

static cpc_cont *perf_nest(cpc_cont *k)
{
    struct entry_args *args = cpc_pop(k, sizeof *args);
    unsigned int *remaining = args->opaque;
    if (*remaining > 0) {
        (*remaining)--;
        qemu_coroutine_enter(qemu_coroutine_create(perf_nest), remaining);
    }
    return k;
}

/* perf_yield_loop: the loop head is a piece; the code after the yield is
 * the loop head again, so the yield's continuation is that piece. */
struct perf_yield_loop__head_args { unsigned long *remaining; };
static cpc_cont *perf_yield_loop__head(cpc_cont *k);

static cpc_cont *perf_yield_loop(cpc_cont *k)
{
    struct entry_args *args = cpc_pop(k, sizeof *args);
    unsigned long *remaining = args->opaque;
    struct perf_yield_loop__head_args *head = cpc_push(&k, sizeof *head);
    head->remaining = remaining;
    return perf_yield_loop__head(k); /* direct call: goto the loop head */
}

/* As the translator writes it: one capacity check at the top of the piece,
 * for both frames, net of the popped arguments; then unchecked pushes. */
static cpc_cont *perf_yield_loop__head(cpc_cont *k)
{
    __SIZE_TYPE__ shortfall = cpc_piece_shortfall(
        k, sizeof(struct perf_yield_loop__head_args),
        cpc_frame_bytes(sizeof(struct perf_yield_loop__head_args)) + cpc_frame_bytes(0));
    if (__builtin_expect(shortfall != 0, 0)) {
        return cpc_grow_and_run(k, shortfall, perf_yield_loop__head);
    }
    struct perf_yield_loop__head_args *args = cpc_pop(k, sizeof *args);
    unsigned long *remaining = args->remaining;
    if (!(*remaining > 0)) {
        return k;
    }
    (*remaining)--;
    struct perf_yield_loop__head_args *head =
        cpc_push_frame_reserved(k, sizeof *head, perf_yield_loop__head);
    head->remaining = remaining;
    cpc_push_frame_reserved(k, 0, qemu_coroutine_yield);
    return k;
}

/* The yield is in tail position: no continuation piece after it, and it
 * pushes no more than it popped: no capacity check at all. */
static cpc_cont *perf_suspend_once(cpc_cont *k)
{
    struct entry_args *args = cpc_pop(k, sizeof *args);
    (void)args->opaque;
    cpc_push_frame_reserved(k, 0, qemu_coroutine_yield);
    return k;
}

/* --- drivers (native) -------------------------------------------------- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double perf_lifecycle(unsigned long n)
{
    double start = now_ns();
    for (unsigned long i = 0; i < n; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(perf_empty), NULL);
    }
    return (now_ns() - start) / (double)n;
}

static double perf_nesting(unsigned long n)
{
    double start = now_ns();
    for (unsigned long i = 0; i < n; i++) {
        unsigned int remaining = PERF_NEST_DEPTH - 1;
        qemu_coroutine_enter(qemu_coroutine_create(perf_nest), &remaining);
        if (remaining != 0) {
            fprintf(stderr, "nesting stopped %u levels short\n", remaining);
            exit(1);
        }
    }
    return (now_ns() - start) / ((double)n * PERF_NEST_DEPTH);
}

static double perf_yield(unsigned long n)
{
    unsigned long remaining = n;
    Coroutine *co = qemu_coroutine_create(perf_yield_loop);
    double start = now_ns();
    qemu_coroutine_enter(co, &remaining);
    while (remaining > 0) {
        qemu_coroutine_enter(co, NULL);
    }
    qemu_coroutine_enter(co, NULL); /* lets it terminate */
    return (now_ns() - start) / (double)n;
}

static long resident_bytes(void)
{
    long size_pages = 0;
    long resident_pages = -1;
    FILE *statm = fopen("/proc/self/statm", "r");
    if (statm == NULL) {
        return -1;
    }
    if (fscanf(statm, "%ld %ld", &size_pages, &resident_pages) != 2) {
        resident_pages = -1;
    }
    fclose(statm);
    return resident_pages < 0 ? -1 : resident_pages * sysconf(_SC_PAGESIZE);
}

static void perf_suspended(unsigned long n)
{
    Coroutine **cos = malloc(n * sizeof *cos);
    if (cos == NULL) {
        abort();
    }
    /* Make the array resident before measuring (not 0: gcc would turn
     * malloc + memset 0 into calloc, which leaves fresh pages untouched). */
    memset(cos, 0xff, n * sizeof *cos);
    long resident_before = resident_bytes();
    struct mallinfo2 before = mallinfo2();
    for (unsigned long i = 0; i < n; i++) {
        cos[i] = qemu_coroutine_create(perf_suspend_once);
        qemu_coroutine_enter(cos[i], NULL);
    }
    struct mallinfo2 after = mallinfo2();
    long resident_after = resident_bytes();
    printf("suspended coroutines=%lu heap_bytes_per_suspended=%.1f "
           "resident_bytes_per_suspended=%.1f\n",
           n, (double)(after.uordblks - before.uordblks) / (double)n,
           (double)(resident_after - resident_before) / (double)n);
    for (unsigned long i = 0; i < n; i++) {
        qemu_coroutine_enter(cos[i], NULL); /* terminates */
    }
    free(cos);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s lifecycle|nesting|yield|suspended N [pool=on|off]\n",
                argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    unsigned long n = strtoul(argv[2], NULL, 10);
    qemu_coroutine_pool_set_enabled(!(argc > 3 && strcmp(argv[3], "pool=off") == 0));
    double ns_per_op;
    if (strcmp(mode, "lifecycle") == 0) {
        ns_per_op = perf_lifecycle(n);
    } else if (strcmp(mode, "nesting") == 0) {
        ns_per_op = perf_nesting(n);
    } else if (strcmp(mode, "yield") == 0) {
        ns_per_op = perf_yield(n);
    } else if (strcmp(mode, "suspended") == 0) {
        perf_suspended(n);
        return 0;
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    printf("%s ops=%lu ns_per_op=%.2f\n", mode, n, ns_per_op);
    return 0;
}
