/* Deep coroutine recursion: continuations grow far past 64 KiB. */
#include "qemu/coroutine.h"

#include <stdio.h>

static long coroutine_fn depth_sum(long n, long acc_unused)
{
    char pad[8];            /* a boxed array on every level */
    pad[0] = (char)n;
    if (n == 0) {
        qemu_coroutine_yield();
        return 0;
    }
    long below = depth_sum(n - 1, acc_unused + 1);
    return below + n + (pad[0] != (char)n);
}

static int coroutine_fn fib(int n)
{
    if (n < 2) {
        return n;
    }
    return fib(n - 1) + fib(n - 2);
}

static int coroutine_fn ackermann(int m, int n)
{
    if (m == 0) {
        return n + 1;
    }
    if (n == 0) {
        return ackermann(m - 1, 1);
    }
    return ackermann(m - 1, ackermann(m, n - 1));
}

static int coroutine_fn is_even(unsigned n);

static int coroutine_fn is_odd(unsigned n)
{
    return n == 0 ? 0 : is_even(n - 1);
}

static int coroutine_fn is_even(unsigned n)
{
    if (n == 0) {
        return 1;
    }
    return is_odd(n - 1);   /* a tail call: no receiver frame */
}

int finished;

static void coroutine_fn entry(void *opaque)
{
    (void)opaque;
    printf("depth %ld\n", depth_sum(20000, 0));
    printf("fib %d\n", fib(18));
    printf("ackermann %d\n", ackermann(2, 3));
    printf("even %d %d\n", is_even(100001), is_even(50000));
    finished = 1;
}

int main(void)
{
    Coroutine *co = qemu_coroutine_create(entry);
    int entries = 0;

    while (!finished) {
        qemu_coroutine_enter(co, NULL);
        entries++;
    }
    printf("entries %d\n", entries);
    return 0;
}
