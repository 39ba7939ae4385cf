/*
 * osdep.h — the includes and helpers every file of the project starts with.
 */
#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemu/compiler.h"

#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))

#define NANOSECONDS_PER_SECOND 1000000000LL

/* Allocation that never returns NULL: running out of memory aborts. */
void *qemu_malloc(size_t size);
void *qemu_mallocz(size_t size);
void *qemu_realloc(void *ptr, size_t size);
char *qemu_strdup(const char *s);

/* Print a message and abort: for broken invariants only. */
void QEMU_NORETURN QEMU_PRINTF(1, 2) qemu_abort(const char *fmt, ...);

#endif
