/*
 * The coroutine API for the translator's tests: the sample project's
 * include/qemu/coroutine.h reduced to what the test programs use.  Under
 * coroproj (__COROPROJ__) the annotations are attributes the translator
 * sees; compiled natively (the stack reference backend) they vanish.
 */
#ifndef QEMU_COROUTINE_H
#define QEMU_COROUTINE_H

#include <stdbool.h>

#ifdef __COROPROJ__
#define coroutine_fn __attribute__((coroutine_fn))
#else
#define coroutine_fn
#endif

typedef struct Coroutine Coroutine;
typedef void coroutine_fn CoroutineEntry(void *opaque);

Coroutine *qemu_coroutine_create(CoroutineEntry *entry);
void qemu_coroutine_enter(Coroutine *co, void *opaque);
void coroutine_fn qemu_coroutine_yield(void);
bool qemu_in_coroutine(void);
Coroutine *coroutine_fn qemu_coroutine_self(void);
void qemu_coroutine_pool_set_enabled(bool on);

#endif
