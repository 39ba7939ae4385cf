/*
 * cpc_runtime.h — the continuation runtime of the cpc coroutine backend.
 *
 * This header is THE calling convention shared by the CPS translator (which
 * generates C that includes it and uses only what is declared here) and the
 * runtime (cpc_runtime.c, coroutine-cpc.c).  See CPS.md for the design.
 *
 * How to build
 * ------------
 * There is no build system here: the runtime ships as C sources inside the
 * coroproj package.  Compile cpc_runtime.c, coroutine-cpc.c (the QEMU-style
 * backend, it needs the project's include directory for qemu/coroutine_int.h)
 * and the translated sources with the SAME target flags, e.g.
 *
 *     cc -std=gnu11 -O2 -I<dir of this header> -I<project>/include \
 *        -c cpc_runtime.c coroutine-cpc.c translated.c
 *
 * C11 with GNU extensions, warning-free with -Wall -Wextra.  Flags that change
 * __BIGGEST_ALIGNMENT__ (-mavx, -mavx512f) change the frame layout: every
 * object of a program must agree, and a mismatch is caught at LINK time
 * because the out-of-line entry points carry CPC_ALIGN in their symbol names
 * (see CPC_ABI_NAME below) instead of corrupting results silently.
 *
 * The model
 * ---------
 * A continuation (cpc_cont) is a byte stack growing upward in data[].  It
 * holds FRAMES.  A frame is
 *
 *     [ argument struct of the callee, rounded up to CPC_ALIGN ]
 *     [ function-pointer slot, CPC_FNSLOT bytes                ]
 *
 * so the function to run next is always the last CPC_FNSLOT bytes in use.
 * The trampoline (cpc_run) pops that pointer and calls it with the
 * continuation; the callee pops its own argument struct first thing (copying
 * the fields into locals, because the next push may overwrite or move them),
 * runs native code, pushes the frames of what must happen next, and returns
 * the (possibly moved) continuation to the trampoline.
 *
 * After translation, every coroutine function f keeps its name and becomes
 * `cpc_cont *f(cpc_cont *k)` (its first piece); every coroutine function type
 * (typedefs, pointers, members, parameters) becomes cpc_function; the other
 * pieces of f are `static cpc_cont *f__pN(cpc_cont *k)`.
 *
 * Argument structs
 * ----------------
 * Fields in parameter order.  A piece that RECEIVES a call's result (a
 * "receiver") has the result slot as its LAST field, declared
 *
 *     _Alignas(CPC_ALIGN) T result;
 *
 * Because the field is CPC_ALIGN-aligned and the struct size is a multiple
 * of CPC_ALIGN, the slot always occupies the last CPC_ROUND(sizeof(T)) bytes
 * of the argument struct, whatever the other fields are.  That lets a callee
 * returning T find its caller's slot from its OWN return type only
 * (CPC_RETURN_SLOT).  A piece without parameters has no argument struct: its
 * frame is just the function-pointer slot (push with size 0).
 * Types whose alignment exceeds CPC_ALIGN (explicit aligned(64) types) are
 * not supported in frames.
 *
 * Calls
 * -----
 * `x = f(a, b); rest...` where rest is the receiver piece r(x..., result):
 *
 *     struct r_args *ra = cpc_push_frame(&k, sizeof *ra, r);
 *     ra->live_var = ...;                 // result slot left empty
 *     struct f_args *fa = cpc_push_frame(&k, sizeof *fa, f);
 *     fa->a = a; fa->b = b;
 *     return k;                           // to the trampoline
 *
 * (`ra` must be filled before the second push: a push may move the data.)
 * The translator checks the capacity once per piece instead, at its top,
 * for the most any of its paths pushes (cpc_piece_shortfall, or
 * cpc_reserve_piece in a piece with C parameters), and then pushes
 * unchecked (cpc_push_frame_reserved, cpc_push_reserved).
 *
 * `return e;` in a non-void coroutine function:
 *
 *     *CPC_RETURN_SLOT(k, T) = e; return k;
 *
 * `return g(...);` (tail call, same return type) pushes only g's frame: g
 * writes straight into the receiver our caller pushed.  Every non-void call
 * gets a receiver frame even when the value is ignored; CoroutineEntry
 * functions are void, so the bottom frame needs none.  A void piece ends
 * with `return k;`.
 *
 * A call through a coroutine function pointer `fp` builds the frame from
 * the pointer's parameter types and pushes the pointer itself:
 * `cpc_push_frame(&k, sizeof(struct args_of_fp_type), fp)`.
 *
 * A jump to a piece whose frame would be popped at once (a `goto`, a loop
 * head) need not bounce through the trampoline: push only its argument
 * struct and call it directly, `cpc_push(&k, sizeof *a) ...; return p(k);`.
 *
 * Yield: `qemu_coroutine_yield()` is a coroutine call with no argument
 * struct, `cpc_push_frame(&k, 0, qemu_coroutine_yield)` above the frame of
 * the piece that follows it (none when the yield is in tail position); the
 * trampoline recognises its function pointer, consumes that frame and stops
 * with CPC_YIELDED.  Running the trampoline again resumes with the next
 * frame.  The yield function's body is never run under cpc.
 *
 * Natives that need the continuation (qemu_coroutine_self,
 * qemu_in_coroutine — "cpc_need_cont" functions) take a hidden FIRST
 * argument `cpc_cont *k`: the current continuation when called from
 * coroutine code, NULL when called from native code.
 */
#ifndef CPC_RUNTIME_H
#define CPC_RUNTIME_H

/* No standard header: translated code is preprocessed text that already
 * declares what its own includes declared (max_align_t, size_t...), and a
 * second <stddef.h> here would re-declare some of them with conflicting
 * (anonymous struct) types.  __SIZE_TYPE__ is what size_t is. */

#ifdef __cplusplus
extern "C" {
#endif

/* THE alignment of frames, result slots and continuation data.  Translator
 * and runtime both use this macro and never a literal: the original CPC
 * hard-coded 16 in the translator, and -mavx (32) broke every return. */
#define CPC_ALIGN __BIGGEST_ALIGNMENT__

/* n rounded up to a multiple of CPC_ALIGN (a power of two). */
#define CPC_ROUND(n) (((__SIZE_TYPE__)(n) + (CPC_ALIGN - 1)) & ~(__SIZE_TYPE__)(CPC_ALIGN - 1))

struct Coroutine;
struct cpc_cont;

/* The type every coroutine function and every piece has after translation. */
typedef struct cpc_cont *cpc_function(struct cpc_cont *k);

/* Bytes of the function-pointer slot at the top of each frame. */
#define CPC_FNSLOT CPC_ROUND(sizeof(cpc_function *))

/* A continuation.  `length`/`size` are size_t (CPC's 16-bit fields silently
 * overflowed at 64 KiB); the block grows by doubling, without limit.  The
 * header is all the translated code touches; it holds nothing else, so a
 * continuation costs CPC_ALIGN bytes plus its frames.  (The owner of a
 * continuation is the running coroutine, which the backend knows; the size
 * of its block is sizeof(cpc_cont) + size.) */
typedef struct cpc_cont {
    __SIZE_TYPE__ length; /* bytes of data[] in use */
    __SIZE_TYPE__ size;   /* capacity of data[] in bytes */
    _Alignas(CPC_ALIGN) unsigned char data[];
} cpc_cont;

/* Result of the trampoline. */
typedef enum cpc_status {
    CPC_TERMINATED = 0, /* the continuation is empty: the coroutine returned */
    CPC_YIELDED = 1,    /* it popped the yield frame; run again to resume */
} cpc_status;

/* Out-of-line entry points carry CPC_ALIGN in their link names so objects
 * compiled with different alignments (say -mavx and not) fail to link
 * instead of disagreeing on frame layout at run time. */
#define CPC_ABI_CAT_(a, b) a##_align##b
#define CPC_ABI_CAT(a, b) CPC_ABI_CAT_(a, b)
#define CPC_ABI_NAME(name) CPC_ABI_CAT(name, __BIGGEST_ALIGNMENT__)

#define cpc_cont_new CPC_ABI_NAME(cpc_cont_new)
#define cpc_cont_free CPC_ABI_NAME(cpc_cont_free)
#define cpc_grow CPC_ABI_NAME(cpc_grow)
#define cpc_run CPC_ABI_NAME(cpc_run)
#define cpc_grow_and_run CPC_ABI_NAME(cpc_grow_and_run)
#define cpc_block_alloc CPC_ABI_NAME(cpc_block_alloc)
#define cpc_block_free CPC_ABI_NAME(cpc_block_free)

/* The capacity of a continuation EMBEDDED in another object (the backend
 * puts the first continuation of a coroutine inside the coroutine's own
 * block): one frame slot, enough for the entry argument or a yield frame.
 * A continuation of this capacity is never freed on its own: cpc_grow
 * moves it into a block of its own and leaves the embedded one alone.
 * Continuations with a block of their own are always at least twice as
 * large, so the capacity tells the two apart. */
#define CPC_EMBEDDED_CAPACITY ((__SIZE_TYPE__)CPC_ALIGN)

/* A new empty continuation with a block of its own.  Aborts with a message
 * when memory is exhausted (so do cpc_grow and cpc_block_alloc). */
cpc_cont *cpc_cont_new(void);

/* Frees the block of a continuation, unless it is embedded (NULL is fine). */
void cpc_cont_free(cpc_cont *k);

/* Cold path of the pushes: makes room for `extra` more bytes by at least
 * doubling the capacity; returns the (possibly moved) continuation. */
cpc_cont *cpc_grow(cpc_cont *k, __SIZE_TYPE__ extra);

/* Grows k by `extra` bytes (cpc_grow) and calls `piece` on the result: the
 * cold path of a piece's reservation, which it tail-calls with itself. */
cpc_cont *cpc_grow_and_run(cpc_cont *k, __SIZE_TYPE__ extra, cpc_function *piece);

/* The trampoline: pops and calls function pointers until the continuation
 * is empty (CPC_TERMINATED) or the popped pointer is `yield_fn`
 * (CPC_YIELDED; that frame is consumed).  *kp is updated when the
 * continuation moved while growing. */
cpc_status cpc_run(cpc_cont **kp, cpc_function *yield_fn);

/* The runtime's allocator, for the backend: `bytes` (a multiple of
 * CPC_ALIGN) aligned to CPC_ALIGN, from a per-thread free list of that size
 * (no malloc header, no lock) up to CPC_SLAB_MAX bytes, from malloc above.
 * cpc_block_free takes the same `bytes` back. */
#define CPC_SLAB_MAX 4096
void *cpc_block_alloc(__SIZE_TYPE__ bytes);
void cpc_block_free(void *block, __SIZE_TYPE__ bytes);

/* --- hot operations, inline ------------------------------------------- */

/* Reserves CPC_ROUND(size) bytes on top of *kp and returns their address
 * (for an argument struct); may move the continuation, hence &k. */
static inline void *cpc_push(cpc_cont **kp, __SIZE_TYPE__ size)
{
    __SIZE_TYPE__ n = CPC_ROUND(size);
    cpc_cont *k = *kp;
    if (__builtin_expect(k->size - k->length < n, 0)) {
        k = *kp = cpc_grow(k, n);
    }
    void *where = k->data + k->length;
    k->length += n;
    return where;
}

/* Pushes a function-pointer slot (the second half of a frame). */
static inline void cpc_push_fn(cpc_cont **kp, cpc_function *fn)
{
    cpc_function **slot = (cpc_function **)cpc_push(kp, sizeof(cpc_function *));
    *slot = fn;
}

/* Pushes a whole frame in one step: room for an argument struct of `size`
 * bytes (0 for none) followed by `fn`; returns where to write the
 * arguments.  This is what translated code uses for calls. */
static inline void *cpc_push_frame(cpc_cont **kp, __SIZE_TYPE__ size, cpc_function *fn)
{
    __SIZE_TYPE__ args = CPC_ROUND(size);
    __SIZE_TYPE__ n = args + CPC_FNSLOT;
    cpc_cont *k = *kp;
    if (__builtin_expect(k->size - k->length < n, 0)) {
        k = *kp = cpc_grow(k, n);
    }
    unsigned char *where = k->data + k->length;
    *(cpc_function **)(void *)(where + args) = fn;
    k->length += n;
    return where;
}

/* Bytes a frame with an argument struct of `size` bytes (0 for none) takes. */
static inline __SIZE_TYPE__ cpc_frame_bytes(__SIZE_TYPE__ size)
{
    return CPC_ROUND(size) + CPC_FNSLOT;
}

/* Makes room for `n` more bytes: the pushes that follow, with
 * cpc_push_frame_reserved / cpc_push_reserved, need no check of their own.
 * May move the continuation. */
static inline void cpc_reserve(cpc_cont **kp, __SIZE_TYPE__ n)
{
    cpc_cont *k = *kp;
    if (__builtin_expect(k->size - k->length < n, 0)) {
        *kp = cpc_grow(k, n);
    }
}

static inline __SIZE_TYPE__ cpc_max(__SIZE_TYPE__ a, __SIZE_TYPE__ b)
{
    return a > b ? a : b;
}

/* What translated code does first in a piece that pushes: reserve the most
 * any path through the piece pushes (`pushed`: cpc_max over its push sites,
 * each the cpc_frame_bytes of the frames it pushes), net of the `popped`
 * bytes of the piece's own argument struct, which it pops first.  Both are
 * constants: the check folds to one comparison, or to none when the piece
 * pushes no more than it pops.  At the top nothing is live yet, so the cold
 * grow call costs the hot path no saved registers. */
static inline void cpc_reserve_piece(cpc_cont **kp, __SIZE_TYPE__ popped, __SIZE_TYPE__ pushed)
{
    popped = CPC_ROUND(popped);
    if (pushed > popped) {
        cpc_reserve(kp, pushed - popped);
    }
}

/* The same check for a piece of type cpc_function: the bytes to grow by,
 * 0 when there is room.  The piece then ends in
 * `return cpc_grow_and_run(k, shortfall, itself);`, a tail call. */
static inline __SIZE_TYPE__ cpc_piece_shortfall(cpc_cont *k, __SIZE_TYPE__ popped, __SIZE_TYPE__ pushed)
{
    popped = CPC_ROUND(popped);
    /* length + need > size, not size - length < need: the length is loaded
     * anyway, and x86 compares the size in memory in one instruction.  (No
     * overflow: length <= size, and a frame is much smaller than memory.) */
    if (pushed > popped && __builtin_expect(k->length + (pushed - popped) > k->size, 0)) {
        return pushed - popped;
    }
    return 0;
}

/* cpc_push into room made by a reservation: no check, never moves. */
static inline void *cpc_push_reserved(cpc_cont *k, __SIZE_TYPE__ size)
{
    void *where = k->data + k->length;
    k->length += CPC_ROUND(size);
    return where;
}

/* cpc_push_frame into room made by cpc_reserve: no check, never moves. */
static inline void *cpc_push_frame_reserved(cpc_cont *k, __SIZE_TYPE__ size, cpc_function *fn)
{
    __SIZE_TYPE__ args = CPC_ROUND(size);
    unsigned char *where = k->data + k->length;
    *(cpc_function **)(void *)(where + args) = fn;
    k->length += args + CPC_FNSLOT;
    return where;
}

/* Pops CPC_ROUND(size) bytes and returns their address: a callee's own
 * argument struct.  Valid until the next push; copy the fields first. */
static inline void *cpc_pop(cpc_cont *k, __SIZE_TYPE__ size)
{
    k->length -= CPC_ROUND(size);
    return k->data + k->length;
}

/* Pops the function pointer on top (the trampoline's step). */
static inline cpc_function *cpc_pop_fn(cpc_cont *k)
{
    k->length -= CPC_FNSLOT;
    return *(cpc_function **)(void *)(k->data + k->length);
}

/* Address of the result slot a non-void callee returning T writes to: the
 * last field of the receiver frame now on top (after the callee popped its
 * own arguments).  Depends on T only, thanks to the alignment rule above.
 * T is any type name, even one like `int (*)(int)` (through __typeof__);
 * the translator declares such slots as `_Alignas(CPC_ALIGN)
 * __typeof__(int (*)(int)) result;`. */
#define CPC_RETURN_SLOT(k, T) \
    ((__typeof__(T) *)(void *)((k)->data + (k)->length - CPC_FNSLOT - CPC_ROUND(sizeof(T))))

/* `return e;` of a non-void coroutine function returning T, in one step. */
#define CPC_RETURN(k, T, e) \
    do { *CPC_RETURN_SLOT(k, T) = (e); return (k); } while (0)

#ifdef __cplusplus
}
#endif

#endif /* CPC_RUNTIME_H */
