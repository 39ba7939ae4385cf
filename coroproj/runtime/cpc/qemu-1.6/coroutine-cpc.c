/*
 * coroutine-cpc.c for QEMU 1.6 (2013): coroproj's cpc backend behind that
 * tree's include/block/coroutine_int.h, the interface its
 * coroutine-ucontext.c implements:
 *
 *     Coroutine *qemu_coroutine_new(void);
 *     void qemu_coroutine_delete(Coroutine *co);
 *     CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to,
 *                                           CoroutineAction action);
 *     Coroutine *qemu_coroutine_self(void);      (block/coroutine.h)
 *     bool qemu_in_coroutine(void);              (block/coroutine.h)
 *
 * The 2013 CPC port of that tree (github kerneis/qemu, branch cpc) moved
 * qemu_coroutine_self into the common layer (qemu-coroutine.c), on top of a
 * backend function qemu_coroutine_self_int(void); this file serves both
 * trees: it defines qemu_coroutine_self_int, and qemu_coroutine_self as a
 * weak symbol that the port's own definition overrides.
 *
 * Select it with `coroproj backend qemu-1.6 TREE` (README, "QEMU 1.6 on the cpc backend"):
 * the tree's coroutine-cpc.c becomes a link to this file, which
 * `coroproj cc --backend cpc` compiles untranslated (it lives in the
 * runtime's directory), and configure's --with-coroutine=cpc builds it.
 *
 * How QEMU 1.6's common layer maps onto continuations (as for the sample
 * project's backend, ../coroutine-cpc.c):
 *
 * - qemu_coroutine_enter(co, opaque) is native: it sets co->caller and
 *   co->entry_arg, then calls qemu_coroutine_switch(self, co, YIELD).  Here
 *   switch runs co's continuation on the enterer's C stack until co yields
 *   or terminates; returning from switch is the switch back, so nesting is
 *   nested trampolines.
 * - The body of qemu_coroutine_yield is never run: the trampoline stops at
 *   its frame.  What that body does for the common layer, clearing
 *   self->caller (the coroutine is idle, enterable again), is done here.
 * - Termination: the continuation runs empty; switch re-arms the start
 *   frame and returns COROUTINE_TERMINATE; the common layer pools or
 *   deletes the coroutine.
 *
 * Layout: one block from the runtime's allocator, the common layer's
 * Coroutine record (64 bytes in QEMU 1.6), the current continuation's
 * pointer, padding to CPC_ALIGN, and a first continuation embedded with
 * room for one frame slot: 112 bytes with CPC_ALIGN 16.
 */
#include "cpc_runtime.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tree's headers declare qemu_coroutine_self / qemu_in_coroutine with
 * their native prototypes; translated callers pass the continuation as a
 * hidden first argument, so they are defined below with it.  Renaming the
 * headers' declarations out of the way avoids the conflicting types. */
#define qemu_coroutine_self cpc_native_prototype_of_qemu_coroutine_self
#define qemu_in_coroutine cpc_native_prototype_of_qemu_in_coroutine
#include "qemu-common.h"
#include "block/coroutine_int.h"
#undef qemu_coroutine_self
#undef qemu_in_coroutine

Coroutine *qemu_coroutine_self(cpc_cont *k);
bool qemu_in_coroutine(cpc_cont *k);
Coroutine *qemu_coroutine_self_int(void);

/* A terminated coroutine keeps a continuation of at most this many bytes
 * for its next life (the pool); a larger one is freed. */
enum { CPC_KEEP_BYTES = 4096 };

typedef struct CoroutineCpc {
    Coroutine base;  /* first: a Coroutine * is a CoroutineCpc * */
    cpc_cont *cont;  /* the current continuation */
    cpc_cont first;  /* embedded; CPC_EMBEDDED_CAPACITY data bytes follow */
} CoroutineCpc;

#define CPC_COROUTINE_BYTES CPC_ROUND(sizeof(CoroutineCpc) + CPC_EMBEDDED_CAPACITY)

_Static_assert(CPC_EMBEDDED_CAPACITY >= CPC_FNSLOT && CPC_EMBEDDED_CAPACITY >= CPC_ROUND(sizeof(void *)),
               "room for the start frame, then for the entry argument");

static void __attribute__((noreturn, cold)) cpc_bad_switch(Coroutine *from, Coroutine *to)
{
    fprintf(stderr, "cpc: switch from coroutine %p to %p, which it did not enter: "
                    "not possible under cpc (a yield must be translated code)\n",
            (void *)from, (void *)to);
    abort();
}

/* Each thread's native code is its leader pseudo-coroutine: the `caller`
 * of coroutines it enters.  It never runs under a trampoline. */
static __thread CoroutineCpc leader;

/* The coroutine whose code (or a native it called) is running, or the
 * thread's leader; NULL before the thread's first question. */
static __thread Coroutine *current;

static CoroutineCpc *cpc_of(Coroutine *co)
{
    return (CoroutineCpc *)co;
}

/* The first frame of a coroutine (pushed again when it terminates, for a
 * pooled reuse): pushes co->entry_arg, which the latest
 * qemu_coroutine_enter set, and tail-calls the entry, a translated void
 * coroutine function of one pointer. */
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

/* Compared by the trampoline: a global, so that x86-64 compares with memory
 * rather than keeping a constant in a callee-saved register. */
cpc_function *cpc_qemu16_yield_function = (cpc_function *)(void (*)(void))qemu_coroutine_yield;

Coroutine *qemu_coroutine_new(void)
{
    CoroutineCpc *co = cpc_block_alloc(CPC_COROUTINE_BYTES);
    memset(&co->base, 0, sizeof(co->base));
    co->first.size = CPC_EMBEDDED_CAPACITY;
    cpc_push_start_frame(&co->first);
    co->cont = &co->first;
    return &co->base;
}

void qemu_coroutine_delete(Coroutine *co_)
{
    CoroutineCpc *co = cpc_of(co_);
    cpc_cont_free(co->cont); /* leaves the embedded one alone */
    cpc_block_free(co, CPC_COROUTINE_BYTES);
}

/* Called by coroutine_swap only, to run `to` (just entered by `from`)
 * until it yields or terminates. */
CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to_, CoroutineAction action)
{
    (void)action; /* QEMU 1.6 enters with COROUTINE_YIELD */
    CoroutineCpc *to = cpc_of(to_);
    if (__builtin_expect(to_->caller != from, 0)) {
        cpc_bad_switch(from, to_);
    }
    current = to_;
    cpc_cont *k = to->cont;
    while (k->length != 0) {
        cpc_function *fn = cpc_pop_fn(k);
        if (fn == cpc_qemu16_yield_function) {
            to = cpc_of(current);
            current = to->base.caller;
            to->cont = k;
            to->base.caller = NULL; /* what the untranslated yield body does */
            return COROUTINE_YIELD;
        }
        k = fn(k);
    }
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

Coroutine *qemu_coroutine_self_int(void)
{
    if (__builtin_expect(current == NULL, 0)) {
        current = &leader.base;
    }
    return current;
}

/* Coroutine code runs only under qemu_coroutine_switch, which has set
 * `current`: the continuation is not needed to know whose it is. */
__attribute__((weak)) Coroutine *qemu_coroutine_self(cpc_cont *k)
{
    (void)k;
    return qemu_coroutine_self_int();
}

bool qemu_in_coroutine(cpc_cont *k)
{
    return k != NULL || (current != NULL && current != &leader.base);
}
