/* Locals and parameters whose address is taken, local arrays and structs, static locals. */
#include "qemu/coroutine.h"

#include <stdio.h>
#include <string.h>

struct point {
    int x, y;
    int hist[4];
};

static void coroutine_fn bump(int *p, int by)
{
    qemu_coroutine_yield();
    *p += by;
}

static int coroutine_fn sum_array(const int *a, int n)
{
    int s = 0;
    for (int i = 0; i < n; i++) {
        qemu_coroutine_yield();
        s += a[i];
    }
    return s;
}

static int coroutine_fn counter(void)
{
    static int calls;       /* a static local keeps its value across calls */
    static int base = 100;
    qemu_coroutine_yield();
    return base + ++calls;
}

static int coroutine_fn param_address(int v)
{
    int *pv = &v;           /* the address of a parameter */
    bump(pv, 5);
    bump(&v, 1);
    return v;
}

static int coroutine_fn arrays(void)
{
    int a[5] = { 1, 2, 3 };
    char name[] = "coroutine";
    int grid[2][3] = { { 1, 2, 3 }, { 4, 5, 6 } };
    int total = sum_array(a, 5);
    a[4] = 10;
    total += sum_array(a, 5);
    total += sum_array(grid[1], 3);
    qemu_coroutine_yield();
    name[0] = 'C';
    printf("name %s len %zu\n", name, strlen(name));
    return total;
}

static int coroutine_fn structs(void)
{
    struct point p = { 1, 2, { 0 } };
    struct point q;
    bump(&p.x, 10);
    bump(&p.hist[2], 7);
    q = p;                  /* struct copy across a split */
    bump(&q.y, 3);
    int *h = p.hist;        /* array member decays: p is boxed */
    bump(h + 1, 4);
    return p.x * 1000 + p.y * 100 + q.y * 10 + p.hist[1] + p.hist[2];
}

static int coroutine_fn loop_address(void)
{
    int total = 0;
    for (int i = 0; i < 3; i++) {
        int cell = i;
        bump(&cell, 100);
        total += cell;
    }
    return total;
}

int finished;

static void coroutine_fn entry(void *opaque)
{
    (void)opaque;
    printf("param %d\n", param_address(10));
    printf("arrays %d\n", arrays());
    printf("structs %d\n", structs());
    printf("loop %d\n", loop_address());
    int c1 = counter();
    int c2 = counter();
    printf("counter %d %d\n", c1, c2);
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
