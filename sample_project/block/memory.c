/*
 * memory.c — two protocol drivers without a host file:
 *
 *   memory  "mem:SIZE[,latency=NS]"   a RAM disk: the bytes live in a buffer
 *                                     of the process and vanish at close;
 *   null    "null:SIZE[,latency=NS]"  reads return zeroes, writes are dropped.
 *
 * With `latency`, every request sleeps that long on the loop's timers
 * (co_sleep_ns), so that many requests are really in flight at once; without
 * it a request completes without yielding, which exposes the cost of the
 * coroutines themselves.
 */
#include "qemu/osdep.h"
#include "block/block_int.h"

typedef struct BDRVMemoryState {
    uint8_t *data;          /* NULL for the null driver */
    int64_t size;
    int64_t latency_ns;
} BDRVMemoryState;

/* Parse "PREFIX:SIZE[,latency=NS]". */
static int memory_parse_name(const char *filename, const char *prefix, int64_t *size,
                             int64_t *latency_ns, char **errp)
{
    size_t prefix_len = strlen(prefix);
    char *spec, *option, *saveptr = NULL;
    int ret = 0;

    if (strncmp(filename, prefix, prefix_len) != 0) {
        bdrv_set_error(errp, "%s: expected '%sSIZE'", filename, prefix);
        return -EINVAL;
    }
    spec = qemu_strdup(filename + prefix_len);
    *latency_ns = 0;
    option = strtok_r(spec, ",", &saveptr);
    *size = option ? qemu_parse_size(option) : -1;
    if (*size < 0) {
        bdrv_set_error(errp, "%s: invalid size", filename);
        ret = -EINVAL;
    }
    while (ret == 0 && (option = strtok_r(NULL, ",", &saveptr)) != NULL) {
        if (strncmp(option, "latency=", 8) == 0) {
            *latency_ns = qemu_parse_size(option + 8);
            if (*latency_ns < 0) {
                bdrv_set_error(errp, "%s: invalid latency", filename);
                ret = -EINVAL;
            }
        } else {
            bdrv_set_error(errp, "%s: unknown option '%s'", filename, option);
            ret = -EINVAL;
        }
    }
    free(spec);
    return ret;
}

static int memory_open_common(BlockDriverState *bs, const char *filename, const char *prefix,
                              bool keep_data, char **errp)
{
    BDRVMemoryState *s = bs->opaque;
    int ret = memory_parse_name(filename, prefix, &s->size, &s->latency_ns, errp);

    if (ret < 0) {
        return ret;
    }
    if (keep_data) {
        s->data = calloc(1, s->size ? s->size : 1);
        if (!s->data) {
            bdrv_set_error(errp, "%s: out of memory", filename);
            return -ENOMEM;
        }
    }
    bs->total_sectors_bytes = s->size;
    return 0;
}

static int memory_open(BlockDriverState *bs, const char *filename, int flags, char **errp)
{
    (void)flags;
    return memory_open_common(bs, filename, "mem:", true, errp);
}

static int null_open(BlockDriverState *bs, const char *filename, int flags, char **errp)
{
    (void)flags;
    return memory_open_common(bs, filename, "null:", false, errp);
}

static bool memory_probe_name(const char *filename)
{
    return strncmp(filename, "mem:", 4) == 0;
}

static bool null_probe_name(const char *filename)
{
    return strncmp(filename, "null:", 5) == 0;
}

static void memory_close(BlockDriverState *bs)
{
    BDRVMemoryState *s = bs->opaque;

    free(s->data);
}

static int64_t memory_getlength(BlockDriverState *bs)
{
    BDRVMemoryState *s = bs->opaque;

    return s->size;
}

static int64_t memory_get_allocated_file_size(BlockDriverState *bs)
{
    BDRVMemoryState *s = bs->opaque;

    return s->data ? s->size : 0;
}

/* The simulated device latency, if any. */
static void coroutine_fn memory_co_wait(BDRVMemoryState *s)
{
    if (s->latency_ns > 0) {
        co_sleep_ns(s->latency_ns);
    }
}

/* Requests past the end of a growable node (the file of a format) see
 * zeroes and are not stored: a RAM disk has a fixed size. */
static int coroutine_fn memory_co_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                         void *buf)
{
    BDRVMemoryState *s = bs->opaque;
    int64_t inside = offset < s->size ? MIN(bytes, s->size - offset) : 0;

    memory_co_wait(s);
    if (s->data && inside > 0) {
        memcpy(buf, s->data + offset, inside);
    } else {
        inside = 0;
    }
    memset((uint8_t *)buf + inside, 0, bytes - inside);
    return 0;
}

static int coroutine_fn memory_co_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                          const void *buf)
{
    BDRVMemoryState *s = bs->opaque;

    memory_co_wait(s);
    if (offset + bytes > s->size) {
        return -ENOSPC;
    }
    if (s->data) {
        memcpy(s->data + offset, buf, bytes);
    }
    return 0;
}

static int coroutine_fn memory_co_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    BDRVMemoryState *s = bs->opaque;

    memory_co_wait(s);
    if (offset + bytes > s->size) {
        return -ENOSPC;
    }
    if (s->data) {
        memset(s->data + offset, 0, bytes);
    }
    return 0;
}

static int coroutine_fn memory_co_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                               int64_t *pnum, int64_t *map)
{
    BDRVMemoryState *s = bs->opaque;

    memory_co_wait(s);
    *pnum = bytes;
    *map = offset;
    if (!s->data) {
        return BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED;
    }
    return BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_OFFSET_VALID;
}

BlockDriver bdrv_memory = {
    .format_name = "memory",
    .instance_size = sizeof(BDRVMemoryState),
    .is_protocol = true,
    .bdrv_probe_name = memory_probe_name,
    .bdrv_open = memory_open,
    .bdrv_close = memory_close,
    .bdrv_getlength = memory_getlength,
    .bdrv_get_allocated_file_size = memory_get_allocated_file_size,
    .bdrv_co_preadv = memory_co_preadv,
    .bdrv_co_pwritev = memory_co_pwritev,
    .bdrv_co_pwrite_zeroes = memory_co_pwrite_zeroes,
    .bdrv_co_block_status = memory_co_block_status,
};

BlockDriver bdrv_null = {
    .format_name = "null",
    .instance_size = sizeof(BDRVMemoryState),
    .is_protocol = true,
    .bdrv_probe_name = null_probe_name,
    .bdrv_open = null_open,
    .bdrv_close = memory_close,
    .bdrv_getlength = memory_getlength,
    .bdrv_get_allocated_file_size = memory_get_allocated_file_size,
    .bdrv_co_preadv = memory_co_preadv,
    .bdrv_co_pwritev = memory_co_pwritev,
    .bdrv_co_pwrite_zeroes = memory_co_pwrite_zeroes,
    .bdrv_co_block_status = memory_co_block_status,
};
