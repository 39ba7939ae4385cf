/* Results of every kind of type, and conversions of results to other types. */
#include "qemu/coroutine.h"

#include <stddef.h> /* max_align_t is defined by the header the translation includes too */
#include <stdio.h>
#include <string.h>

typedef struct big {
    char tag;
    double x;
    long n[5];
} Big;

union number {
    long i;
    double d;
};

struct wrapper {
    long double ld;
    union number u;
};

static int coroutine_fn int_fn(int v) { qemu_coroutine_yield(); return v; }
static double coroutine_fn double_fn(double v) { qemu_coroutine_yield(); return v; }
static char coroutine_fn char_fn(char c) { qemu_coroutine_yield(); return (char)(c + 1); }
static float coroutine_fn float_fn(float f) { qemu_coroutine_yield(); return f * 2; }
static unsigned long long coroutine_fn ull_fn(unsigned long long v) { qemu_coroutine_yield(); return v << 40; }
static long double coroutine_fn ld_fn(long double v) { qemu_coroutine_yield(); return v / 3; }
static const char *coroutine_fn str_fn(const char *s, int skip) { qemu_coroutine_yield(); return s + skip; }
static short coroutine_fn short_fn(int v) { qemu_coroutine_yield(); return (short)v; }
static _Bool coroutine_fn bool_fn(int v) { qemu_coroutine_yield(); return v; }

static Big coroutine_fn big_fn(char tag, Big in)
{
    Big b = in;
    qemu_coroutine_yield();
    b.tag = tag;
    for (int i = 0; i < 5; i++) {
        b.n[i] = in.n[i] * int_fn(i);
    }
    return b;
}

static union number coroutine_fn union_fn(long i)
{
    union number u;
    u.i = int_fn((int)i) + 1;
    return u;
}

static struct wrapper coroutine_fn wrapper_fn(void)
{
    struct wrapper w;
    w.ld = ld_fn(10.0L);
    w.u = union_fn(41);
    return w;
}

static int negate(int v) { return -v; }
static int square(int v) { return v * v; }

static int (*coroutine_fn pick(int which))(int)
{
    qemu_coroutine_yield();
    return which ? square : negate;
}

static long coroutine_fn widen(void)
{
    return int_fn(-3);  /* an int result returned as long */
}

static void coroutine_fn entry(void *opaque)
{
    (void)opaque;
    long widened = int_fn(-7);               /* int into long */
    int narrowed = double_fn(9.75);          /* double into int */
    double from_int = int_fn(3);             /* int into double */
    unsigned char uc = int_fn(300);          /* int into unsigned char */
    long long from_ull = ull_fn(3);
    printf("conv %ld %d %.2f %u %lld %ld\n", widened, narrowed, from_int, uc, from_ull, widen());
    printf("char %c float %.3f short %d bool %d\n", char_fn('a'), float_fn(1.25f), short_fn(70000),
           bool_fn(5));
    long double ld = ld_fn(1.0L);
    printf("ld %.10Lf\n", ld);
    printf("str %s\n", str_fn("hello world", 6));
    Big in = { 'x', 2.5, { 1, 2, 3, 4, 5 } };
    Big out = big_fn('T', in);
    printf("big %c %.1f %ld %ld %ld %ld %ld\n", out.tag, out.x, out.n[0], out.n[1], out.n[2], out.n[3],
           out.n[4]);
    union number u = union_fn(9);
    printf("union %ld\n", u.i);
    struct wrapper w = wrapper_fn();
    printf("wrapper %.4Lf %ld\n", w.ld, w.u.i);
    int (*f)(int) = pick(1);
    int (*g)(int) = pick(0);
    printf("fnptr %d %d\n", f(7), g(7));
    printf("direct %d\n", pick(1)(5));
    extern int finished;
    finished = 1;
}

int finished;

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
