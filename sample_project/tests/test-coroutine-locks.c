/*
 * test-coroutine-locks — CoQueue, CoMutex and CoRwlock: mutual exclusion,
 * FIFO fairness, hand-over without barging, condition-variable waits.
 *
 * Workers are scheduled deterministically: a worker that wants to let the
 * others run waits on the `ready` queue, and the driver enters the queue's
 * head until it is empty.  A worker blocked on a lock is not on that queue:
 * only the lock's unlock can wake it.
 */
#include "test-util.h"
#include "qemu/coroutine.h"

static CoQueue ready;

/* Let every other ready worker run once. */
static void coroutine_fn reschedule(void)
{
    qemu_co_queue_wait(&ready, NULL);
}

static void run_until_idle(void)
{
    while (qemu_co_enter_next(&ready)) {
        /* each enter runs one worker until it waits again or ends */
    }
}

/* --- CoQueue ------------------------------------------------------------------- */

typedef struct {
    CoQueue queue;
    Trace trace;
} QueueTest;

typedef struct {
    QueueTest *test;
    const char *name;
} Waiter;

static void coroutine_fn queue_waiter(void *opaque)
{
    Waiter *waiter = opaque;

    qemu_co_queue_wait(&waiter->test->queue, NULL);
    trace_add(&waiter->test->trace, waiter->name);
}

static void coroutine_fn restart_all_entry(void *opaque)
{
    QueueTest *test = opaque;

    qemu_co_queue_restart_all(&test->queue);
    trace_add(&test->trace, "restarter");
    /* the woken ones run after this coroutine ends */
}

typedef struct {
    CoQueue queue;
    bool woke;
} NextOnEmpty;

static void coroutine_fn next_on_empty_entry(void *opaque)
{
    NextOnEmpty *state = opaque;

    state->woke = qemu_co_queue_next(&state->queue);
}

static void test_queue_fifo(void)
{
    QueueTest test = { 0 };
    Waiter waiters[] = { { &test, "a" }, { &test, "b" }, { &test, "c" } };

    qemu_co_queue_init(&test.queue);
    CHECK(qemu_co_queue_empty(&test.queue));
    for (size_t i = 0; i < ARRAY_SIZE(waiters); i++) {
        qemu_coroutine_enter(qemu_coroutine_create(queue_waiter), &waiters[i]);
    }
    CHECK(!qemu_co_queue_empty(&test.queue));
    /* Native wake-ups run the waiter right away, first come first served. */
    CHECK(qemu_co_enter_next(&test.queue));
    CHECK_STR(test.trace.text, "a");
    CHECK(qemu_co_enter_next(&test.queue));
    CHECK(qemu_co_enter_next(&test.queue));
    CHECK(!qemu_co_enter_next(&test.queue));
    CHECK_STR(test.trace.text, "a b c");
}

static void test_queue_restart_all(void)
{
    QueueTest test = { 0 };
    Waiter waiters[] = { { &test, "a" }, { &test, "b" }, { &test, "c" } };

    qemu_co_queue_init(&test.queue);
    for (size_t i = 0; i < ARRAY_SIZE(waiters); i++) {
        qemu_coroutine_enter(qemu_coroutine_create(queue_waiter), &waiters[i]);
    }
    qemu_coroutine_enter(qemu_coroutine_create(restart_all_entry), &test);
    CHECK_STR(test.trace.text, "restarter a b c");
    CHECK(qemu_co_queue_empty(&test.queue));
}

static void test_queue_next_on_empty(void)
{
    NextOnEmpty state = { .woke = true };

    qemu_co_queue_init(&state.queue);
    qemu_coroutine_enter(qemu_coroutine_create(next_on_empty_entry), &state);
    CHECK(!state.woke);
    CHECK(!qemu_co_enter_next(&state.queue));
    CHECK(qemu_co_queue_empty(&state.queue));
}

/* --- CoMutex ------------------------------------------------------------------- */

enum { MUTEX_WORKERS = 8, MUTEX_ROUNDS = 50 };

typedef struct {
    CoMutex mutex;
    int inside;               /* workers inside the critical section */
    long counter;
    int finished;
} MutexTest;

static void coroutine_fn mutex_worker(void *opaque)
{
    MutexTest *test = opaque;

    for (int round = 0; round < MUTEX_ROUNDS; round++) {
        qemu_co_mutex_lock(&test->mutex);
        CHECK_EQ(test->inside, 0);
        test->inside++;
        long seen = test->counter;
        reschedule();          /* everybody else gets a chance to barge in */
        test->counter = seen + 1;
        test->inside--;
        qemu_co_mutex_unlock(&test->mutex);
        reschedule();
    }
    test->finished++;
}

static void test_mutex_exclusion(void)
{
    MutexTest test = { 0 };

    qemu_co_mutex_init(&test.mutex);
    for (int i = 0; i < MUTEX_WORKERS; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(mutex_worker), &test);
    }
    run_until_idle();
    CHECK_EQ(test.finished, MUTEX_WORKERS);
    CHECK_EQ(test.counter, MUTEX_WORKERS * MUTEX_ROUNDS);
    CHECK(!test.mutex.locked);
}

typedef struct {
    CoMutex *mutex;
    Trace *trace;
    const char *name;
    bool hold;                /* keep the lock until told to release it */
    bool release;
} Locker;

static void coroutine_fn locker_entry(void *opaque)
{
    Locker *locker = opaque;

    qemu_co_mutex_lock(locker->mutex);
    trace_add(locker->trace, locker->name);
    while (locker->hold && !locker->release) {
        reschedule();
    }
    qemu_co_mutex_unlock(locker->mutex);
}

static void coroutine_fn relocker_entry(void *opaque)
{
    Locker *locker = opaque;

    qemu_co_mutex_lock(locker->mutex);
    trace_add(locker->trace, locker->name);
    while (!locker->release) {
        reschedule();
    }
    qemu_co_mutex_unlock(locker->mutex);
    qemu_co_mutex_lock(locker->mutex);
    trace_add(locker->trace, "first-again");
    qemu_co_mutex_unlock(locker->mutex);
}

/* Waiters get the lock in arrival order, and one arriving while the lock is
 * being handed over queues behind them (hand-over, no barging). */
static void test_mutex_fifo(void)
{
    CoMutex mutex;
    Trace trace = { { 0 } };
    Locker first = { &mutex, &trace, "first", true, false };
    Locker waiters[] = {
        { &mutex, &trace, "w1", false, false },
        { &mutex, &trace, "w2", false, false },
        { &mutex, &trace, "w3", false, false },
    };

    qemu_co_mutex_init(&mutex);
    qemu_coroutine_enter(qemu_coroutine_create(locker_entry), &first);
    for (size_t i = 0; i < ARRAY_SIZE(waiters); i++) {
        qemu_coroutine_enter(qemu_coroutine_create(locker_entry), &waiters[i]);
    }
    first.release = true;
    run_until_idle();           /* first unlocks; w1 is now the holder ... */
    CHECK_STR(trace.text, "first w1 w2 w3");
    CHECK(!mutex.locked);

    /* No barging: the lock goes to the waiting w1 inside first's unlock, so
     * first locking again right away queues behind w1 (a plain unlock would
     * let first take it back before w1 ever ran). */
    memset(&trace, 0, sizeof(trace));
    first.release = false;
    qemu_coroutine_enter(qemu_coroutine_create(relocker_entry), &first);
    qemu_coroutine_enter(qemu_coroutine_create(locker_entry), &waiters[0]);
    first.release = true;
    run_until_idle();
    CHECK_STR(trace.text, "first w1 first-again");
    CHECK(!mutex.locked);
}

/* qemu_co_queue_wait with a mutex: released while waiting, held again after. */
typedef struct {
    CoMutex mutex;
    CoQueue cond;
    bool flag;
    bool waiter_saw_flag;
    bool waiter_holds_after_wait;
} CondTest;

static void coroutine_fn cond_waiter(void *opaque)
{
    CondTest *test = opaque;

    qemu_co_mutex_lock(&test->mutex);
    while (!test->flag) {
        qemu_co_queue_wait(&test->cond, &test->mutex);
    }
    test->waiter_saw_flag = true;
    test->waiter_holds_after_wait = test->mutex.holder == qemu_coroutine_self();
    qemu_co_mutex_unlock(&test->mutex);
}

static void coroutine_fn cond_signaller(void *opaque)
{
    CondTest *test = opaque;

    qemu_co_mutex_lock(&test->mutex);   /* would hang if the waiter kept it */
    test->flag = true;
    qemu_co_queue_next(&test->cond);
    qemu_co_mutex_unlock(&test->mutex);
}

static void test_queue_wait_with_mutex(void)
{
    CondTest test = { 0 };

    qemu_co_mutex_init(&test.mutex);
    qemu_co_queue_init(&test.cond);
    qemu_coroutine_enter(qemu_coroutine_create(cond_waiter), &test);
    CHECK(!test.mutex.locked);
    qemu_coroutine_enter(qemu_coroutine_create(cond_signaller), &test);
    CHECK(test.waiter_saw_flag);
    CHECK(test.waiter_holds_after_wait);
    CHECK(!test.mutex.locked);
}

/* --- CoRwlock ------------------------------------------------------------------ */

typedef struct {
    CoRwlock lock;
    int readers_inside;
    int writers_inside;
    int max_readers_inside;
    Trace trace;
} RwTest;

typedef struct {
    RwTest *test;
    const char *name;
    bool write;
    bool hold;
    bool release;
} RwUser;

static void coroutine_fn rw_user(void *opaque)
{
    RwUser *user = opaque;
    RwTest *test = user->test;

    if (user->write) {
        qemu_co_rwlock_wrlock(&test->lock);
        CHECK_EQ(test->readers_inside, 0);
        CHECK_EQ(test->writers_inside, 0);
        test->writers_inside++;
    } else {
        qemu_co_rwlock_rdlock(&test->lock);
        CHECK_EQ(test->writers_inside, 0);
        test->readers_inside++;
        test->max_readers_inside = MAX(test->max_readers_inside, test->readers_inside);
    }
    trace_add(&test->trace, user->name);
    do {
        reschedule();
    } while (user->hold && !user->release);
    if (user->write) {
        test->writers_inside--;
    } else {
        test->readers_inside--;
    }
    qemu_co_rwlock_unlock(&test->lock);
}

static void rw_start(RwUser *user)
{
    qemu_coroutine_enter(qemu_coroutine_create(rw_user), user);
}

static void test_rwlock_shared_and_exclusive(void)
{
    RwTest test = { 0 };
    RwUser users[] = {
        { &test, "r1", false, false, false }, { &test, "r2", false, false, false },
        { &test, "w1", true, false, false }, { &test, "r3", false, false, false },
        { &test, "w2", true, false, false },
    };

    qemu_co_rwlock_init(&test.lock);
    for (size_t i = 0; i < ARRAY_SIZE(users); i++) {
        rw_start(&users[i]);
    }
    run_until_idle();
    /* r1 and r2 share; w1 waits for both; r3 arrived after w1 and waits for
     * it; w2 comes last. */
    CHECK_STR(test.trace.text, "r1 r2 w1 r3 w2");
    CHECK_EQ(test.max_readers_inside, 2);
    CHECK_EQ(test.readers_inside + test.writers_inside, 0);
}

/* A steady stream of readers cannot starve a writer. */
static void test_rwlock_writer_not_starved(void)
{
    RwTest test = { 0 };
    RwUser holder = { &test, "r0", false, true, false };
    RwUser writer = { &test, "w", true, false, false };
    RwUser late[] = {
        { &test, "r1", false, false, false }, { &test, "r2", false, false, false },
    };

    qemu_co_rwlock_init(&test.lock);
    rw_start(&holder);
    rw_start(&writer);
    for (size_t i = 0; i < ARRAY_SIZE(late); i++) {
        rw_start(&late[i]);         /* queued behind the writer */
    }
    CHECK_STR(test.trace.text, "r0");
    holder.release = true;
    run_until_idle();
    CHECK_STR(test.trace.text, "r0 w r1 r2");
    /* r1 and r2 were admitted together after the writer. */
    CHECK_EQ(test.max_readers_inside, 2);
}

/* Random mixes of readers and writers, yielding inside the critical
 * sections: the invariants hold throughout and everybody finishes. */
enum { RANDOM_WORKERS = 32, RANDOM_ROUNDS = 100 };

typedef struct {
    CoRwlock lock;
    int readers_inside;
    int writers_inside;
    long writes;
    int finished;
    unsigned seed;
} RandomRwTest;

static unsigned next_random(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 16;
}

static void coroutine_fn random_rw_worker(void *opaque)
{
    RandomRwTest *test = opaque;

    for (int round = 0; round < RANDOM_ROUNDS; round++) {
        bool write = next_random(&test->seed) % 4 == 0;
        unsigned pauses = next_random(&test->seed) % 3;

        if (write) {
            qemu_co_rwlock_wrlock(&test->lock);
            CHECK_EQ(test->readers_inside + test->writers_inside, 0);
            test->writers_inside++;
        } else {
            qemu_co_rwlock_rdlock(&test->lock);
            CHECK_EQ(test->writers_inside, 0);
            test->readers_inside++;
        }
        for (unsigned i = 0; i < pauses; i++) {
            reschedule();
            CHECK_EQ(test->writers_inside, write ? 1 : 0);
        }
        if (write) {
            test->writers_inside--;
            test->writes++;
        } else {
            test->readers_inside--;
        }
        qemu_co_rwlock_unlock(&test->lock);
        if (next_random(&test->seed) % 2) {
            reschedule();
        }
    }
    test->finished++;
}

static void test_rwlock_random_mix(void)
{
    RandomRwTest test = { .seed = 20130501 };

    qemu_co_rwlock_init(&test.lock);
    for (int i = 0; i < RANDOM_WORKERS; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(random_rw_worker), &test);
    }
    run_until_idle();
    CHECK_EQ(test.finished, RANDOM_WORKERS);
    CHECK(test.writes > 0);
    CHECK(!test.lock.writer);
    CHECK_EQ(test.lock.readers, 0);
    CHECK(QSIMPLEQ_EMPTY(&test.lock.tickets));
}

static const TestCase tests[] = {
    { "queue-fifo", test_queue_fifo },
    { "queue-restart-all", test_queue_restart_all },
    { "queue-next-on-empty", test_queue_next_on_empty },
    { "queue-wait-with-mutex", test_queue_wait_with_mutex },
    { "mutex-exclusion", test_mutex_exclusion },
    { "mutex-fifo", test_mutex_fifo },
    { "rwlock-shared-exclusive", test_rwlock_shared_and_exclusive },
    { "rwlock-writer-not-starved", test_rwlock_writer_not_starved },
    { "rwlock-random-mix", test_rwlock_random_mix },
};

int main(int argc, char **argv)
{
    qemu_co_queue_init(&ready);
    return run_tests(tests, ARRAY_SIZE(tests), argc, argv);
}
