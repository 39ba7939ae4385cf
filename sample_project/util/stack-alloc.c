/*
 * stack-alloc.c — coroutine stacks: anonymous mappings with a guard page.
 *
 * Layout of one mapping:  [guard page][usable stack ............][header]
 * The header sits above the stack's top, in the page every coroutine
 * touches first anyway, so it costs no resident memory.  It keeps valgrind's id for the stack: under valgrind, a
 * registered stack makes a switch to it a stack switch rather than a wild
 * stack-pointer move (no false "invalid read" reports).  valgrind.h comes
 * with valgrind; without it the registration compiles to nothing.
 */
#include "qemu/osdep.h"
#include "qemu/coroutine-stack.h"

#include <sys/mman.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef VALGRIND_STACK_REGISTER
#define VALGRIND_STACK_REGISTER(start, end) 0u
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#endif

/* 16 bytes keep the usable stack 16-byte aligned, as the ABI wants. */
typedef struct {
    unsigned valgrind_id;
    char padding[12];
} StackHeader;

static size_t page_size(void)
{
    static size_t cached;

    if (!cached) {
        cached = (size_t)sysconf(_SC_PAGESIZE);
    }
    return cached;
}

void *qemu_alloc_stack(size_t *size)
{
    size_t page = page_size();
    size_t mapped = (*size + sizeof(StackHeader) + page - 1) & ~(page - 1);
    /* MAP_NORESERVE: thousands of suspended coroutines reserve gigabytes of
     * address space but use only the pages they touched. */
    char *base = mmap(NULL, page + mapped, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    StackHeader *header;
    char *stack;

    if (base == MAP_FAILED) {
        qemu_abort("cannot map a %zu byte coroutine stack: %s", mapped, strerror(errno));
    }
    if (mprotect(base, page, PROT_NONE) != 0) {
        /* The usual cause: each stack is two mappings (guard and stack), and
         * a process may have vm.max_map_count of them (65530 by default). */
        qemu_abort("cannot protect a coroutine stack's guard page: %s%s", strerror(errno),
                   errno == ENOMEM ? " (too many mappings? see /proc/sys/vm/max_map_count)" : "");
    }
    stack = base + page;
    *size = mapped - sizeof(StackHeader);
    header = (StackHeader *)(stack + *size);
    header->valgrind_id = VALGRIND_STACK_REGISTER(stack, stack + *size);
    return stack;
}

void qemu_free_stack(void *stack, size_t size)
{
    StackHeader *header = (StackHeader *)((char *)stack + size);
    size_t page = page_size();

    VALGRIND_STACK_DEREGISTER(header->valgrind_id);
    if (munmap((char *)stack - page, page + size + sizeof(StackHeader)) != 0) {
        qemu_abort("cannot unmap a coroutine stack: %s", strerror(errno));
    }
}
