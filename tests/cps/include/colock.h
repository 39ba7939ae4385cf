/*
 * CoQueue and CoMutex for the translator's tests, written with the public
 * coroutine API only (support/colock.c), so the same code runs on the stack
 * reference backend and translated to CPS.  A woken coroutine is put on a
 * ready list that the program's main loop drains with co_run_ready().
 */
#ifndef COLOCK_H
#define COLOCK_H

#include "qemu/coroutine.h"

typedef struct CoWaiter {
    Coroutine *co;
    struct CoWaiter *next;
} CoWaiter;

typedef struct CoQueue {
    CoWaiter *first, *last;
} CoQueue;

typedef struct CoMutex {
    bool locked;
    CoQueue waiters;
} CoMutex;

void qemu_co_queue_init(CoQueue *q);
void coroutine_fn qemu_co_queue_wait(CoQueue *q);
bool qemu_co_queue_next(CoQueue *q);      /* wakes one waiter (native) */
void qemu_co_queue_restart_all(CoQueue *q);
bool qemu_co_queue_empty(CoQueue *q);

void qemu_co_mutex_init(CoMutex *m);
void coroutine_fn qemu_co_mutex_lock(CoMutex *m);
void coroutine_fn qemu_co_mutex_unlock(CoMutex *m);

/* Enters every coroutine made ready by the wake-ups above, until none is left. */
void co_run_ready(void);

#endif
