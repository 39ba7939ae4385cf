/* Coroutine calls nested anywhere in expressions: order, short-circuit, destinations. */
#include "qemu/coroutine.h"

#include <stdio.h>

static int trace[64];
static int ntrace;
static int global_result;

struct pair {
    int a;
    long b;
    int arr[3];
};

static int coroutine_fn note(int v)
{
    trace[ntrace++] = v;
    qemu_coroutine_yield();
    return v;
}

static int coroutine_fn twice(int v)
{
    return note(v) * 2;
}

static void show(const char *what)
{
    printf("%s:", what);
    for (int i = 0; i < ntrace; i++) {
        printf(" %d", trace[i]);
    }
    printf("\n");
    ntrace = 0;
}

static int plain(int x, int y)
{
    return x * 100 + y;
}

static void coroutine_fn entry(void *opaque)
{
    struct pair p = { 0 };
    struct pair *pp = &p;
    int arr[4] = { 0 };
    int i = 1;
    int r;

    r = note(1) && note(0) && note(2);
    printf("and %d\n", r);
    show("and");
    r = note(0) || note(3) || note(4);
    printf("or %d\n", r);
    show("or");
    r = note(1) ? note(5) : note(6);
    printf("cond %d\n", r);
    show("cond");
    r = note(0) ? note(5) : note(6) + note(7);
    printf("cond2 %d\n", r);
    show("cond2");
    r = (note(8), note(9));
    printf("comma %d\n", r);
    show("comma");
    r = plain(twice(2), 7);
    r += twice(twice(3));
    printf("args %d\n", r);
    show("args");
    int init = note(11) * 3 + 1;
    printf("init %d\n", init);
    show("init");
    global_result = note(12);
    p.a = note(13);
    pp->b = note(14);
    p.arr[1] = note(15);
    arr[i + 1] = twice(16);
    arr[3] += note(17);
    printf("dest %d %d %ld %d %d %d\n", global_result, p.a, p.b, p.arr[1], arr[2], arr[3]);
    show("dest");
    r = ({ int t = note(18); t + 1; });
    printf("stmtexpr %d\n", r);
    show("stmtexpr");
    if (note(1) && (note(0) || note(19))) {
        printf("if taken\n");
    }
    show("if");
    while (note(i) < 4) {
        i = i + note(1);
    }
    printf("while i=%d\n", i);
    show("while");
    int zero = 0;
    r = zero && note(99);
    r += !zero || note(98);
    printf("shortcircuit %d\n", r);
    show("shortcircuit");
    r = note(20) ?: note(21);
    printf("elvis %d\n", r);
    show("elvis");
    r = note(0) ?: note(21);
    printf("elvis0 %d\n", r);
    show("elvis0");
    printf("%s %d\n", (const char *)opaque, note(22) * 0 + 23);
    show("printf");
    extern int finished;
    finished = 1;
}

int finished;

int main(void)
{
    Coroutine *co = qemu_coroutine_create(entry);
    int entries = 0;

    while (!finished) {
        qemu_coroutine_enter(co, "hello");
        entries++;
    }
    printf("entries %d\n", entries);
    return 0;
}
