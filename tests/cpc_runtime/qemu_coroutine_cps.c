/*
 * The backend-independent coroutine layer (the sample project's
 * util/qemu-coroutine.c: create, enter, yield, the pool of terminated
 * coroutines, the wake-up list) as the CPS translator would emit it,
 * written by hand for the runtime tests and benchmarks.
 *
 * Everything here is native code and passes through untouched, except the
 * coroutine functions qemu_coroutine_yield (whose translation is never run
 * under cpc: the trampoline stops at its frame) and qemu_co_wake_later.
 * Native callers reach the current coroutine through the backend's
 * qemu_coroutine_current(); coroutine code passes its continuation to the
 * cpc_need_cont native qemu_coroutine_self.
 *
 * One departure, for the tests' sake: a destructor empties the pool at exit
 * so valgrind can tell a leaked continuation from a pooled one.
 */
#define CPS_COROUTINE_INTERNAL
#include "cps_coroutine.h"

#include <stdio.h>
#include <stdlib.h>

enum { POOL_MAX_SIZE = 64 };

static __thread Coroutine *pool;
static __thread unsigned int pool_size;
static __thread bool pool_disabled;

void qemu_coroutine_pool_set_enabled(bool on)
{
    Coroutine *co;

    pool_disabled = !on;
    if (on) {
        return;
    }
    while ((co = pool) != NULL) {
        pool = co->pool_next;
        qemu_coroutine_delete(co);
    }
    pool_size = 0;
}

static void __attribute__((destructor)) coroutine_pool_cleanup(void)
{
    qemu_coroutine_pool_set_enabled(false);
}

Coroutine *qemu_coroutine_create(CoroutineEntry *entry)
{
    Coroutine *co = NULL;

    if (!pool_disabled) {
        co = pool;
        if (co) {
            pool = co->pool_next;
            pool_size--;
        }
    }
    if (!co) {
        co = qemu_coroutine_new();
    }
    co->entry = entry;
    co->entry_arg = NULL;
    co->caller = NULL;
    co->co_queue_wakeup.first = NULL;
    co->co_queue_wakeup.last = &co->co_queue_wakeup.first;
    return co;
}

static void coroutine_release(Coroutine *co)
{
    if (!pool_disabled && pool_size < POOL_MAX_SIZE) {
        co->pool_next = pool;
        pool = co;
        pool_size++;
        return;
    }
    qemu_coroutine_delete(co);
}

static void coroutine_run_wakeups(Coroutine *co)
{
    Coroutine *next;

    while ((next = co->co_queue_wakeup.first) != NULL) {
        co->co_queue_wakeup.first = next->co_queue_next;
        if (co->co_queue_wakeup.first == NULL) {
            co->co_queue_wakeup.last = &co->co_queue_wakeup.first;
        }
        qemu_coroutine_enter(next, NULL);
    }
}

void qemu_coroutine_enter(Coroutine *co, void *opaque)
{
    Coroutine *self = qemu_coroutine_current();
    CoroutineAction action;

    if (co->caller) {
        fprintf(stderr, "coroutine %p entered while it is running\n", (void *)co);
        abort();
    }
    co->caller = self;
    co->entry_arg = opaque;
    action = qemu_coroutine_switch(self, co, COROUTINE_ENTER);

    coroutine_run_wakeups(co);

    switch (action) {
    case COROUTINE_YIELD:
        return;
    case COROUTINE_TERMINATE:
        co->caller = NULL;
        coroutine_release(co);
        return;
    case COROUTINE_ENTER:
        break;
    }
    fprintf(stderr, "coroutine %p came back with action %d\n", (void *)co, (int)action);
    abort();
}

/* void coroutine_fn qemu_coroutine_yield(void)
 * {
 *     Coroutine *self = qemu_coroutine_self();
 *     Coroutine *to = self->caller;
 *     if (!to) { fprintf(stderr, "..."); abort(); }
 *     self->caller = NULL;
 *     qemu_coroutine_switch(self, to, COROUTINE_YIELD);
 * }
 * No coroutine call inside: one piece.  Never run under cpc. */
cpc_cont *qemu_coroutine_yield(cpc_cont *k)
{
    Coroutine *self = qemu_coroutine_self(k);
    Coroutine *to = self->caller;

    if (!to) {
        fprintf(stderr, "coroutine %p yields but nobody entered it\n", (void *)self);
        abort();
    }
    self->caller = NULL;
    qemu_coroutine_switch(self, to, COROUTINE_YIELD);
    return k;
}

/* void coroutine_fn qemu_co_wake_later(Coroutine *co)
 * {
 *     Coroutine *self = qemu_coroutine_self();
 *     QSIMPLEQ_INSERT_TAIL(&self->co_queue_wakeup, co, co_queue_next);
 * } */
struct qemu_co_wake_later_args { Coroutine *co; };

cpc_cont *qemu_co_wake_later(cpc_cont *k)
{
    struct qemu_co_wake_later_args *args = cpc_pop(k, sizeof *args);
    Coroutine *co = args->co;
    Coroutine *self = qemu_coroutine_self(k);

    co->co_queue_next = NULL;
    *self->co_queue_wakeup.last = co;
    self->co_queue_wakeup.last = &co->co_queue_next;
    return k;
}
