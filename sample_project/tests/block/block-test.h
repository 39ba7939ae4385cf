/*
 * block-test.h — helpers shared by the block layer tests: a scratch
 * directory, image creation and opening that fail the test on error,
 * patterns, and running a coroutine to completion from native test code.
 */
#ifndef BLOCK_TEST_H
#define BLOCK_TEST_H

#include "qemu/osdep.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "block/block.h"
#include "block/cow.h"
#include "../test-util.h"

/* A fresh directory for this test program, removed at exit. */
const char *test_dir(void);
/* test_dir()/name, malloc'ed. */
char *test_path(const char *name);

BlockDriverState *test_open(const char *filename, const char *fmt, int flags);
void test_create(const char *fmt, const char *filename, int64_t size, const char *backing,
                 int cluster_bits);
/* Byte-for-byte copy of a file (crash tests restart from a saved image). */
void test_copy_file(const char *from, const char *to);
int64_t test_file_size(const char *filename);

/* Fill `buf` with bytes that depend on `seed` and the position. */
void test_fill(uint8_t *buf, int64_t length, uint32_t seed);
/* Whether `buf` holds what test_fill(seed) wrote. */
bool test_matches(const uint8_t *buf, int64_t length, uint32_t seed);
bool test_all_bytes(const uint8_t *buf, int64_t length, uint8_t value);

/* The header of the cow image at `path`, read straight from the file. */
CowHeader test_read_cow_header(const char *path);

/* Run entry(opaque) in a new coroutine and poll the loop until it returns. */
void test_run_coroutine(CoroutineEntry *entry, void *opaque);

#endif
