/*
 * coroutine-ucontext.c — the ucontext backend.
 *
 * makecontext/swapcontext start a coroutine on its own stack once; every
 * later switch is a sigsetjmp/siglongjmp pair without signal mask (two
 * register saves, no system call), which is what makes this backend fast.
 */
#include "qemu/osdep.h"
#include "qemu/coroutine_int.h"
#include "qemu/coroutine-stack.h"

#include <setjmp.h>
#include <ucontext.h>

typedef struct {
    Coroutine base;
    void *stack;
    size_t stack_size;
    sigjmp_buf env;
} CoroutineUContext;

/* The running coroutine, and the pseudo-coroutine standing for the thread's
 * native code. */
static __thread CoroutineUContext leader;
static __thread Coroutine *current;

/* makecontext passes int arguments only: the coroutine pointer is split in
 * two halves. */
union pointer_halves {
    void *pointer;
    int halves[2];
};

/* Where native code hands a fresh stack over to coroutine code: started by
 * the backend (never called as a function by coroutines), it runs the
 * coroutine's entry, so it is both native and coroutine code. */
static void coroutine_mixed_fn coroutine_trampoline(int half0, int half1)
{
    union pointer_halves arg = { .halves = { half0, half1 } };
    CoroutineUContext *self = arg.pointer;
    Coroutine *co = &self->base;

    /* Set up: go back to qemu_coroutine_new, which passed its jump buffer in
     * entry_arg.  The first enter resumes here. */
    if (!sigsetjmp(self->env, 0)) {
        siglongjmp(*(sigjmp_buf *)co->entry_arg, 1);
    }
    for (;;) {
        co->entry(co->entry_arg);
        qemu_coroutine_switch(co, co->caller, COROUTINE_TERMINATE);
    }
}

Coroutine *qemu_coroutine_new(void)
{
    CoroutineUContext *co = qemu_mallocz(sizeof(*co));
    ucontext_t old_context, context;
    sigjmp_buf old_env;
    union pointer_halves arg = { .pointer = co };

    co->stack_size = COROUTINE_STACK_SIZE;
    co->stack = qemu_alloc_stack(&co->stack_size);
    co->base.entry_arg = &old_env;

    if (getcontext(&context) != 0) {
        qemu_abort("getcontext: %s", strerror(errno));
    }
    context.uc_link = &old_context;
    context.uc_stack.ss_sp = co->stack;
    context.uc_stack.ss_size = co->stack_size;
    context.uc_stack.ss_flags = 0;
    makecontext(&context, (void (*)(void))coroutine_trampoline, 2,
                arg.halves[0], arg.halves[1]);

    /* Run the trampoline up to its first sigsetjmp; it jumps back here. */
    if (!sigsetjmp(old_env, 0)) {
        swapcontext(&old_context, &context);
    }
    return &co->base;
}

void qemu_coroutine_delete(Coroutine *co_)
{
    CoroutineUContext *co = container_of(co_, CoroutineUContext, base);

    qemu_free_stack(co->stack, co->stack_size);
    free(co);
}

CoroutineAction qemu_coroutine_switch(Coroutine *from_, Coroutine *to_,
                                      CoroutineAction action)
{
    CoroutineUContext *from = container_of(from_, CoroutineUContext, base);
    CoroutineUContext *to = container_of(to_, CoroutineUContext, base);
    int ret;

    current = to_;
    ret = sigsetjmp(from->env, 0);
    if (ret == 0) {
        siglongjmp(to->env, action);
    }
    return ret;
}

Coroutine *qemu_coroutine_current(void)
{
    if (!current) {
        current = &leader.base;
    }
    return current;
}

Coroutine *coroutine_fn qemu_coroutine_self(void)
{
    return qemu_coroutine_current();
}

bool qemu_in_coroutine(void)
{
    return current && current != &leader.base;
}
