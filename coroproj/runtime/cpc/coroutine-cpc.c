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
 *   just runs empty; switch pushes the start frame again, returns
 *   COROUTINE_TERMINATE, and the common layer pools or deletes the
 *   coroutine, as with any backend.
 * So qemu_coroutine_switch is only ever asked to switch INTO a coroutine its
 * caller has just entered; a switch out of a coroutine (to its caller, or a
 * yield body run by mistake) is not a real stack switch under cpc and is
 * reported as a bug.
 *
 * Layout: one block per coroutine, from the runtime's per-thread free
 * lists (cpc_block_alloc): the common layer's Coroutine record, the
 * backend's one word (the current continuation), and the coroutine's first
 * continuation, embedded, with room for one frame slot
 * (CPC_EMBEDDED_CAPACITY):
 *
 *     [ Coroutine, 56 B ][ cont word, 8 B ][ cpc_cont header, 16 B ][ data, 16 B ]
 *
 * 96 bytes with CPC_ALIGN 16, the whole cost of a coroutine suspended with
 * nothing live (a tail yield).  A coroutine whose frames need more moves its
 * continuation into a block of its own (cpc_grow); it keeps that block
 * while it sits in the common layer's pool, unless it grew past
 * CPC_KEEP_BYTES (deep recursion), and frees it with the coroutine.
 *
 * A fresh coroutine's continuation holds one frame, the backend's start
 * piece, which pushes the entry argument and calls the entry function;
 * termination pushes it again.  The owner of a continuation is stored
 * nowhere: coroutine code only runs inside qemu_coroutine_switch, which has
 * set `current`, so qemu_coroutine_self(k) is `current`.
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
 * bytes for its next life; a larger one is freed (and the embedded one used
 * again). */
enum { CPC_KEEP_BYTES = 4096 };

typedef struct CoroutineCpc {
    Coroutine base;  /* first: a Coroutine * is a CoroutineCpc * */
    cpc_cont *cont;  /* the current continuation */
    cpc_cont first;  /* embedded continuation; CPC_EMBEDDED_CAPACITY data bytes follow */
} CoroutineCpc;

/* The block of a coroutine: record and embedded continuation. */
#define CPC_COROUTINE_BYTES CPC_ROUND(sizeof(CoroutineCpc) + CPC_EMBEDDED_CAPACITY)

_Static_assert(sizeof(CoroutineCpc) % CPC_ALIGN == 0, "the embedded data follows the header");
_Static_assert(CPC_EMBEDDED_CAPACITY >= CPC_FNSLOT && CPC_EMBEDDED_CAPACITY >= CPC_ROUND(sizeof(void *)),
               "room for the start frame, then for the entry argument");

static void __attribute__((noreturn, cold)) cpc_bad_switch(Coroutine *from, Coroutine *to)
{
    fprintf(stderr, "cpc: switch from coroutine %p to %p, which it did not enter: "
                    "not possible under cpc (a yield must be translated code)\n",
            (void *)from, (void *)to);
    abort();
}

/* The leader, the pseudo-coroutine of a thread's native code, is the
 * `caller` of a coroutine entered from native code.  Switching back to it is
 * returning, so it has no state of its own, but each thread has its own
 * (qemu_coroutine_self() in native code tells threads apart, as with the
 * stack backends).  Its continuation reports a switch to it. */
static cpc_cont *cpc_switch_to_leader(cpc_cont *k);

static struct {
    cpc_cont header;
    cpc_function *slot[CPC_FNSLOT / sizeof(cpc_function *)];
} leader_cont = { { .length = CPC_FNSLOT, .size = CPC_FNSLOT }, { cpc_switch_to_leader } };
static __thread CoroutineCpc leader = { .cont = &leader_cont.header };

/* The coroutine whose code (or natives called from it) is running, or the
 * thread's leader; NULL until the thread's first qemu_coroutine_current. */
static __thread Coroutine *current;

static cpc_cont *cpc_switch_to_leader(cpc_cont *k)
{
    (void)k;
    cpc_bad_switch(current->caller, current);
}

/* The first frame of a coroutine, pushed by qemu_coroutine_new and again
 * when it terminates (a pooled coroutine starts afresh): calls the entry
 * function, a void coroutine function of one `void *` (no receiver below
 * it), directly with its argument pushed.  The header gives entry its
 * native type; the function behind it was translated (void (*)(void) for
 * -Wcast-function-type).  The embedded capacity fits this frame, then the
 * argument: a coroutine that yields with nothing live never grows. */
static cpc_cont *cpc_start(cpc_cont *k)
{
    Coroutine *co = current;
    cpc_function *entry = (cpc_function *)(void (*)(void))co->entry;
    void **arg = cpc_push_reserved(k, sizeof(void *));
    *arg = co->entry_arg;
    return entry(k);
}

static void cpc_push_start_frame(cpc_cont *k)
{
    *(cpc_function **)(void *)k->data = cpc_start;
    k->length = CPC_FNSLOT;
}

static CoroutineCpc *cpc_of(Coroutine *co)
{
    return (CoroutineCpc *)co;
}

/* The yield function as the trampoline compares it.  A global the compiler
 * cannot fold (another unit might change it): on x86-64 the comparison
 * reads it from memory in the one instruction, where a constant would be
 * kept in a callee-saved register, a push and a pop on every switch.
 * Through void (*)(void) because the header gives the native prototype
 * (-Wcast-function-type). */
cpc_function *cpc_backend_yield_function = (cpc_function *)(void (*)(void))qemu_coroutine_yield;

Coroutine *qemu_coroutine_new(void)
{
    CoroutineCpc *co = cpc_block_alloc(CPC_COROUTINE_BYTES);
    co->first.size = CPC_EMBEDDED_CAPACITY;
    cpc_push_start_frame(&co->first);
    co->cont = &co->first;
    return &co->base;
}

void qemu_coroutine_delete(Coroutine *co_)
{
    CoroutineCpc *co = cpc_of(co_);
    cpc_cont_free(co->cont); /* not the embedded one */
    cpc_block_free(co, CPC_COROUTINE_BYTES);
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
        cpc_bad_switch(current, to_); /* current is `from`: one register less to keep */
    }
    current = to_;
    cpc_cont *k = to->cont;
    for (;;) {
        if (k->length == 0) {
            break;
        }
        cpc_function *fn = cpc_pop_fn(k);
        if (fn == cpc_backend_yield_function) {
            /* `from` and `to` are read back instead of being kept across
             * the calls: no callee-saved registers to spill. */
            to = cpc_of(current);
            current = to->base.caller;
            to->cont = k;
            to->base.caller = NULL; /* what the untranslated yield body does */
            return COROUTINE_YIELD;
        }
        k = fn(k);
    }
    /* Empty again: a pooled reuse starts afresh. */
    to = cpc_of(current);
    current = to->base.caller;
    if (__builtin_expect(k->size > CPC_KEEP_BYTES, 0)) {
        cpc_cont_free(k);
        k = &to->first;
    }
    cpc_push_start_frame(k);
    to->cont = k;
    return COROUTINE_TERMINATE;
}

Coroutine *qemu_coroutine_current(void)
{
    if (__builtin_expect(current == NULL, 0)) {
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
