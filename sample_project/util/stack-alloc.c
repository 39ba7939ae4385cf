/*
 * stack-alloc.c — coroutine stacks: anonymous mappings with a guard page.
 */
#include "qemu/osdep.h"
#include "qemu/coroutine-stack.h"

#include <sys/mman.h>

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
    size_t usable = (*size + page - 1) & ~(page - 1);
    /* MAP_NORESERVE: thousands of suspended coroutines reserve gigabytes of
     * address space but use only the pages they touched. */
    char *base = mmap(NULL, usable + page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (base == MAP_FAILED) {
        qemu_abort("cannot map a %zu byte coroutine stack: %s", usable, strerror(errno));
    }
    if (mprotect(base, page, PROT_NONE) != 0) {
        qemu_abort("cannot protect a coroutine stack's guard page: %s", strerror(errno));
    }
    *size = usable;
    return base + page;
}

void qemu_free_stack(void *stack, size_t size)
{
    size_t page = page_size();

    if (munmap((char *)stack - page, size + page) != 0) {
        qemu_abort("cannot unmap a coroutine stack: %s", strerror(errno));
    }
}
