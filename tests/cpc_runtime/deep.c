/*
 * Deep coroutine recursion: the continuation grows far past 64 KiB (the
 * original CPC's 16-bit lengths overflowed there) and the coroutine is
 * suspended at the bottom, then resumed to unwind all levels.
 * Hand-translated following cpc_runtime.h.
 *
 * Original:
 *
 *   static long coroutine_fn depth_sum(long n)
 *   {
 *       if (n == 0) {
 *           qemu_coroutine_yield();
 *           return 0;
 *       }
 *       return n + depth_sum(n - 1);
 *   }
 *
 *   struct job { long depth; long sum; bool done; };
 *
 *   static void coroutine_fn entry(void *opaque)
 *   {
 *       struct job *job = opaque;
 *       job->sum = depth_sum(job->depth);
 *       job->done = true;
 *   }
 */
#include "cps_coroutine.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct job {
    long depth;
    long sum;
    bool done;
};

/* Test instrumentation, not translator output: the continuation length
 * seen at the bottom of the recursion. */
static size_t deepest_length;
static bool deepest_aligned; /* data[] still CPC_ALIGN-aligned after growth */

struct depth_sum_args { long n; };
struct depth_sum__p1_args { long n; _Alignas(CPC_ALIGN) long result; };
static cpc_cont *depth_sum__p1(cpc_cont *k);
static cpc_cont *depth_sum__p2(cpc_cont *k);

static cpc_cont *depth_sum(cpc_cont *k)
{
    struct depth_sum_args *args = cpc_pop(k, sizeof *args);
    long n = args->n;
    if (n == 0) {
        deepest_length = k->length;
        deepest_aligned = (uintptr_t)k->data % CPC_ALIGN == 0;
        cpc_push_frame(&k, 0, depth_sum__p2); /* nothing live: no arguments */
        cpc_push_frame(&k, 0, qemu_coroutine_yield);
        return k;
    }
    /* tmp = depth_sum(n - 1); return n + tmp; */
    struct depth_sum__p1_args *p1 = cpc_push_frame(&k, sizeof *p1, depth_sum__p1);
    p1->n = n;
    struct depth_sum_args *call = cpc_push_frame(&k, sizeof *call, depth_sum);
    call->n = n - 1;
    return k;
}

static cpc_cont *depth_sum__p1(cpc_cont *k)
{
    struct depth_sum__p1_args *args = cpc_pop(k, sizeof *args);
    long n = args->n;
    long tmp = args->result;
    CPC_RETURN(k, long, n + tmp);
}

static cpc_cont *depth_sum__p2(cpc_cont *k)
{
    CPC_RETURN(k, long, 0);
}

struct entry_args { void *opaque; };
struct entry__p1_args { struct job *job; _Alignas(CPC_ALIGN) long result; };
static cpc_cont *entry__p1(cpc_cont *k);

static cpc_cont *entry(cpc_cont *k)
{
    struct entry_args *args = cpc_pop(k, sizeof *args);
    struct job *job = args->opaque;
    struct entry__p1_args *p1 = cpc_push_frame(&k, sizeof *p1, entry__p1);
    p1->job = job;
    struct depth_sum_args *call = cpc_push_frame(&k, sizeof *call, depth_sum);
    call->n = job->depth;
    return k;
}

static cpc_cont *entry__p1(cpc_cont *k)
{
    struct entry__p1_args *args = cpc_pop(k, sizeof *args);
    struct job *job = args->job;
    job->sum = args->result;
    job->done = true;
    return k;
}

int main(int argc, char **argv)
{
    struct job job = { .depth = argc > 1 ? atol(argv[1]) : 100000 };
    Coroutine *co = qemu_coroutine_create(entry);
    qemu_coroutine_enter(co, &job);
    printf("suspended at the bottom: %s\n", job.done ? "no" : "yes");
    printf("continuation bytes at the bottom: %zu\n", deepest_length);
    printf("continuation data aligned to CPC_ALIGN: %s\n", deepest_aligned ? "yes" : "no");
    qemu_coroutine_enter(co, &job);
    printf("done: %s\n", job.done ? "yes" : "no");
    printf("sum=%ld\n", job.sum);
    return 0;
}
