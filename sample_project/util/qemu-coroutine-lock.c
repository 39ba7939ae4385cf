/*
 * qemu-coroutine-lock.c — CoQueue, CoMutex and CoRwlock.
 *
 * All three are FIFO.  A coroutine woken by another coroutine does not run
 * inside the waker: it is put on the waker's wake-up list and entered when
 * the waker yields or terminates (qemu_co_wake_later).  The locks hand
 * ownership over to the woken waiter directly, so a newcomer can never
 * overtake it (no barging, hence no starvation).
 */
#include "qemu/osdep.h"
#include "qemu/coroutine_int.h"

/* --- CoQueue ------------------------------------------------------------------ */

void qemu_co_queue_init(CoQueue *queue)
{
    QSIMPLEQ_INIT(&queue->entries);
}

void coroutine_fn qemu_co_queue_wait(CoQueue *queue, CoMutex *mutex)
{
    Coroutine *self = qemu_coroutine_self();

    QSIMPLEQ_INSERT_TAIL(&queue->entries, self, co_queue_next);
    if (mutex) {
        qemu_co_mutex_unlock(mutex);
    }
    qemu_coroutine_yield();
    if (mutex) {
        qemu_co_mutex_lock(mutex);
    }
}

static Coroutine *queue_pop(CoQueue *queue)
{
    Coroutine *next = QSIMPLEQ_FIRST(&queue->entries);

    if (next) {
        QSIMPLEQ_REMOVE_HEAD(&queue->entries, co_queue_next);
    }
    return next;
}

bool coroutine_fn qemu_co_queue_next(CoQueue *queue)
{
    Coroutine *next = queue_pop(queue);

    if (!next) {
        return false;
    }
    qemu_co_wake_later(next);
    return true;
}

void coroutine_fn qemu_co_queue_restart_all(CoQueue *queue)
{
    while (qemu_co_queue_next(queue)) {
        /* each waiter goes to the wake-up list in order */
    }
}

bool qemu_co_enter_next(CoQueue *queue)
{
    Coroutine *next = queue_pop(queue);

    if (!next) {
        return false;
    }
    qemu_coroutine_enter(next, NULL);
    return true;
}

bool qemu_co_queue_empty(CoQueue *queue)
{
    return QSIMPLEQ_EMPTY(&queue->entries);
}

/* --- CoMutex ------------------------------------------------------------------ */

void qemu_co_mutex_init(CoMutex *mutex)
{
    mutex->locked = false;
    mutex->holder = NULL;
    qemu_co_queue_init(&mutex->waiters);
}

void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex)
{
    Coroutine *self = qemu_coroutine_self();

    if (!mutex->locked) {
        mutex->locked = true;
        mutex->holder = self;
        return;
    }
    if (mutex->holder == self) {
        qemu_abort("coroutine %p locks a CoMutex it already holds", (void *)self);
    }
    QSIMPLEQ_INSERT_TAIL(&mutex->waiters.entries, self, co_queue_next);
    /* Unlock makes us the holder before waking us; any other enter is a
     * spurious wake-up and we keep waiting. */
    do {
        qemu_coroutine_yield();
    } while (mutex->holder != self);
}

void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex)
{
    Coroutine *self = qemu_coroutine_self();
    Coroutine *next;

    if (!mutex->locked || mutex->holder != self) {
        qemu_abort("coroutine %p unlocks a CoMutex it does not hold", (void *)self);
    }
    next = queue_pop(&mutex->waiters);
    if (!next) {
        mutex->locked = false;
        mutex->holder = NULL;
        return;
    }
    mutex->holder = next;
    qemu_co_wake_later(next);
}

/* --- CoRwlock ----------------------------------------------------------------- */

struct CoRwTicket {
    bool write;
    bool granted;
    Coroutine *co;
    QSIMPLEQ_ENTRY(CoRwTicket) next;
};

void qemu_co_rwlock_init(CoRwlock *lock)
{
    lock->readers = 0;
    lock->writer = false;
    QSIMPLEQ_INIT(&lock->tickets);
}

/* Queue a request and wait until an unlock grants it. */
static void coroutine_fn rwlock_wait(CoRwlock *lock, bool write)
{
    CoRwTicket ticket = { .write = write, .granted = false, .co = qemu_coroutine_self() };

    QSIMPLEQ_INSERT_TAIL(&lock->tickets, &ticket, next);
    do {
        qemu_coroutine_yield();
    } while (!ticket.granted);
}

void coroutine_fn qemu_co_rwlock_rdlock(CoRwlock *lock)
{
    /* Readers join the current ones only if nobody waits: a waiting writer
     * goes first. */
    if (!lock->writer && QSIMPLEQ_EMPTY(&lock->tickets)) {
        lock->readers++;
        return;
    }
    rwlock_wait(lock, false);
}

void coroutine_fn qemu_co_rwlock_wrlock(CoRwlock *lock)
{
    if (!lock->writer && lock->readers == 0 && QSIMPLEQ_EMPTY(&lock->tickets)) {
        lock->writer = true;
        return;
    }
    rwlock_wait(lock, true);
}

/* Grant the waiting requests at the head of the queue that fit now: one
 * writer, or every reader up to the next writer. */
static void coroutine_fn rwlock_grant(CoRwlock *lock)
{
    CoRwTicket *ticket;

    while ((ticket = QSIMPLEQ_FIRST(&lock->tickets)) != NULL) {
        if (ticket->write) {
            if (lock->writer || lock->readers > 0) {
                return;
            }
            lock->writer = true;
        } else {
            if (lock->writer) {
                return;
            }
            lock->readers++;
        }
        QSIMPLEQ_REMOVE_HEAD(&lock->tickets, next);
        ticket->granted = true;
        qemu_co_wake_later(ticket->co);
        if (ticket->write) {
            return;
        }
    }
}

void coroutine_fn qemu_co_rwlock_unlock(CoRwlock *lock)
{
    if (lock->writer) {
        lock->writer = false;
    } else if (lock->readers > 0) {
        lock->readers--;
    } else {
        qemu_abort("CoRwlock %p unlocked but not held", (void *)lock);
    }
    rwlock_grant(lock);
}
