/*
 * The coroutine API as the CPS translator turns include/qemu/coroutine.h
 * and coroutine_int.h into (written by hand): CoroutineEntry, a coroutine
 * function type, becomes cpc_function; qemu_coroutine_yield becomes a
 * coroutine function; the cpc_need_cont natives get the hidden `cpc_cont *`
 * first argument.  Translated test programs include this, never the
 * untranslated headers of sample_project/include/qemu (those are for the
 * native backend code).
 */
#ifndef CPS_COROUTINE_H
#define CPS_COROUTINE_H

#include "cpc_runtime.h"

#include <stdbool.h>

typedef struct Coroutine Coroutine;
typedef cpc_function CoroutineEntry; /* was: void coroutine_fn (void *opaque) */

Coroutine *qemu_coroutine_create(CoroutineEntry *entry);
void qemu_coroutine_enter(Coroutine *co, void *opaque);
cpc_cont *qemu_coroutine_yield(cpc_cont *k);
bool qemu_in_coroutine(cpc_cont *k);
Coroutine *qemu_coroutine_self(cpc_cont *k);
void qemu_coroutine_pool_set_enabled(bool on);

#ifdef CPS_COROUTINE_INTERNAL /* the translated coroutine_int.h */
typedef enum {
    COROUTINE_YIELD = 1,
    COROUTINE_TERMINATE = 2,
    COROUTINE_ENTER = 3,
} CoroutineAction;

struct Coroutine {
    CoroutineEntry *entry;
    void *entry_arg;
    Coroutine *caller;
    Coroutine *pool_next;
    Coroutine *co_queue_next;
    struct { Coroutine *first, **last; } co_queue_wakeup;
};

Coroutine *qemu_coroutine_new(void);
void qemu_coroutine_delete(Coroutine *co);
CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to,
                                      CoroutineAction action);
Coroutine *qemu_coroutine_current(void);
cpc_cont *qemu_co_wake_later(cpc_cont *k); /* (Coroutine *co) */
#endif

#endif
