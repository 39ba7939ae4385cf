/*
 * qemu-coroutine.c — the backend-independent coroutine layer: creation
 * (through a pool of terminated coroutines), entering, yielding, termination
 * and the deferred wake-ups the locks rely on.
 *
 * The layer keeps plain (not thread-local) state: coroutines belong to one
 * logical thread of control, the loop thread.  Under the thread backend each
 * coroutine runs on its own POSIX thread, but strictly one at a time, handed
 * over under a mutex, so that state is never touched concurrently.
 */
#include "qemu/osdep.h"
#include "qemu/coroutine_int.h"

enum { POOL_MAX_SIZE = 64 };

static QSLIST_HEAD(, Coroutine) pool = QSLIST_HEAD_INITIALIZER;
static unsigned int pool_size;
static bool pool_disabled;

static void pool_drain(void)
{
    Coroutine *co;

    while ((co = QSLIST_FIRST(&pool)) != NULL) {
        QSLIST_REMOVE_HEAD(&pool, pool_next);
        qemu_coroutine_delete(co);
    }
    pool_size = 0;
}

void qemu_coroutine_set_pool_enabled(bool on)
{
    pool_disabled = !on;
    if (!on) {
        pool_drain();
    }
}

/* Free the pooled coroutines at exit, so leak checkers only see real leaks. */
static void __attribute__((destructor)) coroutine_pool_cleanup(void)
{
    pool_drain();
}

Coroutine *qemu_coroutine_create(CoroutineEntry *entry)
{
    Coroutine *co = NULL;

    if (!pool_disabled) {
        co = QSLIST_FIRST(&pool);
        if (co) {
            QSLIST_REMOVE_HEAD(&pool, pool_next);
            pool_size--;
        }
    }
    if (!co) {
        co = qemu_coroutine_new();
    }
    co->entry = entry;
    co->entry_arg = NULL;
    co->caller = NULL;
    QSIMPLEQ_INIT(&co->co_queue_wakeup);
    return co;
}

static void coroutine_release(Coroutine *co)
{
    if (!pool_disabled && pool_size < POOL_MAX_SIZE) {
        QSLIST_INSERT_HEAD(&pool, co, pool_next);
        pool_size++;
        return;
    }
    qemu_coroutine_delete(co);
}

/* Enter the coroutines woken while co ran, in the order they were woken. */
static void coroutine_run_wakeups(Coroutine *co)
{
    Coroutine *next;

    while ((next = QSIMPLEQ_FIRST(&co->co_queue_wakeup)) != NULL) {
        QSIMPLEQ_REMOVE_HEAD(&co->co_queue_wakeup, co_queue_next);
        qemu_coroutine_enter(next, NULL);
    }
}

bool qemu_coroutine_entered(Coroutine *co)
{
    return co->caller != NULL;
}

void qemu_coroutine_enter(Coroutine *co, void *opaque)
{
    Coroutine *self = qemu_coroutine_current();
    CoroutineAction action;

    if (co->caller) {
        qemu_abort("coroutine %p entered while it is running or already entered",
                   (void *)co);
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
    qemu_abort("coroutine %p came back with action %d", (void *)co, (int)action);
}

void coroutine_fn qemu_coroutine_yield(void)
{
    Coroutine *self = qemu_coroutine_self();
    Coroutine *to = self->caller;

    if (!to) {
        qemu_abort("coroutine %p yields but nobody entered it", (void *)self);
    }
    self->caller = NULL;
    qemu_coroutine_switch(self, to, COROUTINE_YIELD);
}

void coroutine_fn qemu_co_wake_later(Coroutine *co)
{
    Coroutine *self = qemu_coroutine_self();

    QSIMPLEQ_INSERT_TAIL(&self->co_queue_wakeup, co, co_queue_next);
}
