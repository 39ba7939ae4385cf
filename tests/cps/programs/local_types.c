/* Types declared inside coroutine functions, as QEMU 1.6 does: structs and
 * unions defined in a local's declaration (`struct { ... } QEMU_PACKED
 * header;`), live across yields, which the translator defines at file scope
 * with their layout attributes; and a typedef that reads a local
 * (QEMU_BUILD_BUG_ON), which stays where it is. */
#include "qemu/coroutine.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int coroutine_fn headers(int n)
{
    struct {
        uint32_t count;
        uint64_t offset;
    } __attribute__((packed)) header;
    struct point { int x, y; } corner = { n, -n }, pair[2];
    union { uint32_t word; uint8_t bytes[4]; } mixed;
    struct { struct { int depth; } inner; char name[8]; } nested, *alias = &nested;
    header.count = (uint32_t)n;
    header.offset = 1000;
    mixed.word = 0x01020304;
    nested.inner.depth = n * 2;
    strcpy(nested.name, "deep");
    qemu_coroutine_yield();
    pair[0] = corner;
    pair[1].x = corner.y;
    struct point *last = &pair[1];
    qemu_coroutine_yield();
    printf("header %zu %u %llu point %d %d %d union %zu nested %d %s\n", sizeof(header), header.count,
           (unsigned long long)header.offset, pair[0].x, pair[0].y, last->x, sizeof(mixed),
           alias->inner.depth, alias->name);
    return (int)sizeof(header) + (mixed.bytes[0] == 4 || mixed.bytes[0] == 1);
}

#define BUILD_BUG_ON(x) typedef char build_bug_on_##__LINE__[(x) ? -1 : 1] __attribute__((unused))

static long coroutine_fn checked(long value)
{
    typedef long counter;            /* moves to file scope, used in the next piece */
    counter twice = value * 2;
    {
        int value = 5;               /* shadows the parameter: renamed apart */
        BUILD_BUG_ON(sizeof(value) != sizeof(int));
        twice += value;
    }
    qemu_coroutine_yield();
    uint32_t offset = (uint32_t)twice;
    BUILD_BUG_ON(sizeof(offset) != 4);
    counter result = offset + 1;
    return result;
}

static void coroutine_fn entry(void *opaque)
{
    int got = headers(*(int *)opaque);
    *(int *)opaque = got + (int)checked(got);
}

int main(void)
{
    int value = 3;
    Coroutine *co = qemu_coroutine_create(entry);
    for (int i = 0; i < 4; i++) {
        qemu_coroutine_enter(co, &value);
    }
    printf("result %d\n", value);
    return 0;
}
