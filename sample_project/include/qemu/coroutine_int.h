/*
 * coroutine_int.h — the interface between the common coroutine layer
 * (util/qemu-coroutine.c) and a backend (util/coroutine-<backend>.c, or
 * coroproj's cpc runtime).  Only the coroutine layer and the backends
 * include it.
 *
 * A backend provides:
 *   qemu_coroutine_new      a fresh coroutine, not yet started;
 *   qemu_coroutine_delete   free it (never the running one);
 *   qemu_coroutine_switch   stop running `from`, run `to`; returns the
 *                           action with which control came back to `from`;
 *   qemu_coroutine_current  the running coroutine, or the thread's leader
 *                           (a pseudo-coroutine for native code);
 *   qemu_coroutine_self, qemu_in_coroutine (declared in coroutine.h).
 * A stack backend starts a coroutine in a trampoline that loops forever:
 * run co->entry(co->entry_arg), then switch to co->caller with
 * COROUTINE_TERMINATE; a pooled coroutine is re-entered at the top of the
 * loop with its new entry.
 */
#ifndef QEMU_COROUTINE_INT_H
#define QEMU_COROUTINE_INT_H

#include "qemu/coroutine.h"
#include "qemu/queue.h"

typedef enum {
    COROUTINE_YIELD = 1,
    COROUTINE_TERMINATE = 2,
    COROUTINE_ENTER = 3,
} CoroutineAction;

struct Coroutine {
    CoroutineEntry *entry;
    void *entry_arg;
    Coroutine *caller;                        /* who entered it; NULL when idle */
    QSLIST_ENTRY(Coroutine) pool_next;        /* link in the pool of free coroutines */
    QSIMPLEQ_ENTRY(Coroutine) co_queue_next;  /* link in a CoQueue or a wake-up list */
    /* Coroutines to enter once this one yields or terminates. */
    QSIMPLEQ_HEAD(, Coroutine) co_queue_wakeup;
};

Coroutine *qemu_coroutine_new(void);
void qemu_coroutine_delete(Coroutine *co);
CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to,
                                      CoroutineAction action);
Coroutine *qemu_coroutine_current(void);

/* --- wake-ups deferred to the end of the current coroutine's run ----------- */

/* Append co to the current coroutine's wake-up list: co is entered after the
 * current coroutine yields or terminates (used by the queues and locks, so a
 * waker never nests into the coroutine it wakes). */
void coroutine_fn qemu_co_wake_later(Coroutine *co);

#endif
