/* The original CPC's first defect: results converted by patching bytes.
 * `long x = int_fn()` and `int i = double_fn()` must convert like C does. */
#include "qemu/coroutine.h"

#include <stdio.h>

static int coroutine_fn int_fn(int v) { qemu_coroutine_yield(); return v; }
static double coroutine_fn double_fn(double v) { qemu_coroutine_yield(); return v; }
static long coroutine_fn long_fn(long v) { qemu_coroutine_yield(); return v; }
static float coroutine_fn float_fn(float v) { qemu_coroutine_yield(); return v; }

long long_global;
double double_field_holder[2];

int finished;

static void coroutine_fn entry(void *opaque)
{
    (void)opaque;
    long x = int_fn(-123456);
    int i = double_fn(-42.9);
    double d = long_fn(1L << 40);
    short s = long_fn(0x12345L);
    unsigned u = int_fn(-1);
    long_global = int_fn(-2);
    double_field_holder[1] = float_fn(0.5f);
    char c = double_fn(65.7);
    printf("x=%ld i=%d d=%.1f s=%d u=%u g=%ld f=%.2f c=%c\n", x, i, d, s, u, long_global,
           double_field_holder[1], c);
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
