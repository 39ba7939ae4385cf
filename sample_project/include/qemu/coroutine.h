/*
 * coroutine.h — the public coroutine API (the paper's Figure 1) and the
 * coroutine-aware locks built on it.
 *
 * A coroutine runs until it yields or returns.  qemu_coroutine_enter runs it
 * from where it stopped; it is a native function and may be called from
 * native code or from another coroutine (which then nests: the entered one
 * returns control to its enterer when it yields).  Coroutines are
 * single-threaded: a coroutine is only ever entered from the thread that
 * created it.
 */
#ifndef QEMU_COROUTINE_H
#define QEMU_COROUTINE_H

#include <stdbool.h>
#include <stdint.h>

#include "qemu/compiler.h"
#include "qemu/queue.h"

typedef struct Coroutine Coroutine;

/* The body of a coroutine; opaque is the argument of the first enter. */
typedef void coroutine_fn CoroutineEntry(void *opaque);

/* A new coroutine that will run entry(opaque) at its first enter. */
Coroutine *qemu_coroutine_create(CoroutineEntry *entry);

/* Run co until it yields or terminates.  opaque is passed to the entry
 * function at the first enter and ignored afterwards.  A terminated
 * coroutine is freed (or returned to the pool): do not enter it again. */
void qemu_coroutine_enter(Coroutine *co, void *opaque);

/* Give control back to whoever entered the current coroutine. */
void coroutine_fn qemu_coroutine_yield(void);

/* Whether the caller runs inside a coroutine. */
bool qemu_in_coroutine(void);

/* The coroutine the caller runs in. */
Coroutine *coroutine_fn qemu_coroutine_self(void);

/* Reuse up to 64 terminated coroutines (on by default).  Switching it off
 * frees the pooled ones; the benchmarks measure both. */
void qemu_coroutine_set_pool_enabled(bool on);

/* Whether co is running right now or is suspended inside somebody else's
 * enter (i.e. entering it would be a bug). */
bool qemu_coroutine_entered(Coroutine *co);

/* --- CoQueue: coroutines waiting for an event, woken in FIFO order --------- */

typedef struct CoMutex CoMutex;

typedef struct CoQueue {
    QSIMPLEQ_HEAD(, Coroutine) entries;
} CoQueue;

void qemu_co_queue_init(CoQueue *queue);

/* Wait at the tail of queue.  With a mutex (held by the caller), release it
 * while waiting and take it again before returning, like a condition
 * variable; mutex may be NULL. */
void coroutine_fn qemu_co_queue_wait(CoQueue *queue, CoMutex *mutex);

/* Wake the first waiter: it runs right after the calling coroutine yields or
 * terminates.  Returns false when nobody waits. */
bool coroutine_fn qemu_co_queue_next(CoQueue *queue);

/* Wake every waiter (in FIFO order, after the caller yields). */
void coroutine_fn qemu_co_queue_restart_all(CoQueue *queue);

/* For native callers: enter the first waiter now.  Returns false when nobody
 * waits. */
bool qemu_co_enter_next(CoQueue *queue);

bool qemu_co_queue_empty(CoQueue *queue);

/* --- CoMutex: a fair (FIFO, hand-over) mutex for coroutines ----------------- */

struct CoMutex {
    bool locked;
    Coroutine *holder;
    CoQueue waiters;
};

void qemu_co_mutex_init(CoMutex *mutex);
void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex);
void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex);

/* --- CoRwlock: a fair readers/writer lock -----------------------------------
 * Requests are served in arrival order: a reader that arrives after a
 * waiting writer waits for it (no writer starvation), and consecutive
 * readers at the head of the queue are admitted together. */

typedef struct CoRwTicket CoRwTicket;

typedef struct CoRwlock {
    int readers;          /* readers holding the lock */
    bool writer;          /* a writer holds the lock */
    QSIMPLEQ_HEAD(, CoRwTicket) tickets;  /* waiters, FIFO */
} CoRwlock;

void qemu_co_rwlock_init(CoRwlock *lock);
void coroutine_fn qemu_co_rwlock_rdlock(CoRwlock *lock);
void coroutine_fn qemu_co_rwlock_wrlock(CoRwlock *lock);
void coroutine_fn qemu_co_rwlock_unlock(CoRwlock *lock);

/* --- sleeping on the event loop's clock ------------------------------------ */

/* Yield for at least ns nanoseconds of CLOCK_MONOTONIC; the main loop's
 * timer enters the coroutine again. */
void coroutine_fn co_sleep_ns(int64_t ns);

#endif
