/*
 * test-thread-pool — blocking work on worker threads, completions in the
 * loop thread, and thread_pool_submit_co from coroutines.
 */
#include "test-util.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "qemu/thread-pool.h"

#include <pthread.h>

static pthread_t loop_thread;

#define LOOP_UNTIL(cond) do {                                                     \
        int64_t deadline_ = qemu_clock_get_ns() + 20 * NANOSECONDS_PER_SECOND;    \
        while (!(cond)) {                                                         \
            CHECK(qemu_clock_get_ns() < deadline_);                               \
            main_loop_wait(true);                                                 \
        }                                                                         \
    } while (0)

typedef struct {
    int input;
    pthread_t ran_on;
} Work;

static int square(void *opaque)
{
    Work *work = opaque;

    work->ran_on = pthread_self();
    return work->input * work->input;
}

typedef struct {
    int result;
    int completions;
    bool in_loop_thread;
} Completion;

static void record_completion(void *opaque, int ret)
{
    Completion *completion = opaque;

    completion->result = ret;
    completion->completions++;
    completion->in_loop_thread = pthread_equal(pthread_self(), loop_thread);
}

static void test_submit_aio(void)
{
    Work work = { .input = 7 };
    Completion completion = { 0 };

    thread_pool_submit_aio(square, &work, record_completion, &completion);
    CHECK_EQ(thread_pool_pending(), 1);
    LOOP_UNTIL(completion.completions == 1);
    CHECK_EQ(completion.result, 49);
    CHECK(completion.in_loop_thread);
    CHECK(!pthread_equal(work.ran_on, loop_thread));
    CHECK_EQ(thread_pool_pending(), 0);
}

/* Work items that only finish once all of them run at the same time: the
 * pool must really run them in parallel (a serial pool would time out). */
enum { PARALLEL_REQUESTS = 4 };

static pthread_barrier_t all_running;

static int wait_for_all(void *opaque)
{
    int ret = pthread_barrier_wait(&all_running);

    CHECK(ret == 0 || ret == PTHREAD_BARRIER_SERIAL_THREAD);
    return *(int *)opaque;
}

typedef struct {
    int input;
    int result;
    bool done;
    bool in_coroutine_after;
} CoRequest;

static void coroutine_fn submit_co_entry(void *opaque)
{
    CoRequest *request = opaque;

    request->result = thread_pool_submit_co(wait_for_all, &request->input);
    request->in_coroutine_after = qemu_in_coroutine();
    request->done = true;
}

static void test_submit_co_parallel(void)
{
    CoRequest requests[PARALLEL_REQUESTS];
    int done;

    CHECK_EQ(pthread_barrier_init(&all_running, NULL, PARALLEL_REQUESTS), 0);
    for (int i = 0; i < PARALLEL_REQUESTS; i++) {
        requests[i] = (CoRequest){ .input = 100 + i };
        qemu_coroutine_enter(qemu_coroutine_create(submit_co_entry), &requests[i]);
        CHECK(!requests[i].done);   /* suspended until the worker finishes */
    }
    do {
        main_loop_wait(true);
        done = 0;
        for (int i = 0; i < PARALLEL_REQUESTS; i++) {
            done += requests[i].done;
        }
    } while (done < PARALLEL_REQUESTS);
    for (int i = 0; i < PARALLEL_REQUESTS; i++) {
        CHECK_EQ(requests[i].result, 100 + i);
        CHECK(requests[i].in_coroutine_after);
    }
    pthread_barrier_destroy(&all_running);
}

static void test_submit_sync(void)
{
    Work work = { .input = 12 };

    CHECK_EQ(thread_pool_submit_sync(square, &work), 144);
    CHECK(!pthread_equal(work.ran_on, loop_thread));
    CHECK_EQ(thread_pool_pending(), 0);
}

/* Many more requests than workers: every one completes exactly once. */
static int identity(void *opaque)
{
    return (int)(intptr_t)opaque;
}

static void sum_completion(void *opaque, int ret)
{
    *(long *)opaque += ret;
}

static void test_many_requests(void)
{
    long sum = 0;
    const int count = 2000;

    for (int i = 1; i <= count; i++) {
        thread_pool_submit_aio(identity, (void *)(intptr_t)i, sum_completion, &sum);
    }
    LOOP_UNTIL(thread_pool_pending() == 0);
    CHECK_EQ(sum, (long)count * (count + 1) / 2);
}

static const TestCase tests[] = {
    { "submit-aio", test_submit_aio },
    { "submit-co-parallel", test_submit_co_parallel },
    { "submit-sync", test_submit_sync },
    { "many-requests", test_many_requests },
};

int main(int argc, char **argv)
{
    loop_thread = pthread_self();
    return run_tests(tests, ARRAY_SIZE(tests), argc, argv);
}
