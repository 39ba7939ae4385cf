/* A unit including the glibc headers QEMU-like trees use, written with every
 * GNU C construct the front-end must accept, and annotated functions. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <netinet/in.h>

#ifdef __COROPROJ__
#define coroutine_fn __attribute__((coroutine_fn))
#define blocking_fn __attribute__((blocking_fn))
#define coroutine_mixed_fn __attribute__((coroutine_mixed_fn))
#else
#define coroutine_fn
#define blocking_fn
#define coroutine_mixed_fn
#endif

typedef struct Coroutine Coroutine;
typedef void coroutine_fn CoroutineEntry(void *opaque);

struct __attribute__((packed)) Header {
    uint8_t kind;
    uint32_t length __attribute__((aligned(1)));
    unsigned flags : 3, : 0;
    char payload[];
};

struct Queue {
    union {
        struct { int head, tail; };
        long long both;
    };
    int zero_length[0];
    _Atomic int pending;
    int coroutine_fn (*co_flush)(struct Queue *q);
    int (coroutine_fn *co_pwrite)(struct Queue *q, int64_t off, const void *buf);
    int (*probe)(const char *name);
} __attribute__((aligned(16)));

struct Empty {};

enum Mode { MODE_A = 1, MODE_B __attribute__((deprecated)) = 2, MODE_C } __attribute__((packed));

static __thread int per_thread;
static _Thread_local int per_thread_too;
__extension__ typedef __int128 i128;
static unsigned __int128 big;
static _Float128 quad;
static __float128 quad_too;
static _Float32 single;
static _Complex double cplx;
static __complex__ float cplx_too;
int renamed __asm__("renamed_symbol");
extern int old_name(int) __asm__("new_name") __attribute__((nothrow));
_Static_assert(sizeof(int) == 4, "int is 32 bits");
__asm__(".globl toplevel_asm_marker");

Coroutine *coroutine_fn qemu_coroutine_self(void);
void coroutine_fn qemu_coroutine_yield(void);
void blocking_fn aio_poll(int blocking);
int coroutine_mixed_fn either_way(int x);
coroutine_fn extern void co_sleep(int64_t ns);
void run(void coroutine_fn (*cb)(void *), void *opaque);
void coroutine_fn (*get_entry(int which))(void *);

static int coroutine_fn co_read(struct Queue *q, void *buf, size_t len)
{
    __label__ retry, done;
    static void *dispatch[] = { &&retry, &&done };
    int tries = 0;
retry: __attribute__((unused));
    if (++tries < 3 && len == 0) {
        goto *dispatch[0];
    }
    qemu_coroutine_yield();
    memset(buf, 0, len);
    goto done;
done:
    return q->head + tries;
}

static inline __attribute__((always_inline)) int clamp(int v)
{
    int r = ({ int t = v; t < 0 ? 0 : t; });
    switch (r) {
    case 0 ... 9:
        r += 1;
        __attribute__((fallthrough));
    case 10:
        break;
    default:
        r = 100;
    }
    return r;
}

static int sum(int n, ...)
{
    va_list ap;
    int total = 0;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        total += __builtin_va_arg(ap, int);
    }
    va_end(ap);
    return total;
}

struct Outer { struct { int b[4]; } a; };

static const int table[8] = { [0 ... 3] = 1, [4] = 2, [5 ... 7] = 3 };
static size_t member_offset = __builtin_offsetof(struct Outer, a.b[2]);
static int same = __builtin_types_compatible_p(int, signed int);
static int chosen = __builtin_choose_expr(1, 10, 20);
static int alignment = __alignof__(long double) + __alignof__ table + _Alignof(int);

static double real_part(void)
{
    __auto_type z = cplx;
    typeof(z) w = z;
    __typeof__(table[0]) k = 0;
    __typeof(int *) ptr = 0;
    (void)ptr;
    return __real__ w + __imag__ w + k;
}

static int generic_kind(void)
{
    return _Generic(1.0, float: 1, double: 2, default: 0);
}

static unsigned long flags_of(unsigned long x)
{
    unsigned long out;
    __asm__ __volatile__("mov %1, %0" : "=r"(out) : "r"(x) : "memory");
    asm volatile("" ::: "memory");
    asm("nop");
    __asm__ goto("jmp %l0" :::: skip);
    out += 1;
skip:
    return out;
}

static int k_and_r(a, b)
    int a;
    char *b;
{
    return a + (b != 0);
}

void coroutine_fn co_entry(void *opaque)
{
    struct Queue *q = opaque;
    char buf[16];
    int (coroutine_fn *fn)(struct Queue *) = q->co_flush;
    co_read(q, buf, sizeof buf);
    fn(q);
    run((void coroutine_fn (*)(void *))co_entry, q);
    (void)sum(2, 1, 2);
    (void)clamp(3);
    (void)k_and_r(1, buf);
    (void)flags_of(1);
    (void)real_part();
    (void)generic_kind();
    (void)isalpha('a');
    (void)errno;
    (void)INT_MAX;
    (void)sqrt(2.0);
    (void)strlen(buf);
    __attribute__((unused)) int unused_local = per_thread + per_thread_too;
}
