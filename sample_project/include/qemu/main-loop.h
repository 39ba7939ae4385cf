/*
 * main-loop.h — the single-threaded event loop: file descriptor handlers
 * (poll), timers on CLOCK_MONOTONIC and bottom halves.
 *
 * Everything here belongs to the thread that runs the loop (the "main
 * thread", i.e. the first thread that uses it); only qemu_bh_schedule may be
 * called from other threads (the thread pool does).
 */
#ifndef QEMU_MAIN_LOOP_H
#define QEMU_MAIN_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "qemu/compiler.h"

typedef void IOHandler(void *opaque);

/* Install (or, with both handlers NULL, remove) the handlers of fd. */
void qemu_set_fd_handler(int fd, IOHandler *read, IOHandler *write, void *opaque);

/* One iteration: run scheduled bottom halves, expired timers and the
 * handlers of ready fds.  With blocking, sleep in poll until something
 * happens (or the next timer expires) when nothing is ready.  Returns
 * whether any callback ran. */
bool main_loop_wait(bool blocking);

/* Native code waiting for something the loop brings about (for instance a
 * coroutine it entered finishing its work). */
#define AIO_WAIT_WHILE(cond) while (cond) { main_loop_wait(true); }

typedef struct QEMUBH QEMUBH;
typedef void QEMUBHFunc(void *opaque);

QEMUBH *qemu_bh_new(QEMUBHFunc *cb, void *opaque);
/* Run cb once at the next loop iteration (idempotent until it runs).
 * Thread-safe: wakes the loop if it sleeps in poll. */
void qemu_bh_schedule(QEMUBH *bh);
void qemu_bh_cancel(QEMUBH *bh);
void qemu_bh_delete(QEMUBH *bh);

typedef struct QEMUTimer QEMUTimer;
typedef void QEMUTimerCB(void *opaque);

QEMUTimer *timer_new_ns(QEMUTimerCB *cb, void *opaque);
/* (Re)arm t to fire once at expire_ns on qemu_clock_get_ns()'s clock. */
void timer_mod(QEMUTimer *t, int64_t expire_ns);
void timer_del(QEMUTimer *t);
void timer_free(QEMUTimer *t);
bool timer_pending(QEMUTimer *t);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t qemu_clock_get_ns(void);

#endif
