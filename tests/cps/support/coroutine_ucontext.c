/*
 * The stack-based reference backend of the differential tests: the public
 * coroutine API (qemu/coroutine.h) on ucontext, one malloc'd stack per
 * coroutine.  Programs compiled natively against this must print exactly
 * what their CPS translation prints.
 */
#include "qemu/coroutine.h"

#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

enum { STACK_BYTES = 1 << 20 };

struct Coroutine {
    ucontext_t context;      /* the coroutine's own */
    ucontext_t return_to;    /* where a yield or the end goes back */
    CoroutineEntry *entry;
    void *opaque;
    void *stack;
    bool running;
    bool done;
};

static Coroutine *current;
static Coroutine *starting;

void qemu_coroutine_pool_set_enabled(bool on)
{
    (void)on;
}

static void coroutine_start(void)
{
    Coroutine *co = starting;
    co->entry(co->opaque);
    co->done = true;
    /* uc_link returns to return_to */
}

Coroutine *qemu_coroutine_create(CoroutineEntry *entry)
{
    Coroutine *co = calloc(1, sizeof *co);
    if (!co || !(co->stack = malloc(STACK_BYTES))) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    co->entry = entry;
    getcontext(&co->context);
    co->context.uc_stack.ss_sp = co->stack;
    co->context.uc_stack.ss_size = STACK_BYTES;
    co->context.uc_link = &co->return_to;
    makecontext(&co->context, coroutine_start, 0);
    return co;
}

void qemu_coroutine_enter(Coroutine *co, void *opaque)
{
    Coroutine *caller = current;

    if (co->running) {
        fprintf(stderr, "coroutine entered while running\n");
        abort();
    }
    if (!co->opaque) {
        co->opaque = opaque;
    }
    starting = co;
    co->running = true;
    current = co;
    swapcontext(&co->return_to, &co->context);
    current = caller;
    co->running = false;
    if (co->done) {
        free(co->stack);
        free(co);
    }
}

void qemu_coroutine_yield(void)
{
    Coroutine *self = current;
    if (!self) {
        fprintf(stderr, "yield outside a coroutine\n");
        abort();
    }
    swapcontext(&self->context, &self->return_to);
}

bool qemu_in_coroutine(void)
{
    return current != NULL;
}

Coroutine *qemu_coroutine_self(void)
{
    return current;
}
