/*
 * cpc_runtime.c — allocation, growth and the trampoline of cpc continuations.
 * The calling convention is documented in cpc_runtime.h.
 */
#include "cpc_runtime.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* malloc/realloc return blocks aligned for max_align_t (16 on x86-64).  When
 * CPC_ALIGN is larger (-mavx: 32, -mavx512f: 64) we over-allocate by the
 * difference and place the continuation at the first CPC_ALIGN boundary of
 * the block: aligned_alloc would do it too, but glibc's memalign path costs
 * about 500 more instructions per coroutine than malloc, and realloc (which
 * may grow in place) cannot be used on it. */
#define CPC_SLACK \
    (CPC_ALIGN > alignof(max_align_t) ? (size_t)CPC_ALIGN - alignof(max_align_t) : 0)

/* The first block: CPC_INITIAL_BYTES, or enough for two frame slots when a
 * large CPC_ALIGN makes the header and slack eat it all. */
#define CPC_MIN_BLOCK (sizeof(cpc_cont) + CPC_SLACK + 2 * (size_t)CPC_ALIGN)
#define CPC_FIRST_BLOCK (CPC_INITIAL_BYTES > CPC_MIN_BLOCK ? CPC_INITIAL_BYTES : CPC_MIN_BLOCK)
/* Its capacity assumes the worst placement (CPC_SLACK bytes in) and is a
 * multiple of CPC_ALIGN, so pushes fill it exactly. */
#define CPC_FIRST_CAPACITY \
    ((CPC_FIRST_BLOCK - CPC_SLACK - sizeof(cpc_cont)) & ~(size_t)(CPC_ALIGN - 1))

_Static_assert(sizeof(cpc_cont) % CPC_ALIGN == 0, "data[] must start aligned");
_Static_assert(CPC_FIRST_CAPACITY >= 2 * CPC_ALIGN, "initial block too small");

static void cpc_out_of_memory(size_t bytes)
{
    fprintf(stderr, "cpc: out of memory allocating a %zu-byte continuation\n", bytes);
    abort();
}

/* The first CPC_ALIGN boundary in a block (the block itself when malloc's
 * alignment suffices). */
static cpc_cont *cpc_place(void *block)
{
    uintptr_t address = ((uintptr_t)block + CPC_ALIGN - 1) & ~(uintptr_t)(CPC_ALIGN - 1);
    return (cpc_cont *)address;
}

cpc_cont *cpc_cont_new(struct Coroutine *owner)
{
    void *block = malloc(CPC_FIRST_BLOCK);
    if (block == NULL) {
        cpc_out_of_memory(CPC_FIRST_BLOCK);
    }
    cpc_cont *k = cpc_place(block);
    k->length = 0;
    k->size = CPC_FIRST_CAPACITY;
    k->coroutine = owner;
    k->allocation = block;
    return k;
}

void cpc_cont_free(cpc_cont *k)
{
    if (k != NULL) {
        free(k->allocation);
    }
}

cpc_cont *cpc_grow(cpc_cont *k, size_t extra)
{
    /* Doubling keeps the amortised cost of a push constant however deep the
     * recursion goes; `extra` may exceed the doubling for a huge frame. */
    size_t size = k->size * 2;
    if (size < k->length + extra) {
        size = k->length + extra;
    }
    if (size < k->size || size > SIZE_MAX - sizeof(cpc_cont) - CPC_SLACK) {
        cpc_out_of_memory(SIZE_MAX);
    }
    size_t bytes = sizeof(cpc_cont) + size + CPC_SLACK;
    size_t offset = (size_t)((unsigned char *)k - (unsigned char *)k->allocation);
    void *block = realloc(k->allocation, bytes);
    if (block == NULL) {
        cpc_out_of_memory(bytes);
    }
    cpc_cont *grown = cpc_place(block);
    unsigned char *moved_to = (unsigned char *)block + offset;
    if ((unsigned char *)grown != moved_to) {
        /* realloc kept the bytes at the old offset, which is no longer the
         * aligned one: shift header and frames into place.  (Read the length
         * through memcpy: moved_to is not aligned for a cpc_cont.) */
        size_t length;
        memcpy(&length, moved_to + offsetof(cpc_cont, length), sizeof length);
        memmove(grown, moved_to, sizeof(cpc_cont) + length);
    }
    grown->size = size;
    grown->allocation = block;
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
