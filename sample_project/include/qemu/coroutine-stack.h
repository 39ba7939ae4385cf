/*
 * coroutine-stack.h — stacks for the stack-switching coroutine backends.
 */
#ifndef QEMU_COROUTINE_STACK_H
#define QEMU_COROUTINE_STACK_H

#include <stddef.h>

/* Every coroutine of a stack backend gets this much stack (reserved address
 * space: only the pages it touches become resident). */
#define COROUTINE_STACK_SIZE (1024 * 1024)

/* A stack of *size bytes (rounded up to whole pages; the rounded size is
 * stored back) below an inaccessible guard page that turns an overflow into
 * a crash instead of silent corruption.  Returns its lowest usable address. */
void *qemu_alloc_stack(size_t *size);
void qemu_free_stack(void *stack, size_t size);

#endif
