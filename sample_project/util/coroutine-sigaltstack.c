/*
 * coroutine-sigaltstack.c — the sigaltstack backend, for systems without a
 * usable makecontext.
 *
 * To start a coroutine on a fresh stack portably, make that stack the
 * thread's alternate signal stack and deliver a signal to ourselves: the
 * handler runs on the new stack, saves its context with sigsetjmp and
 * returns.  Jumping back to that saved context later continues in a frame
 * that lives on the coroutine's stack, outside any signal handler (it has
 * returned), where the coroutine's trampoline runs.  Afterwards switches are
 * sigsetjmp/siglongjmp pairs, as in the ucontext backend; creation costs a
 * few system calls (that is what the benchmarks show).
 */
#include "qemu/osdep.h"
#include "qemu/coroutine_int.h"
#include "qemu/coroutine-stack.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>

#define BOOTSTRAP_SIGNAL SIGUSR2

typedef struct {
    Coroutine base;
    void *stack;
    size_t stack_size;
    sigjmp_buf env;
} CoroutineSigAltStack;

static __thread CoroutineSigAltStack leader;
static __thread Coroutine *current;

/* Hand-over between qemu_coroutine_new and the signal handler (one thread
 * creates one coroutine at a time). */
static __thread struct {
    sigjmp_buf handler_env;     /* the handler's frame on the new stack */
    sigjmp_buf creator_env;     /* back to qemu_coroutine_new */
    volatile sig_atomic_t handler_ran;
    CoroutineSigAltStack *starting;
} bootstrap;

/* Where native code hands a fresh stack over to coroutine code: started by
 * the backend (never called as a function by coroutines), it runs the
 * coroutine's entry, so it is both native and coroutine code. */
static void QEMU_NORETURN coroutine_mixed_fn coroutine_trampoline(CoroutineSigAltStack *self)
{
    Coroutine *co = &self->base;

    /* Set up: back to qemu_coroutine_new; the first enter resumes here. */
    if (!sigsetjmp(self->env, 0)) {
        siglongjmp(bootstrap.creator_env, 1);
    }
    for (;;) {
        co->entry(co->entry_arg);
        qemu_coroutine_switch(co, co->caller, COROUTINE_TERMINATE);
    }
}

static void bootstrap_handler(int signal)
{
    (void)signal;
    if (!sigsetjmp(bootstrap.handler_env, 0)) {
        bootstrap.handler_ran = 1;
        return;
    }
    /* Reached by siglongjmp from qemu_coroutine_new, after the handler
     * returned: this frame now is the bottom of the coroutine's stack. */
    coroutine_trampoline(bootstrap.starting);
}

Coroutine *qemu_coroutine_new(void)
{
    CoroutineSigAltStack *co = qemu_mallocz(sizeof(*co));
    struct sigaction action, old_action;
    stack_t stack, old_stack;
    sigset_t block, old_mask, wait_mask;

    co->stack_size = COROUTINE_STACK_SIZE;
    co->stack = qemu_alloc_stack(&co->stack_size);

    /* Keep the signal blocked until the alternate stack and handler are
     * ours, so no earlier delivery can run elsewhere. */
    sigemptyset(&block);
    sigaddset(&block, BOOTSTRAP_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &block, &old_mask);

    memset(&action, 0, sizeof(action));
    action.sa_handler = bootstrap_handler;
    action.sa_flags = SA_ONSTACK;
    sigfillset(&action.sa_mask);
    if (sigaction(BOOTSTRAP_SIGNAL, &action, &old_action) != 0) {
        qemu_abort("sigaction: %s", strerror(errno));
    }
    stack.ss_sp = co->stack;
    stack.ss_size = co->stack_size;
    stack.ss_flags = 0;
    if (sigaltstack(&stack, &old_stack) != 0) {
        qemu_abort("sigaltstack: %s", strerror(errno));
    }

    /* Deliver the signal to this thread and wait for the handler. */
    bootstrap.handler_ran = 0;
    pthread_kill(pthread_self(), BOOTSTRAP_SIGNAL);
    wait_mask = old_mask;
    sigdelset(&wait_mask, BOOTSTRAP_SIGNAL);
    while (!bootstrap.handler_ran) {
        sigsuspend(&wait_mask);
    }

    /* Put back the previous alternate stack, handler and mask. */
    stack.ss_flags = SS_DISABLE;
    sigaltstack(&stack, NULL);
    if (!(old_stack.ss_flags & SS_DISABLE)) {
        sigaltstack(&old_stack, NULL);
    }
    sigaction(BOOTSTRAP_SIGNAL, &old_action, NULL);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);

    /* Enter the handler's saved frame: it calls the trampoline, which
     * records the coroutine's context and jumps back here. */
    bootstrap.starting = co;
    if (!sigsetjmp(bootstrap.creator_env, 0)) {
        siglongjmp(bootstrap.handler_env, 1);
    }
    return &co->base;
}

void qemu_coroutine_delete(Coroutine *co_)
{
    CoroutineSigAltStack *co = container_of(co_, CoroutineSigAltStack, base);

    qemu_free_stack(co->stack, co->stack_size);
    free(co);
}

CoroutineAction qemu_coroutine_switch(Coroutine *from_, Coroutine *to_,
                                      CoroutineAction action)
{
    CoroutineSigAltStack *from = container_of(from_, CoroutineSigAltStack, base);
    CoroutineSigAltStack *to = container_of(to_, CoroutineSigAltStack, base);
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
