/* coroutine_fn written on a typedef-name reference (typedef int Fn(int); coroutine_fn Fn *p):
 * struct members, parameters and locals are coroutine pointers, the typedef itself stays native. */
#include "qemu/coroutine.h"
#include <stdio.h>
typedef int Fn(int);
typedef void Hook(void *);
struct ops { coroutine_fn Fn *run; int (*native)(int); };
static int coroutine_fn twice(int v) { qemu_coroutine_yield(); return 2 * v; }
static int plus1(int v) { return v + 1; }
static struct ops table = { twice, plus1 };
static int coroutine_fn apply(coroutine_fn Fn *f, int v) { return f(v) + table.run(v); }
int finished;
static void coroutine_fn entry(void *o)
{
    (void)o;
    coroutine_fn Fn *local = twice;
    printf("%d %d %d\n", local(3), apply(twice, 4), table.native(1));
    finished = 1;
}
int main(void) { Coroutine *co = qemu_coroutine_create(entry); while (!finished) qemu_coroutine_enter(co, NULL); return 0; }
