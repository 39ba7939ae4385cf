/*
 * Coroutines in two threads at once: the backend's notion of the current
 * coroutine, its leader and the common layer's pool are per thread, so each
 * thread's coroutines see their own thread's state.  Hand-translated
 * following cpc_runtime.h.
 *
 * Original:
 *
 *   struct run { unsigned long remaining; unsigned long finished;
 *                Coroutine *leader; bool self_ok; };
 *
 *   static void coroutine_fn count_down(void *opaque)
 *   {
 *       struct run *r = opaque;
 *       while (r->remaining > 0) {
 *           r->remaining--;
 *           qemu_coroutine_yield();
 *           r->self_ok &= qemu_coroutine_self() != r->leader;
 *       }
 *       r->finished++;
 *   }
 *
 *   static void *thread_main(void *opaque)       // native
 *   {
 *       struct run *r = opaque;
 *       r->leader = qemu_coroutine_self();
 *       Coroutine *co = qemu_coroutine_create(count_down);
 *       qemu_coroutine_enter(co, r);
 *       while (r->remaining > 0) {
 *           struct run empty = { .leader = r->leader, .self_ok = true };
 *           qemu_coroutine_enter(qemu_coroutine_create(count_down), &empty);
 *           r->finished += empty.finished;
 *           qemu_coroutine_enter(co, r);
 *       }
 *       qemu_coroutine_enter(co, r);              // lets it finish
 *       return NULL;
 *   }
 */
#include "cps_coroutine.h"

#include <pthread.h>
#include <stdio.h>

struct run {
    unsigned long remaining;
    unsigned long finished;
    Coroutine *leader;
    bool self_ok;
};

struct count_down_args { void *opaque; };
struct count_down__loop_args { struct run *r; };
struct count_down__p1_args { struct run *r; };
static cpc_cont *count_down__loop(cpc_cont *k);
static cpc_cont *count_down__p1(cpc_cont *k);

static cpc_cont *count_down(cpc_cont *k)
{
    struct count_down_args *args = cpc_pop(k, sizeof *args);
    struct run *r = args->opaque;
    struct count_down__loop_args *loop = cpc_push(&k, sizeof *loop);
    loop->r = r;
    return count_down__loop(k);
}

static cpc_cont *count_down__loop(cpc_cont *k)
{
    struct count_down__loop_args *args = cpc_pop(k, sizeof *args);
    struct run *r = args->r;
    if (!(r->remaining > 0)) {
        r->finished++;
        return k;
    }
    r->remaining--;
    struct count_down__p1_args *p1 = cpc_push_frame(&k, sizeof *p1, count_down__p1);
    p1->r = r;
    cpc_push_frame(&k, 0, qemu_coroutine_yield);
    return k;
}

static cpc_cont *count_down__p1(cpc_cont *k)
{
    struct count_down__p1_args *args = cpc_pop(k, sizeof *args);
    struct run *r = args->r;
    r->self_ok &= qemu_coroutine_self(k) != r->leader;
    struct count_down__loop_args *loop = cpc_push(&k, sizeof *loop);
    loop->r = r;
    return count_down__loop(k);
}

static void *thread_main(void *opaque)
{
    struct run *r = opaque;
    r->leader = qemu_coroutine_self(NULL);
    Coroutine *co = qemu_coroutine_create(count_down);
    qemu_coroutine_enter(co, r);
    while (r->remaining > 0) {
        struct run empty = { .leader = r->leader, .self_ok = true };
        qemu_coroutine_enter(qemu_coroutine_create(count_down), &empty);
        r->finished += empty.finished;
        qemu_coroutine_enter(co, r);
    }
    qemu_coroutine_enter(co, r);
    return NULL;
}

enum { N_THREADS = 2, STEPS = 200000 };

int main(void)
{
    pthread_t threads[N_THREADS];
    struct run runs[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        runs[i] = (struct run){ .remaining = STEPS, .self_ok = true };
        if (pthread_create(&threads[i], NULL, thread_main, &runs[i]) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    for (int i = 0; i < N_THREADS; i++) {
        printf("thread %d: %lu coroutines finished, self never the leader: %s\n", i,
               runs[i].finished, runs[i].self_ok ? "yes" : "no");
    }
    printf("threads have distinct leaders: %s\n",
           runs[0].leader != runs[1].leader && runs[0].leader != qemu_coroutine_self(NULL)
               ? "yes"
               : "no");
    return 0;
}
