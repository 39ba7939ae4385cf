/* Idioms of real code around coroutine calls: likely(), casts to void, calls through
 * (*fp) and a conditional callee, compound literals, error paths with goto. */
#include "qemu/coroutine.h"

#include <stdio.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

struct request {
    int offset;
    int bytes;
};

static int coroutine_fn check(int v)
{
    qemu_coroutine_yield();
    return v < 0 ? -22 : v;
}

static int coroutine_fn double_it(int v) { qemu_coroutine_yield(); return 2 * v; }
static int coroutine_fn negate(int v) { qemu_coroutine_yield(); return -v; }

static int coroutine_fn submit(struct request req)
{
    qemu_coroutine_yield();
    return req.offset * 1000 + req.bytes;
}

static int coroutine_fn do_io(int offset, int bytes)
{
    int ret;
    int coroutine_fn (*op)(int) = offset & 1 ? negate : double_it;

    ret = check(offset);
    if (unlikely(ret < 0)) {
        goto fail;
    }
    if (likely(check(bytes) >= 0)) {
        ret = (*op)(ret);
    } else {
        ret = -5;
        goto fail;
    }
    (void)check(1);
    ret += (offset > 10 ? negate : double_it)(1);
    ret += submit((struct request){ .offset = check(offset), .bytes = bytes });
    return ret;

fail:
    printf("failed at %d/%d: %d\n", offset, bytes, ret);
    return ret;
}

int finished;

static void coroutine_fn entry(void *opaque)
{
    int coroutine_fn later(int);    /* a block-scope prototype */
    (void)opaque;
    printf("later %d\n", later(4));
    printf("io %d\n", do_io(3, 4));
    printf("io %d\n", do_io(12, 4));
    printf("io %d\n", do_io(-1, 4));
    printf("io %d\n", do_io(2, -4));
    int result = check(7);          /* named like the receiver's result slot */
    int more = check(result);
    printf("result %d %d\n", result, more);
    finished = 1;
}

void coroutine_fn entry_alias(void *opaque)
{
    entry(opaque);
}

int coroutine_fn later(int v)
{
    qemu_coroutine_yield();
    return v * 10;
}

int main(void)
{
    void coroutine_fn entry_alias(void *);   /* block-scope prototype in native code */
    Coroutine *co = qemu_coroutine_create(entry_alias);
    int entries = 0;

    while (!finished) {
        qemu_coroutine_enter(co, NULL);
        entries++;
    }
    printf("entries %d\n", entries);
    return 0;
}
