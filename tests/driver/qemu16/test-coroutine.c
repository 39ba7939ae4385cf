/* What QEMU 1.6's tests/test-coroutine checks, in one program: yields and
 * re-entry, nesting, self and in_coroutine inside and outside coroutines,
 * pooled reuse with a new entry argument, a continuation grown past the
 * embedded one. */
#include "qemu-common.h"
#include "block/coroutine.h"

static Coroutine *entered[4];

static void coroutine_fn counter(void *opaque)
{
    int *count = opaque;
    for (int i = 0; i < 3; i++) {
        (*count)++;
        qemu_coroutine_yield();
    }
}

static void coroutine_fn nest(void *opaque)
{
    int *depth = opaque;
    entered[*depth] = qemu_coroutine_self();
    if (!qemu_in_coroutine()) {
        abort();
    }
    if (*depth < 3) {
        int next = *depth + 1;
        qemu_coroutine_enter(qemu_coroutine_create(nest), &next);
        *depth = next;
    }
}

static int coroutine_fn deep(int n)
{
    int local[8] = {n};
    if (n == 0) {
        qemu_coroutine_yield();
        return 0;
    }
    return local[0] + deep(n - 1);
}

static void coroutine_fn deep_entry(void *opaque)
{
    *(int *)opaque = deep(100);
}

int main(void)
{
    int count = 0;
    Coroutine *co = qemu_coroutine_create(counter);
    while (count < 3) {
        qemu_coroutine_enter(co, &count);
    }
    qemu_coroutine_enter(co, &count); /* runs to its end: back to the pool */

    int depth = 0;
    Coroutine *reused = qemu_coroutine_create(nest);
    qemu_coroutine_enter(reused, &depth);
    int distinct = entered[0] != entered[1] && entered[1] != entered[2] && entered[2] != entered[3];

    int sum = -1;
    Coroutine *grows = qemu_coroutine_create(deep_entry);
    qemu_coroutine_enter(grows, &sum);
    int suspended = sum == -1;
    qemu_coroutine_enter(grows, &sum);

    printf("count %d, pooled %d, depth %d, distinct %d, in coroutine %d, self is native %d, "
           "deep %d after a yield %d\n",
           count, reused == co, depth, distinct, qemu_in_coroutine(),
           qemu_coroutine_self() != entered[0], sum, suspended);
    return 0;
}
