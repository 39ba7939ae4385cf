/*
 * thread-pool.h — run blocking work (system calls) on worker threads so the
 * event loop and its coroutines never block.
 */
#ifndef QEMU_THREAD_POOL_H
#define QEMU_THREAD_POOL_H

#include "qemu/compiler.h"

/* Runs on a worker thread; its result is handed back to the loop thread. */
typedef int ThreadPoolFunc(void *opaque);

/* Run func(arg) on a worker; the calling coroutine yields until it is done
 * and gets func's result. */
int coroutine_fn thread_pool_submit_co(ThreadPoolFunc *func, void *arg);

/* Called in the loop thread with func's result. */
typedef void ThreadPoolCompletion(void *opaque, int ret);

/* Run func(arg) on a worker; cb(opaque, result) runs from main_loop_wait. */
void thread_pool_submit_aio(ThreadPoolFunc *func, void *arg,
                            ThreadPoolCompletion *cb, void *opaque);

/* For native code only: run func(arg) on a worker and run the event loop
 * until it is done; returns func's result.  Its coroutine twin is
 * thread_pool_submit_co (a coroutine must never block the loop). */
int blocking_fn thread_pool_submit_sync(ThreadPoolFunc *func, void *arg);

/* Number of submitted requests whose completion has not run yet. */
unsigned thread_pool_pending(void);

#endif
