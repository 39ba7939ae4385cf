/*
 * coroutine-cpc.c — the cpc coroutine backend (continuations instead of
 * stacks) behind the project's backend interface, qemu/coroutine_int.h:
 *
 *     Coroutine *qemu_coroutine_new(void);
 *     void qemu_coroutine_delete(Coroutine *co);
 *     CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to,
 *                                           CoroutineAction action);
 *     Coroutine *qemu_coroutine_current(void);
 *
 * plus the two natives that need the continuation, qemu_coroutine_self and
 * qemu_in_coroutine, in their translated form (hidden first argument
 * `cpc_cont *k`: the caller's continuation in coroutine code, NULL in native
 * code).  This file is native C: it is compiled as is, never translated.
 *
 * How the common layer (util/qemu-coroutine.c, backend independent) maps
 * onto it:
 *
 * - qemu_coroutine_enter(co) is native code.  It sets co->caller and calls
 *   qemu_coroutine_switch(self, co, COROUTINE_ENTER).  Here that runs co's
 *   trampoline on the C stack of the enterer until co yields or terminates
 *   and returns COROUTINE_YIELD or COROUTINE_TERMINATE.  A coroutine
 *   entering another one (nesting) simply nests trampolines on the C stack;
 *   returning from switch IS the switch back to the caller.
 * - qemu_coroutine_yield's body in the common layer (clear self->caller,
 *   switch to the caller) is never run: the trampoline stops at its frame.
 *   So this backend does the part of that body the common layer relies on —
 *   clearing co->caller, which marks the coroutine idle so that it may be
 *   entered again — before reporting COROUTINE_YIELD.
 * - Termination: a stack backend's own trampoline runs entry() and then
 *   switches to the caller with COROUTINE_TERMINATE.  Here the continuation
 *   just runs empty; switch returns COROUTINE_TERMINATE and the common layer
 *   pools or deletes the coroutine, as with any backend.
 * So qemu_coroutine_switch is only ever asked to switch INTO a coroutine its
 * caller has just entered; a switch out of a coroutine (to its caller, or a
 * yield body run by mistake) is not a real stack switch under cpc and is
 * reported as a bug.
 *
 * The continuation is allocated at the first entry, not by
 * qemu_coroutine_new, and kept while the coroutine sits in the common
 * layer's pool: a pooled coroutine is re-entered without any allocation.
 * One that grew large (deep recursion) gives its memory back when it
 * terminates instead of pinning it in the pool.
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

/* A terminated coroutine keeps a continuation of at most this many data
 * bytes for its next life; a larger one is freed (and re-allocated small on
 * the next entry). */
enum { CPC_KEEP_BYTES = 4096 };

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
    (void)action; /* always an enter (COROUTINE_ENTER, or YIELD in QEMU 2013) */
    CoroutineCpc *to = cpc_of(to_);
    if (to == &leader || to_->caller != from) {
        fprintf(stderr, "cpc: switch from coroutine %p to %p, which it did not enter: "
                        "not possible under cpc (a yield must be translated code)\n",
                (void *)from, (void *)to_);
        abort();
    }
    if (!to->started) {
        /* First entry: build the entry frame by hand.  CoroutineEntry is a
         * void coroutine function of one `void *`, so it needs no receiver
         * below it.  The header gives entry its native type; the function
         * behind it was translated (void (*)(void) for -Wcast-function-type). */
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
    /* Empty again: a pooled reuse starts afresh with a new entry frame. */
    to->started = false;
    if (__builtin_expect(to->cont->size > CPC_KEEP_BYTES, 0)) {
        cpc_cont_free(to->cont);
        to->cont = NULL;
    }
    return COROUTINE_TERMINATE;
}

Coroutine *qemu_coroutine_current(void)
{
    if (current == NULL) {
        current = &leader.base;
    }
    return current;
}

Coroutine *qemu_coroutine_self(cpc_cont *k)
{
    if (k != NULL) {
        return k->coroutine; /* no thread-local access from coroutine code */
    }
    return qemu_coroutine_current();
}

bool qemu_in_coroutine(cpc_cont *k)
{
    return k != NULL || (current != NULL && current != &leader.base);
}
