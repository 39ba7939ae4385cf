/*
 * The continuation runtime on its own, without the coroutine layer:
 * - the result-slot rule, checked at compile time for many types: the last
 *   field `_Alignas(CPC_ALIGN) T result` of any receiver struct sits exactly
 *   CPC_ROUND(sizeof(T)) bytes below its end, whatever precedes it;
 * - a frame larger than the doubled capacity (growth by more than 2x), with
 *   the bytes below it preserved across the move;
 * - frames without arguments, and the trampoline stopping at the yield
 *   function and resuming with the next frame.
 */
#include "cpc_runtime.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* --- the result-slot rule ----------------------------------------------- */

struct odd { char c[3]; };
struct wide { double d[5]; };
typedef float vec8f __attribute__((vector_size(32)));

#define SLOT_RULE(name, Before, T)                                              \
    struct name { Before before; _Alignas(CPC_ALIGN) T result; };               \
    _Static_assert(sizeof(struct name) % CPC_ALIGN == 0, #name ": size");       \
    _Static_assert(offsetof(struct name, result)                                \
                       == sizeof(struct name) - CPC_ROUND(sizeof(T)),           \
                   #name ": slot")

SLOT_RULE(r_char, int, char);
SLOT_RULE(r_short, char, short);
SLOT_RULE(r_int, double, int);
SLOT_RULE(r_long, char, long);
SLOT_RULE(r_llong, struct odd, long long);
SLOT_RULE(r_float, long double, float);
SLOT_RULE(r_double, char, double);
SLOT_RULE(r_ldouble, char, long double);
SLOT_RULE(r_ptr, struct wide, void *);
SLOT_RULE(r_odd, long double, struct odd);
SLOT_RULE(r_wide, char, struct wide);
SLOT_RULE(r_int128, char, __int128);
#if CPC_ALIGN >= 32
SLOT_RULE(r_vec8f, char, vec8f); /* a 32-byte-aligned type: needs -mavx */
#endif

/* --- frames and the trampoline ------------------------------------------ */

enum { BIG = 200 * 1024 };

static int trace[16];
static int n_trace;

static cpc_cont *stop_here(cpc_cont *k) /* plays qemu_coroutine_yield */
{
    return k;
}

struct note_args { int value; };

static cpc_cont *note(cpc_cont *k)
{
    struct note_args *args = cpc_pop(k, sizeof *args);
    trace[n_trace++] = args->value;
    return k;
}

static cpc_cont *note_without_args(cpc_cont *k)
{
    trace[n_trace++] = -1;
    return k;
}

struct big_args { unsigned char bytes[BIG]; };

/* Pops a huge argument struct, checks it, then pushes more frames. */
static cpc_cont *check_big(cpc_cont *k)
{
    struct big_args *args = cpc_pop(k, sizeof *args);
    int ok = 1;
    for (size_t i = 0; i < BIG; i++) {
        ok &= args->bytes[i] == (unsigned char)(i * 7);
    }
    trace[n_trace++] = ok ? 1000 : -1000;
    struct note_args *n = cpc_push_frame(&k, sizeof *n, note);
    n->value = 3;
    cpc_push_frame(&k, 0, stop_here); /* yield before noting 3 */
    return k;
}

/* A result of a declarator type (pointer to function) through the slot. */
static int add_one(int x)
{
    return x + 1;
}

struct fn_receiver { int tag; _Alignas(CPC_ALIGN) __typeof__(int (*)(int)) result; };

static int function_pointer_result(void)
{
    cpc_cont *k = cpc_cont_new();
    struct fn_receiver *receiver = cpc_push_frame(&k, sizeof *receiver, note);
    receiver->tag = 41;
    *CPC_RETURN_SLOT(k, int (*)(int)) = add_one; /* as the callee would */
    cpc_pop_fn(k);
    receiver = cpc_pop(k, sizeof *receiver);
    int value = receiver->result(receiver->tag);
    cpc_cont_free(k);
    return value;
}

int main(void)
{
    printf("function pointer through the result slot: %d\n", function_pointer_result());

    cpc_cont *k = cpc_cont_new();
    size_t initial = k->size;

    /* Bottom to top: note(1), note_without_args, check_big(BIG bytes),
     * note(2) ... the trampoline runs them top-down. */
    struct note_args *n = cpc_push_frame(&k, sizeof *n, note);
    n->value = 1;
    cpc_push_frame(&k, 0, note_without_args);
    struct big_args *big = cpc_push_frame(&k, sizeof *big, check_big);
    for (size_t i = 0; i < BIG; i++) {
        big->bytes[i] = (unsigned char)(i * 7);
    }
    n = cpc_push_frame(&k, sizeof *n, note);
    n->value = 2;
    printf("grew past twice the initial capacity in one push: %s\n",
           k->size >= BIG && initial * 2 < BIG ? "yes" : "no");
    printf("data aligned: %s\n", (uintptr_t)k->data % CPC_ALIGN == 0 ? "yes" : "no");

    cpc_status first = cpc_run(&k, stop_here);
    printf("first run: %s\n", first == CPC_YIELDED ? "yielded" : "terminated");
    cpc_status second = cpc_run(&k, stop_here);
    printf("second run: %s\n", second == CPC_YIELDED ? "yielded" : "terminated");
    printf("trace:");
    for (int i = 0; i < n_trace; i++) {
        printf(" %d", trace[i]);
    }
    printf("\nempty at the end: %s\n", k->length == 0 ? "yes" : "no");
    cpc_cont_free(k);
    return 0;
}
