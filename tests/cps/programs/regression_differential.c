/* Regressions found by the differential tester (each once printed differently
 * or failed to compile translated):
 *  - a comma expression as an argument of a coroutine call was printed
 *    without parentheses in the frame assignment (`a0 = (void) 13, t;`);
 *  - a conditional's temporary set in one piece and dead after it was an
 *    unused-but-set variable (-Werror);
 *  - a struct returned as a compound literal passed through CPC_RETURN's
 *    macro arguments (its commas split the arguments). */
#include "qemu/coroutine.h"

#include <stdio.h>

struct pair {
    int a;
    long b;
};

static int coroutine_fn id(int depth, int a)
{
    qemu_coroutine_yield();
    return depth + a;
}

static struct pair coroutine_fn make(int a)
{
    qemu_coroutine_yield();
    return (struct pair){ a, (long)a * 7L };
}

int finished;

static void coroutine_fn entry(void *opaque)
{
    (void)opaque;
    int t = 5;
    int u = 2;
    int r = id(1, ((void)(13), t));
    printf("comma %d\n", r);
    (void)(u ? id(0, u) : t);
    printf("dead conditional %d\n", u);
    struct pair p = make(id(2, 3));
    printf("pair %d %ld\n", p.a, p.b);
    finished = 1;
}

int main(void)
{
    Coroutine *co = qemu_coroutine_create(entry);
    while (!finished) {
        qemu_coroutine_enter(co, NULL);
    }
    return 0;
}
