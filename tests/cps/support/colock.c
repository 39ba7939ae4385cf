/* CoQueue and CoMutex on the public coroutine API (see colock.h). */
#include "colock.h"

#include <stdio.h>
#include <stdlib.h>

static CoWaiter *ready_first, *ready_last;

static void make_ready(CoWaiter *w)
{
    w->next = NULL;
    if (ready_last) {
        ready_last->next = w;
    } else {
        ready_first = w;
    }
    ready_last = w;
}

void co_run_ready(void)
{
    CoWaiter *w;

    while ((w = ready_first) != NULL) {
        ready_first = w->next;
        if (!ready_first) {
            ready_last = NULL;
        }
        Coroutine *co = w->co;
        free(w);
        qemu_coroutine_enter(co, NULL);
    }
}

void qemu_co_queue_init(CoQueue *q)
{
    q->first = q->last = NULL;
}

void coroutine_fn qemu_co_queue_wait(CoQueue *q)
{
    CoWaiter *w = malloc(sizeof *w);
    if (!w) {
        abort();
    }
    w->co = qemu_coroutine_self();
    w->next = NULL;
    if (q->last) {
        q->last->next = w;
    } else {
        q->first = w;
    }
    q->last = w;
    qemu_coroutine_yield();
}

bool qemu_co_queue_next(CoQueue *q)
{
    CoWaiter *w = q->first;
    if (!w) {
        return false;
    }
    q->first = w->next;
    if (!q->first) {
        q->last = NULL;
    }
    make_ready(w);
    return true;
}

void qemu_co_queue_restart_all(CoQueue *q)
{
    while (qemu_co_queue_next(q)) {
    }
}

bool qemu_co_queue_empty(CoQueue *q)
{
    return q->first == NULL;
}

void qemu_co_mutex_init(CoMutex *m)
{
    m->locked = false;
    qemu_co_queue_init(&m->waiters);
}

void coroutine_fn qemu_co_mutex_lock(CoMutex *m)
{
    while (m->locked) {
        qemu_co_queue_wait(&m->waiters);
    }
    m->locked = true;
}

void coroutine_fn qemu_co_mutex_unlock(CoMutex *m)
{
    m->locked = false;
    qemu_co_queue_next(&m->waiters);
}
