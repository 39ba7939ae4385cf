/*
 * cpc_runtime.c — allocation, growth and the trampoline of cpc continuations.
 * The calling convention is documented in cpc_runtime.h.
 */
#include "cpc_runtime.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* malloc/realloc already return blocks aligned for max_align_t; only when
 * CPC_ALIGN is larger (-mavx: 32, -mavx512f: 64) must we ask for aligned
 * blocks, and then realloc cannot be used because it may hand back a less
 * aligned block. */
#define CPC_MALLOC_IS_ALIGNED (CPC_ALIGN <= alignof(max_align_t))

_Static_assert(sizeof(cpc_cont) % CPC_ALIGN == 0, "data[] must start aligned");
_Static_assert(CPC_INITIAL_BYTES > sizeof(cpc_cont), "initial block too small");

static void cpc_out_of_memory(size_t bytes)
{
    fprintf(stderr, "cpc: out of memory allocating a %zu-byte continuation\n", bytes);
    abort();
}

static cpc_cont *cpc_allocate(size_t bytes)
{
    void *block;
    if (CPC_MALLOC_IS_ALIGNED) {
        block = malloc(bytes);
    } else {
        /* aligned_alloc wants a size that is a multiple of the alignment. */
        block = aligned_alloc(CPC_ALIGN, CPC_ROUND(bytes));
    }
    if (block == NULL) {
        cpc_out_of_memory(bytes);
    }
    return block;
}

cpc_cont *cpc_cont_new(struct Coroutine *owner)
{
    /* Capacity: whatever the initial block leaves after the header, rounded
     * down so pushes (always CPC_ALIGN multiples) fill it exactly. */
    cpc_cont *k = cpc_allocate(CPC_INITIAL_BYTES);
    k->length = 0;
    k->size = (CPC_INITIAL_BYTES - sizeof(cpc_cont)) & ~(size_t)(CPC_ALIGN - 1);
    k->coroutine = owner;
    return k;
}

void cpc_cont_free(cpc_cont *k)
{
    free(k);
}

cpc_cont *cpc_grow(cpc_cont *k, size_t extra)
{
    /* Doubling keeps the amortised cost of a push constant however deep the
     * recursion goes; `extra` may exceed the doubling for a huge frame. */
    size_t size = k->size * 2;
    if (size < k->length + extra) {
        size = k->length + extra;
    }
    if (size < k->size || size > SIZE_MAX - sizeof(cpc_cont)) {
        cpc_out_of_memory(SIZE_MAX);
    }
    size_t bytes = sizeof(cpc_cont) + size;
    cpc_cont *grown;
    if (CPC_MALLOC_IS_ALIGNED) {
        grown = realloc(k, bytes);
        if (grown == NULL) {
            cpc_out_of_memory(bytes);
        }
    } else {
        grown = cpc_allocate(bytes);
        memcpy(grown, k, sizeof(cpc_cont) + k->length);
        free(k);
    }
    grown->size = size;
    return grown;
}

cpc_status cpc_run(cpc_cont **kp, cpc_function *yield_fn)
{
    cpc_cont *k = *kp;
    while (k->length > 0) {
        cpc_function *fn = cpc_pop_fn(k);
        if (fn == yield_fn) {
            *kp = k;
            return CPC_YIELDED;
        }
        k = fn(k);
    }
    *kp = k;
    return CPC_TERMINATED;
}
