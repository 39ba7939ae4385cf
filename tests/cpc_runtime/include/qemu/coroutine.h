/*
 * Stand-in for the sample project's include/qemu/coroutine.h (the public
 * coroutine API, QEMU 2013 shape), used by the runtime tests until the
 * sample project exists.  This is the UNTRANSLATED header: the backend
 * (native code) includes it; translated code includes cps_coroutine.h.
 */
#ifndef QEMU_COROUTINE_H
#define QEMU_COROUTINE_H

#include <stdbool.h>

#define coroutine_fn

typedef struct Coroutine Coroutine;
typedef void coroutine_fn CoroutineEntry(void *opaque);

Coroutine *qemu_coroutine_create(CoroutineEntry *entry);
void qemu_coroutine_enter(Coroutine *coroutine, void *opaque);
void coroutine_fn qemu_coroutine_yield(void);
Coroutine *qemu_coroutine_self(void);
bool qemu_in_coroutine(void);

#endif
