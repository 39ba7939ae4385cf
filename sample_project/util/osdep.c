/*
 * osdep.c — allocation that never fails and the abort helper.
 */
#include "qemu/osdep.h"

#include <stdarg.h>

static void QEMU_NORETURN out_of_memory(size_t size)
{
    fprintf(stderr, "out of memory allocating %zu bytes\n", size);
    abort();
}

void *qemu_malloc(size_t size)
{
    void *ptr = malloc(size ? size : 1);
    if (ptr == NULL) {
        out_of_memory(size);
    }
    return ptr;
}

void *qemu_mallocz(size_t size)
{
    void *ptr = calloc(1, size ? size : 1);
    if (ptr == NULL) {
        out_of_memory(size);
    }
    return ptr;
}

void *qemu_realloc(void *ptr, size_t size)
{
    void *result = realloc(ptr, size ? size : 1);
    if (result == NULL) {
        out_of_memory(size);
    }
    return result;
}

char *qemu_strdup(const char *s)
{
    size_t size = strlen(s) + 1;
    return memcpy(qemu_malloc(size), s, size);
}

void qemu_abort(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
