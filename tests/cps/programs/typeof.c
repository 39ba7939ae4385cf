/* __typeof__ locals and a MIN() statement-expression macro around coroutine calls. */
#include "qemu/coroutine.h"
#include <stdio.h>
#define MIN(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a < _b ? _a : _b; })
static long coroutine_fn big(long v) { qemu_coroutine_yield(); return v * 3; }
int finished;
static void coroutine_fn entry(void *o)
{
    (void)o;
    long base = 5;
    __typeof__(base) copy = big(base);
    long m = MIN(big(7), copy);
    printf("%ld %ld\n", copy, m);
    finished = 1;
}
int main(void) { Coroutine *co = qemu_coroutine_create(entry); while (!finished) qemu_coroutine_enter(co, NULL); return 0; }
