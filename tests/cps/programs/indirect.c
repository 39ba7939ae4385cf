/* Calls through coroutine-typed pointers: variables, typedefs, members, parameters;
 * qemu_coroutine_self / qemu_in_coroutine through the hidden continuation. */
#include "qemu/coroutine.h"

#include <stdio.h>

typedef int coroutine_fn BinaryOp(int a, int b);
typedef int (coroutine_fn *BinaryPtr)(int a, int b);

struct ops {
    const char *name;
    int coroutine_fn (*apply)(int a, int b);
    BinaryOp *again;
    int (*native)(int);     /* a native member next to them */
};

static int coroutine_fn add(int a, int b) { qemu_coroutine_yield(); return a + b; }
static int coroutine_fn mul(int a, int b) { qemu_coroutine_yield(); return a * b; }
static int twice(int v) { return 2 * v; }

static const struct ops table[] = {
    { "add", add, mul, twice },
    { .name = "mul", .apply = mul, .again = add, .native = twice },
};

static int coroutine_fn fold(BinaryPtr op, const int *v, int n)
{
    int acc = v[0];
    for (int i = 1; i < n; i++) {
        acc = op(acc, v[i]);
    }
    return acc;
}

static int coroutine_fn apply_param(int coroutine_fn (*f)(int, int), int x)
{
    return f(x, x) + (*f)(1, 2);
}

static Coroutine *entry_self;

int finished;

static void coroutine_fn entry(void *opaque)
{
    (void)opaque;
    int values[] = { 1, 2, 3, 4 };
    BinaryOp *var = add;
    BinaryPtr ptr = &mul;
    int coroutine_fn (*plain)(int, int) = var;
    printf("var %d ptr %d plain %d\n", var(2, 3), ptr(2, 3), plain(4, 5));
    for (int i = 0; i < 2; i++) {
        const struct ops *o = &table[i];
        printf("%s %d %d %d\n", o->name, o->apply(6, 7), table[i].again(1, 1), o->native(5));
    }
    printf("fold %d %d\n", fold(add, values, 4), fold(mul, values, 4));
    printf("param %d\n", apply_param(mul, 3));
    printf("in_coroutine %d self_ok %d\n", qemu_in_coroutine(), qemu_coroutine_self() == entry_self);
    qemu_coroutine_yield();
    printf("self_ok %d\n", qemu_coroutine_self() == entry_self);
    finished = 1;
}

int main(void)
{
    Coroutine *co = qemu_coroutine_create(entry);
    int entries = 0;

    entry_self = co;
    printf("native in_coroutine %d\n", qemu_in_coroutine());
    while (!finished) {
        qemu_coroutine_enter(co, NULL);
        entries++;
    }
    printf("entries %d\n", entries);
    return 0;
}
