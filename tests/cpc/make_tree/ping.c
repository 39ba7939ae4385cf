/* Two coroutines take turns on a CoMutex. */
#include "qemu/osdep.h"
#include "qemu/coroutine.h"

#include <stdio.h>

static CoMutex lock;
static int counter;

static int coroutine_fn take_turn(const char *name, int round)
{
    qemu_co_mutex_lock(&lock);
    counter += round;
    printf("%s round %d counter %d\n", name, round, counter);
    qemu_co_mutex_unlock(&lock);
    qemu_coroutine_yield();
    return counter;
}

static void coroutine_fn player(void *opaque)
{
    const char *name = opaque;
    int last = 0;
    for (int round = 1; round <= 3; round++) {
        last = take_turn(name, round);
    }
    printf("%s done at %d\n", name, last);
}

int main(void)
{
    qemu_co_mutex_init(&lock);
    Coroutine *ping = qemu_coroutine_create(player);
    Coroutine *pong = qemu_coroutine_create(player);
    for (int step = 0; step < 4; step++) {
        qemu_coroutine_enter(ping, "ping");
        qemu_coroutine_enter(pong, "pong");
    }
    return 0;
}
