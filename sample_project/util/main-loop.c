/*
 * main-loop.c — the event loop: bottom halves, timers and fd handlers.
 *
 * One loop per process, driven by whichever thread calls main_loop_wait
 * (the loop thread).  Handlers may install or remove handlers, timers and
 * bottom halves, and may run nested main_loop_wait calls (a _sync wrapper
 * polling until its coroutine is done): removed entries are only marked
 * while any walk is in progress and are freed by the outermost one.
 *
 * qemu_bh_schedule is the only entry point for other threads: the flag is
 * set atomically and an eventfd wakes the loop from poll.
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>

struct QEMUBH {
    QEMUBHFunc *cb;
    void *opaque;
    QEMUBH *next;
    bool scheduled;           /* accessed atomically */
    bool deleted;
};

struct QEMUTimer {
    QEMUTimerCB *cb;
    void *opaque;
    int64_t expire_ns;
    bool pending;             /* in the active list */
    QEMUTimer *next;
};

typedef struct FdHandler {
    int fd;
    IOHandler *read;
    IOHandler *write;
    void *opaque;
    bool deleted;
    struct FdHandler *next;
} FdHandler;

static QEMUBH *bhs;
static QEMUTimer *timers;            /* pending ones, sorted by expiry */
static FdHandler *fd_handlers;
static unsigned walking;             /* nesting depth of main_loop_wait */
static bool bh_sweep_needed, fd_sweep_needed;

static pthread_once_t notifier_once = PTHREAD_ONCE_INIT;
static int notifier_fd = -1;         /* eventfd: a bottom half was scheduled */

static void notifier_init(void)
{
    notifier_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (notifier_fd < 0) {
        qemu_abort("eventfd: %s", strerror(errno));
    }
}

int64_t qemu_clock_get_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * NANOSECONDS_PER_SECOND + ts.tv_nsec;
}

/* --- bottom halves ----------------------------------------------------------- */

QEMUBH *qemu_bh_new(QEMUBHFunc *cb, void *opaque)
{
    QEMUBH *bh = qemu_mallocz(sizeof(*bh));

    bh->cb = cb;
    bh->opaque = opaque;
    bh->next = bhs;
    bhs = bh;
    return bh;
}

void qemu_bh_schedule(QEMUBH *bh)
{
    uint64_t one = 1;

    if (__atomic_exchange_n(&bh->scheduled, true, __ATOMIC_SEQ_CST)) {
        return;
    }
    pthread_once(&notifier_once, notifier_init);
    /* Wake a poll that may be sleeping in another thread.  A full counter
     * (EAGAIN) means a wake-up is pending anyway. */
    if (write(notifier_fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
        qemu_abort("writing the loop notifier: %s", strerror(errno));
    }
}

void qemu_bh_cancel(QEMUBH *bh)
{
    __atomic_store_n(&bh->scheduled, false, __ATOMIC_SEQ_CST);
}

void qemu_bh_delete(QEMUBH *bh)
{
    QEMUBH **link;

    qemu_bh_cancel(bh);
    if (walking) {
        bh->deleted = true;
        bh_sweep_needed = true;
        return;
    }
    for (link = &bhs; *link; link = &(*link)->next) {
        if (*link == bh) {
            *link = bh->next;
            break;
        }
    }
    free(bh);
}

static bool run_bottom_halves(void)
{
    bool progress = false;
    QEMUBH *bh;

    for (bh = bhs; bh; bh = bh->next) {
        if (!bh->deleted && __atomic_exchange_n(&bh->scheduled, false, __ATOMIC_SEQ_CST)) {
            progress = true;
            bh->cb(bh->opaque);
        }
    }
    return progress;
}

static void sweep_bottom_halves(void)
{
    QEMUBH **link = &bhs;

    while (*link) {
        QEMUBH *bh = *link;
        if (bh->deleted) {
            *link = bh->next;
            free(bh);
        } else {
            link = &bh->next;
        }
    }
    bh_sweep_needed = false;
}

/* --- timers ------------------------------------------------------------------ */

QEMUTimer *timer_new_ns(QEMUTimerCB *cb, void *opaque)
{
    QEMUTimer *timer = qemu_mallocz(sizeof(*timer));

    timer->cb = cb;
    timer->opaque = opaque;
    return timer;
}

void timer_del(QEMUTimer *timer)
{
    QEMUTimer **link;

    if (!timer->pending) {
        return;
    }
    for (link = &timers; *link; link = &(*link)->next) {
        if (*link == timer) {
            *link = timer->next;
            break;
        }
    }
    timer->pending = false;
}

void timer_mod(QEMUTimer *timer, int64_t expire_ns)
{
    QEMUTimer **link = &timers;

    timer_del(timer);
    /* After the timers expiring at the same time: equal deadlines fire in
     * the order they were set. */
    while (*link && (*link)->expire_ns <= expire_ns) {
        link = &(*link)->next;
    }
    timer->expire_ns = expire_ns;
    timer->next = *link;
    *link = timer;
    timer->pending = true;
}

void timer_free(QEMUTimer *timer)
{
    timer_del(timer);
    free(timer);
}

bool timer_pending(QEMUTimer *timer)
{
    return timer->pending;
}

static bool run_timers(void)
{
    bool progress = false;
    int64_t now = qemu_clock_get_ns();
    QEMUTimer *timer;

    /* Unlink before the callback: it may re-arm or free its timer. */
    while ((timer = timers) != NULL && timer->expire_ns <= now) {
        timers = timer->next;
        timer->pending = false;
        progress = true;
        timer->cb(timer->opaque);
    }
    return progress;
}

/* --- fd handlers ------------------------------------------------------------- */

static void sweep_fd_handlers(void)
{
    FdHandler **link = &fd_handlers;

    while (*link) {
        FdHandler *handler = *link;
        if (handler->deleted) {
            *link = handler->next;
            free(handler);
        } else {
            link = &handler->next;
        }
    }
    fd_sweep_needed = false;
}

void qemu_set_fd_handler(int fd, IOHandler *read, IOHandler *write, void *opaque)
{
    FdHandler *handler;

    for (handler = fd_handlers; handler; handler = handler->next) {
        if (handler->fd == fd && !handler->deleted) {
            break;
        }
    }
    if (!read && !write) {
        if (handler) {
            handler->deleted = true;
            fd_sweep_needed = true;
            if (!walking) {
                sweep_fd_handlers();
            }
        }
        return;
    }
    if (!handler) {
        handler = qemu_mallocz(sizeof(*handler));
        handler->fd = fd;
        handler->next = fd_handlers;
        fd_handlers = handler;
    }
    handler->read = read;
    handler->write = write;
    handler->opaque = opaque;
}

/* --- the loop ---------------------------------------------------------------- */

/* How long poll may sleep: not at all, until the next timer, or forever
 * (NULL). */
static struct timespec *poll_timeout(bool blocking, struct timespec *ts)
{
    int64_t wait_ns;

    if (!blocking) {
        wait_ns = 0;
    } else if (timers) {
        /* One clock read: MAX() evaluates its arguments twice, and a second,
         * later read could turn a wait it had judged positive negative, which
         * ppoll() rejects with EINVAL. */
        wait_ns = timers->expire_ns - qemu_clock_get_ns();
        if (wait_ns < 0) {
            wait_ns = 0;
        }
    } else {
        return NULL;
    }
    ts->tv_sec = wait_ns / NANOSECONDS_PER_SECOND;
    ts->tv_nsec = wait_ns % NANOSECONDS_PER_SECOND;
    return ts;
}

static bool poll_fds(bool blocking)
{
    struct pollfd *fds;
    FdHandler **handlers;
    struct timespec ts;
    size_t count = 1, i;
    FdHandler *handler;
    bool progress = false;
    int ret;

    for (handler = fd_handlers; handler; handler = handler->next) {
        count++;
    }
    fds = qemu_malloc(count * sizeof(*fds));
    handlers = qemu_malloc(count * sizeof(*handlers));
    fds[0] = (struct pollfd){ .fd = notifier_fd, .events = POLLIN };
    handlers[0] = NULL;
    count = 1;
    for (handler = fd_handlers; handler; handler = handler->next) {
        if (handler->deleted) {
            continue;
        }
        fds[count].fd = handler->fd;
        fds[count].events = (handler->read ? POLLIN : 0) | (handler->write ? POLLOUT : 0);
        fds[count].revents = 0;
        handlers[count++] = handler;
    }

    ret = ppoll(fds, count, poll_timeout(blocking, &ts), NULL);
    if (ret < 0 && errno != EINTR) {
        qemu_abort("ppoll: %s", strerror(errno));
    }
    if (ret > 0) {
        uint64_t value;
        if (fds[0].revents & POLLIN) {
            /* The bottom halves themselves run in the next pass. */
            if (read(notifier_fd, &value, sizeof(value)) < 0 && errno != EAGAIN) {
                qemu_abort("reading the loop notifier: %s", strerror(errno));
            }
        }
        for (i = 1; i < count; i++) {
            short revents = fds[i].revents;
            handler = handlers[i];
            /* An earlier handler of this round may have removed this one. */
            if (handler->deleted) {
                continue;
            }
            if (handler->read && (revents & (POLLIN | POLLHUP | POLLERR))) {
                progress = true;
                handler->read(handler->opaque);
            }
            if (!handler->deleted && handler->write && (revents & (POLLOUT | POLLHUP | POLLERR))) {
                progress = true;
                handler->write(handler->opaque);
            }
        }
    }
    free(fds);
    free(handlers);
    return progress;
}

bool main_loop_wait(bool blocking)
{
    bool progress;

    pthread_once(&notifier_once, notifier_init);
    walking++;
    progress = run_bottom_halves();
    progress |= run_timers();
    progress |= poll_fds(blocking && !progress);
    progress |= run_bottom_halves();
    progress |= run_timers();
    walking--;
    if (!walking) {
        if (bh_sweep_needed) {
            sweep_bottom_halves();
        }
        if (fd_sweep_needed) {
            sweep_fd_handlers();
        }
    }
    return progress;
}
