/* Structs and unions defined in a coroutine function's own declarations
 * (QEMU's `struct { ... } QEMU_PACKED header;`), live across yields: the
 * translator defines them at file scope, layout attributes kept. */
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

static void coroutine_fn entry(void *opaque)
{
    *(int *)opaque = headers(*(int *)opaque);
}

int main(void)
{
    int value = 3;
    Coroutine *co = qemu_coroutine_create(entry);
    for (int i = 0; i < 3; i++) {
        qemu_coroutine_enter(co, &value);
    }
    printf("result %d\n", value);
    return 0;
}
