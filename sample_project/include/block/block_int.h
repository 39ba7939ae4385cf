/*
 * block_int.h — the driver interface of the block layer.
 *
 * A BlockDriver mixes native callbacks (open, close, create, probe, info,
 * check: they run from the main loop or tools and may use the blocking
 * `_sync` I/O functions) and coroutine callbacks (all guest-visible I/O: they
 * may yield, and must only ever be called from coroutine context).  The
 * annotation is part of each member's function type.
 */
#ifndef BLOCK_BLOCK_INT_H
#define BLOCK_BLOCK_INT_H

#include "block/block.h"
#include "qemu/coroutine.h"

struct BlockDriver {
    const char *format_name;
    size_t instance_size;          /* bytes of bs->opaque */
    bool is_protocol;              /* opens a host resource by name (raw, memory) */
    bool supports_backing;

    /* Native: score how likely `buf` (the first bytes of `filename`) is an
     * image of this format; 0 = not at all, 100 = certainly. */
    int (*bdrv_probe)(const uint8_t *buf, int buf_size, const char *filename);
    /* Native: does this protocol driver handle `filename` ("mem:64M")? */
    bool (*bdrv_probe_name)(const char *filename);

    int (*bdrv_open)(BlockDriverState *bs, const char *filename, int flags, char **errp);
    void (*bdrv_close)(BlockDriverState *bs);
    int (*bdrv_create)(const BlockCreateOptions *opts, char **errp);
    int64_t (*bdrv_getlength)(BlockDriverState *bs);
    int64_t (*bdrv_get_allocated_file_size)(BlockDriverState *bs);
    int (*bdrv_get_info)(BlockDriverState *bs, BlockDriverInfo *bdi);
    int (*bdrv_check)(BlockDriverState *bs, BdrvCheckResult *result, BdrvCheckMode mode);

    int coroutine_fn (*bdrv_co_preadv)(BlockDriverState *bs, int64_t offset, int64_t bytes, void *buf);
    int coroutine_fn (*bdrv_co_pwritev)(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                        const void *buf);
    int (coroutine_fn *bdrv_co_pwrite_zeroes)(BlockDriverState *bs, int64_t offset, int64_t bytes);
    int coroutine_fn (*bdrv_co_flush)(BlockDriverState *bs);
    int coroutine_fn (*bdrv_co_truncate)(BlockDriverState *bs, int64_t size);
    int coroutine_fn (*bdrv_co_block_status)(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                             int64_t *pnum, int64_t *map);
};

struct BlockDriverState {
    BlockDriver *drv;
    void *opaque;                   /* drv->instance_size bytes of driver state */
    char *filename;
    int open_flags;
    bool growable;                  /* a protocol under a format: I/O may go past the end */
    bool read_only;
    int64_t total_sectors_bytes;    /* cached length; -1 when unknown */

    BlockDriverState *file;         /* the protocol layer under a format (owned) */
    BlockDriverState *backing;      /* the backing image of an overlay (owned) */

    unsigned in_flight;             /* requests started and not yet completed */
    ThrottleGroup *throttle_group;

    /* Fault injection (bdrv_inject_write_failure). */
    int64_t writes_allowed;         /* < 0: unlimited */
    int64_t writes_done;
};

/* The drivers, registered by bdrv_init. */
extern BlockDriver bdrv_raw;
extern BlockDriver bdrv_memory;
extern BlockDriver bdrv_null;
extern BlockDriver bdrv_cow;

#endif
