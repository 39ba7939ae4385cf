/*
 * test-cow.c — the cow overlay format: creation and the header, reads
 * through to the backing file, copy-on-write of partial clusters, requests
 * that span clusters and L2 tables, persistence, block status, commit,
 * concurrent allocating writes, and what `check` finds in damaged images.
 */
#include "block-test.h"
#include "block/block_int.h"
#include "block/cow.h"

#include <fcntl.h>

#define CLUSTER_BITS 12     /* 4 KiB clusters: 512 entries per L2 table */
#define CLUSTER 4096
#define L2_COVERS (512 * CLUSTER)

static char *make_base(const char *name, int64_t size, uint32_t seed)
{
    char *path = test_path(name);
    uint8_t *buf = malloc(size);
    BlockDriverState *bs;

    test_create("raw", path, size, NULL, 0);
    bs = test_open(path, "raw", BDRV_O_RDWR);
    test_fill(buf, size, seed);
    CHECK_EQ(bdrv_pwrite(bs, 0, size, buf), 0);
    bdrv_close(bs);
    free(buf);
    return path;
}

static void poke_u64(const char *path, int64_t offset, uint64_t value)
{
    uint64_t le = htole64(value);
    int fd = open(path, O_WRONLY);

    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, &le, sizeof(le), offset), sizeof(le));
    close(fd);
}

static uint64_t peek_u64(const char *path, int64_t offset)
{
    uint64_t le;
    int fd = open(path, O_RDONLY);

    CHECK(fd >= 0);
    CHECK_EQ(pread(fd, &le, sizeof(le), offset), sizeof(le));
    close(fd);
    return le64toh(le);
}

static BdrvCheckResult check_image(const char *path, BdrvCheckMode mode)
{
    BlockDriverState *bs = test_open(path, "cow", BDRV_O_CHECK | BDRV_O_NO_BACKING |
                                     (mode != BDRV_CHECK_ONLY ? BDRV_O_RDWR : 0));
    BdrvCheckResult res;

    CHECK_EQ(bdrv_check(bs, &res, mode), 0);
    bdrv_close(bs);
    return res;
}

static void test_create_header(void)
{
    char *path = test_path("plain.cow");
    CowHeader h;
    BlockDriverState *bs;
    BlockDriverInfo bdi;
    uint8_t buf[CLUSTER];

    test_create("cow", path, 10 << 20, NULL, CLUSTER_BITS);
    h = test_read_cow_header(path);
    CHECK_EQ(h.magic, COW_MAGIC);
    CHECK_EQ(h.version, COW_VERSION);
    CHECK_EQ(h.cluster_bits, CLUSTER_BITS);
    CHECK_EQ(h.size, 10 << 20);
    CHECK_EQ(h.l1_entries, 5);                /* 2560 clusters / 512 per table */
    CHECK_EQ(h.flags, 0);
    CHECK_EQ(h.backing_name_offset, 0);

    bs = test_open(path, NULL, BDRV_O_RDWR);   /* probed by its magic */
    CHECK_STR(bdrv_get_format_name(bs), "cow");
    CHECK_EQ(bdrv_getlength(bs), 10 << 20);
    CHECK_EQ(bdrv_get_info(bs, &bdi), 0);
    CHECK_EQ(bdi.cluster_size, CLUSTER);
    CHECK(!bdi.dirty);
    CHECK(bdrv_get_backing(bs) == NULL);
    /* Without a backing file, unallocated clusters read as zeroes. */
    memset(buf, 1, sizeof(buf));
    CHECK_EQ(bdrv_pread(bs, 5 << 20, CLUSTER, buf), 0);
    CHECK(test_all_bytes(buf, CLUSTER, 0));
    bdrv_close(bs);
    CHECK_EQ(check_image(path, BDRV_CHECK_ONLY).corruptions, 0);
    free(path);
}

static void test_bad_header_is_refused(void)
{
    char *path = test_path("bad.cow");
    char *err = NULL;

    test_create("cow", path, 1 << 20, NULL, CLUSTER_BITS);
    poke_u64(path, offsetof(CowHeader, l1_offset), 12345);
    CHECK(bdrv_open(path, "cow", 0, &err) == NULL);
    CHECK(err && strstr(err, "corrupt cow header"));
    free(err);
    err = NULL;
    poke_u64(path, 0, 0);       /* magic and version gone: no longer probed as cow */
    CHECK(bdrv_open(path, "cow", 0, &err) == NULL);
    CHECK(err && strstr(err, "bad magic"));
    free(err);
    free(path);
}

static void test_backing_read_and_cow(void)
{
    char *base = make_base("base1.img", 4 << 20, 1);
    char *path = test_path("overlay1.cow");
    uint8_t *expect = malloc(4 << 20), *buf = malloc(4 << 20), *data = malloc(3 * CLUSTER);
    BlockDriverState *bs;

    test_create("cow", path, 0, "base1.img", CLUSTER_BITS);   /* relative name, size from base */
    test_fill(expect, 4 << 20, 1);

    bs = test_open(path, NULL, BDRV_O_RDWR);
    CHECK_EQ(bdrv_getlength(bs), 4 << 20);
    CHECK(bdrv_get_backing(bs) != NULL);
    CHECK_EQ(bdrv_pread(bs, 0, 4 << 20, buf), 0);
    CHECK(memcmp(buf, expect, 4 << 20) == 0);

    /* A write in the middle of a cluster, spanning into the next two:
     * the rest of the first and last cluster must still be the base's. */
    test_fill(data, 3 * CLUSTER, 2);
    CHECK_EQ(bdrv_pwrite(bs, 10 * CLUSTER + 100, 2 * CLUSTER, data), 0);
    memcpy(expect + 10 * CLUSTER + 100, data, 2 * CLUSTER);
    /* A write across an L2 table boundary. */
    CHECK_EQ(bdrv_pwrite(bs, L2_COVERS - CLUSTER, 3 * CLUSTER, data), 0);
    memcpy(expect + L2_COVERS - CLUSTER, data, 3 * CLUSTER);
    CHECK_EQ(bdrv_pread(bs, 0, 4 << 20, buf), 0);
    CHECK(memcmp(buf, expect, 4 << 20) == 0);
    bdrv_close(bs);

    /* The base is untouched, the overlay persists. */
    bs = test_open(base, "raw", 0);
    CHECK_EQ(bdrv_pread(bs, 0, 4 << 20, buf), 0);
    CHECK(test_matches(buf, 4 << 20, 1));
    bdrv_close(bs);
    bs = test_open(path, NULL, 0);
    CHECK_EQ(bdrv_pread(bs, 0, 4 << 20, buf), 0);
    CHECK(memcmp(buf, expect, 4 << 20) == 0);
    bdrv_close(bs);
    CHECK(!test_read_cow_header(path).flags);      /* closed cleanly */
    {
        BdrvCheckResult res = check_image(path, BDRV_CHECK_ONLY);
        CHECK_EQ(res.corruptions, 0);
        CHECK_EQ(res.leaks, 0);
        CHECK_EQ(res.allocated_clusters, 6);
    }
    free(expect);
    free(buf);
    free(data);
    free(base);
    free(path);
}

static void test_shorter_backing_reads_zeroes(void)
{
    char *base = make_base("short.img", 2 * CLUSTER + 10, 5);
    char *path = test_path("longer.cow");
    uint8_t buf[4 * CLUSTER];
    BlockDriverState *bs;

    test_create("cow", path, 4 * CLUSTER, base, CLUSTER_BITS);
    bs = test_open(path, NULL, BDRV_O_RDWR);
    CHECK_EQ(bdrv_pread(bs, 0, sizeof(buf), buf), 0);
    CHECK(test_matches(buf, 2 * CLUSTER + 10, 5));
    CHECK(test_all_bytes(buf + 2 * CLUSTER + 10, sizeof(buf) - 2 * CLUSTER - 10, 0));
    /* Copy-on-write of the cluster holding the end of the base. */
    CHECK_EQ(bdrv_pwrite(bs, 3 * CLUSTER, 1, "x"), 0);
    CHECK_EQ(bdrv_pwrite(bs, 2 * CLUSTER + 20, 1, "y"), 0);
    CHECK_EQ(bdrv_pread(bs, 0, sizeof(buf), buf), 0);
    CHECK(test_matches(buf, 2 * CLUSTER + 10, 5));
    CHECK(test_all_bytes(buf + 2 * CLUSTER + 10, 10, 0));
    CHECK_EQ(buf[2 * CLUSTER + 20], 'y');
    CHECK_EQ(buf[3 * CLUSTER], 'x');
    bdrv_close(bs);
    free(base);
    free(path);
}

static void test_block_status_and_commit(void)
{
    char *base = make_base("base2.img", 1 << 20, 3);
    char *path = test_path("overlay2.cow");
    uint8_t *buf = malloc(1 << 20), *data = malloc(2 * CLUSTER);
    BlockDriverState *bs;
    int64_t pnum, map;

    test_create("cow", path, 1 << 20, base, CLUSTER_BITS);
    bs = test_open(path, NULL, BDRV_O_RDWR | BDRV_O_BACKING_RDWR);
    test_fill(data, 2 * CLUSTER, 4);
    /* The first write also creates the L2 table, the two data clusters of
     * the second one follow each other in the file. */
    CHECK_EQ(bdrv_pwrite(bs, 100 * CLUSTER, 1, data), 0);
    CHECK_EQ(bdrv_pwrite(bs, 8 * CLUSTER, 2 * CLUSTER, data), 0);

    CHECK_EQ(bdrv_block_status(bs, 0, 1 << 20, &pnum, &map), 0);      /* from the backing */
    CHECK_EQ(pnum, 8 * CLUSTER);
    CHECK_EQ(bdrv_block_status(bs, 8 * CLUSTER, 1 << 20, &pnum, &map),
             BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_OFFSET_VALID);
    CHECK_EQ(pnum, 2 * CLUSTER);      /* allocated one after the other: contiguous */
    CHECK_EQ(map % CLUSTER, 0);
    CHECK_EQ(bdrv_block_status(bs, 10 * CLUSTER, 1 << 20, &pnum, &map), 0);
    CHECK_EQ(pnum, 90 * CLUSTER);

    CHECK_EQ(bdrv_commit(bs), 0);
    bdrv_close(bs);
    bs = test_open(base, "raw", 0);
    CHECK_EQ(bdrv_pread(bs, 0, 1 << 20, buf), 0);
    CHECK(test_matches(buf, 8 * CLUSTER, 3));
    CHECK(memcmp(buf + 8 * CLUSTER, data, 2 * CLUSTER) == 0);
    CHECK_EQ(buf[100 * CLUSTER], data[0]);
    bdrv_close(bs);
    free(buf);
    free(data);
    free(base);
    free(path);
}

/* --- concurrent allocating writes --------------------------------------------------------- */

enum { SLICES = 8, SLICE = CLUSTER / SLICES, CONCURRENT_CLUSTERS = 24 };

typedef struct Concurrent {
    BlockDriverState *bs;
    int running;
    int errors;
} Concurrent;

typedef struct ConcurrentWriter {
    Concurrent *c;
    int index;
} ConcurrentWriter;

/* Every writer writes one slice of each cluster: eight writers race to
 * allocate the same cluster, and to create the same L2 table. */
static void coroutine_fn concurrent_writer(void *opaque)
{
    ConcurrentWriter *w = opaque;
    uint8_t buf[SLICE];

    for (int cluster = 0; cluster < CONCURRENT_CLUSTERS; cluster++) {
        int64_t offset = (int64_t)cluster * (L2_COVERS / 4) + w->index * SLICE;
        test_fill(buf, SLICE, (uint32_t)(cluster * SLICES + w->index));
        if (bdrv_co_pwritev(w->c->bs, offset, SLICE, buf) < 0) {
            w->c->errors++;
        }
    }
    w->c->running--;
}

static void test_concurrent_allocation(void)
{
    char *path = test_path("concurrent.cow");
    Concurrent c = { 0 };
    ConcurrentWriter writers[SLICES];
    uint8_t buf[SLICE];
    BdrvCheckResult res;

    test_create("cow", path, CONCURRENT_CLUSTERS * (L2_COVERS / 4), NULL, CLUSTER_BITS);
    c.bs = test_open(path, NULL, BDRV_O_RDWR);
    c.running = SLICES;
    for (int i = 0; i < SLICES; i++) {
        writers[i] = (ConcurrentWriter){ .c = &c, .index = i };
        qemu_coroutine_enter(qemu_coroutine_create(concurrent_writer), &writers[i]);
    }
    AIO_WAIT_WHILE(c.running > 0);
    CHECK_EQ(c.errors, 0);
    for (int cluster = 0; cluster < CONCURRENT_CLUSTERS; cluster++) {
        for (int i = 0; i < SLICES; i++) {
            int64_t offset = (int64_t)cluster * (L2_COVERS / 4) + i * SLICE;
            CHECK_EQ(bdrv_pread(c.bs, offset, SLICE, buf), 0);
            CHECK(test_matches(buf, SLICE, (uint32_t)(cluster * SLICES + i)));
        }
    }
    bdrv_close(c.bs);
    res = check_image(path, BDRV_CHECK_ONLY);
    CHECK_EQ(res.corruptions, 0);
    CHECK_EQ(res.leaks, 0);
    CHECK_EQ(res.allocated_clusters, CONCURRENT_CLUSTERS);   /* one per cluster, never two */
    free(path);
}

/* --- check on damaged images ------------------------------------------------------------- */

/* A one-cluster image with data at guest offset 0; returns the host offset
 * of its L2 table. */
static uint64_t make_one_cluster_image(const char *path)
{
    BlockDriverState *bs;
    uint8_t buf[CLUSTER];
    CowHeader h;

    test_create("cow", path, 1 << 20, NULL, CLUSTER_BITS);
    bs = test_open(path, NULL, BDRV_O_RDWR);
    test_fill(buf, CLUSTER, 9);
    CHECK_EQ(bdrv_pwrite(bs, 0, CLUSTER, buf), 0);
    bdrv_close(bs);
    h = test_read_cow_header(path);
    return peek_u64(path, (int64_t)h.l1_offset);
}

static void test_check_finds_corruption(void)
{
    char *path = test_path("corrupt.cow");
    uint64_t l2 = make_one_cluster_image(path);
    BdrvCheckResult res;

    /* An L2 entry pointing past the end of the file. */
    poke_u64(path, (int64_t)l2 + 8, (uint64_t)1 << 30);
    res = check_image(path, BDRV_CHECK_ONLY);
    CHECK_EQ(res.corruptions, 1);
    /* -r all drops the entry; the image is clean afterwards. */
    res = check_image(path, BDRV_FIX_ERRORS);
    CHECK_EQ(res.corruptions, 0);
    CHECK_EQ(res.corruptions_fixed, 1);
    res = check_image(path, BDRV_CHECK_ONLY);
    CHECK_EQ(res.corruptions, 0);
    CHECK_EQ(res.leaks, 0);
    free(path);
}

static void test_check_finds_double_reference(void)
{
    char *path = test_path("double.cow");
    uint64_t l2 = make_one_cluster_image(path);
    uint64_t data = peek_u64(path, (int64_t)l2);

    /* Two guest clusters sharing one host cluster: writing one would change
     * the other. */
    poke_u64(path, (int64_t)l2 + 8, data);
    CHECK_EQ(check_image(path, BDRV_CHECK_ONLY).corruptions, 1);
    free(path);
}

static void poke_u16(const char *path, int64_t offset, uint16_t value)
{
    uint16_t le = htole16(value);
    int fd = open(path, O_WRONLY);

    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, &le, sizeof(le), offset), sizeof(le));
    close(fd);
}

static void test_check_compares_refcounts(void)
{
    char *path = test_path("refcount.cow");
    uint64_t l2 = make_one_cluster_image(path);
    CowHeader h = test_read_cow_header(path);
    int64_t refcount_entry = (int64_t)h.refcount_offset + (int64_t)(l2 / CLUSTER) * 2;
    BdrvCheckResult res;

    /* On a clean image, a cluster in use with refcount 0 could be handed
     * out again: corruption. */
    poke_u16(path, refcount_entry, 0);
    res = check_image(path, BDRV_CHECK_ONLY);
    CHECK_EQ(res.corruptions, 1);
    CHECK_EQ(res.leaks, 0);
    /* One too many only wastes the cluster once freed: a leak. */
    poke_u16(path, refcount_entry, 2);
    res = check_image(path, BDRV_CHECK_ONLY);
    CHECK_EQ(res.corruptions, 0);
    CHECK_EQ(res.leaks, 1);
    res = check_image(path, BDRV_FIX_LEAKS);
    CHECK_EQ(res.leaks_fixed, 1);
    res = check_image(path, BDRV_CHECK_ONLY);
    CHECK_EQ(res.leaks + res.corruptions, 0);
    /* On a dirty image the refcounts are known to lag: not an error. */
    poke_u16(path, refcount_entry, 0);
    poke_u64(path, offsetof(CowHeader, cluster_bits), CLUSTER_BITS | (uint64_t)COW_FLAG_DIRTY << 32);
    CHECK(test_read_cow_header(path).flags & COW_FLAG_DIRTY);
    res = check_image(path, BDRV_CHECK_ONLY);
    CHECK_EQ(res.corruptions, 0);
    free(path);
}

static void test_check_finds_and_repairs_leaks(void)
{
    char *path = test_path("leak.cow");
    int64_t size;
    BdrvCheckResult res;
    int fd;

    make_one_cluster_image(path);
    size = test_file_size(path);
    /* Two clusters at the end of the file that nothing refers to. */
    fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    CHECK_EQ(ftruncate(fd, size + 2 * CLUSTER), 0);
    close(fd);
    res = check_image(path, BDRV_CHECK_ONLY);
    CHECK_EQ(res.corruptions, 0);
    CHECK_EQ(res.leaks, 2);
    res = check_image(path, BDRV_FIX_LEAKS);
    CHECK_EQ(res.leaks_fixed, 2);
    CHECK_EQ(test_file_size(path), size);
    res = check_image(path, BDRV_CHECK_ONLY);
    CHECK_EQ(res.leaks, 0);
    free(path);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        { "create_header", test_create_header },
        { "bad_header_is_refused", test_bad_header_is_refused },
        { "backing_read_and_cow", test_backing_read_and_cow },
        { "shorter_backing_reads_zeroes", test_shorter_backing_reads_zeroes },
        { "block_status_and_commit", test_block_status_and_commit },
        { "concurrent_allocation", test_concurrent_allocation },
        { "check_finds_corruption", test_check_finds_corruption },
        { "check_finds_double_reference", test_check_finds_double_reference },
        { "check_compares_refcounts", test_check_compares_refcounts },
        { "check_finds_and_repairs_leaks", test_check_finds_and_repairs_leaks },
    };

    bdrv_init();
    return run_tests(tests, ARRAY_SIZE(tests), argc, argv);
}
