/* Nested calls with results, a yield in the middle, two interleaving coroutines. */
#include "qemu/coroutine.h"

#include <stdio.h>

static int coroutine_fn add(int a, int b)
{
    qemu_coroutine_yield();
    return a + b;
}

static void coroutine_fn worker(void *opaque)
{
    const char *name = opaque;
    int x = add(1, 2) + add(3, 4);
    printf("%s x=%d\n", name, x);
    for (int i = 0; i < 3; i++) {
        x += add(i, 10);
        printf("%s i=%d x=%d\n", name, i, x);
    }
}

int main(void)
{
    Coroutine *a = qemu_coroutine_create(worker);
    Coroutine *b = qemu_coroutine_create(worker);
    qemu_coroutine_enter(a, "a");
    qemu_coroutine_enter(b, "b");
    for (int round = 0; round < 5; round++) {
        printf("round %d\n", round);
        qemu_coroutine_enter(a, "a");
        qemu_coroutine_enter(b, "b");
    }
    return 0;
}
