/*
 * cow.c — `cow`, a copy-on-write overlay format with its own metadata
 * (layout in include/block/cow.h).
 *
 * Reads of clusters this layer has not allocated fall through to the
 * backing file (or read as zeroes).  The first write to such a cluster
 * allocates one at the end of the image, copies the rest of the cluster from
 * the backing file (copy-on-write) and links it into the tables.
 *
 * Locking.  The L1 table, the cached L2 tables, the in-memory refcounts, the
 * allocation pointer and the list of allocations in flight are protected by
 * s->lock, a CoMutex.  An allocating write takes its host cluster under the
 * lock, drops it to read the backing data and write the data cluster, and
 * takes it again to link the cluster into the tables; meanwhile a second
 * writer to the same guest cluster waits on the allocation's CoQueue and then
 * finds the cluster allocated.  Reads and writes of allocated clusters take
 * the lock only for the lookup: a data cluster, once linked, never moves.
 * A read of a cluster being allocated reads the backing file, which is what
 * the new cluster holds outside the range being written.
 *
 * Metadata is written back, like a disk's write cache: an allocation
 * updates the tables and refcounts in memory only (reads see it at once), and
 * cow_co_flush writes them out.  A write that completed but was not flushed
 * may be lost in a crash, as on any disk with a cache; a flushed one may not.
 *
 * Crash consistency.  The refcounts are lazy, like qcow2's lazy_refcounts:
 * the tables are the truth, the refcount table is state derived from them,
 * and the header's COW_FLAG_DIRTY says the refcounts on disk may lag the
 * tables (whoever opens such an image rebuilds them from the tables).  The
 * order of the writes, each step stable on disk (flushed) before the next:
 *
 *   1. the data cluster (the whole cluster, backing data merged in), when
 *      the guest writes; then, in cow_co_flush:
 *   2. the header with COW_FLAG_DIRTY set (flushed together with 1);
 *   3. the L2 tables that changed (new ones and ones with new entries);
 *   4. the L1 table, if a new L2 table was linked;
 *   5. the refcount table blocks that changed;
 *   6. the header with COW_FLAG_DIRTY cleared.
 *
 * A table entry only reaches the disk after what it points to (1 before 3,
 * 3 before 4), so no crash can leave an entry pointing at garbage: stopping
 * anywhere leaves at worst clusters in the file that nothing references —
 * leaks, found and dropped by `sample-img check -r leaks`.  Refcounts are
 * only believed when the dirty flag is clear (6 after 5, 2 before 3).
 */
#include "qemu/osdep.h"
#include "block/block_int.h"
#include "block/cow.h"

#include <endian.h>
#include <libgen.h>

#define L2_ENTRY_SIZE 8
#define REFCOUNT_SIZE 2

/* A cluster allocation whose data is being written (s->lock not held). */
typedef struct CowAllocation {
    int64_t guest_cluster;
    CoQueue waiters;              /* writers to the same cluster */
    struct CowAllocation *next;
} CowAllocation;

typedef struct BDRVCowState {
    CowHeader header;
    int cluster_bits;
    int64_t cluster_size;
    int64_t l2_entries;           /* entries per L2 table */
    uint64_t *l1;                 /* l1_entries host offsets, CPU byte order */
    uint64_t **l2_cache;          /* per L1 entry: the table, or NULL when not loaded */
    uint16_t *refcounts;          /* per host cluster, CPU byte order */
    int64_t refcount_capacity;    /* host clusters the refcount table can describe */
    bool *refcount_block_dirty;   /* per refcount cluster: changed since written */
    bool *l2_dirty;               /* per L1 entry: the cached table changed since written */
    bool l1_dirty;                /* the L1 table changed since written */
    int64_t next_free_cluster;    /* allocation pointer: clusters are appended */
    bool header_dirty_on_disk;    /* step 2 done, step 6 pending */
    char *backing_name;
    CoMutex lock;
    CowAllocation *allocations;   /* in flight, protected by lock */
} BDRVCowState;

/* --- header encoding ------------------------------------------------------------------- */

void cow_header_decode(CowHeader *h, const uint8_t *buf)
{
    memcpy(h, buf, sizeof(*h));
    h->magic = le32toh(h->magic);
    h->version = le32toh(h->version);
    h->cluster_bits = le32toh(h->cluster_bits);
    h->flags = le32toh(h->flags);
    h->size = le64toh(h->size);
    h->l1_offset = le64toh(h->l1_offset);
    h->l1_entries = le32toh(h->l1_entries);
    h->refcount_clusters = le32toh(h->refcount_clusters);
    h->refcount_offset = le64toh(h->refcount_offset);
    h->backing_name_offset = le32toh(h->backing_name_offset);
    h->backing_name_len = le32toh(h->backing_name_len);
}

void cow_header_encode(const CowHeader *h, uint8_t *buf)
{
    CowHeader le = *h;

    le.magic = htole32(h->magic);
    le.version = htole32(h->version);
    le.cluster_bits = htole32(h->cluster_bits);
    le.flags = htole32(h->flags);
    le.size = htole64(h->size);
    le.l1_offset = htole64(h->l1_offset);
    le.l1_entries = htole32(h->l1_entries);
    le.refcount_clusters = htole32(h->refcount_clusters);
    le.refcount_offset = htole64(h->refcount_offset);
    le.backing_name_offset = htole32(h->backing_name_offset);
    le.backing_name_len = htole32(h->backing_name_len);
    memcpy(buf, &le, sizeof(le));
}

/* --- geometry ------------------------------------------------------------------------------ */

static int64_t div_round_up(int64_t n, int64_t d)
{
    return (n + d - 1) / d;
}

typedef struct CowLayout {
    int64_t cluster_size;
    uint32_t l1_entries;
    int64_t l1_clusters;
    int64_t refcount_clusters;
    int64_t refcount_capacity;
} CowLayout;

/* Sizes of the fixed metadata for an image of `size` bytes.  The refcount
 * table covers every cluster the image could ever need: header, L1, itself,
 * one L2 table per L1 entry and one data cluster per guest cluster. */
static void cow_compute_layout(int64_t size, int cluster_bits, CowLayout *layout)
{
    int64_t cs = (int64_t)1 << cluster_bits;
    int64_t l2_entries = cs / L2_ENTRY_SIZE;
    int64_t data_clusters = div_round_up(size, cs);
    int64_t fixed, total;

    layout->cluster_size = cs;
    layout->l1_entries = (uint32_t)MAX(1, div_round_up(data_clusters, l2_entries));
    layout->l1_clusters = div_round_up((int64_t)layout->l1_entries * L2_ENTRY_SIZE, cs);
    fixed = 1 + layout->l1_clusters + layout->l1_entries + data_clusters;
    layout->refcount_clusters = 1;
    for (;;) {
        total = fixed + layout->refcount_clusters;
        if (layout->refcount_clusters * cs / REFCOUNT_SIZE >= total) {
            break;
        }
        layout->refcount_clusters++;
    }
    layout->refcount_capacity = layout->refcount_clusters * cs / REFCOUNT_SIZE;
}

static int64_t cow_first_free_cluster_after_metadata(const CowHeader *h, int64_t cluster_size)
{
    return (int64_t)(h->refcount_offset / cluster_size) + h->refcount_clusters;
}

/* --- L2 tables ----------------------------------------------------------------------------- */

/* The L2 table of L1 entry `l1_index`, loaded into the cache if needed;
 * NULL when the entry is not allocated.  Called with s->lock held. */
static int coroutine_fn cow_get_l2(BlockDriverState *bs, int64_t l1_index, uint64_t **table)
{
    BDRVCowState *s = bs->opaque;
    uint64_t *l2;
    int ret;

    *table = NULL;
    if (s->l1[l1_index] == 0) {
        return 0;
    }
    if (s->l2_cache[l1_index]) {
        *table = s->l2_cache[l1_index];
        return 0;
    }
    l2 = malloc(s->cluster_size);
    if (!l2) {
        return -ENOMEM;
    }
    ret = bdrv_co_preadv(bs->file, s->l1[l1_index], s->cluster_size, l2);
    if (ret < 0) {
        free(l2);
        return ret;
    }
    for (int64_t i = 0; i < s->l2_entries; i++) {
        l2[i] = le64toh(l2[i]);
    }
    s->l2_cache[l1_index] = l2;
    *table = l2;
    return 0;
}

/* Host offset of the cluster holding guest `offset` (0: not allocated).
 * Called with s->lock held. */
static int coroutine_fn cow_lookup(BlockDriverState *bs, int64_t offset, uint64_t *host)
{
    BDRVCowState *s = bs->opaque;
    int64_t cluster = offset >> s->cluster_bits;
    uint64_t *l2;
    int ret = cow_get_l2(bs, cluster / s->l2_entries, &l2);

    *host = 0;
    if (ret < 0) {
        return ret;
    }
    if (l2) {
        *host = l2[cluster % s->l2_entries];
    }
    return 0;
}

/* --- allocation --------------------------------------------------------------------------- */

static void cow_set_refcount(BDRVCowState *s, int64_t cluster, uint16_t value)
{
    s->refcounts[cluster] = value;
    s->refcount_block_dirty[cluster * REFCOUNT_SIZE / s->cluster_size] = true;
}

/* Take the next cluster at the end of the image (in memory only: the
 * refcount reaches the disk at the next flush).  Called with s->lock held. */
static int64_t cow_alloc_cluster(BDRVCowState *s)
{
    int64_t cluster = s->next_free_cluster;

    if (cluster >= s->refcount_capacity) {
        return -ENOSPC;
    }
    s->next_free_cluster++;
    cow_set_refcount(s, cluster, 1);
    return cluster << s->cluster_bits;
}

static int coroutine_fn cow_write_header(BlockDriverState *bs)
{
    BDRVCowState *s = bs->opaque;
    uint8_t buf[COW_HEADER_SIZE];

    cow_header_encode(&s->header, buf);
    return bdrv_co_pwritev(bs->file, 0, sizeof(buf), buf);
}

/* Whether anything in memory has not been written back yet. */
static bool cow_metadata_pending(BDRVCowState *s)
{
    if (s->l1_dirty) {
        return true;
    }
    for (uint32_t i = 0; i < s->header.l1_entries; i++) {
        if (s->l2_dirty[i]) {
            return true;
        }
    }
    for (uint32_t i = 0; i < s->header.refcount_clusters; i++) {
        if (s->refcount_block_dirty[i]) {
            return true;
        }
    }
    return false;
}

/* Fill `buf` with the guest range at `offset` as the backing file has it
 * (zeroes without one, or past its end). */
static int coroutine_fn cow_read_backing(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                         uint8_t *buf)
{
    int64_t backing_length, inside;
    int ret;

    if (!bs->backing) {
        memset(buf, 0, bytes);
        return 0;
    }
    backing_length = bdrv_getlength(bs->backing);
    if (backing_length < 0) {
        return (int)backing_length;
    }
    inside = offset < backing_length ? MIN(bytes, backing_length - offset) : 0;
    if (inside > 0) {
        ret = bdrv_co_preadv(bs->backing, offset, inside, buf);
        if (ret < 0) {
            return ret;
        }
    }
    memset(buf + inside, 0, bytes - inside);
    return 0;
}

/* Link the data cluster at `data_offset` as guest cluster `guest_cluster`,
 * creating its L2 table if needed — in memory: cow_co_flush writes the
 * tables back.  s->lock held. */
static int coroutine_fn cow_link_cluster(BlockDriverState *bs, int64_t guest_cluster,
                                         int64_t data_offset)
{
    BDRVCowState *s = bs->opaque;
    int64_t l1_index = guest_cluster / s->l2_entries;
    uint64_t *l2;
    int ret = cow_get_l2(bs, l1_index, &l2);

    if (ret < 0) {
        return ret;
    }
    if (!l2) {
        int64_t l2_offset = cow_alloc_cluster(s);
        if (l2_offset < 0) {
            return (int)l2_offset;
        }
        l2 = qemu_mallocz(s->cluster_size);
        s->l1[l1_index] = l2_offset;
        s->l2_cache[l1_index] = l2;
        s->l1_dirty = true;
    }
    l2[guest_cluster % s->l2_entries] = data_offset;
    s->l2_dirty[l1_index] = true;
    return 0;
}

/* The in-flight allocation of `guest_cluster`, if any.  s->lock held. */
static CowAllocation *cow_find_allocation(BDRVCowState *s, int64_t guest_cluster)
{
    for (CowAllocation *a = s->allocations; a; a = a->next) {
        if (a->guest_cluster == guest_cluster) {
            return a;
        }
    }
    return NULL;
}

/* Allocate the guest cluster containing `offset` and write `bytes` bytes of
 * `buf` into it (step 1 of the header comment).  Called with s->lock held
 * and the cluster not allocated nor being allocated; returns with the lock
 * held.  The lock is dropped while the backing data is read and the data
 * cluster written, so that other requests go on meanwhile; writers to this
 * same cluster wait on the allocation's queue and then find it allocated. */
static int coroutine_fn cow_allocate_and_write(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                               const uint8_t *buf)
{
    BDRVCowState *s = bs->opaque;
    int64_t guest_cluster = offset >> s->cluster_bits;
    int64_t cluster_start = guest_cluster << s->cluster_bits;
    int64_t in_cluster = offset - cluster_start;
    CowAllocation allocation = { .guest_cluster = guest_cluster };
    uint8_t *data;
    int64_t data_offset;
    int ret;

    data_offset = cow_alloc_cluster(s);
    if (data_offset < 0) {
        return (int)data_offset;
    }
    data = malloc(s->cluster_size);
    if (!data) {
        return -ENOMEM;
    }
    qemu_co_queue_init(&allocation.waiters);
    allocation.next = s->allocations;
    s->allocations = &allocation;
    qemu_co_mutex_unlock(&s->lock);

    /* Copy-on-write: what the guest does not overwrite comes from below. */
    ret = 0;
    if (in_cluster > 0 || bytes < s->cluster_size) {
        ret = cow_read_backing(bs, cluster_start, s->cluster_size, data);
    }
    memcpy(data + in_cluster, buf, bytes);
    if (ret == 0) {
        /* Step 1: the data, before anything on disk refers to it. */
        ret = bdrv_co_pwritev(bs->file, data_offset, s->cluster_size, data);
    }
    free(data);

    qemu_co_mutex_lock(&s->lock);
    if (ret == 0) {
        ret = cow_link_cluster(bs, guest_cluster, data_offset);
    }
    /* On failure the data cluster stays taken in memory: a leak until the
     * next `check -r`, never referenced twice. */
    for (CowAllocation **link = &s->allocations; *link; link = &(*link)->next) {
        if (*link == &allocation) {
            *link = allocation.next;
            break;
        }
    }
    qemu_co_queue_restart_all(&allocation.waiters);
    return ret;
}

/* --- I/O ------------------------------------------------------------------------------------ */

static int coroutine_fn cow_co_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes, void *buf)
{
    BDRVCowState *s = bs->opaque;
    uint8_t *out = buf;

    while (bytes > 0) {
        int64_t in_cluster = offset & (s->cluster_size - 1);
        int64_t chunk = MIN(bytes, s->cluster_size - in_cluster);
        uint64_t host;
        int ret;

        qemu_co_mutex_lock(&s->lock);
        ret = cow_lookup(bs, offset, &host);
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            return ret;
        }
        if (host) {
            ret = bdrv_co_preadv(bs->file, host + in_cluster, chunk, out);
        } else {
            ret = cow_read_backing(bs, offset, chunk, out);
        }
        if (ret < 0) {
            return ret;
        }
        offset += chunk;
        bytes -= chunk;
        out += chunk;
    }
    return 0;
}

static int coroutine_fn cow_co_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                       const void *buf)
{
    BDRVCowState *s = bs->opaque;
    const uint8_t *in = buf;

    while (bytes > 0) {
        int64_t in_cluster = offset & (s->cluster_size - 1);
        int64_t chunk = MIN(bytes, s->cluster_size - in_cluster);
        uint64_t host;
        int ret;

        qemu_co_mutex_lock(&s->lock);
        for (;;) {
            CowAllocation *in_flight;

            ret = cow_lookup(bs, offset, &host);
            in_flight = ret == 0 && !host ? cow_find_allocation(s, offset >> s->cluster_bits) : NULL;
            if (!in_flight) {
                break;
            }
            /* Somebody is allocating this cluster: wait, then look again. */
            qemu_co_queue_wait(&in_flight->waiters, &s->lock);
        }
        if (ret == 0 && !host) {
            ret = cow_allocate_and_write(bs, offset, chunk, in);
            qemu_co_mutex_unlock(&s->lock);
        } else {
            qemu_co_mutex_unlock(&s->lock);
            if (ret == 0) {
                ret = bdrv_co_pwritev(bs->file, host + in_cluster, chunk, in);
            }
        }
        if (ret < 0) {
            return ret;
        }
        offset += chunk;
        bytes -= chunk;
        in += chunk;
    }
    return 0;
}

/* Write `bytes` of `table` (CPU byte order, `entry_size` 2 or 8) at `offset`. */
static int coroutine_fn cow_write_table(BlockDriverState *bs, int64_t offset, const void *table,
                                        int64_t bytes, int entry_size)
{
    uint8_t *le = malloc(bytes);
    int ret;

    if (!le) {
        return -ENOMEM;
    }
    for (int64_t i = 0; i < bytes; i += entry_size) {
        if (entry_size == 8) {
            uint64_t v = htole64(*(const uint64_t *)((const uint8_t *)table + i));
            memcpy(le + i, &v, 8);
        } else {
            uint16_t v = htole16(*(const uint16_t *)((const uint8_t *)table + i));
            memcpy(le + i, &v, 2);
        }
    }
    ret = bdrv_co_pwritev(bs->file, offset, bytes, le);
    free(le);
    return ret;
}

/* Steps 2-6 of the header comment: write the metadata back in an order
 * that keeps every intermediate state on disk consistent. */
static int coroutine_fn cow_co_flush(BlockDriverState *bs)
{
    BDRVCowState *s = bs->opaque;
    int ret = 0;

    qemu_co_mutex_lock(&s->lock);
    if (bs->read_only || (!cow_metadata_pending(s) && !s->header_dirty_on_disk)) {
        goto out;
    }
    /* Step 2, flushed together with the data clusters written so far. */
    if (!s->header_dirty_on_disk) {
        s->header.flags |= COW_FLAG_DIRTY;
        ret = cow_write_header(bs);
        if (ret < 0) {
            goto out;
        }
        s->header_dirty_on_disk = true;
    }
    ret = bdrv_co_flush(bs->file);
    if (ret < 0) {
        goto out;
    }
    /* Step 3. */
    for (uint32_t i = 0; i < s->header.l1_entries; i++) {
        if (s->l2_dirty[i]) {
            ret = cow_write_table(bs, (int64_t)s->l1[i], s->l2_cache[i], s->cluster_size, 8);
            if (ret < 0) {
                goto out;
            }
            s->l2_dirty[i] = false;
        }
    }
    ret = bdrv_co_flush(bs->file);
    if (ret < 0) {
        goto out;
    }
    /* Step 4. */
    if (s->l1_dirty) {
        ret = cow_write_table(bs, (int64_t)s->header.l1_offset, s->l1,
                              (int64_t)s->header.l1_entries * L2_ENTRY_SIZE, 8);
        if (ret < 0) {
            goto out;
        }
        s->l1_dirty = false;
        ret = bdrv_co_flush(bs->file);
        if (ret < 0) {
            goto out;
        }
    }
    /* Step 5. */
    for (uint32_t block = 0; block < s->header.refcount_clusters; block++) {
        int64_t first = (int64_t)block * s->cluster_size / REFCOUNT_SIZE;

        if (s->refcount_block_dirty[block]) {
            ret = cow_write_table(bs, (int64_t)s->header.refcount_offset + block * s->cluster_size,
                                  s->refcounts + first, s->cluster_size, REFCOUNT_SIZE);
            if (ret < 0) {
                goto out;
            }
            s->refcount_block_dirty[block] = false;
        }
    }
    ret = bdrv_co_flush(bs->file);
    if (ret < 0) {
        goto out;
    }
    /* Step 6 (made stable by the generic layer's flush of bs->file). */
    s->header.flags &= ~COW_FLAG_DIRTY;
    ret = cow_write_header(bs);
    if (ret < 0) {
        s->header.flags |= COW_FLAG_DIRTY;
        goto out;
    }
    s->header_dirty_on_disk = false;
out:
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

static int coroutine_fn cow_co_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                            int64_t *pnum, int64_t *map)
{
    BDRVCowState *s = bs->opaque;
    int64_t done = 0;
    uint64_t first_host = 0;
    int ret = 0;

    qemu_co_mutex_lock(&s->lock);
    while (done < bytes) {
        int64_t in_cluster = (offset + done) & (s->cluster_size - 1);
        int64_t chunk = MIN(bytes - done, s->cluster_size - in_cluster);
        uint64_t host;

        ret = cow_lookup(bs, offset + done, &host);
        if (ret < 0) {
            break;
        }
        if (done == 0) {
            first_host = host ? host + in_cluster : 0;
        } else if ((first_host == 0) != (host == 0) ||
                   (host && host + in_cluster != first_host + done)) {
            break;      /* the status (or host contiguity) changes here */
        }
        done += chunk;
    }
    qemu_co_mutex_unlock(&s->lock);
    if (ret < 0) {
        return ret;
    }
    *pnum = done;
    if (first_host) {
        *map = first_host;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_OFFSET_VALID;
    }
    *map = 0;
    return bs->backing ? 0 : BDRV_BLOCK_ZERO;
}

/* --- opening ------------------------------------------------------------------------------- */

static int cow_probe(const uint8_t *buf, int buf_size, const char *filename)
{
    CowHeader h;

    (void)filename;
    if (buf_size < COW_HEADER_SIZE) {
        return 0;
    }
    cow_header_decode(&h, buf);
    return h.magic == COW_MAGIC ? 100 : 0;
}

static int cow_validate_header(const CowHeader *h, int64_t file_size, char **errp)
{
    CowLayout layout;
    int64_t cs;

    if (h->magic != COW_MAGIC) {
        bdrv_set_error(errp, "not a cow image (bad magic)");
        return -EINVAL;
    }
    if (h->version != COW_VERSION) {
        bdrv_set_error(errp, "unsupported cow version %" PRIu32, h->version);
        return -ENOTSUP;
    }
    if (h->cluster_bits < COW_MIN_CLUSTER_BITS || h->cluster_bits > COW_MAX_CLUSTER_BITS) {
        bdrv_set_error(errp, "invalid cluster bits %" PRIu32, h->cluster_bits);
        return -EINVAL;
    }
    cs = (int64_t)1 << h->cluster_bits;
    if (h->size > (uint64_t)INT64_MAX / 2) {
        bdrv_set_error(errp, "invalid image size");
        return -EINVAL;
    }
    cow_compute_layout((int64_t)h->size, (int)h->cluster_bits, &layout);
    if (h->l1_entries != layout.l1_entries || h->l1_offset % cs || h->refcount_offset % cs ||
        h->refcount_clusters < layout.refcount_clusters || h->l1_offset == 0 ||
        h->refcount_offset == 0 || h->l1_offset + layout.l1_clusters * cs > h->refcount_offset ||
        (int64_t)(h->refcount_offset + h->refcount_clusters * cs) > file_size) {
        bdrv_set_error(errp, "corrupt cow header: tables do not fit the image");
        return -EINVAL;
    }
    if (h->backing_name_offset &&
        (h->backing_name_len == 0 || h->backing_name_len > COW_MAX_BACKING_NAME ||
         h->backing_name_offset < COW_HEADER_SIZE ||
         h->backing_name_offset + h->backing_name_len > cs)) {
        bdrv_set_error(errp, "corrupt cow header: bad backing file name");
        return -EINVAL;
    }
    return 0;
}

/* A relative backing file name is relative to the overlay's directory. */
static char *cow_backing_path(const char *overlay, const char *backing)
{
    char *dir_copy, *path;

    if (backing[0] == '/' || strchr(backing, ':')) {
        return qemu_strdup(backing);
    }
    dir_copy = qemu_strdup(overlay);
    path = bdrv_strdup_printf("%s/%s", dirname(dir_copy), backing);
    free(dir_copy);
    return path;
}

/* Recompute the refcounts from the tables (in memory).  Returns the number
 * of referenced clusters, or a negative errno on a table that points outside
 * the refcount table (corrupt).  Native: runs at open and check time. */
static int64_t cow_rebuild_refcounts(BlockDriverState *bs, uint16_t *counts)
{
    BDRVCowState *s = bs->opaque;
    int64_t first_free = cow_first_free_cluster_after_metadata(&s->header, s->cluster_size);
    int64_t referenced = first_free;
    uint64_t *l2 = malloc(s->cluster_size);

    if (!l2) {
        return -ENOMEM;
    }
    memset(counts, 0, s->refcount_capacity * sizeof(*counts));
    for (int64_t i = 0; i < first_free; i++) {
        counts[i] = 1;
    }
    for (int64_t i = 0; i < s->header.l1_entries; i++) {
        int64_t l2_cluster = s->l1[i] >> s->cluster_bits;
        if (!s->l1[i]) {
            continue;
        }
        if (s->l1[i] & (s->cluster_size - 1) || l2_cluster >= s->refcount_capacity ||
            bdrv_pread(bs->file, s->l1[i], s->cluster_size, l2) < 0) {
            free(l2);
            return -EINVAL;
        }
        counts[l2_cluster]++;
        referenced++;
        for (int64_t j = 0; j < s->l2_entries; j++) {
            uint64_t host = le64toh(l2[j]);
            if (!host) {
                continue;
            }
            if (host & (s->cluster_size - 1) || (int64_t)(host >> s->cluster_bits) >= s->refcount_capacity) {
                free(l2);
                return -EINVAL;
            }
            counts[host >> s->cluster_bits]++;
            referenced++;
        }
    }
    free(l2);
    return referenced;
}

/* The allocation pointer: just after the last cluster in use. */
static int64_t cow_end_of_allocation(BDRVCowState *s)
{
    int64_t end = cow_first_free_cluster_after_metadata(&s->header, s->cluster_size);

    for (int64_t i = s->refcount_capacity - 1; i >= end; i--) {
        if (s->refcounts[i]) {
            return i + 1;
        }
    }
    return end;
}

static int cow_open(BlockDriverState *bs, const char *filename, int flags, char **errp)
{
    BDRVCowState *s = bs->opaque;
    uint8_t *cluster0 = NULL;
    uint8_t header_buf[COW_HEADER_SIZE];
    int64_t file_size, l1_bytes;
    int ret;

    bs->file = bdrv_open(filename, "raw", (flags & BDRV_O_RDWR) | BDRV_O_GROWABLE, errp);
    if (!bs->file) {
        return -EIO;
    }
    file_size = bdrv_getlength(bs->file);
    ret = bdrv_pread(bs->file, 0, sizeof(header_buf), header_buf);
    if (ret < 0) {
        goto fail;
    }
    cow_header_decode(&s->header, header_buf);
    ret = cow_validate_header(&s->header, file_size, errp);
    if (ret < 0) {
        goto fail;
    }
    s->cluster_bits = (int)s->header.cluster_bits;
    s->cluster_size = (int64_t)1 << s->cluster_bits;
    s->l2_entries = s->cluster_size / L2_ENTRY_SIZE;
    s->header_dirty_on_disk = s->header.flags & COW_FLAG_DIRTY;
    qemu_co_mutex_init(&s->lock);
    bs->total_sectors_bytes = (int64_t)s->header.size;

    /* Tables. */
    l1_bytes = (int64_t)s->header.l1_entries * L2_ENTRY_SIZE;
    s->l1 = calloc(s->header.l1_entries, sizeof(*s->l1));
    s->l2_cache = calloc(s->header.l1_entries, sizeof(*s->l2_cache));
    s->refcount_capacity = (int64_t)s->header.refcount_clusters * s->cluster_size / REFCOUNT_SIZE;
    s->refcounts = malloc(s->refcount_capacity * sizeof(*s->refcounts));
    s->refcount_block_dirty = calloc(s->header.refcount_clusters, sizeof(bool));
    s->l2_dirty = calloc(s->header.l1_entries, sizeof(bool));
    if (!s->l1 || !s->l2_cache || !s->refcounts || !s->refcount_block_dirty || !s->l2_dirty) {
        ret = -ENOMEM;
        goto fail;
    }
    ret = bdrv_pread(bs->file, s->header.l1_offset, l1_bytes, s->l1);
    if (ret < 0) {
        goto fail;
    }
    for (uint32_t i = 0; i < s->header.l1_entries; i++) {
        s->l1[i] = le64toh(s->l1[i]);
    }
    ret = bdrv_pread(bs->file, s->header.refcount_offset,
                     s->refcount_capacity * REFCOUNT_SIZE, s->refcounts);
    if (ret < 0) {
        goto fail;
    }
    for (int64_t i = 0; i < s->refcount_capacity; i++) {
        s->refcounts[i] = le16toh(s->refcounts[i]);
    }

    /* Not closed cleanly: the refcounts on disk may lag the tables; derive
     * them again (check looks at them as they are instead). */
    if ((s->header.flags & COW_FLAG_DIRTY) && !(flags & BDRV_O_CHECK)) {
        int64_t referenced = cow_rebuild_refcounts(bs, s->refcounts);
        if (referenced < 0) {
            bdrv_set_error(errp, "%s: corrupt tables (run 'sample-img check')", filename);
            ret = -EINVAL;
            goto fail;
        }
        for (uint32_t block = 0; block < s->header.refcount_clusters; block++) {
            s->refcount_block_dirty[block] = true;
        }
    }
    s->next_free_cluster = cow_end_of_allocation(s);

    /* Backing file. */
    if (s->header.backing_name_offset) {
        cluster0 = malloc(s->cluster_size);
        ret = bdrv_pread(bs->file, 0, s->cluster_size, cluster0);
        if (ret < 0) {
            goto fail;
        }
        s->backing_name = strndup((char *)cluster0 + s->header.backing_name_offset,
                                  s->header.backing_name_len);
        if (!(flags & BDRV_O_NO_BACKING)) {
            char *path = cow_backing_path(filename, s->backing_name);
            char *backing_err = NULL;
            int backing_flags = flags & BDRV_O_BACKING_RDWR ? BDRV_O_RDWR : 0;

            bs->backing = bdrv_open(path, NULL, backing_flags, &backing_err);
            if (!bs->backing) {
                bdrv_set_error(errp, "could not open backing file: %s",
                               backing_err ? backing_err : path);
                free(backing_err);
                free(path);
                ret = -EIO;
                goto fail;
            }
            free(path);
        }
    }
    free(cluster0);
    return 0;

fail:
    free(cluster0);
    free(s->l1);
    free(s->l2_cache);
    free(s->refcounts);
    free(s->refcount_block_dirty);
    free(s->l2_dirty);
    free(s->backing_name);
    bdrv_close(bs->file);
    bs->file = NULL;
    return ret;
}

static void cow_close(BlockDriverState *bs)
{
    BDRVCowState *s = bs->opaque;

    if (!bs->read_only) {
        /* Clean shutdown: metadata written back, dirty flag cleared.  A
         * failure (e.g. injected) leaves the image as a crash would: safe. */
        bdrv_flush(bs);
    }
    for (uint32_t i = 0; i < s->header.l1_entries; i++) {
        free(s->l2_cache[i]);
    }
    free(s->l2_cache);
    free(s->l1);
    free(s->refcounts);
    free(s->refcount_block_dirty);
    free(s->l2_dirty);
    free(s->backing_name);
}

static int cow_create(const BlockCreateOptions *opts, char **errp)
{
    int cluster_bits = opts->cluster_bits ? opts->cluster_bits : COW_DEFAULT_CLUSTER_BITS;
    BlockCreateOptions raw_opts = { .filename = opts->filename, .size = 0 };
    BlockDriverState *file;
    CowLayout layout;
    CowHeader h = { 0 };
    int64_t size = opts->size;
    uint8_t *meta;
    int64_t meta_bytes;
    int ret;

    if (cluster_bits < COW_MIN_CLUSTER_BITS || cluster_bits > COW_MAX_CLUSTER_BITS) {
        bdrv_set_error(errp, "cluster size must be 2^%d to 2^%d bytes", COW_MIN_CLUSTER_BITS,
                       COW_MAX_CLUSTER_BITS);
        return -EINVAL;
    }
    if (opts->backing_file) {
        size_t len = strlen(opts->backing_file);
        char *path = cow_backing_path(opts->filename, opts->backing_file);
        BlockDriverState *backing;

        if (len == 0 || len > COW_MAX_BACKING_NAME) {
            free(path);
            bdrv_set_error(errp, "backing file name too long");
            return -EINVAL;
        }
        backing = bdrv_open(path, opts->backing_fmt, 0, errp);
        free(path);
        if (!backing) {
            return -ENOENT;
        }
        if (size == 0) {
            size = bdrv_getlength(backing);   /* like qemu-img: default to the backing size */
        }
        bdrv_close(backing);
    }

    cow_compute_layout(size, cluster_bits, &layout);
    h.magic = COW_MAGIC;
    h.version = COW_VERSION;
    h.cluster_bits = (uint32_t)cluster_bits;
    h.size = (uint64_t)size;
    h.l1_offset = (uint64_t)layout.cluster_size;
    h.l1_entries = layout.l1_entries;
    h.refcount_offset = (uint64_t)((1 + layout.l1_clusters) * layout.cluster_size);
    h.refcount_clusters = (uint32_t)layout.refcount_clusters;
    if (opts->backing_file) {
        h.backing_name_offset = COW_HEADER_SIZE;
        h.backing_name_len = (uint32_t)strlen(opts->backing_file);
        if (h.backing_name_offset + h.backing_name_len > layout.cluster_size) {
            bdrv_set_error(errp, "backing file name does not fit in the header cluster");
            return -EINVAL;
        }
    }

    /* Header, L1 and refcount table in one buffer, written at once. */
    meta_bytes = (1 + layout.l1_clusters + layout.refcount_clusters) * layout.cluster_size;
    meta = calloc(1, meta_bytes);
    if (!meta) {
        return -ENOMEM;
    }
    cow_header_encode(&h, meta);
    if (opts->backing_file) {
        memcpy(meta + COW_HEADER_SIZE, opts->backing_file, h.backing_name_len);
    }
    for (int64_t i = 0; i < 1 + layout.l1_clusters + layout.refcount_clusters; i++) {
        uint16_t one = htole16(1);
        memcpy(meta + h.refcount_offset + i * REFCOUNT_SIZE, &one, REFCOUNT_SIZE);
    }

    ret = bdrv_create("raw", &raw_opts, errp);
    if (ret < 0) {
        free(meta);
        return ret;
    }
    file = bdrv_open(opts->filename, "raw", BDRV_O_RDWR | BDRV_O_GROWABLE, errp);
    if (!file) {
        free(meta);
        return -EIO;
    }
    ret = bdrv_pwrite(file, 0, meta_bytes, meta);
    if (ret == 0) {
        ret = bdrv_flush(file);
    }
    if (ret < 0) {
        bdrv_set_error(errp, "%s: cannot write metadata: %s", opts->filename, strerror(-ret));
    }
    bdrv_close(file);
    free(meta);
    return ret;
}

static int64_t cow_getlength(BlockDriverState *bs)
{
    BDRVCowState *s = bs->opaque;

    return (int64_t)s->header.size;
}

static int cow_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    BDRVCowState *s = bs->opaque;

    bdi->cluster_size = s->cluster_size;
    bdi->dirty = s->header.flags & COW_FLAG_DIRTY;
    bdi->version = (int)s->header.version;
    if (s->backing_name) {
        snprintf(bdi->backing_file, sizeof(bdi->backing_file), "%s", s->backing_name);
    }
    return 0;
}

/* --- check ---------------------------------------------------------------------------------- */

/* Walk the tables, count references per host cluster and compare with the
 * refcount table and the file size.
 *
 *   corruption: a table entry that is misaligned, points past the end of the
 *               file or into the fixed metadata, or a cluster referenced twice;
 *               on a clean image also a refcount below the references;
 *   leak:       a cluster in the file that nothing references (refcount > 0
 *               or not: after a crash the tail of the file holds clusters
 *               written before their table entry was); on a clean image also
 *               a refcount above the references.
 *
 * With BDRV_FIX_LEAKS the refcounts are rewritten from the tables, the file
 * is cut after the last referenced cluster and the dirty flag cleared; with
 * BDRV_FIX_ERRORS bad entries are dropped first. */
static int cow_check(BlockDriverState *bs, BdrvCheckResult *res, BdrvCheckMode mode)
{
    BDRVCowState *s = bs->opaque;
    int64_t file_size = bdrv_getlength(bs->file);
    int64_t file_clusters = div_round_up(file_size, s->cluster_size);
    int64_t metadata_end = cow_first_free_cluster_after_metadata(&s->header, s->cluster_size);
    int64_t slots = MAX(file_clusters, s->refcount_capacity);
    uint16_t *refs = calloc(slots, sizeof(*refs));
    uint64_t *l2 = malloc(s->cluster_size);
    bool dirty = s->header.flags & COW_FLAG_DIRTY;
    bool tables_changed = false;
    int64_t last_used = metadata_end - 1;
    int ret = 0;

    if (!refs || !l2) {
        free(refs);
        free(l2);
        return -ENOMEM;
    }
    for (int64_t i = 0; i < metadata_end; i++) {
        refs[i] = 1;
    }

    for (int64_t i = 0; i < s->header.l1_entries; i++) {
        uint64_t l2_offset = s->l1[i];
        int64_t l2_cluster = (int64_t)(l2_offset >> s->cluster_bits);

        if (!l2_offset) {
            continue;
        }
        if ((l2_offset & (s->cluster_size - 1)) || l2_cluster >= file_clusters ||
            l2_cluster < metadata_end || refs[l2_cluster]) {
            fprintf(stderr, "ERROR L1 entry %" PRId64 ": bad L2 table offset 0x%" PRIx64 "\n",
                    i, l2_offset);
            res->corruptions++;
            if (mode == BDRV_FIX_ERRORS) {
                s->l1[i] = 0;
                tables_changed = true;
                res->corruptions_fixed++;
            }
            continue;
        }
        refs[l2_cluster]++;
        last_used = MAX(last_used, l2_cluster);
        ret = bdrv_pread(bs->file, l2_offset, s->cluster_size, l2);
        if (ret < 0) {
            goto out;
        }
        for (int64_t j = 0; j < s->l2_entries; j++) {
            uint64_t host = le64toh(l2[j]);
            int64_t cluster = (int64_t)(host >> s->cluster_bits);

            if (!host) {
                continue;
            }
            if ((host & (s->cluster_size - 1)) || cluster >= file_clusters || cluster < metadata_end ||
                refs[cluster]) {
                fprintf(stderr, "ERROR L2 table 0x%" PRIx64 " entry %" PRId64
                        ": bad data cluster offset 0x%" PRIx64 "\n", l2_offset, j, host);
                res->corruptions++;
                if (mode == BDRV_FIX_ERRORS) {
                    uint64_t zero = 0;
                    ret = bdrv_pwrite(bs->file, l2_offset + j * L2_ENTRY_SIZE, L2_ENTRY_SIZE, &zero);
                    if (ret < 0) {
                        goto out;
                    }
                    free(s->l2_cache[i]);
                    s->l2_cache[i] = NULL;
                    res->corruptions_fixed++;
                }
                continue;
            }
            refs[cluster]++;
            res->allocated_clusters++;
            last_used = MAX(last_used, cluster);
        }
    }

    for (int64_t i = 0; i < slots; i++) {
        uint16_t stored = i < s->refcount_capacity ? s->refcounts[i] : 0;

        if (refs[i] && stored < refs[i] && !dirty) {
            /* Could be handed out again while in use. */
            fprintf(stderr, "ERROR cluster %" PRId64 ": refcount %u but %u references\n", i, stored, refs[i]);
            res->corruptions++;
        } else if (refs[i] && stored > refs[i] && !dirty) {
            fprintf(stderr, "Leaked cluster %" PRId64 " (refcount %u, %u references)\n", i, stored, refs[i]);
            res->leaks++;
        } else if (!refs[i] && (stored || i < file_clusters)) {
            fprintf(stderr, "Leaked cluster %" PRId64 " (refcount %u)\n", i, stored);
            res->leaks++;
        }
    }
    res->total_clusters = div_round_up((int64_t)s->header.size, s->cluster_size);
    res->image_end_offset = (last_used + 1) * s->cluster_size;

    if (mode != BDRV_CHECK_ONLY && !bs->read_only &&
        (res->leaks || tables_changed || dirty || res->corruptions_fixed)) {
        if (tables_changed) {
            uint64_t *l1_le = qemu_mallocz(s->header.l1_entries * sizeof(*l1_le));
            for (uint32_t i = 0; i < s->header.l1_entries; i++) {
                l1_le[i] = htole64(s->l1[i]);
            }
            ret = bdrv_pwrite(bs->file, s->header.l1_offset,
                              (int64_t)s->header.l1_entries * L2_ENTRY_SIZE, l1_le);
            free(l1_le);
            if (ret < 0) {
                goto out;
            }
        }
        /* The tables are now the truth: derive the refcounts, drop the
         * unreferenced tail, and mark the image clean (cow_co_flush). */
        if (cow_rebuild_refcounts(bs, s->refcounts) < 0) {
            ret = -EIO;
            goto out;
        }
        for (uint32_t block = 0; block < s->header.refcount_clusters; block++) {
            s->refcount_block_dirty[block] = true;
        }
        s->next_free_cluster = cow_end_of_allocation(s);
        ret = bdrv_flush(bs);
        if (ret == 0 && file_size > s->next_free_cluster * s->cluster_size) {
            ret = bdrv_truncate(bs->file, s->next_free_cluster * s->cluster_size);
        }
        if (ret < 0) {
            goto out;
        }
        res->leaks_fixed = res->leaks;
        if (mode == BDRV_FIX_ERRORS) {
            res->corruptions -= res->corruptions_fixed;
        } else {
            res->corruptions_fixed = 0;
        }
        res->leaks = 0;
    }
out:
    free(refs);
    free(l2);
    return ret;
}

BlockDriver bdrv_cow = {
    .format_name = "cow",
    .instance_size = sizeof(BDRVCowState),
    .supports_backing = true,
    .bdrv_probe = cow_probe,
    .bdrv_open = cow_open,
    .bdrv_close = cow_close,
    .bdrv_create = cow_create,
    .bdrv_getlength = cow_getlength,
    .bdrv_get_info = cow_get_info,
    .bdrv_check = cow_check,
    .bdrv_co_preadv = cow_co_preadv,
    .bdrv_co_pwritev = cow_co_pwritev,
    .bdrv_co_flush = cow_co_flush,
    .bdrv_co_block_status = cow_co_block_status,
};
