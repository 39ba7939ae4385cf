/*
 * cpc_runtime.c — the allocator, growth and the trampoline of cpc
 * continuations.  The calling convention is documented in cpc_runtime.h.
 *
 * The allocator
 * -------------
 * Coroutine objects and continuation blocks are small, of a handful of
 * sizes, and allocated and freed at a high rate by one thread at a time, so
 * they come from per-thread free lists, one per size class, carved from
 * 1 MiB chunks: an allocation is a pop, a free a push, and a block costs
 * exactly its bytes (malloc adds an 8-byte header and rounds to 16, and
 * glibc's tcache path is ~50 instructions each way).  Classes: every
 * multiple of CPC_ALIGN up to 1 KiB, then powers of two up to
 * CPC_SLAB_MAX; larger blocks (deep recursion) come from malloc.
 *
 * Blocks freed by a thread go to that thread's lists, whoever allocated
 * them.  A thread that exits hands its lists to a global one, which the
 * next thread short of blocks of that class adopts (under a lock: rare).
 * Chunks are never returned to the system; they stay linked from a global
 * list, so leak checkers see them as reachable.
 *
 * Under AddressSanitizer, and under valgrind tools that replace malloc to
 * watch every block (memcheck, helgrind, drd...), every block is a malloc
 * block of its own instead, so those tools keep checking each coroutine
 * and continuation for overflows, use after free and leaks.  (Callgrind
 * and cachegrind do not replace malloc: they measure the free lists.)
 * CPC_RUNTIME_MALLOC=1 in the environment asks for the same.
 */
#include "cpc_runtime.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CPC_CHUNK_BYTES ((size_t)1024 * 1024)
/* Classes: every multiple of CPC_ALIGN up to CPC_SMALL_MAX bytes (index
 * bytes / CPC_ALIGN - 1: no block of a continuation a few frames deep
 * rounds up by more than CPC_ALIGN), then powers of two. */
#define CPC_SMALL_MAX ((size_t)1024)
#define CPC_SMALL_CLASSES (CPC_SMALL_MAX / CPC_ALIGN)
#define CPC_CLASS_COUNT (CPC_SMALL_CLASSES + 8)

_Static_assert(sizeof(cpc_cont) % CPC_ALIGN == 0, "data[] must start aligned");
_Static_assert(CPC_SLAB_MAX >= CPC_SMALL_MAX && CPC_SLAB_MAX <= (CPC_SMALL_MAX << 8),
               "the power-of-two classes must reach CPC_SLAB_MAX");
_Static_assert(CPC_CHUNK_BYTES >= 8 * CPC_SLAB_MAX, "chunks hold several blocks of each class");

static void cpc_out_of_memory(size_t bytes)
{
    fprintf(stderr, "cpc: out of memory allocating %zu bytes for a coroutine or continuation\n", bytes);
    abort();
}

/* malloc's blocks are aligned for max_align_t; aligned_alloc for more (it
 * takes ~500 more instructions in glibc, hence only then). */
static void *cpc_malloc(size_t bytes)
{
    void *block = CPC_ALIGN > alignof(max_align_t) ? aligned_alloc(CPC_ALIGN, bytes) : malloc(bytes);
    if (block == NULL) {
        cpc_out_of_memory(bytes);
    }
    return block;
}

/* --- size classes ------------------------------------------------------ */

static unsigned cpc_class_of(size_t bytes)
{
    if (bytes <= CPC_SMALL_MAX) {
        return (unsigned)(bytes / CPC_ALIGN) - 1;
    }
    /* (SMALL_MAX, 2 SMALL_MAX] -> SMALL_CLASSES, then one class per doubling. */
    unsigned index = CPC_SMALL_CLASSES;
    for (size_t limit = CPC_SMALL_MAX * 2; limit < bytes; limit *= 2) {
        index++;
    }
    return index;
}

static size_t cpc_class_bytes(unsigned index)
{
    if (index < CPC_SMALL_CLASSES) {
        return (size_t)(index + 1) * CPC_ALIGN;
    }
    return CPC_SMALL_MAX << (index - CPC_SMALL_CLASSES + 1);
}

/* Rounds a block size up to what the allocator hands out for it. */
static size_t cpc_rounded_bytes(size_t bytes)
{
    return bytes <= CPC_SLAB_MAX ? cpc_class_bytes(cpc_class_of(bytes)) : CPC_ROUND(bytes);
}

/* --- per-thread free lists --------------------------------------------- */

typedef struct cpc_free_block {
    struct cpc_free_block *next;
} cpc_free_block;

typedef struct cpc_chunk {
    struct cpc_chunk *next; /* every chunk ever carved, for reachability */
} cpc_chunk;

static __thread cpc_free_block *free_lists[CPC_CLASS_COUNT];
static __thread unsigned char *carve_next;
static __thread unsigned char *carve_end;
static __thread bool thread_registered;

static cpc_chunk *all_chunks;
static cpc_free_block *orphans[CPC_CLASS_COUNT]; /* lists of exited threads, under orphans_lock */
static pthread_mutex_t orphans_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t thread_exit_key;
static pthread_once_t thread_exit_once = PTHREAD_ONCE_INIT;

/* -1 undecided, 0 free lists, 1 one malloc block per block (see the top). */
static int use_malloc = -1;

static bool malloc_replaced_by_a_checker(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#endif
#endif
    const char *asked = getenv("CPC_RUNTIME_MALLOC");
    if (asked != NULL && *asked != '\0' && strcmp(asked, "0") != 0) {
        return true;
    }
    /* valgrind preloads vgpreload_core, plus vgpreload_<tool> for a tool
     * that replaces malloc. */
    const char *preload = getenv("LD_PRELOAD");
    for (const char *at = preload; at != NULL && (at = strstr(at, "vgpreload_")) != NULL; at++) {
        if (strncmp(at, "vgpreload_core", strlen("vgpreload_core")) != 0) {
            return true;
        }
    }
    return false;
}

static bool cpc_uses_malloc(void)
{
    int decided = __atomic_load_n(&use_malloc, __ATOMIC_RELAXED);
    if (__builtin_expect(decided < 0, 0)) {
        decided = malloc_replaced_by_a_checker();
        __atomic_store_n(&use_malloc, decided, __ATOMIC_RELAXED);
    }
    return decided;
}

/* Thread exit: its free blocks go to the orphans for other threads. */
static void cpc_thread_exit(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&orphans_lock);
    for (unsigned index = 0; index < CPC_CLASS_COUNT; index++) {
        cpc_free_block *list = free_lists[index];
        while (list != NULL) {
            cpc_free_block *next = list->next;
            /* Atomic although under the lock: cpc_refill peeks without it. */
            list->next = __atomic_load_n(&orphans[index], __ATOMIC_RELAXED);
            __atomic_store_n(&orphans[index], list, __ATOMIC_RELAXED);
            list = next;
        }
        free_lists[index] = NULL;
    }
    pthread_mutex_unlock(&orphans_lock);
}

static void cpc_create_thread_exit_key(void)
{
    if (pthread_key_create(&thread_exit_key, cpc_thread_exit) != 0) {
        fprintf(stderr, "cpc: cannot create the thread-exit key of the allocator\n");
        abort();
    }
}

/* The slow path of an allocation from class `index`: adopt orphans, or
 * carve the block from the thread's chunk, or start a new chunk. */
static void *cpc_refill(unsigned index)
{
    size_t bytes = cpc_class_bytes(index);
    if (__atomic_load_n(&orphans[index], __ATOMIC_RELAXED) != NULL) {
        pthread_mutex_lock(&orphans_lock);
        cpc_free_block *adopted = __atomic_load_n(&orphans[index], __ATOMIC_RELAXED);
        __atomic_store_n(&orphans[index], NULL, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&orphans_lock);
        if (adopted != NULL) {
            free_lists[index] = adopted->next;
            return adopted;
        }
    }
    if ((size_t)(carve_end - carve_next) < bytes) {
        if (!thread_registered) {
            /* Only a thread that carves can end up with free blocks of
             * its own worth handing over: register it then. */
            pthread_once(&thread_exit_once, cpc_create_thread_exit_key);
            pthread_setspecific(thread_exit_key, &thread_registered);
            thread_registered = true;
        }
        /* The rest of the old chunk (less than one block) is left
         * untouched, so it costs address space, not memory.  A chunk is
         * above malloc's mmap threshold: its pages are touched only as
         * blocks are carved, and no heap header follows it. */
        cpc_chunk *chunk = cpc_malloc(CPC_CHUNK_BYTES);
        chunk->next = __atomic_load_n(&all_chunks, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&all_chunks, &chunk->next, chunk, true,
                                            __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
        }
        carve_next = (unsigned char *)chunk + CPC_ROUND(sizeof *chunk);
        carve_end = (unsigned char *)chunk + CPC_CHUNK_BYTES;
    }
    void *block = carve_next;
    carve_next += bytes;
    return block;
}

/* Out of line, so that the hot path saves no registers. */
static void *__attribute__((noinline)) cpc_block_alloc_slow(unsigned index)
{
    if (cpc_uses_malloc()) {
        return cpc_malloc(cpc_class_bytes(index));
    }
    return cpc_refill(index);
}

void *cpc_block_alloc(size_t bytes)
{
    if (__builtin_expect(bytes > CPC_SLAB_MAX, 0)) {
        return cpc_malloc(bytes);
    }
    unsigned index = cpc_class_of(bytes);
    cpc_free_block *block = free_lists[index];
    if (__builtin_expect(block != NULL, 1)) {
        free_lists[index] = block->next;
        return block;
    }
    return cpc_block_alloc_slow(index);
}

void cpc_block_free(void *block, size_t bytes)
{
    /* use_malloc is decided: the block was allocated. */
    if (bytes > CPC_SLAB_MAX || __atomic_load_n(&use_malloc, __ATOMIC_RELAXED) > 0) {
        free(block);
        return;
    }
    unsigned index = cpc_class_of(bytes);
    cpc_free_block *freed = block;
    freed->next = free_lists[index];
    free_lists[index] = freed;
}

/* --- continuations ----------------------------------------------------- */

/* A standalone continuation's capacity is at least twice the embedded one
 * (see CPC_EMBEDDED_CAPACITY): the smallest block gets 2 * CPC_ALIGN. */
#define CPC_MIN_CAPACITY (2 * CPC_EMBEDDED_CAPACITY)

static cpc_cont *cpc_cont_of_capacity(size_t capacity)
{
    size_t bytes = cpc_rounded_bytes(sizeof(cpc_cont) + capacity);
    cpc_cont *k = cpc_block_alloc(bytes);
    k->size = bytes - sizeof(cpc_cont);
    return k;
}

cpc_cont *cpc_cont_new(void)
{
    /* Room for a few frames before the first growth. */
    cpc_cont *k = cpc_cont_of_capacity(4 * CPC_MIN_CAPACITY);
    k->length = 0;
    return k;
}

void cpc_cont_free(cpc_cont *k)
{
    if (k != NULL && k->size != CPC_EMBEDDED_CAPACITY) {
        cpc_block_free(k, sizeof(cpc_cont) + k->size);
    }
}

cpc_cont *cpc_grow(cpc_cont *k, size_t extra)
{
    /* Doubling keeps the amortised cost of a push constant however deep the
     * recursion goes.  A piece reserves what its deepest path pushes, which
     * may exceed the doubling; then half as much again, so that the next few
     * frames (the callee's own) need no second growth: each growth leaves
     * the old block on a free list, memory that a burst of coroutines all
     * growing at once does not reuse. */
    size_t need = k->length + extra;
    size_t size = k->size * 2;
    if (size < need + need / 2) {
        size = need + need / 2;
    }
    if (size < k->size || size > SIZE_MAX / 2 - sizeof(cpc_cont)) {
        cpc_out_of_memory(SIZE_MAX);
    }
    cpc_cont *grown = cpc_cont_of_capacity(size < CPC_MIN_CAPACITY ? CPC_MIN_CAPACITY : size);
    grown->length = k->length;
    memcpy(grown->data, k->data, k->length);
    cpc_cont_free(k);
    return grown;
}

cpc_cont *cpc_grow_and_run(cpc_cont *k, size_t extra, cpc_function *piece)
{
    return piece(cpc_grow(k, extra));
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
