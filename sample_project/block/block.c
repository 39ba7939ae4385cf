/*
 * block.c — the generic block layer: the driver registry, opening and
 * closing images, and the bdrv_co_* functions that check a request, count it
 * in flight, pass it through the image's throttle group and dispatch it to
 * the driver's coroutine callback.  The `_sync` twins at the end run those in
 * a coroutine and poll the main loop until the coroutine has finished.
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "block/block_int.h"
#include "block/throttle.h"

#include <fcntl.h>
#include <stdarg.h>

#define PROBE_BYTES 512

static BlockDriver *block_drivers[] = {
    &bdrv_cow, &bdrv_raw, &bdrv_memory, &bdrv_null,
};

/* The registry is static: check once that every driver fills in what the
 * generic layer calls without looking, and that names are unique. */
void bdrv_init(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(block_drivers); i++) {
        BlockDriver *drv = block_drivers[i];

        if (!drv->format_name || !drv->bdrv_open || !drv->bdrv_getlength || !drv->bdrv_co_preadv) {
            qemu_abort("block driver %zu ('%s') lacks a mandatory callback", i,
                       drv->format_name ? drv->format_name : "?");
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(block_drivers[j]->format_name, drv->format_name) == 0) {
                qemu_abort("two block drivers are called '%s'", drv->format_name);
            }
        }
    }
}

char *bdrv_strdup_printf(const char *fmt, ...)
{
    va_list ap;
    char *text = NULL;

    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0) {
        text = NULL;
    }
    va_end(ap);
    return text;
}

static void error_set(char **errp, char *message)
{
    if (errp && !*errp) {
        *errp = message;
    } else {
        free(message);
    }
}

void bdrv_set_error(char **errp, const char *fmt, ...)
{
    va_list ap;
    char *text = NULL;

    if (!errp || *errp) {
        return;
    }
    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0) {
        text = NULL;
    }
    va_end(ap);
    *errp = text;
}

int64_t qemu_parse_size(const char *text)
{
    char *end;
    unsigned long long value;
    int shift = 0;

    if (!text || !*text || *text == '-') {
        return -1;
    }
    errno = 0;
    value = strtoull(text, &end, 0);
    if (errno || end == text) {
        return -1;
    }
    switch (*end) {
    case '\0': case 'b': case 'B': shift = 0; break;
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: return -1;
    }
    if (*end && end[1] != '\0') {
        return -1;
    }
    if (value > (unsigned long long)(INT64_MAX >> shift)) {
        return -1;
    }
    return (int64_t)(value << shift);
}

BlockDriver *bdrv_find_format(const char *format_name)
{
    for (size_t i = 0; i < ARRAY_SIZE(block_drivers); i++) {
        if (strcmp(block_drivers[i]->format_name, format_name) == 0) {
            return block_drivers[i];
        }
    }
    return NULL;
}

const char *bdrv_get_format_name(BlockDriverState *bs)
{
    return bs->drv->format_name;
}

/* The protocol driver that claims `filename` by its name, or raw. */
static BlockDriver *find_protocol(const char *filename)
{
    for (size_t i = 0; i < ARRAY_SIZE(block_drivers); i++) {
        BlockDriver *drv = block_drivers[i];
        if (drv->bdrv_probe_name && drv->bdrv_probe_name(filename)) {
            return drv;
        }
    }
    return &bdrv_raw;
}

/* Read the first bytes of the file and let the format drivers vote. */
static BlockDriver *probe_format(const char *filename, char **errp)
{
    uint8_t buf[PROBE_BYTES] = { 0 };
    BlockDriver *protocol = find_protocol(filename);
    BlockDriver *best = protocol;
    int best_score = 0;
    ssize_t got;
    int fd;

    if (protocol != &bdrv_raw) {
        return protocol;
    }
    fd = open(filename, O_RDONLY);
    if (fd < 0) {
        error_set(errp, bdrv_strdup_printf("%s: %s", filename, strerror(errno)));
        return NULL;
    }
    got = pread(fd, buf, sizeof(buf), 0);
    close(fd);
    if (got < 0) {
        error_set(errp, bdrv_strdup_printf("%s: %s", filename, strerror(errno)));
        return NULL;
    }
    for (size_t i = 0; i < ARRAY_SIZE(block_drivers); i++) {
        BlockDriver *drv = block_drivers[i];
        if (drv->bdrv_probe) {
            int score = drv->bdrv_probe(buf, (int)got, filename);
            if (score > best_score) {
                best_score = score;
                best = drv;
            }
        }
    }
    return best;
}

BlockDriverState *bdrv_open(const char *filename, const char *fmt, int flags, char **errp)
{
    BlockDriver *drv;
    BlockDriverState *bs;
    int ret;

    if (fmt) {
        drv = bdrv_find_format(fmt);
        if (!drv) {
            error_set(errp, bdrv_strdup_printf("unknown format '%s'", fmt));
            return NULL;
        }
    } else {
        drv = probe_format(filename, errp);
        if (!drv) {
            return NULL;
        }
    }

    bs = qemu_mallocz(sizeof(*bs));
    bs->drv = drv;
    bs->opaque = qemu_mallocz(drv->instance_size ? drv->instance_size : 1);
    bs->filename = qemu_strdup(filename);
    bs->open_flags = flags;
    bs->read_only = !(flags & BDRV_O_RDWR);
    bs->growable = flags & BDRV_O_GROWABLE;
    bs->total_sectors_bytes = -1;
    bs->writes_allowed = -1;

    ret = drv->bdrv_open(bs, filename, flags, errp);
    if (ret < 0) {
        if (errp && !*errp) {
            *errp = bdrv_strdup_printf("%s: cannot open as %s: %s", filename,
                                       drv->format_name, strerror(-ret));
        }
        free(bs->filename);
        free(bs->opaque);
        free(bs);
        return NULL;
    }
    return bs;
}

void bdrv_close(BlockDriverState *bs)
{
    if (!bs) {
        return;
    }
    bdrv_drain(bs);
    if (bs->drv->bdrv_close) {
        bs->drv->bdrv_close(bs);
    }
    bdrv_set_throttle_group(bs, NULL);
    bdrv_close(bs->backing);
    bdrv_close(bs->file);
    free(bs->filename);
    free(bs->opaque);
    free(bs);
}

int bdrv_create(const char *fmt, const BlockCreateOptions *opts, char **errp)
{
    BlockDriver *drv = bdrv_find_format(fmt);

    if (!drv) {
        error_set(errp, bdrv_strdup_printf("unknown format '%s'", fmt));
        return -EINVAL;
    }
    if (!drv->bdrv_create) {
        error_set(errp, bdrv_strdup_printf("format '%s' does not support image creation", fmt));
        return -ENOTSUP;
    }
    if (opts->backing_file && !drv->supports_backing) {
        error_set(errp, bdrv_strdup_printf("format '%s' does not support backing files", fmt));
        return -ENOTSUP;
    }
    if (opts->size < 0) {
        error_set(errp, bdrv_strdup_printf("invalid image size %" PRId64, opts->size));
        return -EINVAL;
    }
    return drv->bdrv_create(opts, errp);
}

int64_t bdrv_getlength(BlockDriverState *bs)
{
    return bs->drv->bdrv_getlength(bs);
}

int64_t bdrv_get_allocated_file_size(BlockDriverState *bs)
{
    if (bs->drv->bdrv_get_allocated_file_size) {
        return bs->drv->bdrv_get_allocated_file_size(bs);
    }
    if (bs->file) {
        return bdrv_get_allocated_file_size(bs->file);
    }
    return -ENOTSUP;
}

int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    memset(bdi, 0, sizeof(*bdi));
    if (!bs->drv->bdrv_get_info) {
        return 0;
    }
    return bs->drv->bdrv_get_info(bs, bdi);
}

const char *bdrv_get_filename(BlockDriverState *bs)
{
    return bs->filename;
}

BlockDriverState *bdrv_get_backing(BlockDriverState *bs)
{
    return bs->backing;
}

BlockDriverState *bdrv_get_file(BlockDriverState *bs)
{
    return bs->file;
}

bool bdrv_is_read_only(BlockDriverState *bs)
{
    return bs->read_only;
}

unsigned bdrv_get_in_flight(BlockDriverState *bs)
{
    return bs->in_flight;
}

int bdrv_check(BlockDriverState *bs, BdrvCheckResult *result, BdrvCheckMode mode)
{
    memset(result, 0, sizeof(*result));
    if (!bs->drv->bdrv_check) {
        return -ENOTSUP;
    }
    return bs->drv->bdrv_check(bs, result, mode);
}

void bdrv_inject_write_failure(BlockDriverState *bs, int64_t allowed_writes)
{
    bs->writes_allowed = allowed_writes;
    bs->writes_done = 0;
}

void bdrv_set_throttle_group(BlockDriverState *bs, ThrottleGroup *tg)
{
    if (bs->throttle_group) {
        throttle_group_unref(bs->throttle_group);
    }
    bs->throttle_group = tg;
}

/* --- coroutine I/O ----------------------------------------------------------------------- */

static int check_request(BlockDriverState *bs, int64_t offset, int64_t bytes, bool write)
{
    int64_t length;

    if (offset < 0 || bytes < 0 || offset > INT64_MAX - bytes) {
        return -EINVAL;
    }
    if (write && bs->read_only) {
        return -EPERM;
    }
    if (bs->growable) {
        return 0;
    }
    length = bdrv_getlength(bs);
    if (length < 0) {
        return (int)length;
    }
    if (offset + bytes > length) {
        return -ERANGE;
    }
    return 0;
}

/* A write that the fault injector lets through (true) or fails (false). */
static bool write_allowed(BlockDriverState *bs)
{
    if (bs->writes_allowed < 0) {
        return true;
    }
    if (bs->writes_done >= bs->writes_allowed) {
        return false;
    }
    bs->writes_done++;
    return true;
}

static void coroutine_fn request_begin(BlockDriverState *bs, int64_t bytes)
{
    bs->in_flight++;
    if (bs->throttle_group) {
        throttle_group_co_io_limits_intercept(bs->throttle_group, bytes);
    }
}

static void request_end(BlockDriverState *bs)
{
    assert(bs->in_flight > 0);
    bs->in_flight--;
}

int coroutine_fn bdrv_co_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes, void *buf)
{
    int ret = check_request(bs, offset, bytes, false);

    if (ret < 0) {
        return ret;
    }
    if (bytes == 0) {
        return 0;
    }
    request_begin(bs, bytes);
    ret = bs->drv->bdrv_co_preadv(bs, offset, bytes, buf);
    request_end(bs);
    return ret;
}

int coroutine_fn bdrv_co_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes, const void *buf)
{
    int ret = check_request(bs, offset, bytes, true);

    if (ret < 0) {
        return ret;
    }
    if (bytes == 0) {
        return 0;
    }
    request_begin(bs, bytes);
    if (!write_allowed(bs)) {
        ret = -EIO;
    } else if (!bs->drv->bdrv_co_pwritev) {
        ret = -ENOTSUP;
    } else {
        ret = bs->drv->bdrv_co_pwritev(bs, offset, bytes, buf);
    }
    request_end(bs);
    return ret;
}

int coroutine_fn bdrv_co_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    int ret = check_request(bs, offset, bytes, true);
    void *zeroes;

    if (ret < 0 || bytes == 0) {
        return ret;
    }
    if (bs->drv->bdrv_co_pwrite_zeroes) {
        request_begin(bs, bytes);
        ret = write_allowed(bs) ? bs->drv->bdrv_co_pwrite_zeroes(bs, offset, bytes) : -EIO;
        request_end(bs);
        return ret;
    }
    /* No shortcut in the driver: write a buffer of zeroes. */
    zeroes = calloc(1, bytes);
    if (!zeroes) {
        return -ENOMEM;
    }
    ret = bdrv_co_pwritev(bs, offset, bytes, zeroes);
    free(zeroes);
    return ret;
}

int coroutine_fn bdrv_co_flush(BlockDriverState *bs)
{
    int ret = 0;

    if (bs->read_only) {
        return 0;
    }
    bs->in_flight++;
    if (!write_allowed(bs)) {
        ret = -EIO;
    } else if (bs->drv->bdrv_co_flush) {
        ret = bs->drv->bdrv_co_flush(bs);
    }
    /* Then make sure the layers below are stable too. */
    if (ret == 0 && bs->file) {
        ret = bdrv_co_flush(bs->file);
    }
    request_end(bs);
    return ret;
}

int coroutine_fn bdrv_co_truncate(BlockDriverState *bs, int64_t size)
{
    int ret;

    if (size < 0) {
        return -EINVAL;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    if (!bs->drv->bdrv_co_truncate) {
        return -ENOTSUP;
    }
    bs->in_flight++;
    ret = write_allowed(bs) ? bs->drv->bdrv_co_truncate(bs, size) : -EIO;
    request_end(bs);
    return ret;
}

int coroutine_fn bdrv_co_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                      int64_t *pnum, int64_t *map)
{
    int64_t length = bdrv_getlength(bs);
    int ret;

    *pnum = 0;
    *map = 0;
    if (length < 0) {
        return (int)length;
    }
    if (offset < 0 || bytes < 0 || offset > length) {
        return -EINVAL;
    }
    bytes = MIN(bytes, length - offset);
    if (bytes == 0) {
        return 0;
    }
    if (!bs->drv->bdrv_co_block_status) {
        /* Without better knowledge everything is data of this layer. */
        *pnum = bytes;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED;
    }
    bs->in_flight++;
    ret = bs->drv->bdrv_co_block_status(bs, offset, bytes, pnum, map);
    request_end(bs);
    return ret;
}

/* Copy every range the overlay defines itself into its backing file.  The
 * backing image is re-opened writable by the caller (sample-img commit opens
 * the chain with BDRV_O_RDWR), so this only moves data. */
int coroutine_fn bdrv_co_commit(BlockDriverState *bs)
{
    const int64_t chunk_max = 1 << 20;
    BlockDriverState *backing = bs->backing;
    int64_t length = bdrv_getlength(bs);
    int64_t offset = 0;
    uint8_t *buf;
    int ret = 0;

    if (!backing) {
        return -ENOTSUP;
    }
    if (backing->read_only) {
        return -EPERM;
    }
    if (length < 0) {
        return (int)length;
    }
    buf = malloc(chunk_max);
    if (!buf) {
        return -ENOMEM;
    }
    while (offset < length && ret >= 0) {
        int64_t pnum, map;
        int status = bdrv_co_block_status(bs, offset, MIN(chunk_max, length - offset), &pnum, &map);

        if (status < 0) {
            ret = status;
            break;
        }
        if (pnum <= 0) {
            ret = -EIO;
            break;
        }
        if (status & BDRV_BLOCK_ALLOCATED) {
            ret = bdrv_co_preadv(bs, offset, pnum, buf);
            if (ret >= 0) {
                ret = bdrv_co_pwritev(backing, offset, pnum, buf);
            }
        }
        offset += pnum;
    }
    free(buf);
    if (ret >= 0) {
        ret = bdrv_co_flush(backing);
    }
    return ret;
}

/* --- blocking twins: run the coroutine version and poll the loop until it is done --------- */

typedef enum SyncOp {
    SYNC_READ, SYNC_WRITE, SYNC_WRITE_ZEROES, SYNC_FLUSH, SYNC_TRUNCATE,
    SYNC_BLOCK_STATUS, SYNC_COMMIT,
} SyncOp;

typedef struct SyncRequest {
    SyncOp op;
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    void *buf;
    int64_t *pnum;
    int64_t *map;
    int ret;
    bool done;
} SyncRequest;

static void coroutine_fn sync_request_entry(void *opaque)
{
    SyncRequest *req = opaque;

    switch (req->op) {
    case SYNC_READ:
        req->ret = bdrv_co_preadv(req->bs, req->offset, req->bytes, req->buf);
        break;
    case SYNC_WRITE:
        req->ret = bdrv_co_pwritev(req->bs, req->offset, req->bytes, req->buf);
        break;
    case SYNC_WRITE_ZEROES:
        req->ret = bdrv_co_pwrite_zeroes(req->bs, req->offset, req->bytes);
        break;
    case SYNC_FLUSH:
        req->ret = bdrv_co_flush(req->bs);
        break;
    case SYNC_TRUNCATE:
        req->ret = bdrv_co_truncate(req->bs, req->offset);
        break;
    case SYNC_BLOCK_STATUS:
        req->ret = bdrv_co_block_status(req->bs, req->offset, req->bytes, req->pnum, req->map);
        break;
    case SYNC_COMMIT:
        req->ret = bdrv_co_commit(req->bs);
        break;
    }
    req->done = true;
    /* The loop wakes up on its own after a coroutine finishes on it. */
}

static int blocking_fn run_sync(SyncRequest *req)
{
    Coroutine *co = qemu_coroutine_create(sync_request_entry);

    req->done = false;
    qemu_coroutine_enter(co, req);
    AIO_WAIT_WHILE(!req->done);
    return req->ret;
}

int blocking_fn bdrv_pread(BlockDriverState *bs, int64_t offset, int64_t bytes, void *buf)
{
    SyncRequest req = { .op = SYNC_READ, .bs = bs, .offset = offset, .bytes = bytes, .buf = buf };
    return run_sync(&req);
}

int blocking_fn bdrv_pwrite(BlockDriverState *bs, int64_t offset, int64_t bytes, const void *buf)
{
    SyncRequest req = {
        .op = SYNC_WRITE, .bs = bs, .offset = offset, .bytes = bytes, .buf = (void *)buf,
    };
    return run_sync(&req);
}

int blocking_fn bdrv_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    SyncRequest req = { .op = SYNC_WRITE_ZEROES, .bs = bs, .offset = offset, .bytes = bytes };
    return run_sync(&req);
}

int blocking_fn bdrv_flush(BlockDriverState *bs)
{
    SyncRequest req = { .op = SYNC_FLUSH, .bs = bs };
    return run_sync(&req);
}

int blocking_fn bdrv_truncate(BlockDriverState *bs, int64_t size)
{
    SyncRequest req = { .op = SYNC_TRUNCATE, .bs = bs, .offset = size };
    return run_sync(&req);
}

int blocking_fn bdrv_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                  int64_t *pnum, int64_t *map)
{
    SyncRequest req = {
        .op = SYNC_BLOCK_STATUS, .bs = bs, .offset = offset, .bytes = bytes, .pnum = pnum, .map = map,
    };
    return run_sync(&req);
}

int blocking_fn bdrv_commit(BlockDriverState *bs)
{
    SyncRequest req = { .op = SYNC_COMMIT, .bs = bs };
    return run_sync(&req);
}

/* --- asynchronous requests ----------------------------------------------------------------- */

typedef struct AioRequest {
    SyncOp op;
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    void *buf;
    BlockCompletionFunc *cb;
    void *opaque;
} AioRequest;

static void coroutine_fn aio_request_entry(void *opaque)
{
    AioRequest *req = opaque;
    int ret;

    if (req->op == SYNC_READ) {
        ret = bdrv_co_preadv(req->bs, req->offset, req->bytes, req->buf);
    } else if (req->op == SYNC_WRITE) {
        ret = bdrv_co_pwritev(req->bs, req->offset, req->bytes, req->buf);
    } else {
        ret = bdrv_co_flush(req->bs);
    }
    req->cb(req->opaque, ret);
    free(req);
}

static void aio_start(SyncOp op, BlockDriverState *bs, int64_t offset, int64_t bytes, void *buf,
                      BlockCompletionFunc *cb, void *opaque)
{
    AioRequest *req = qemu_malloc(sizeof(*req));
    Coroutine *co = qemu_coroutine_create(aio_request_entry);

    *req = (AioRequest){
        .op = op, .bs = bs, .offset = offset, .bytes = bytes, .buf = buf, .cb = cb, .opaque = opaque,
    };
    /* The request counts itself in flight (bdrv_co_* does, before it can
     * wait for throttling) before this enter returns. */
    qemu_coroutine_enter(co, req);
}

void bdrv_aio_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes, void *buf,
                     BlockCompletionFunc *cb, void *opaque)
{
    aio_start(SYNC_READ, bs, offset, bytes, buf, cb, opaque);
}

void bdrv_aio_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes, const void *buf,
                      BlockCompletionFunc *cb, void *opaque)
{
    aio_start(SYNC_WRITE, bs, offset, bytes, (void *)buf, cb, opaque);
}

void bdrv_aio_flush(BlockDriverState *bs, BlockCompletionFunc *cb, void *opaque)
{
    aio_start(SYNC_FLUSH, bs, 0, 0, NULL, cb, opaque);
}

void bdrv_drain(BlockDriverState *bs)
{
    AIO_WAIT_WHILE(bs->in_flight > 0);
}
