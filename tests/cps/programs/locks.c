/* Several coroutines interleaving through CoMutex and CoQueue. */
#include "colock.h"

#include <stdio.h>

static CoMutex lock;
static CoQueue items_ready;
static CoQueue tick;
static int shared;
static int items;
static int running;

static void coroutine_fn adder(void *opaque)
{
    int id = *(int *)opaque;
    for (int i = 0; i < 3; i++) {
        qemu_co_mutex_lock(&lock);
        int seen = shared;
        qemu_co_queue_wait(&tick);       /* others must wait on the mutex meanwhile */
        shared = seen + id;
        printf("adder %d round %d shared %d\n", id, i, shared);
        qemu_co_mutex_unlock(&lock);
        qemu_co_queue_wait(&tick);
    }
    running--;
}

static void coroutine_fn consumer(void *opaque)
{
    int id = *(int *)opaque;
    for (int got = 0; got < 2; got++) {
        while (items == 0) {
            qemu_co_queue_wait(&items_ready);
        }
        items--;
        printf("consumer %d took one, %d left\n", id, items);
    }
    running--;
}

int main(void)
{
    static int ids[6] = { 1, 2, 3, 4, 5, 6 };

    qemu_co_mutex_init(&lock);
    qemu_co_queue_init(&items_ready);
    qemu_co_queue_init(&tick);
    for (int i = 0; i < 6; i++) {
        running++;
        qemu_coroutine_enter(qemu_coroutine_create(i < 3 ? adder : consumer), &ids[i]);
    }
    for (int round = 0; running > 0 && round < 100; round++) {
        qemu_co_queue_restart_all(&tick);
        co_run_ready();
        if (round % 2 == 0) {
            items++;
            qemu_co_queue_next(&items_ready);
            co_run_ready();
        }
        printf("round %d shared %d items %d running %d\n", round, shared, items, running);
    }
    return 0;
}
