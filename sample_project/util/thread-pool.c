/*
 * thread-pool.c — worker threads for blocking work.
 *
 * Requests wait in a FIFO for one of up to THREAD_POOL_MAX_WORKERS workers
 * (started on demand, kept while the process lives).  A finished request
 * moves to the completion list and an eventfd, watched by an fd handler of
 * the event loop, tells the loop thread, which runs the completion
 * callbacks: so callbacks, and the coroutines they enter, only ever run in
 * the loop thread.
 */
#include "qemu/osdep.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "qemu/thread-pool.h"

#include <pthread.h>
#include <sys/eventfd.h>

enum { THREAD_POOL_MAX_WORKERS = 16 };

typedef struct ThreadPoolRequest {
    ThreadPoolFunc *func;
    void *arg;
    ThreadPoolCompletion *cb;
    void *opaque;
    int ret;
    struct ThreadPoolRequest *next;
} ThreadPoolRequest;

typedef struct {
    ThreadPoolRequest *head, **tail;
} RequestList;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work_available;
    RequestList queued;        /* waiting for a worker */
    RequestList done;          /* waiting for the loop thread */
    unsigned queued_count;
    unsigned workers;
    unsigned idle_workers;
    unsigned pending;          /* submitted, completion not run yet (loop thread) */
    int completion_fd;         /* eventfd, -1 until the first request */
} pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work_available = PTHREAD_COND_INITIALIZER,
    .queued = { NULL, &pool.queued.head },
    .done = { NULL, &pool.done.head },
    .completion_fd = -1,
};

static void list_append(RequestList *list, ThreadPoolRequest *req)
{
    req->next = NULL;
    *list->tail = req;
    list->tail = &req->next;
}

static ThreadPoolRequest *list_take_all(RequestList *list)
{
    ThreadPoolRequest *head = list->head;

    list->head = NULL;
    list->tail = &list->head;
    return head;
}

static void *worker_main(void *opaque)
{
    uint64_t one = 1;

    (void)opaque;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        ThreadPoolRequest *req;

        while (!pool.queued.head) {
            pool.idle_workers++;
            pthread_cond_wait(&pool.work_available, &pool.lock);
            pool.idle_workers--;
        }
        req = pool.queued.head;
        pool.queued_count--;
        pool.queued.head = req->next;
        if (!pool.queued.head) {
            pool.queued.tail = &pool.queued.head;
        }
        pthread_mutex_unlock(&pool.lock);

        req->ret = req->func(req->arg);

        pthread_mutex_lock(&pool.lock);
        list_append(&pool.done, req);
        if (write(pool.completion_fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
            qemu_abort("thread pool: writing the completion eventfd: %s", strerror(errno));
        }
    }
    return NULL;
}

/* fd handler, in the loop thread: run the callbacks of finished requests. */
static void thread_pool_completion(void *opaque)
{
    ThreadPoolRequest *req, *next;
    uint64_t count;

    (void)opaque;
    if (read(pool.completion_fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
        qemu_abort("thread pool: reading the completion eventfd: %s", strerror(errno));
    }
    pthread_mutex_lock(&pool.lock);
    req = list_take_all(&pool.done);
    pthread_mutex_unlock(&pool.lock);
    for (; req; req = next) {
        next = req->next;
        pool.pending--;
        req->cb(req->opaque, req->ret);
        free(req);
    }
}

void thread_pool_submit_aio(ThreadPoolFunc *func, void *arg,
                            ThreadPoolCompletion *cb, void *opaque)
{
    ThreadPoolRequest *req = qemu_malloc(sizeof(*req));

    *req = (ThreadPoolRequest){ .func = func, .arg = arg, .cb = cb, .opaque = opaque };
    if (pool.completion_fd < 0) {
        pool.completion_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (pool.completion_fd < 0) {
            qemu_abort("thread pool: eventfd: %s", strerror(errno));
        }
        qemu_set_fd_handler(pool.completion_fd, thread_pool_completion, NULL, NULL);
    }
    pool.pending++;

    pthread_mutex_lock(&pool.lock);
    list_append(&pool.queued, req);
    pool.queued_count++;
    /* Idle workers may not have woken up for earlier requests yet: only
     * more waiting requests than idle workers needs a new worker. */
    if (pool.queued_count > pool.idle_workers && pool.workers < THREAD_POOL_MAX_WORKERS) {
        pthread_t thread;
        pthread_attr_t attr;
        int err;

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        err = pthread_create(&thread, &attr, worker_main, NULL);
        pthread_attr_destroy(&attr);
        if (err) {
            qemu_abort("thread pool: pthread_create: %s", strerror(err));
        }
        pool.workers++;
    }
    pthread_cond_signal(&pool.work_available);
    pthread_mutex_unlock(&pool.lock);
}

unsigned thread_pool_pending(void)
{
    return pool.pending;
}

typedef struct {
    Coroutine *co;
    int ret;
    bool done;
} ThreadPoolCo;

static void thread_pool_co_done(void *opaque, int ret)
{
    ThreadPoolCo *waiter = opaque;

    waiter->ret = ret;
    waiter->done = true;
    qemu_coroutine_enter(waiter->co, NULL);
}

int coroutine_fn thread_pool_submit_co(ThreadPoolFunc *func, void *arg)
{
    ThreadPoolCo waiter = { .co = qemu_coroutine_self(), .done = false };

    thread_pool_submit_aio(func, arg, thread_pool_co_done, &waiter);
    /* The completion runs in a later main_loop_wait; any earlier enter is
     * spurious. */
    do {
        qemu_coroutine_yield();
    } while (!waiter.done);
    return waiter.ret;
}

typedef struct {
    int ret;
    bool done;
} ThreadPoolSync;

static void thread_pool_sync_done(void *opaque, int ret)
{
    ThreadPoolSync *sync = opaque;

    sync->ret = ret;
    sync->done = true;
}

int blocking_fn thread_pool_submit_sync(ThreadPoolFunc *func, void *arg)
{
    ThreadPoolSync sync = { .done = false };

    assert(!qemu_in_coroutine());
    thread_pool_submit_aio(func, arg, thread_pool_sync_done, &sync);
    AIO_WAIT_WHILE(!sync.done);
    return sync.ret;
}
