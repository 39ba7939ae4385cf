/*
 * compiler.h — the coroutine annotations.
 *
 * coroutine_fn        may yield; callable only from coroutine functions.
 * blocking_fn         native function that must never run in a coroutine
 *                     (typically a _sync wrapper that has a coroutine twin).
 * coroutine_mixed_fn  deliberately callable from both contexts.
 *
 * coroproj defines __COROPROJ__ while it analyses the tree; then the macros
 * become attributes that its parser attaches to the function type.  For the
 * C compiler they expand to nothing.
 */
#ifndef QEMU_COMPILER_H
#define QEMU_COMPILER_H

#ifdef __COROPROJ__
#define coroutine_fn __attribute__((coroutine_fn))
#define blocking_fn __attribute__((blocking_fn))
#define coroutine_mixed_fn __attribute__((coroutine_mixed_fn))
#else
#define coroutine_fn
#define blocking_fn
#define coroutine_mixed_fn
#endif

#define QEMU_NORETURN __attribute__((noreturn))
#define QEMU_UNUSED __attribute__((unused))
#define QEMU_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
