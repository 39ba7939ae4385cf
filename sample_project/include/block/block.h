/*
 * block.h — the public interface of the block layer.
 *
 * A BlockDriverState (BDS) is an open image: a format or protocol driver plus
 * its state.  I/O goes through the generic bdrv_co_* functions, which must be
 * called from coroutines; native code uses the blocking `_sync` twins
 * (bdrv_pread, bdrv_pwrite, bdrv_flush, ...) which run the coroutine version
 * and poll the event loop until it completes, or the bdrv_aio_* functions
 * which start a request and call back when it is done.
 *
 * Errors are negative errno values; successful I/O returns 0.
 */
#ifndef BLOCK_BLOCK_H
#define BLOCK_BLOCK_H

#include "qemu/osdep.h"

typedef struct BlockDriver BlockDriver;
typedef struct BlockDriverState BlockDriverState;
typedef struct ThrottleGroup ThrottleGroup;

/* Open flags. */
enum {
    BDRV_O_RDWR = 1 << 0,      /* writable (else read-only) */
    BDRV_O_NO_BACKING = 1 << 1, /* do not open the backing file of an overlay */
    BDRV_O_CHECK = 1 << 2,     /* opened for `check`: keep going on corrupt metadata */
    BDRV_O_GROWABLE = 1 << 3,  /* the file of a format: writes may extend it */
    BDRV_O_BACKING_RDWR = 1 << 4, /* open the backing file writable too (commit) */
};

/* Answers of bdrv_co_block_status. */
enum {
    BDRV_BLOCK_DATA = 1 << 0,      /* the range holds data in this layer */
    BDRV_BLOCK_ZERO = 1 << 1,      /* the range reads as zeroes */
    BDRV_BLOCK_ALLOCATED = 1 << 2, /* the range is defined by this layer (else: by the backing file) */
    BDRV_BLOCK_OFFSET_VALID = 1 << 3, /* *map holds the host offset of the range */
};

/* Result of a consistency check (sample-img check). */
typedef struct BdrvCheckResult {
    int corruptions;        /* metadata errors that can lose or mix up data */
    int leaks;              /* clusters allocated but used by nothing */
    int corruptions_fixed;
    int leaks_fixed;
    int64_t allocated_clusters;
    int64_t total_clusters;
    int64_t image_end_offset;
} BdrvCheckResult;

typedef enum BdrvCheckMode {
    BDRV_CHECK_ONLY = 0,
    BDRV_FIX_LEAKS = 1,
    BDRV_FIX_ERRORS = 2,
} BdrvCheckMode;

/* Creation options: a format picks the ones it understands. */
typedef struct BlockCreateOptions {
    const char *filename;
    int64_t size;
    const char *backing_file;  /* NULL: none */
    const char *backing_fmt;   /* NULL: probe */
    int cluster_bits;          /* 0: the format's default */
} BlockCreateOptions;

typedef struct BlockDriverInfo {
    int64_t cluster_size;      /* 0 when the format has no clusters */
    bool dirty;                /* the image was not closed cleanly */
    int version;
    char backing_file[1024];   /* as stored in the image; "" without one */
} BlockDriverInfo;

/* --- drivers, opening and closing (native) ------------------------------------------------ */

/* Check the driver registry (aborts on a malformed driver); call once at start. */
void bdrv_init(void);
BlockDriver *bdrv_find_format(const char *format_name);
const char *bdrv_get_format_name(BlockDriverState *bs);

/* Open `filename` with format `fmt` (NULL: probe).  On failure returns NULL
 * and sets *errp to a malloc'ed message the caller frees. */
BlockDriverState *bdrv_open(const char *filename, const char *fmt, int flags, char **errp);
void bdrv_close(BlockDriverState *bs);
int bdrv_create(const char *fmt, const BlockCreateOptions *opts, char **errp);

int64_t bdrv_getlength(BlockDriverState *bs);
int64_t bdrv_get_allocated_file_size(BlockDriverState *bs);
int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi);
const char *bdrv_get_filename(BlockDriverState *bs);
BlockDriverState *bdrv_get_backing(BlockDriverState *bs);
BlockDriverState *bdrv_get_file(BlockDriverState *bs);
bool bdrv_is_read_only(BlockDriverState *bs);
int bdrv_check(BlockDriverState *bs, BdrvCheckResult *result, BdrvCheckMode mode);
/* Number of requests started and not yet completed. */
unsigned bdrv_get_in_flight(BlockDriverState *bs);

/* Fault injection for crash tests: from now on, every write/flush after the
 * first `allowed_writes` ones fails with -EIO (< 0: never). */
void bdrv_inject_write_failure(BlockDriverState *bs, int64_t allowed_writes);

/* Limit the I/O of `bs` by the group `tg` (NULL: no limits). */
void bdrv_set_throttle_group(BlockDriverState *bs, ThrottleGroup *tg);

/* --- coroutine I/O --------------------------------------------------------------------------- */

int coroutine_fn bdrv_co_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes, void *buf);
int coroutine_fn bdrv_co_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes, const void *buf);
int coroutine_fn bdrv_co_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes);
int coroutine_fn bdrv_co_flush(BlockDriverState *bs);
int coroutine_fn bdrv_co_truncate(BlockDriverState *bs, int64_t size);
/* Status of the range starting at `offset`: returns BDRV_BLOCK_* flags (or a
 * negative errno) and sets *pnum to the length of the prefix with the same
 * status; *map receives the host offset when BDRV_BLOCK_OFFSET_VALID. */
int coroutine_fn bdrv_co_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                      int64_t *pnum, int64_t *map);
/* Write everything the overlay `bs` defines into its backing file. */
int coroutine_fn bdrv_co_commit(BlockDriverState *bs);

/* --- blocking twins for native code ---------------------------------------------------------- */

int blocking_fn bdrv_pread(BlockDriverState *bs, int64_t offset, int64_t bytes, void *buf);
int blocking_fn bdrv_pwrite(BlockDriverState *bs, int64_t offset, int64_t bytes, const void *buf);
int blocking_fn bdrv_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes);
int blocking_fn bdrv_flush(BlockDriverState *bs);
int blocking_fn bdrv_truncate(BlockDriverState *bs, int64_t size);
int blocking_fn bdrv_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                  int64_t *pnum, int64_t *map);
int blocking_fn bdrv_commit(BlockDriverState *bs);

/* --- asynchronous requests from native code -------------------------------------------------- */

typedef void BlockCompletionFunc(void *opaque, int ret);

/* Start a request in a new coroutine and return; `cb` runs when it completes
 * (possibly before this returns, when the request needs no waiting). */
void bdrv_aio_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes, void *buf,
                     BlockCompletionFunc *cb, void *opaque);
void bdrv_aio_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes, const void *buf,
                      BlockCompletionFunc *cb, void *opaque);
void bdrv_aio_flush(BlockDriverState *bs, BlockCompletionFunc *cb, void *opaque);
/* Poll the loop until no request of `bs` is in flight. */
void bdrv_drain(BlockDriverState *bs);

/* --- helpers --------------------------------------------------------------------------------- */

/* Parse "64M", "4096", "1G", "512K" (powers of 1024); -1 on error. */
int64_t qemu_parse_size(const char *text);
/* Format a malloc'ed message (for **errp). */
char *bdrv_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Set *errp to a formatted message unless errp is NULL or already set. */
void bdrv_set_error(char **errp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
