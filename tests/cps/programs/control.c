/* Every control-flow form inside coroutine functions, with yields everywhere. */
#include "qemu/coroutine.h"

#include <stdio.h>

static int coroutine_fn ident(int v)
{
    qemu_coroutine_yield();
    return v;
}

static int coroutine_fn loops(int n)
{
    int total = 0;
    int i;

    for (i = 0; i < n; i++) {
        if (i == 2) {
            continue;
        }
        if (ident(i) == 7) {
            break;
        }
        total += i;
    }
    i = 0;
    while (ident(i) < n) {
        total += 10;
        i++;
        if (i > 4) {
            break;
        }
    }
    do {
        total -= ident(1);
    } while (total > 40);
    for (;;) {
        total++;
        if (ident(total) % 5 == 0) {
            break;
        }
    }
    return total;
}

static int coroutine_fn switcher(int v)
{
    int r = 0;

    switch (ident(v)) {
    case 0:
        r += 1;
        /* fall through */
    case 1:
        r += ident(10);
        break;
    case 2 ... 4:
        r = 100 + v;
        /* fall through */
    default:
        r += ident(1000);
        if (v == 9) {
            break;
        }
        r++;
        /* fall through */
    case 5:
        r += 5;
    }
    switch (v) {   /* native switch inside a coroutine function */
    case 3:
        r *= 2;
        break;
    default:
        break;
    }
    return r;
}

static int coroutine_fn gotos(int n)
{
    int steps = 0;

again:
    steps++;
    if (ident(steps) < n) {
        goto again;
    }
    if (steps > 100) {
        goto out;
    }
    steps += 1000;
    goto out;
    steps = -1; /* dead */
out:
    return steps;
}

static int coroutine_fn early(int v)
{
    if (v < 0) {
        return -1;
    }
    if (ident(v) == 0) {
        return 0;
    }
    for (int i = 0; i < 10; i++) {
        if (i * i > v) {
            return ident(i);
        }
    }
    return 99;
}

static void coroutine_fn void_early(int *out, int v)
{
    if (v) {
        *out = ident(v);
        return;
    }
    *out = -5;
}

static int coroutine_fn nested(int n)
{
    int sum = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            int i = j * 2; /* shadows the outer i */
            if (j == 2) {
                continue;
            }
            sum += ident(i);
        }
        {
            int sum2 = i;
            sum += sum2;
        }
    }
    /* a native loop with an inner block and no coroutine call stays a loop */
    for (int k = 0; k < 1000000; k++) {
        sum += k & 1;
    }
    return sum;
}

/* Duff's device: case labels inside a loop inside the switch. */
static int coroutine_fn duff(int count)
{
    int copied = 0;
    int n = (count + 3) / 4;

    switch (count % 4) {
    case 0:
        do {
            copied += ident(1);
            /* fall through */
    case 3:
            copied += 1;
            /* fall through */
    case 2:
            copied += ident(1);
            /* fall through */
    case 1:
            copied += 1;
        } while (--n > 0);
    }
    return copied;
}

static long coroutine_fn wide_switch(long long v)
{
    for (int i = 0; i < 4; i++) {
        switch (v + i) {
        case -3:
            continue;
        case 5000000000LL:
            return ident(5);
        default:
            if (i == 2) {
                break;
            }
            qemu_coroutine_yield();
        }
    }
    return -1;
}

static int done;

static void coroutine_fn entry(void *opaque)
{
    (void)opaque;
    printf("loops %d %d %d\n", loops(3), loops(9), loops(0));
    for (int v = -1; v < 11; v++) {
        printf("switch %d -> %d\n", v, switcher(v));
    }
    printf("gotos %d %d\n", gotos(1), gotos(5));
    for (int v = -2; v < 90; v += 13) {
        printf("early %d -> %d\n", v, early(v));
    }
    int out = 0;
    void_early(&out, 3);
    printf("void_early %d\n", out);
    void_early(&out, 0);
    printf("void_early %d\n", out);
    printf("nested %d\n", nested(4));
    for (int c = 1; c < 10; c++) {
        printf("duff %d -> %d\n", c, duff(c));
    }
    printf("wide %ld %ld %ld\n", wide_switch(-5), wide_switch(4999999998LL), wide_switch(7));
    done = 1;
}

int main(void)
{
    Coroutine *co = qemu_coroutine_create(entry);
    int entries = 0;

    while (!done) {
        qemu_coroutine_enter(co, NULL);
        entries++;
    }
    printf("entries %d\n", entries);
    return 0;
}
