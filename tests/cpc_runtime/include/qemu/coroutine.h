/*
 * Stand-in for the sample project's include/qemu/coroutine.h (the public
 * coroutine API), reduced to what the runtime tests use, with the same
 * declarations.  This is the UNTRANSLATED header: the backend (native code)
 * includes it; translated test code includes ../../cps_coroutine.h.
 */
#ifndef QEMU_COROUTINE_H
#define QEMU_COROUTINE_H

#include <stdbool.h>

#define coroutine_fn

typedef struct Coroutine Coroutine;
typedef void coroutine_fn CoroutineEntry(void *opaque);

Coroutine *qemu_coroutine_create(CoroutineEntry *entry);
void qemu_coroutine_enter(Coroutine *co, void *opaque);
void coroutine_fn qemu_coroutine_yield(void);
bool qemu_in_coroutine(void);
Coroutine *coroutine_fn qemu_coroutine_self(void);
void qemu_coroutine_pool_set_enabled(bool on);

#endif
