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
 * Layout: one block per coroutine, from the runtime's per-thread free
 * lists (cpc_block_alloc): the common layer's Coroutine record, the
 * backend's one word, and the coroutine's first continuation, embedded,
 * with room for one frame slot (CPC_EMBEDDED_CAPACITY):
 *
 *     [ Coroutine, 56 B ][ cont word, 8 B ][ cpc_cont header, 16 B ][ data, 16 B ]
 *
 * 96 bytes with CPC_ALIGN 16, the whole cost of a coroutine suspended with
 * nothing live (a tail yield).  A coroutine whose frames need more moves its
 * continuation into a block of its own (cpc_grow); it keeps that block
 * while it sits in the common layer's pool, unless it grew past
 * CPC_KEEP_BYTES (deep recursion), and frees it with the coroutine.
 *
 * The cont word is the current continuation, tagged with CPC_FRESH until
 * the entry function has been started.  The owner of a continuation is not
 * stored anywhere: coroutine code only runs inside qemu_coroutine_switch,
 * which has set `current`, so qemu_coroutine_self(k) is `current`.
 */
#include "cpc_runtime.h"

#include <stdbool.h>
#include <stdint.h>
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
 * bytes for its next life; a larger one is freed (and the embedded one used
 * again). */
enum { CPC_KEEP_BYTES = 4096 };

/* Tag of the cont word: the entry function has not been started. */
#define CPC_FRESH ((uintptr_t)1)

typedef struct CoroutineCpc {
    Coroutine base;  /* first: a Coroutine * is a CoroutineCpc * */
    uintptr_t cont;  /* the current continuation | CPC_FRESH before the start */
    cpc_cont first;  /* embedded continuation; CPC_EMBEDDED_CAPACITY data bytes follow */
} CoroutineCpc;

/* The block of a coroutine: record and embedded continuation. */
#define CPC_COROUTINE_BYTES CPC_ROUND(sizeof(CoroutineCpc) + CPC_EMBEDDED_CAPACITY)

_Static_assert(sizeof(CoroutineCpc) % CPC_ALIGN == 0, "the embedded data follows the header");
_Static_assert(CPC_EMBEDDED_CAPACITY >= CPC_ROUND(sizeof(void *)), "room for the entry argument");

/* The coroutine whose code (or natives called from it) is running, or the
 * leader, the pseudo-coroutine of the thread's native code.  The leader's
 * cont word is a fresh NULL continuation, which sends a switch to it down
 * the cold path, where it is reported. */
static __thread Coroutine *current;
static __thread CoroutineCpc leader = { .cont = CPC_FRESH };

static CoroutineCpc *cpc_of(Coroutine *co)
{
    return (CoroutineCpc *)co;
}

/* The yield function as the trampoline sees it.  Through void (*)(void)
 * because the header gives its native prototype (-Wcast-function-type). */
#define YIELD_FUNCTION ((cpc_function *)(void (*)(void))qemu_coroutine_yield)

Coroutine *qemu_coroutine_new(void)
{
    CoroutineCpc *co = cpc_block_alloc(CPC_COROUTINE_BYTES);
    co->first.length = 0;
    co->first.size = CPC_EMBEDDED_CAPACITY;
    co->cont = (uintptr_t)&co->first | CPC_FRESH;
    return &co->base;
}

void qemu_coroutine_delete(Coroutine *co_)
{
    CoroutineCpc *co = cpc_of(co_);
    cpc_cont_free((cpc_cont *)(co->cont & ~CPC_FRESH)); /* not the embedded one */
    cpc_block_free(co, CPC_COROUTINE_BYTES);
}

static void __attribute__((noreturn, cold)) cpc_bad_switch(Coroutine *from, Coroutine *to)
{
    fprintf(stderr, "cpc: switch from coroutine %p to %p, which it did not enter: "
                    "not possible under cpc (a yield must be translated code)\n",
            (void *)from, (void *)to);
    abort();
}

/* The first entry: CoroutineEntry is a void coroutine function of one
 * `void *`, so it needs no receiver below it; it is called directly with
 * its argument pushed (no frame slot: the embedded capacity is one slot).
 * The header gives entry its native type; the function behind it was
 * translated (void (*)(void) for -Wcast-function-type). */
static cpc_cont *cpc_start(CoroutineCpc *co, cpc_cont *k)
{
    if (__builtin_expect(k == NULL, 0)) {
        cpc_bad_switch(current, &co->base); /* the leader */
    }
    cpc_function *entry = (cpc_function *)(void (*)(void))co->base.entry;
    void **arg = cpc_push(&k, sizeof(void *));
    *arg = co->base.entry_arg;
    return entry(k);
}

/* Only called by qemu_coroutine_enter, to run `to` until it yields or
 * terminates.  The trampoline is inlined here: the yield path is the
 * benchmark of a continuation backend. */
CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to_,
                                      CoroutineAction action)
{
    (void)action; /* always an enter (COROUTINE_ENTER, or YIELD in QEMU 2013) */
    CoroutineCpc *to = cpc_of(to_);
    if (__builtin_expect(to_->caller != from, 0)) {
        cpc_bad_switch(from, to_);
    }
    current = to_;
    uintptr_t word = to->cont;
    cpc_cont *k = (cpc_cont *)(word & ~CPC_FRESH);
    if (word & CPC_FRESH) {
        k = cpc_start(to, k);
    }
    for (;;) {
        if (k->length == 0) {
            break;
        }
        cpc_function *fn = cpc_pop_fn(k);
        if (fn == YIELD_FUNCTION) {
            /* `from` and `to` are read back instead of being kept across
             * the calls: no callee-saved registers to spill. */
            to = cpc_of(current);
            current = to->base.caller;
            to->cont = (uintptr_t)k;
            to->base.caller = NULL; /* what the untranslated yield body does */
            return COROUTINE_YIELD;
        }
        k = fn(k);
    }
    /* Empty again: a pooled reuse starts afresh with a new entry. */
    to = cpc_of(current);
    current = to->base.caller;
    if (__builtin_expect(k->size > CPC_KEEP_BYTES, 0)) {
        cpc_cont_free(k);
        k = &to->first;
        k->length = 0; /* stale since the continuation moved out */
    }
    to->cont = (uintptr_t)k | CPC_FRESH;
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
    (void)k; /* coroutine code runs only under qemu_coroutine_switch */
    return qemu_coroutine_current();
}

bool qemu_in_coroutine(cpc_cont *k)
{
    return k != NULL || (current != NULL && current != &leader.base);
}
