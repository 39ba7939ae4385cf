/*
 * test-util.h — checks and a tiny runner for the C unit tests.
 *
 * A failed check prints where and what, then exits 1; every test prints
 * "ok NAME" when it passes.  A test program exits 0 only if all passed.
 */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include "qemu/osdep.h"

#ifndef COROUTINE_BACKEND
#define COROUTINE_BACKEND "unknown"
#endif

/* A failed check reports and exits: the branch is a single call to exit(),
 * so coroproj sees an assertion, not a code path (CHECK(qemu_in_coroutine())
 * is no hybrid function). */
static inline int test_failure(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    return 1;
}

static inline int test_failure_values(const char *file, int line, const char *what,
                                      long long actual, long long expected)
{
    fprintf(stderr, "%s:%d: check failed: %s (%lld != %lld)\n", file, line, what, actual, expected);
    return 1;
}

static inline int test_failure_strings(const char *file, int line, const char *what,
                                       const char *actual, const char *expected)
{
    fprintf(stderr, "%s:%d: check failed: %s (got \"%s\", expected \"%s\")\n",
            file, line, what, actual, expected);
    return 1;
}

#define CHECK(cond) do {                                                          \
        if (!(cond)) {                                                            \
            exit(test_failure(__FILE__, __LINE__, #cond));                        \
        }                                                                         \
    } while (0)

#define CHECK_EQ(actual, expected) do {                                           \
        long long actual_ = (long long)(actual);                                  \
        long long expected_ = (long long)(expected);                              \
        if (actual_ != expected_) {                                               \
            exit(test_failure_values(__FILE__, __LINE__, #actual " == " #expected, \
                                     actual_, expected_));                        \
        }                                                                         \
    } while (0)

#define CHECK_STR(actual, expected) do {                                          \
        const char *actual_ = (actual);                                           \
        const char *expected_ = (expected);                                       \
        if (strcmp(actual_, expected_) != 0) {                                    \
            exit(test_failure_strings(__FILE__, __LINE__, #actual, actual_, expected_)); \
        }                                                                         \
    } while (0)

typedef struct {
    const char *name;
    void (*run)(void);
} TestCase;

/* Run the tests (all, or only those named in argv) and report each. */
static inline int run_tests(const TestCase *tests, size_t count, int argc, char **argv)
{
    for (size_t i = 0; i < count; i++) {
        bool selected = argc < 2;
        for (int a = 1; a < argc; a++) {
            selected |= strcmp(argv[a], tests[i].name) == 0;
        }
        if (!selected) {
            continue;
        }
        tests[i].run();
        printf("ok %s (backend %s)\n", tests[i].name, COROUTINE_BACKEND);
        fflush(stdout);
    }
    return 0;
}

/* A trace of events as a string, to check orderings in one comparison. */
typedef struct {
    char text[512];
} Trace;

static inline void trace_add(Trace *trace, const char *event)
{
    size_t used = strlen(trace->text);
    CHECK(used + strlen(event) + 2 < sizeof(trace->text));
    if (used) {
        trace->text[used++] = ' ';
    }
    strcpy(trace->text + used, event);
}

#endif
