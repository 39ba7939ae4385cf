/*
 * Coroutine life cycles: several coroutines interleaved by their caller,
 * each yielding and terminating; a coroutine whose LAST action is a yield
 * (its continuation is empty while it is suspended, yet re-entering it must
 * terminate it, not restart it); many sequential life cycles, which reuse
 * pooled coroutines and their continuations; a coroutine woken with
 * qemu_co_wake_later, which must run right after its waker yields.
 * Hand-translated following cpc_runtime.h.  Argument "pool=off" turns the
 * common layer's pool off.
 *
 * Original:
 *
 *   struct worker { int id; int steps; bool finished; };
 *
 *   static void coroutine_fn worker_fn(void *opaque)
 *   {
 *       struct worker *w = opaque;
 *       for (int i = 0; i < w->steps; i++) {
 *           printf("worker %d step %d\n", w->id, i);
 *           qemu_coroutine_yield();
 *       }
 *       w->finished = true;
 *   }
 *
 *   static void coroutine_fn yield_last(void *opaque)
 *   {
 *       int *count = opaque;
 *       (*count)++;
 *       qemu_coroutine_yield();
 *   }
 *
 *   static void coroutine_fn sleeper(void *opaque)
 *   {
 *       printf("sleeper suspends\n");
 *       qemu_coroutine_yield();
 *       printf("sleeper woken\n");
 *   }
 *
 *   static void coroutine_fn waker(void *opaque)
 *   {
 *       Coroutine *sleeper_co = opaque;
 *       printf("waker wakes the sleeper\n");
 *       qemu_co_wake_later(sleeper_co);
 *       printf("waker yields\n");
 *       qemu_coroutine_yield();
 *       printf("waker finishes\n");
 *   }
 */
#define CPS_COROUTINE_INTERNAL /* for qemu_co_wake_later */
#include "cps_coroutine.h"

#include <stdio.h>
#include <string.h>

struct worker {
    int id;
    int steps;
    bool finished;
};

/* worker_fn normalized:
 *       w = opaque; i = 0;
 *   loop: if (!(i < w->steps)) { w->finished = true; return; }
 *       printf(...); qemu_coroutine_yield();
 *       i++; goto loop;
 * The goto is a direct call of the loop piece (its frame would be popped
 * at once, so no bounce through the trampoline). */
struct worker_fn_args { void *opaque; };
struct worker_fn__loop_args { struct worker *w; int i; };
struct worker_fn__p1_args { struct worker *w; int i; };
static cpc_cont *worker_fn__loop(cpc_cont *k);
static cpc_cont *worker_fn__p1(cpc_cont *k);

static cpc_cont *worker_fn(cpc_cont *k)
{
    struct worker_fn_args *args = cpc_pop(k, sizeof *args);
    struct worker *w = args->opaque;
    int i = 0;
    struct worker_fn__loop_args *loop = cpc_push(&k, sizeof *loop);
    loop->w = w;
    loop->i = i;
    return worker_fn__loop(k);
}

static cpc_cont *worker_fn__loop(cpc_cont *k)
{
    struct worker_fn__loop_args *args = cpc_pop(k, sizeof *args);
    struct worker *w = args->w;
    int i = args->i;
    if (!(i < w->steps)) {
        w->finished = true;
        return k;
    }
    printf("worker %d step %d\n", w->id, i);
    struct worker_fn__p1_args *p1 = cpc_push_frame(&k, sizeof *p1, worker_fn__p1);
    p1->w = w;
    p1->i = i;
    cpc_push_frame(&k, 0, qemu_coroutine_yield);
    return k;
}

static cpc_cont *worker_fn__p1(cpc_cont *k)
{
    struct worker_fn__p1_args *args = cpc_pop(k, sizeof *args);
    struct worker *w = args->w;
    int i = args->i;
    i++;
    struct worker_fn__loop_args *loop = cpc_push(&k, sizeof *loop);
    loop->w = w;
    loop->i = i;
    return worker_fn__loop(k);
}

/* yield_last: the yield is in tail position; no empty piece after it. */
struct yield_last_args { void *opaque; };

static cpc_cont *yield_last(cpc_cont *k)
{
    struct yield_last_args *args = cpc_pop(k, sizeof *args);
    int *count = args->opaque;
    (*count)++;
    cpc_push_frame(&k, 0, qemu_coroutine_yield);
    return k;
}

/* sleeper and waker: nothing is live across their calls, so their
 * continuation pieces take no arguments. */
struct entry_args { void *opaque; };
static cpc_cont *sleeper__p1(cpc_cont *k);
static cpc_cont *waker__p1(cpc_cont *k);
static cpc_cont *waker__p2(cpc_cont *k);
struct qemu_co_wake_later_args { Coroutine *co; };

static cpc_cont *sleeper(cpc_cont *k)
{
    cpc_pop(k, sizeof(struct entry_args));
    printf("sleeper suspends\n");
    cpc_push_frame(&k, 0, sleeper__p1);
    cpc_push_frame(&k, 0, qemu_coroutine_yield);
    return k;
}

static cpc_cont *sleeper__p1(cpc_cont *k)
{
    printf("sleeper woken\n");
    return k;
}

static cpc_cont *waker(cpc_cont *k)
{
    struct entry_args *args = cpc_pop(k, sizeof *args);
    Coroutine *sleeper_co = args->opaque;
    printf("waker wakes the sleeper\n");
    cpc_push_frame(&k, 0, waker__p1);
    struct qemu_co_wake_later_args *call = cpc_push_frame(&k, sizeof *call, qemu_co_wake_later);
    call->co = sleeper_co;
    return k;
}

static cpc_cont *waker__p1(cpc_cont *k)
{
    printf("waker yields\n");
    cpc_push_frame(&k, 0, waker__p2);
    cpc_push_frame(&k, 0, qemu_coroutine_yield);
    return k;
}

static cpc_cont *waker__p2(cpc_cont *k)
{
    printf("waker finishes\n");
    return k;
}

enum { N_WORKERS = 3, N_SEQUENTIAL = 200 };

int main(int argc, char **argv)
{
    bool pool = !(argc > 1 && strcmp(argv[1], "pool=off") == 0);
    qemu_coroutine_pool_set_enabled(pool);

    struct worker workers[N_WORKERS];
    Coroutine *cos[N_WORKERS];
    for (int i = 0; i < N_WORKERS; i++) {
        workers[i] = (struct worker){ .id = i, .steps = i + 1 };
        cos[i] = qemu_coroutine_create(worker_fn);
    }
    /* Round robin until every worker has terminated. */
    int running = N_WORKERS;
    for (int round = 0; running > 0; round++) {
        printf("round %d\n", round);
        for (int i = 0; i < N_WORKERS; i++) {
            if (workers[i].finished) {
                continue;
            }
            qemu_coroutine_enter(cos[i], &workers[i]);
            if (workers[i].finished) {
                printf("worker %d terminated\n", i);
                running--;
            }
        }
    }

    int count = 0;
    int reused = 0;
    Coroutine *previous = NULL;
    for (int i = 0; i < N_SEQUENTIAL; i++) {
        Coroutine *co = qemu_coroutine_create(yield_last);
        reused += co == previous;
        qemu_coroutine_enter(co, &count); /* runs to the yield */
        qemu_coroutine_enter(co, &count); /* terminates it: no restart */
        previous = co;
    }
    printf("yield_last ran %d times in %d life cycles\n", count, N_SEQUENTIAL);
    if (pool) {
        printf("pooled coroutine reused %d times\n", reused);
    }

    Coroutine *sleeper_co = qemu_coroutine_create(sleeper);
    qemu_coroutine_enter(sleeper_co, NULL);
    Coroutine *waker_co = qemu_coroutine_create(waker);
    qemu_coroutine_enter(waker_co, sleeper_co);
    printf("back in main\n");
    qemu_coroutine_enter(waker_co, NULL);
    return 0;
}
