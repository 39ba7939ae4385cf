/* return and break inside statement expressions of coroutine functions (no coroutine call in them). */
#include "qemu/coroutine.h"
#include <stdio.h>
static int coroutine_fn id(int v) { qemu_coroutine_yield(); return v; }
int finished;
static int coroutine_fn check(int v)
{
    int x = id(v);
    int y = ({ if (x < 0) return -1; x * 2; });
    for (int i = 0; i < 5; i++) {
        int z = ({ if (i == 3) break; i; });
        y += z;
    }
    return y;
}
static void coroutine_fn none(int v, int *out)
{
    *out = ({ if (v) return; 7; });
}
static void coroutine_fn entry(void *o) { (void)o; int out = 0; none(1, &out); printf("%d %d %d\n", check(4), check(-3), out); none(0, &out); printf("%d\n", out); finished = 1; }
int main(void) { Coroutine *co = qemu_coroutine_create(entry); while (!finished) qemu_coroutine_enter(co, NULL); return 0; }
