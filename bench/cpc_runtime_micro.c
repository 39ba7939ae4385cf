/*
 * Micro-benchmarks of the cpc runtime: QEMU test-coroutine's perf modes,
 * hand-translated following cpc_runtime.h and linked with the
 * hand-translated common layer (tests/cpc_runtime/qemu_coroutine_cps.c,
 * pool on or off at compile time) and coroutine-cpc.c.
 *
 *   cpc_runtime_micro lifecycle N        create + enter an empty coroutine
 *   cpc_runtime_micro nesting CYCLES D   a coroutine creating and entering a
 *                                        child, recursively to depth D
 *   cpc_runtime_micro yield N            one coroutine yielding N times,
 *                                        re-entered by its caller
 *   cpc_runtime_micro memory N           N coroutines suspended in a yield
 *
 * Prints `<mode> ops=<n> ns_per_op=<x>` (memory: heap bytes per suspended
 * coroutine, malloc's chunk overhead included).  Driven by
 * cpc_runtime_micro.py, which also counts instructions with callgrind.
 *
 * Originals (QEMU tests/test-coroutine.c):
 *
 *   static void coroutine_fn empty_coroutine(void *opaque) { }
 *
 *   typedef struct { unsigned int n_enter, n_return, max; } NestData;
 *   static void coroutine_fn nest(void *opaque)
 *   {
 *       NestData *nd = opaque;
 *       nd->n_enter++;
 *       if (nd->n_enter < nd->max) {
 *           Coroutine *child = qemu_coroutine_create(nest);
 *           qemu_coroutine_enter(child, nd);
 *       }
 *       nd->n_return++;
 *   }
 *
 *   static void coroutine_fn yield_loop(void *opaque)
 *   {
 *       unsigned int *counter = opaque;
 *       while ((*counter) > 0) {
 *           (*counter)--;
 *           qemu_coroutine_yield();
 *       }
 *   }
 */
#include "cps_coroutine.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- translated coroutine functions ------------------------------------ */

struct entry_args { void *opaque; };

static cpc_cont *empty_coroutine(cpc_cont *k)
{
    cpc_pop(k, sizeof(struct entry_args));
    return k;
}

typedef struct {
    unsigned int n_enter;
    unsigned int n_return;
    unsigned int max;
} NestData;

static cpc_cont *nest(cpc_cont *k)
{
    struct entry_args *args = cpc_pop(k, sizeof *args);
    NestData *nd = args->opaque;
    nd->n_enter++;
    if (nd->n_enter < nd->max) {
        Coroutine *child = qemu_coroutine_create(nest);
        qemu_coroutine_enter(child, nd);
    }
    nd->n_return++;
    return k;
}

/* yield_loop: the loop head is a piece; the code after the yield is the
 * loop head again, so the yield's continuation is that piece. */
struct yield_loop__head_args { unsigned int *counter; };
static cpc_cont *yield_loop__head(cpc_cont *k);

static cpc_cont *yield_loop(cpc_cont *k)
{
    struct entry_args *args = cpc_pop(k, sizeof *args);
    unsigned int *counter = args->opaque;
    struct yield_loop__head_args *head = cpc_push(&k, sizeof *head);
    head->counter = counter;
    return yield_loop__head(k); /* direct call: goto the loop head */
}

static cpc_cont *yield_loop__head(cpc_cont *k)
{
    struct yield_loop__head_args *args = cpc_pop(k, sizeof *args);
    unsigned int *counter = args->counter;
    if (!((*counter) > 0)) {
        return k;
    }
    (*counter)--;
    struct yield_loop__head_args *head =
        cpc_push_frame(&k, sizeof *head, yield_loop__head);
    head->counter = counter;
    cpc_push_frame(&k, 0, qemu_coroutine_yield);
    return k;
}

/* --- drivers ------------------------------------------------------------ */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void report(const char *mode, unsigned long ops, double start)
{
    double elapsed = now_ns() - start;
    printf("%s ops=%lu ns_per_op=%.2f\n", mode, ops, elapsed / (double)ops);
}

static void perf_lifecycle(unsigned long n)
{
    double start = now_ns();
    for (unsigned long i = 0; i < n; i++) {
        Coroutine *co = qemu_coroutine_create(empty_coroutine);
        qemu_coroutine_enter(co, NULL);
    }
    report("lifecycle", n, start);
}

static void perf_nesting(unsigned long cycles, unsigned int depth)
{
    double start = now_ns();
    for (unsigned long i = 0; i < cycles; i++) {
        NestData nd = { .n_enter = 0, .n_return = 0, .max = depth };
        Coroutine *root = qemu_coroutine_create(nest);
        qemu_coroutine_enter(root, &nd);
        if (nd.n_return != depth) {
            fprintf(stderr, "nesting: %u returns, expected %u\n", nd.n_return, depth);
            exit(1);
        }
    }
    report("nesting", cycles * depth, start);
}

static void perf_yield(unsigned long n)
{
    unsigned int counter = (unsigned int)n;
    Coroutine *co = qemu_coroutine_create(yield_loop);
    double start = now_ns();
    while (counter > 0) {
        qemu_coroutine_enter(co, &counter);
    }
    report("yield", n, start);
    qemu_coroutine_enter(co, &counter); /* lets it terminate */
}

static void measure_memory(unsigned long n)
{
    Coroutine **cos = malloc(n * sizeof *cos);
    unsigned int *counters = malloc(n * sizeof *counters);
    if (cos == NULL || counters == NULL) {
        abort();
    }
    struct mallinfo2 before = mallinfo2();
    for (unsigned long i = 0; i < n; i++) {
        counters[i] = 1;
        cos[i] = qemu_coroutine_create(yield_loop);
        qemu_coroutine_enter(cos[i], &counters[i]); /* suspended in the yield */
    }
    struct mallinfo2 after = mallinfo2();
    printf("memory coroutines=%lu bytes_per_suspended=%.1f\n", n,
           (double)(after.uordblks - before.uordblks) / (double)n);
    for (unsigned long i = 0; i < n; i++) {
        qemu_coroutine_enter(cos[i], &counters[i]); /* terminates */
    }
    free(counters);
    free(cos);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s lifecycle|nesting|yield|memory N [DEPTH]\n", argv[0]);
        return 2;
    }
    unsigned long n = strtoul(argv[2], NULL, 10);
    if (strcmp(argv[1], "lifecycle") == 0) {
        perf_lifecycle(n);
    } else if (strcmp(argv[1], "nesting") == 0) {
        perf_nesting(n, argc > 3 ? (unsigned int)strtoul(argv[3], NULL, 10) : 1000);
    } else if (strcmp(argv[1], "yield") == 0) {
        perf_yield(n);
    } else if (strcmp(argv[1], "memory") == 0) {
        measure_memory(n);
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    return 0;
}
