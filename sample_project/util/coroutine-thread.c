/*
 * coroutine-thread.c — the thread backend: one POSIX thread per coroutine.
 *
 * Only one of the threads taking part (the creating thread, the "leader",
 * and its coroutines) runs at any time.  A switch hands control over under
 * one mutex: mark the target runnable with the action it resumes with,
 * signal its condition variable, then sleep on our own until someone hands
 * control back.  The mutex also orders the memory accesses of consecutive
 * runners, so the coroutine layer's plain variables stay consistent.
 *
 * A coroutine's thread lives as long as the coroutine (across pool reuse)
 * and is joined by qemu_coroutine_delete.
 */
#include "qemu/osdep.h"
#include "qemu/coroutine_int.h"
#include "qemu/coroutine-stack.h"

#include <pthread.h>

typedef struct {
    Coroutine base;
    pthread_t thread;
    pthread_cond_t wakeup;
    bool runnable;             /* control was handed to this coroutine */
    bool exiting;              /* qemu_coroutine_delete: leave the thread */
    CoroutineAction action;    /* what the hand-over says */
} CoroutineThread;

static pthread_mutex_t handover_lock = PTHREAD_MUTEX_INITIALIZER;

/* Per thread: the coroutine that runs on it (each coroutine thread has
 * exactly one), or the leader pseudo-coroutine of a native thread. */
static __thread CoroutineThread leader;
static __thread Coroutine *current;

static CoroutineThread *thread_of(Coroutine *co)
{
    return container_of(co, CoroutineThread, base);
}

static void check(int err, const char *what)
{
    if (err) {
        qemu_abort("%s: %s", what, strerror(err));
    }
}

/* Wait, with handover_lock held, until control is handed to self. */
static CoroutineAction wait_for_control(CoroutineThread *self)
{
    while (!self->runnable) {
        check(pthread_cond_wait(&self->wakeup, &handover_lock), "pthread_cond_wait");
    }
    self->runnable = false;
    return self->action;
}

static void hand_over(CoroutineThread *to, CoroutineAction action)
{
    to->action = action;
    to->runnable = true;
    check(pthread_cond_signal(&to->wakeup), "pthread_cond_signal");
}

/* The coroutine's thread: native code that runs the coroutine's entry on
 * its own stack, so it is both native and coroutine code. */
static void *coroutine_mixed_fn coroutine_thread_main(void *opaque)
{
    CoroutineThread *self = opaque;
    Coroutine *co = &self->base;

    current = co;
    check(pthread_mutex_lock(&handover_lock), "pthread_mutex_lock");
    wait_for_control(self);
    check(pthread_mutex_unlock(&handover_lock), "pthread_mutex_unlock");
    while (!self->exiting) {
        co->entry(co->entry_arg);
        qemu_coroutine_switch(co, co->caller, COROUTINE_TERMINATE);
    }
    return NULL;
}

Coroutine *qemu_coroutine_new(void)
{
    CoroutineThread *co = qemu_mallocz(sizeof(*co));
    pthread_attr_t attr;

    check(pthread_cond_init(&co->wakeup, NULL), "pthread_cond_init");
    check(pthread_attr_init(&attr), "pthread_attr_init");
    /* The same stack size as the stack backends, for a fair comparison. */
    check(pthread_attr_setstacksize(&attr, COROUTINE_STACK_SIZE), "pthread_attr_setstacksize");
    check(pthread_create(&co->thread, &attr, coroutine_thread_main, co), "pthread_create");
    pthread_attr_destroy(&attr);
    return &co->base;
}

void qemu_coroutine_delete(Coroutine *co_)
{
    CoroutineThread *co = thread_of(co_);

    /* The coroutine is idle: never started, or blocked in the switch that
     * reported its termination.  Wake it with the exit flag set. */
    check(pthread_mutex_lock(&handover_lock), "pthread_mutex_lock");
    co->exiting = true;
    hand_over(co, COROUTINE_ENTER);
    check(pthread_mutex_unlock(&handover_lock), "pthread_mutex_unlock");
    check(pthread_join(co->thread, NULL), "pthread_join");
    pthread_cond_destroy(&co->wakeup);
    free(co);
}

CoroutineAction qemu_coroutine_switch(Coroutine *from_, Coroutine *to_,
                                      CoroutineAction action)
{
    CoroutineThread *from = thread_of(from_);
    CoroutineThread *to = thread_of(to_);
    CoroutineAction ret;

    check(pthread_mutex_lock(&handover_lock), "pthread_mutex_lock");
    hand_over(to, action);
    ret = wait_for_control(from);
    check(pthread_mutex_unlock(&handover_lock), "pthread_mutex_unlock");
    return ret;
}

Coroutine *qemu_coroutine_current(void)
{
    if (!current) {
        /* A native thread: it is its own leader. */
        check(pthread_cond_init(&leader.wakeup, NULL), "pthread_cond_init");
        current = &leader.base;
    }
    return current;
}

Coroutine *coroutine_fn qemu_coroutine_self(void)
{
    return qemu_coroutine_current();
}

bool qemu_in_coroutine(void)
{
    return current && current != &leader.base;
}
