/*
 * Return values of several types through nested coroutine calls, yields in
 * the middle of them, a tail call, a call through a coroutine function
 * pointer, conversions of results, and termination.  Hand-translated
 * following the cpc calling convention exactly (cpc_runtime.h); the
 * original source is quoted above each function.  The same file must work
 * compiled with and without -mavx (CPC_ALIGN 16 vs 32).
 *
 * Original:
 *
 *   struct triple { char tag; double x; long n; };
 *   struct results { char c; int i; long l; double d; long double ld;
 *                    struct triple t; const char *s; int tail; int ptr;
 *                    long widened; int narrowed; bool done; };
 *
 *   static void coroutine_fn entry(void *opaque)
 *   {
 *       struct results *r = opaque;
 *       r->c = next_letter('a');
 *       r->i = add_ints(40, 2);
 *       r->l = times_big(41);
 *       r->d = halve(5.0);
 *       r->ld = third(1.0L);
 *       r->t = make_triple('T', 2.5, -7);
 *       r->s = suffix("hello world", 6);
 *       r->tail = double_it(21);
 *       r->ptr = apply(double_it, 5);
 *       r->widened = add_ints(-3, 1);      // int result into a long
 *       r->narrowed = halve(9.0);          // double result into an int
 *       r->done = true;
 *   }
 */
#include "cps_coroutine.h"

#include <stdio.h>
#include <string.h>

struct triple {
    char tag;
    double x;
    long n;
};

struct results {
    char c;
    int i;
    long l;
    double d;
    long double ld;
    struct triple t;
    const char *s;
    int tail;
    int ptr;
    long widened;
    int narrowed;
    bool done;
};

/* static char coroutine_fn next_letter(char c)
 * { qemu_coroutine_yield(); return c + 1; } */
struct next_letter_args { char c; };
struct next_letter__p1_args { char c; };
static cpc_cont *next_letter__p1(cpc_cont *k);

static cpc_cont *next_letter(cpc_cont *k)
{
    struct next_letter_args *args = cpc_pop(k, sizeof *args);
    char c = args->c;
    struct next_letter__p1_args *p1 = cpc_push_frame(&k, sizeof *p1, next_letter__p1);
    p1->c = c;
    cpc_push_frame(&k, 0, qemu_coroutine_yield);
    return k;
}

static cpc_cont *next_letter__p1(cpc_cont *k)
{
    struct next_letter__p1_args *args = cpc_pop(k, sizeof *args);
    char c = args->c;
    CPC_RETURN(k, char, c + 1);
}

/* static int coroutine_fn add_ints(int a, int b) { return a + b; } */
struct add_ints_args { int a; int b; };

static cpc_cont *add_ints(cpc_cont *k)
{
    struct add_ints_args *args = cpc_pop(k, sizeof *args);
    int a = args->a;
    int b = args->b;
    CPC_RETURN(k, int, a + b);
}

/* static long coroutine_fn times_big(long x)
 * {
 *     int y = add_ints((int)x, 1);
 *     qemu_coroutine_yield();
 *     return (long)y * 1000000007L;
 * } */
struct times_big_args { long x; };
struct times_big__p1_args { _Alignas(CPC_ALIGN) int result; };
struct times_big__p2_args { int y; };
static cpc_cont *times_big__p1(cpc_cont *k);
static cpc_cont *times_big__p2(cpc_cont *k);

static cpc_cont *times_big(cpc_cont *k)
{
    struct times_big_args *args = cpc_pop(k, sizeof *args);
    long x = args->x;
    cpc_push_frame(&k, sizeof(struct times_big__p1_args), times_big__p1);
    struct add_ints_args *call = cpc_push_frame(&k, sizeof *call, add_ints);
    call->a = (int)x;
    call->b = 1;
    return k;
}

static cpc_cont *times_big__p1(cpc_cont *k)
{
    struct times_big__p1_args *args = cpc_pop(k, sizeof *args);
    int y = args->result;
    struct times_big__p2_args *p2 = cpc_push_frame(&k, sizeof *p2, times_big__p2);
    p2->y = y;
    cpc_push_frame(&k, 0, qemu_coroutine_yield);
    return k;
}

static cpc_cont *times_big__p2(cpc_cont *k)
{
    struct times_big__p2_args *args = cpc_pop(k, sizeof *args);
    int y = args->y;
    CPC_RETURN(k, long, (long)y * 1000000007L);
}

/* static double coroutine_fn halve(double d) { return d / 2; } */
struct halve_args { double d; };

static cpc_cont *halve(cpc_cont *k)
{
    struct halve_args *args = cpc_pop(k, sizeof *args);
    double d = args->d;
    CPC_RETURN(k, double, d / 2);
}

/* static long double coroutine_fn third(long double v)
 * { qemu_coroutine_yield(); return v / 3; } */
struct third_args { long double v; };
struct third__p1_args { long double v; };
static cpc_cont *third__p1(cpc_cont *k);

static cpc_cont *third(cpc_cont *k)
{
    struct third_args *args = cpc_pop(k, sizeof *args);
    long double v = args->v;
    struct third__p1_args *p1 = cpc_push_frame(&k, sizeof *p1, third__p1);
    p1->v = v;
    cpc_push_frame(&k, 0, qemu_coroutine_yield);
    return k;
}

static cpc_cont *third__p1(cpc_cont *k)
{
    struct third__p1_args *args = cpc_pop(k, sizeof *args);
    long double v = args->v;
    CPC_RETURN(k, long double, v / 3);
}

/* static struct triple coroutine_fn make_triple(char tag, double x, long n)
 * { struct triple t = { tag, x, n }; return t; } */
struct make_triple_args { char tag; double x; long n; };

static cpc_cont *make_triple(cpc_cont *k)
{
    struct make_triple_args *args = cpc_pop(k, sizeof *args);
    char tag = args->tag;
    double x = args->x;
    long n = args->n;
    struct triple t;
    t = (struct triple){ tag, x, n };
    CPC_RETURN(k, struct triple, t);
}

/* static const char *coroutine_fn suffix(const char *s, int from)
 * { qemu_coroutine_yield(); return s + from; } */
struct suffix_args { const char *s; int from; };
struct suffix__p1_args { const char *s; int from; };
static cpc_cont *suffix__p1(cpc_cont *k);

static cpc_cont *suffix(cpc_cont *k)
{
    struct suffix_args *args = cpc_pop(k, sizeof *args);
    const char *s = args->s;
    int from = args->from;
    struct suffix__p1_args *p1 = cpc_push_frame(&k, sizeof *p1, suffix__p1);
    p1->s = s;
    p1->from = from;
    cpc_push_frame(&k, 0, qemu_coroutine_yield);
    return k;
}

static cpc_cont *suffix__p1(cpc_cont *k)
{
    struct suffix__p1_args *args = cpc_pop(k, sizeof *args);
    const char *s = args->s;
    int from = args->from;
    CPC_RETURN(k, const char *, s + from);
}

/* static int coroutine_fn double_it(int a) { return add_ints(a, a); }
 * A tail call: no forwarding frame, add_ints writes straight into the
 * receiver our caller pushed. */
struct double_it_args { int a; };

static cpc_cont *double_it(cpc_cont *k)
{
    struct double_it_args *args = cpc_pop(k, sizeof *args);
    int a = args->a;
    struct add_ints_args *call = cpc_push_frame(&k, sizeof *call, add_ints);
    call->a = a;
    call->b = a;
    return k;
}

/* static int coroutine_fn apply(int coroutine_fn (*f)(int), int v)
 * { return f(v) + 1; }
 * The call through the pointer builds its frame from the pointer's
 * parameter types and pushes the pointer itself. */
struct apply_args { cpc_function *f; int v; };
struct apply__p1_args { _Alignas(CPC_ALIGN) int result; };
struct cpc_call_int__int_args { int a0; };
static cpc_cont *apply__p1(cpc_cont *k);

static cpc_cont *apply(cpc_cont *k)
{
    struct apply_args *args = cpc_pop(k, sizeof *args);
    cpc_function *f = args->f;
    int v = args->v;
    cpc_push_frame(&k, sizeof(struct apply__p1_args), apply__p1);
    struct cpc_call_int__int_args *call = cpc_push_frame(&k, sizeof *call, f);
    call->a0 = v;
    return k;
}

static cpc_cont *apply__p1(cpc_cont *k)
{
    struct apply__p1_args *args = cpc_pop(k, sizeof *args);
    int tmp = args->result;
    CPC_RETURN(k, int, tmp + 1);
}

/* entry: one receiver piece per call; each keeps `r` live. */
struct entry_args { void *opaque; };
#define RECEIVER(name, T) \
    struct name##_args { struct results *r; _Alignas(CPC_ALIGN) T result; }; \
    static cpc_cont *name(cpc_cont *k)
RECEIVER(entry__p1, char);
RECEIVER(entry__p2, int);
RECEIVER(entry__p3, long);
RECEIVER(entry__p4, double);
RECEIVER(entry__p5, long double);
RECEIVER(entry__p6, struct triple);
RECEIVER(entry__p7, const char *);
RECEIVER(entry__p8, int);
RECEIVER(entry__p9, int);
RECEIVER(entry__p10, int);
RECEIVER(entry__p11, double);

static cpc_cont *entry(cpc_cont *k)
{
    struct entry_args *args = cpc_pop(k, sizeof *args);
    struct results *r = args->opaque;
    struct entry__p1_args *p = cpc_push_frame(&k, sizeof *p, entry__p1);
    p->r = r;
    struct next_letter_args *call = cpc_push_frame(&k, sizeof *call, next_letter);
    call->c = 'a';
    return k;
}

static cpc_cont *entry__p1(cpc_cont *k)
{
    struct entry__p1_args *args = cpc_pop(k, sizeof *args);
    struct results *r = args->r;
    r->c = args->result;
    struct entry__p2_args *p = cpc_push_frame(&k, sizeof *p, entry__p2);
    p->r = r;
    struct add_ints_args *call = cpc_push_frame(&k, sizeof *call, add_ints);
    call->a = 40;
    call->b = 2;
    return k;
}

static cpc_cont *entry__p2(cpc_cont *k)
{
    struct entry__p2_args *args = cpc_pop(k, sizeof *args);
    struct results *r = args->r;
    r->i = args->result;
    struct entry__p3_args *p = cpc_push_frame(&k, sizeof *p, entry__p3);
    p->r = r;
    struct times_big_args *call = cpc_push_frame(&k, sizeof *call, times_big);
    call->x = 41;
    return k;
}

static cpc_cont *entry__p3(cpc_cont *k)
{
    struct entry__p3_args *args = cpc_pop(k, sizeof *args);
    struct results *r = args->r;
    r->l = args->result;
    struct entry__p4_args *p = cpc_push_frame(&k, sizeof *p, entry__p4);
    p->r = r;
    struct halve_args *call = cpc_push_frame(&k, sizeof *call, halve);
    call->d = 5.0;
    return k;
}

static cpc_cont *entry__p4(cpc_cont *k)
{
    struct entry__p4_args *args = cpc_pop(k, sizeof *args);
    struct results *r = args->r;
    r->d = args->result;
    struct entry__p5_args *p = cpc_push_frame(&k, sizeof *p, entry__p5);
    p->r = r;
    struct third_args *call = cpc_push_frame(&k, sizeof *call, third);
    call->v = 1.0L;
    return k;
}

static cpc_cont *entry__p5(cpc_cont *k)
{
    struct entry__p5_args *args = cpc_pop(k, sizeof *args);
    struct results *r = args->r;
    r->ld = args->result;
    struct entry__p6_args *p = cpc_push_frame(&k, sizeof *p, entry__p6);
    p->r = r;
    struct make_triple_args *call = cpc_push_frame(&k, sizeof *call, make_triple);
    call->tag = 'T';
    call->x = 2.5;
    call->n = -7;
    return k;
}

static cpc_cont *entry__p6(cpc_cont *k)
{
    struct entry__p6_args *args = cpc_pop(k, sizeof *args);
    struct results *r = args->r;
    r->t = args->result;
    struct entry__p7_args *p = cpc_push_frame(&k, sizeof *p, entry__p7);
    p->r = r;
    struct suffix_args *call = cpc_push_frame(&k, sizeof *call, suffix);
    call->s = "hello world";
    call->from = 6;
    return k;
}

static cpc_cont *entry__p7(cpc_cont *k)
{
    struct entry__p7_args *args = cpc_pop(k, sizeof *args);
    struct results *r = args->r;
    r->s = args->result;
    struct entry__p8_args *p = cpc_push_frame(&k, sizeof *p, entry__p8);
    p->r = r;
    struct double_it_args *call = cpc_push_frame(&k, sizeof *call, double_it);
    call->a = 21;
    return k;
}

static cpc_cont *entry__p8(cpc_cont *k)
{
    struct entry__p8_args *args = cpc_pop(k, sizeof *args);
    struct results *r = args->r;
    r->tail = args->result;
    struct entry__p9_args *p = cpc_push_frame(&k, sizeof *p, entry__p9);
    p->r = r;
    struct apply_args *call = cpc_push_frame(&k, sizeof *call, apply);
    call->f = double_it;
    call->v = 5;
    return k;
}

static cpc_cont *entry__p9(cpc_cont *k)
{
    struct entry__p9_args *args = cpc_pop(k, sizeof *args);
    struct results *r = args->r;
    r->ptr = args->result;
    struct entry__p10_args *p = cpc_push_frame(&k, sizeof *p, entry__p10);
    p->r = r;
    struct add_ints_args *call = cpc_push_frame(&k, sizeof *call, add_ints);
    call->a = -3;
    call->b = 1;
    return k;
}

static cpc_cont *entry__p10(cpc_cont *k)
{
    struct entry__p10_args *args = cpc_pop(k, sizeof *args);
    struct results *r = args->r;
    int tmp = args->result; /* the temporary has the callee's type ... */
    r->widened = tmp;       /* ... and converts in its own assignment */
    struct entry__p11_args *p = cpc_push_frame(&k, sizeof *p, entry__p11);
    p->r = r;
    struct halve_args *call = cpc_push_frame(&k, sizeof *call, halve);
    call->d = 9.0;
    return k;
}

static cpc_cont *entry__p11(cpc_cont *k)
{
    struct entry__p11_args *args = cpc_pop(k, sizeof *args);
    struct results *r = args->r;
    double tmp = args->result;
    r->narrowed = tmp;
    r->done = true;
    return k;
}

int main(void)
{
    /* Compared natively: the same operations, computed without coroutines. */
    volatile long double one = 1.0L;
    long double native_third = one / 3;

    struct results r;
    memset(&r, 0, sizeof r);
    Coroutine *co = qemu_coroutine_create(entry);
    int enters = 0;
    do {
        qemu_coroutine_enter(co, &r);
        enters++;
    } while (!r.done);

    printf("align=%d\n", (int)CPC_ALIGN);
    printf("enters=%d\n", enters);
    printf("char=%c\n", r.c);
    printf("int=%d\n", r.i);
    printf("long=%ld\n", r.l);
    printf("double=%.17g\n", r.d);
    printf("long double is 1/3: %s\n", r.ld == native_third ? "yes" : "no");
    printf("struct=%c %.17g %ld\n", r.t.tag, r.t.x, r.t.n);
    printf("pointer=%s\n", r.s);
    printf("tail=%d\n", r.tail);
    printf("through pointer=%d\n", r.ptr);
    printf("widened=%ld\n", r.widened);
    printf("narrowed=%d\n", r.narrowed);
    return 0;
}
