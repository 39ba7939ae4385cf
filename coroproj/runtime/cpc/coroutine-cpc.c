/*
 * coroutine-cpc.c — the cpc coroutine backend (continuations instead of
 * stacks) behind the project's backend interface, qemu/coroutine_int.h:
 *
 *     Coroutine *qemu_coroutine_new(void);
 *     void qemu_coroutine_delete(Coroutine *co);
 *     CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to,
 *                                           CoroutineAction action);
 *
 * plus the two natives that need the continuation, qemu_coroutine_self and
 * qemu_in_coroutine, in their translated form (hidden first argument
 * `cpc_cont *k`: the caller's continuation in coroutine code, NULL in native
 * code).  This file is native C: it is compiled as is, never translated.
 *
 * How the common layer (qemu-coroutine.c, backend independent) maps onto it:
 *
 * - qemu_coroutine_enter(co) is native code.  It records co->caller and
 *   calls qemu_coroutine_switch(self, co, ...).  Here that runs co's
 *   trampoline on the C stack of the enterer until co yields or
 *   terminates, and returns COROUTINE_YIELD or COROUTINE_TERMINATE.  A
 *   coroutine entering another one (nesting) simply nests trampolines on
 *   the C stack; returning from switch IS the switch back to the caller.
 * - qemu_coroutine_yield's body in the common layer (clear self->caller,
 *   switch to the caller) is never run: the trampoline stops at its frame.
 *   So this backend does the part of that body that matters to the common
 *   layer — clearing co->caller, which the common layer tests to detect a
 *   coroutine re-entered recursively — before reporting COROUTINE_YIELD.
 * - Termination: with stacks, the backend's own trampoline runs entry() and
 *   then switches to the caller with COROUTINE_TERMINATE.  Here the
 *   continuation just runs empty; switch returns COROUTINE_TERMINATE and
 *   the common layer recycles the coroutine (pool) or deletes it, as usual.
 * So qemu_coroutine_switch is only ever asked to switch INTO a coroutine;
 * a switch out of one (to its caller) is not a real stack switch under cpc
 * and is reported as a bug.
 *
 * The continuation is allocated at the first entry, not by
 * qemu_coroutine_new, and kept while the coroutine sits in the common
 * layer's pool: a pooled coroutine is re-entered without any allocation.
 */
#include "cpc_runtime.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* The project headers declare qemu_coroutine_self / qemu_in_coroutine with
 * their native (untranslated) prototypes; we define them with the hidden
 * continuation argument the translator gives their callers.  Renaming the
 * header's declarations out of the way avoids the conflicting types. */
#define qemu_coroutine_self cpc_native_prototype_of_qemu_coroutine_self
#define qemu_in_coroutine cpc_native_prototype_of_qemu_in_coroutine
#include "qemu/coroutine_int.h"
#undef qemu_coroutine_self
#undef qemu_in_coroutine

Coroutine *qemu_coroutine_self(cpc_cont *k);
bool qemu_in_coroutine(cpc_cont *k);

typedef struct CoroutineCpc {
    Coroutine base;        /* first: a Coroutine * is a CoroutineCpc * */
    cpc_cont *cont;        /* NULL until the first entry */
    bool started;          /* the entry frame has been pushed */
} CoroutineCpc;

/* The coroutine whose code (or natives called from it) is running, or the
 * leader, the pseudo-coroutine of the thread's native code. */
static __thread Coroutine *current;
static __thread CoroutineCpc leader;

static CoroutineCpc *cpc_of(Coroutine *co)
{
    return (CoroutineCpc *)co;
}

/* The yield function as the trampoline sees it.  Through void (*)(void)
 * because the header gives its native prototype (-Wcast-function-type). */
static cpc_function *yield_function(void)
{
    return (cpc_function *)(void (*)(void))qemu_coroutine_yield;
}

Coroutine *qemu_coroutine_new(void)
{
    /* malloc, not calloc: glibc's calloc bypasses the per-thread cache and
     * costs about a hundred more instructions per coroutine. */
    CoroutineCpc *co = malloc(sizeof *co);
    if (co == NULL) {
        fprintf(stderr, "cpc: out of memory allocating a coroutine\n");
        abort();
    }
    *co = (CoroutineCpc){ .cont = NULL, .started = false };
    return &co->base;
}

void qemu_coroutine_delete(Coroutine *co_)
{
    CoroutineCpc *co = cpc_of(co_);
    cpc_cont_free(co->cont);
    free(co);
}

CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to_,
                                      CoroutineAction action)
{
    (void)action; /* enter (YIELD or ENTER, depending on the common layer) */
    CoroutineCpc *to = cpc_of(to_);
    if (to == &leader) {
        fprintf(stderr, "cpc: switch out of a coroutine: not possible under cpc "
                        "(yield must be translated code)\n");
        abort();
    }
    if (!to->started) {
        /* First entry: build the entry frame by hand — CoroutineEntry is a
         * void coroutine function of one `void *`, so no receiver below it. */
        if (to->cont == NULL) {
            to->cont = cpc_cont_new(to_);
        }
        cpc_function *entry = (cpc_function *)(void (*)(void))to_->entry;
        void **arg = cpc_push_frame(&to->cont, sizeof(void *), entry);
        *arg = to_->entry_arg;
        to->started = true;
    }
    current = to_;
    cpc_status status = cpc_run(&to->cont, yield_function());
    current = from;
    if (status == CPC_YIELDED) {
        to_->caller = NULL; /* what the untranslated yield body does */
        return COROUTINE_YIELD;
    }
    to->started = false; /* empty again: a pooled reuse starts afresh */
    return COROUTINE_TERMINATE;
}

Coroutine *qemu_coroutine_self(cpc_cont *k)
{
    if (k != NULL) {
        return k->coroutine; /* no thread-local access from coroutine code */
    }
    if (current == NULL) {
        current = &leader.base;
    }
    return current;
}

bool qemu_in_coroutine(cpc_cont *k)
{
    return k != NULL || (current != NULL && current->caller != NULL);
}
