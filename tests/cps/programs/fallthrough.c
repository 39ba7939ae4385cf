/* Native switches with commented fall-through, inside and outside coroutine functions:
 * the translation compiles under -Wextra -Werror although preprocessing drops comments. */
#include "qemu/coroutine.h"
#include <stdio.h>
int finished;
static int native_switch(int v)
{
    int r = 0;
    switch (v) {
    case 0:
        r++;
        /* fall through */
    case 1:
        r++;
        break;
    }
    return r;
}
static void coroutine_fn entry(void *o) { (void)o; int v = 0; switch (v) { case 0: v++; /* fall through */ case 1: v++; } printf("%d %d\n", v, native_switch(0)); qemu_coroutine_yield(); finished = 1; }
int main(void) { Coroutine *co = qemu_coroutine_create(entry); while (!finished) qemu_coroutine_enter(co, NULL); return 0; }
