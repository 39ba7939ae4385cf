/*
 * qemu-coroutine-sleep.c — co_sleep_ns: a coroutine waits on a loop timer.
 */
#include "qemu/osdep.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"

typedef struct {
    Coroutine *co;
    bool expired;
} CoSleep;

static void co_sleep_wake(void *opaque)
{
    CoSleep *sleep = opaque;

    sleep->expired = true;
    qemu_coroutine_enter(sleep->co, NULL);
}

void coroutine_fn co_sleep_ns(int64_t ns)
{
    CoSleep sleep = { .co = qemu_coroutine_self(), .expired = false };
    QEMUTimer *timer = timer_new_ns(co_sleep_wake, &sleep);

    timer_mod(timer, qemu_clock_get_ns() + MAX(ns, 0));
    /* Any other enter before the timer fires is spurious: keep sleeping. */
    do {
        qemu_coroutine_yield();
    } while (!sleep.expired);
    timer_free(timer);
}
