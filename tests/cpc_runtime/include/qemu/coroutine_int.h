/*
 * Stand-in for the sample project's include/qemu/coroutine_int.h (the
 * backend interface), with the same declarations and a layout-compatible
 * struct Coroutine (plain pointers instead of the queue.h macros).
 */
#ifndef QEMU_COROUTINE_INT_H
#define QEMU_COROUTINE_INT_H

#include "qemu/coroutine.h"

typedef enum {
    COROUTINE_YIELD = 1,
    COROUTINE_TERMINATE = 2,
    COROUTINE_ENTER = 3,
} CoroutineAction;

struct Coroutine {
    CoroutineEntry *entry;
    void *entry_arg;
    Coroutine *caller;
    Coroutine *pool_next;                                    /* QSLIST_ENTRY */
    Coroutine *co_queue_next;                                /* QSIMPLEQ_ENTRY */
    struct { Coroutine *first, **last; } co_queue_wakeup;    /* QSIMPLEQ_HEAD */
};

Coroutine *qemu_coroutine_new(void);
void qemu_coroutine_delete(Coroutine *co);
CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to,
                                      CoroutineAction action);
Coroutine *qemu_coroutine_current(void);

#endif
