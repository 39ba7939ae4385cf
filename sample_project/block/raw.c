/*
 * raw.c — the raw POSIX file driver.  The guest's bytes are the file's bytes.
 *
 * Every system call that may block (pread, pwrite, fdatasync, ftruncate) runs
 * on a thread of the thread pool while the requesting coroutine waits in
 * thread_pool_submit_co, so the loop keeps serving the other coroutines.
 * The driver doubles as the protocol under the cow format (bs->file).
 */
#include "qemu/osdep.h"
#include "qemu/thread-pool.h"
#include "block/block_int.h"

#include <fcntl.h>
#include <sys/stat.h>

typedef struct BDRVRawState {
    int fd;
} BDRVRawState;

typedef enum RawOp { RAW_READ, RAW_WRITE, RAW_FLUSH, RAW_TRUNCATE, RAW_ZEROES, RAW_STATUS } RawOp;

/* One system call for a pool thread. */
typedef struct RawWork {
    RawOp op;
    int fd;
    int64_t offset;
    int64_t bytes;
    uint8_t *buf;
    int64_t status_end;     /* RAW_STATUS: end of the run of data or hole */
    bool status_data;       /* RAW_STATUS: the run is data */
} RawWork;

/* The run of data or of hole starting at work->offset, from the file
 * system's SEEK_DATA/SEEK_HOLE; without them, everything is data. */
static int raw_find_extent(RawWork *work)
{
    off_t data = lseek(work->fd, work->offset, SEEK_DATA);

    if (data < 0 && errno == ENXIO) {
        /* Only a hole up to the end of the file. */
        work->status_data = false;
        work->status_end = work->offset + work->bytes;
        return 0;
    }
    if (data < 0) {
        work->status_data = true;
        work->status_end = work->offset + work->bytes;
        return 0;
    }
    if (data > work->offset) {
        work->status_data = false;
        work->status_end = data;
        return 0;
    }
    work->status_data = true;
    work->status_end = lseek(work->fd, work->offset, SEEK_HOLE);
    if (work->status_end < 0) {
        work->status_end = work->offset + work->bytes;
    }
    return 0;
}

/* Runs on a pool thread: returns 0 or -errno.  A read past the end of the
 * file reads zeroes (the file of an overlay grows as it is allocated). */
static int raw_worker(void *opaque)
{
    RawWork *work = opaque;
    int64_t done = 0;

    switch (work->op) {
    case RAW_FLUSH:
        return fdatasync(work->fd) < 0 ? -errno : 0;
    case RAW_TRUNCATE:
        return ftruncate(work->fd, work->offset) < 0 ? -errno : 0;
    case RAW_ZEROES:
        if (fallocate(work->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, work->offset,
                      work->bytes) == 0) {
            return 0;
        }
        /* No hole punching here: write real zeroes. */
        work->buf = calloc(1, work->bytes);
        if (!work->buf) {
            return -ENOMEM;
        }
        work->op = RAW_WRITE;
        {
            int ret = raw_worker(work);
            free(work->buf);
            return ret;
        }
    case RAW_STATUS:
        return raw_find_extent(work);
    case RAW_READ:
    case RAW_WRITE:
        break;
    }
    while (done < work->bytes) {
        ssize_t n;
        if (work->op == RAW_READ) {
            n = pread(work->fd, work->buf + done, work->bytes - done, work->offset + done);
        } else {
            n = pwrite(work->fd, work->buf + done, work->bytes - done, work->offset + done);
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            if (work->op == RAW_WRITE) {
                return -EIO;
            }
            memset(work->buf + done, 0, work->bytes - done);
            break;
        }
        done += n;
    }
    return 0;
}

static int coroutine_fn raw_submit(BlockDriverState *bs, RawOp op, int64_t offset, int64_t bytes,
                                   void *buf)
{
    BDRVRawState *s = bs->opaque;
    RawWork work = { .op = op, .fd = s->fd, .offset = offset, .bytes = bytes, .buf = buf };

    return thread_pool_submit_co(raw_worker, &work);
}

static int coroutine_fn raw_co_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes, void *buf)
{
    return raw_submit(bs, RAW_READ, offset, bytes, buf);
}

static int coroutine_fn raw_co_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                       const void *buf)
{
    int ret = raw_submit(bs, RAW_WRITE, offset, bytes, (void *)buf);

    if (ret == 0 && bs->total_sectors_bytes >= 0 && offset + bytes > bs->total_sectors_bytes) {
        bs->total_sectors_bytes = offset + bytes;
    }
    return ret;
}

static int coroutine_fn raw_co_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    int64_t length = bdrv_getlength(bs);

    /* Punching a hole past the end would not extend the file. */
    if (length >= 0 && offset + bytes > length) {
        return -ENOTSUP;
    }
    return raw_submit(bs, RAW_ZEROES, offset, bytes, NULL);
}

static int coroutine_fn raw_co_flush(BlockDriverState *bs)
{
    return raw_submit(bs, RAW_FLUSH, 0, 0, NULL);
}

static int coroutine_fn raw_co_truncate(BlockDriverState *bs, int64_t size)
{
    int ret = raw_submit(bs, RAW_TRUNCATE, size, 0, NULL);

    if (ret == 0) {
        bs->total_sectors_bytes = size;
    }
    return ret;
}

static int coroutine_fn raw_co_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                            int64_t *pnum, int64_t *map)
{
    BDRVRawState *s = bs->opaque;
    RawWork work = { .op = RAW_STATUS, .fd = s->fd, .offset = offset, .bytes = bytes };
    int ret = thread_pool_submit_co(raw_worker, &work);

    if (ret < 0) {
        return ret;
    }
    *pnum = MAX(1, MIN(bytes, work.status_end - offset));
    *map = offset;
    return (work.status_data ? BDRV_BLOCK_DATA : BDRV_BLOCK_ZERO) | BDRV_BLOCK_ALLOCATED |
           BDRV_BLOCK_OFFSET_VALID;
}

static int raw_open(BlockDriverState *bs, const char *filename, int flags, char **errp)
{
    BDRVRawState *s = bs->opaque;
    struct stat st;

    s->fd = open(filename, (flags & BDRV_O_RDWR ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (s->fd < 0) {
        int err = errno;
        bdrv_set_error(errp, "%s: %s", filename, strerror(err));
        return -err;
    }
    if (fstat(s->fd, &st) < 0) {
        int err = errno;
        close(s->fd);
        return -err;
    }
    bs->total_sectors_bytes = st.st_size;
    return 0;
}

static void raw_close(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    close(s->fd);
}

static int raw_create(const BlockCreateOptions *opts, char **errp)
{
    int fd = open(opts->filename, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ret = 0;

    if (fd < 0) {
        ret = -errno;
        bdrv_set_error(errp, "%s: %s", opts->filename, strerror(-ret));
        return ret;
    }
    if (ftruncate(fd, opts->size) < 0) {
        ret = -errno;
        bdrv_set_error(errp, "%s: cannot resize: %s", opts->filename, strerror(-ret));
    }
    close(fd);
    return ret;
}

static int64_t raw_getlength(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    struct stat st;

    if (bs->total_sectors_bytes >= 0) {
        return bs->total_sectors_bytes;
    }
    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    bs->total_sectors_bytes = st.st_size;
    return st.st_size;
}

static int64_t raw_get_allocated_file_size(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    struct stat st;

    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    return (int64_t)st.st_blocks * 512;
}

BlockDriver bdrv_raw = {
    .format_name = "raw",
    .instance_size = sizeof(BDRVRawState),
    .is_protocol = true,
    .bdrv_probe = NULL,               /* raw is what is left when nothing else matches */
    .bdrv_open = raw_open,
    .bdrv_close = raw_close,
    .bdrv_create = raw_create,
    .bdrv_getlength = raw_getlength,
    .bdrv_get_allocated_file_size = raw_get_allocated_file_size,
    .bdrv_co_preadv = raw_co_preadv,
    .bdrv_co_pwritev = raw_co_pwritev,
    .bdrv_co_pwrite_zeroes = raw_co_pwrite_zeroes,
    .bdrv_co_flush = raw_co_flush,
    .bdrv_co_truncate = raw_co_truncate,
    .bdrv_co_block_status = raw_co_block_status,
};
