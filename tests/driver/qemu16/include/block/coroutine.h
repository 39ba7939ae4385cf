/* The coroutine API of QEMU 1.6 (include/block/coroutine.h), reduced. */
#ifndef BLOCK_COROUTINE_H
#define BLOCK_COROUTINE_H
#include <stdbool.h>

#ifdef __COROPROJ__
#define coroutine_fn __attribute__((coroutine_fn))
#else
#define coroutine_fn
#endif

typedef struct Coroutine Coroutine;
typedef void coroutine_fn CoroutineEntry(void *opaque);

Coroutine *qemu_coroutine_create(CoroutineEntry *entry);
void qemu_coroutine_enter(Coroutine *coroutine, void *opaque);
void coroutine_fn qemu_coroutine_yield(void);
Coroutine *coroutine_fn qemu_coroutine_self(void);
bool qemu_in_coroutine(void);
#endif
