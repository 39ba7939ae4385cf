/*
 * The backend-independent coroutine layer (QEMU 2013's qemu-coroutine.c,
 * with its free-list pool) as the CPS translator would emit it, written by
 * hand for the runtime tests and benchmarks.  Everything here is native
 * code and passes through untouched, except qemu_coroutine_yield, a
 * coroutine function, whose translation is never run under cpc (the
 * trampoline stops at its frame).  Native callers of the cpc_need_cont
 * function qemu_coroutine_self pass a NULL continuation.
 *
 * -DCONFIG_COROUTINE_POOL=0 turns the pool off (default on).
 */
#define CPS_COROUTINE_INTERNAL
#include "cps_coroutine.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef CONFIG_COROUTINE_POOL
#define CONFIG_COROUTINE_POOL 1
#endif

enum { POOL_MAX_SIZE = 64 };

static Coroutine *pool;
static unsigned int pool_size;

Coroutine *qemu_coroutine_create(CoroutineEntry *entry)
{
    Coroutine *co = NULL;
    if (CONFIG_COROUTINE_POOL && pool != NULL) {
        co = pool;
        pool = co->pool_next;
        pool_size--;
    }
    if (co == NULL) {
        co = qemu_coroutine_new();
    }
    co->entry = entry;
    return co;
}

static void coroutine_delete(Coroutine *co)
{
    if (CONFIG_COROUTINE_POOL && pool_size < POOL_MAX_SIZE) {
        co->pool_next = pool;
        pool = co;
        co->caller = NULL;
        pool_size++;
        return;
    }
    qemu_coroutine_delete(co);
}

static void __attribute__((destructor)) coroutine_pool_cleanup(void)
{
    while (pool != NULL) {
        Coroutine *co = pool;
        pool = co->pool_next;
        qemu_coroutine_delete(co);
    }
    pool_size = 0;
}

static void coroutine_swap(Coroutine *from, Coroutine *to)
{
    switch (qemu_coroutine_switch(from, to, COROUTINE_YIELD)) {
    case COROUTINE_YIELD:
        return;
    case COROUTINE_TERMINATE:
        coroutine_delete(to);
        return;
    default:
        abort();
    }
}

void qemu_coroutine_enter(Coroutine *co, void *opaque)
{
    Coroutine *self = qemu_coroutine_self(NULL);
    if (co->caller != NULL) {
        fprintf(stderr, "Co-routine re-entered recursively\n");
        abort();
    }
    co->caller = self;
    co->entry_arg = opaque;
    coroutine_swap(self, co);
}

/* void coroutine_fn qemu_coroutine_yield(void)
 * {
 *     Coroutine *self = qemu_coroutine_self();
 *     Coroutine *to = self->caller;
 *     if (!to) { fprintf(stderr, "Co-routine is yielding to no one\n"); abort(); }
 *     self->caller = NULL;
 *     coroutine_swap(self, to);
 * }
 * Translated (no coroutine call inside: one piece).  Never run under cpc. */
cpc_cont *qemu_coroutine_yield(cpc_cont *k)
{
    Coroutine *self = qemu_coroutine_self(k);
    Coroutine *to = self->caller;
    if (to == NULL) {
        fprintf(stderr, "Co-routine is yielding to no one\n");
        abort();
    }
    self->caller = NULL;
    coroutine_swap(self, to);
    return k;
}
