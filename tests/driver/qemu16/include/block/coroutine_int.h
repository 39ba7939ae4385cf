/* QEMU 1.6's backend interface (include/block/coroutine_int.h), reduced. */
#ifndef BLOCK_COROUTINE_INT_H
#define BLOCK_COROUTINE_INT_H
#include "block/coroutine.h"

typedef enum {
    COROUTINE_YIELD = 1,
    COROUTINE_TERMINATE = 2,
} CoroutineAction;

struct Coroutine {
    CoroutineEntry *entry;
    void *entry_arg;
    Coroutine *caller;
    Coroutine *pool_next;
    /* QEMU 1.6's wake-up queue head and link: 64 bytes in all, so the
     * backend's embedded continuation does not fall on a 16-byte boundary
     * by accident. */
    void *queue[4];
};

Coroutine *qemu_coroutine_new(void);
void qemu_coroutine_delete(Coroutine *co);
CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to, CoroutineAction action);
#ifdef QEMU_2013_PORT
/* The port's common layer defines qemu_coroutine_self on top of this. */
Coroutine *qemu_coroutine_self_int(void);
#endif
#endif
