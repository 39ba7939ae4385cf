/* The common coroutine layer, shaped like QEMU 1.6's qemu-coroutine.c:
 * a pool of terminated coroutines, enter = set caller and switch. */
#include "qemu-common.h"
#include "block/coroutine_int.h"

enum { POOL_MAX = 2 };
static Coroutine *pool;
static unsigned pool_size;

#ifdef QEMU_2013_PORT
#define SELF() qemu_coroutine_self_int()
#else
#define SELF() qemu_coroutine_self()
#endif

Coroutine *qemu_coroutine_create(CoroutineEntry *entry)
{
    Coroutine *co = pool;
    if (co) {
        pool = co->pool_next;
        pool_size--;
    } else {
        co = qemu_coroutine_new();
    }
    co->entry = entry;
    return co;
}

static void coroutine_delete(Coroutine *co)
{
    if (pool_size < POOL_MAX) {
        co->pool_next = pool;
        co->caller = NULL;
        pool = co;
        pool_size++;
        return;
    }
    qemu_coroutine_delete(co);
}

static void coroutine_swap(Coroutine *from, Coroutine *to)
{
    CoroutineAction ret = qemu_coroutine_switch(from, to, COROUTINE_YIELD);
    if (ret == COROUTINE_TERMINATE) {
        coroutine_delete(to);
    } else if (ret != COROUTINE_YIELD) {
        abort();
    }
}

void qemu_coroutine_enter(Coroutine *co, void *opaque)
{
    Coroutine *self = SELF();
    if (co->caller) {
        fprintf(stderr, "Co-routine re-entered recursively\n");
        abort();
    }
    co->caller = self;
    co->entry_arg = opaque;
    coroutine_swap(self, co);
}

void coroutine_fn qemu_coroutine_yield(void)
{
    /* Never run under cpc: the trampoline stops at this frame. */
    Coroutine *self = qemu_coroutine_self();
    Coroutine *to = self->caller;
    self->caller = NULL;
    coroutine_swap(self, to);
}

#ifdef QEMU_2013_PORT
Coroutine *coroutine_fn qemu_coroutine_self(void)
{
    return qemu_coroutine_self_int();
}
#endif

static void __attribute__((destructor)) pool_cleanup(void)
{
    while (pool) {
        Coroutine *co = pool;
        pool = co->pool_next;
        qemu_coroutine_delete(co);
    }
}
