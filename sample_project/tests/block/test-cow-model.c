/*
 * test-cow-model.c — the cow format against a model: a flat array holding
 * what the guest must read.  Random sequences of writes (unaligned, across
 * clusters and L2 tables), write-zeroes, reads, flushes, clean reopens and
 * crashes are applied to both; every read, and the whole image after every
 * reopen, must match the model, and `check` must find no corruption.
 *
 * A crash (every write of the file failing from then on, then a reopen)
 * loses what was not flushed: the tables are written back at flush, so a
 * cluster allocated since the last flush reverts to its flushed contents,
 * while a cluster allocated earlier keeps every write (those went to its
 * data cluster directly).  So after a crash each cluster must equal either
 * the model or the model as of the last flush.
 */
#include "block-test.h"
#include "block/block_int.h"

#define CLUSTER_BITS 12
#define CLUSTER (1 << CLUSTER_BITS)
#define IMAGE_SIZE (3 << 20)        /* six L2 tables of 512 clusters */
#define OPS_PER_SEED 400
#define SEEDS 4

typedef struct Model {
    uint8_t *now;                   /* what the guest must read */
    uint8_t *flushed;               /* as of the last successful flush */
    uint64_t rng;
} Model;

static uint64_t next_random(Model *m)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return m->rng;
}

static int64_t random_below(Model *m, int64_t limit)
{
    return (int64_t)(next_random(m) % (uint64_t)limit);
}

static void compare_image(BlockDriverState *bs, const uint8_t *expect, const char *when, int seed, int op)
{
    uint8_t *disk = malloc(IMAGE_SIZE);

    CHECK_EQ(bdrv_pread(bs, 0, IMAGE_SIZE, disk), 0);
    for (int64_t i = 0; i < IMAGE_SIZE; i++) {
        if (disk[i] != expect[i]) {
            fprintf(stderr, "seed %d op %d (%s): offset %" PRId64 " holds 0x%02x, expected 0x%02x\n",
                    seed, op, when, i, disk[i], expect[i]);
            exit(1);
        }
    }
    free(disk);
}

static void check_clean(const char *path, int seed, int op)
{
    BlockDriverState *bs = test_open(path, "cow", BDRV_O_CHECK | BDRV_O_NO_BACKING);
    BdrvCheckResult res;

    CHECK_EQ(bdrv_check(bs, &res, BDRV_CHECK_ONLY), 0);
    if (res.corruptions) {
        fprintf(stderr, "seed %d op %d: check found %d corruptions\n", seed, op, res.corruptions);
        exit(1);
    }
    bdrv_close(bs);
}

/* After a crash: every cluster holds its current or its flushed contents. */
static void settle_after_crash(BlockDriverState *bs, Model *m, int seed, int op)
{
    uint8_t *disk = malloc(IMAGE_SIZE);

    CHECK_EQ(bdrv_pread(bs, 0, IMAGE_SIZE, disk), 0);
    for (int64_t c = 0; c < IMAGE_SIZE; c += CLUSTER) {
        if (memcmp(disk + c, m->now + c, CLUSTER) != 0 && memcmp(disk + c, m->flushed + c, CLUSTER) != 0) {
            fprintf(stderr, "seed %d op %d: after the crash, cluster at %" PRId64
                    " holds neither its last nor its flushed contents\n", seed, op, c);
            exit(1);
        }
    }
    memcpy(m->now, disk, IMAGE_SIZE);
    memcpy(m->flushed, disk, IMAGE_SIZE);   /* the state on disk is all there is now */
    free(disk);
}

static void run_seed(int seed, const char *base, const char *path)
{
    Model m = { .now = malloc(IMAGE_SIZE), .flushed = malloc(IMAGE_SIZE), .rng = 0x9E3779B97F4A7C15ULL * (seed + 1) };
    uint8_t *buf = malloc(4 * CLUSTER);
    BlockDriverState *bs;

    test_create("cow", path, IMAGE_SIZE, base, CLUSTER_BITS);
    test_fill(m.now, IMAGE_SIZE, 77);          /* the base's contents */
    memcpy(m.flushed, m.now, IMAGE_SIZE);
    bs = test_open(path, "cow", BDRV_O_RDWR);

    for (int op = 0; op < OPS_PER_SEED; op++) {
        int64_t kind = random_below(&m, 100);
        int64_t length = 1 + random_below(&m, 3 * CLUSTER);
        int64_t offset = random_below(&m, IMAGE_SIZE - length);

        if (kind < 45) {
            test_fill(buf, length, (uint32_t)(seed * 100000 + op));
            CHECK_EQ(bdrv_pwrite(bs, offset, length, buf), 0);
            memcpy(m.now + offset, buf, length);
        } else if (kind < 50) {
            CHECK_EQ(bdrv_pwrite_zeroes(bs, offset, length), 0);
            memset(m.now + offset, 0, length);
        } else if (kind < 85) {
            CHECK_EQ(bdrv_pread(bs, offset, length, buf), 0);
            if (memcmp(buf, m.now + offset, length) != 0) {
                fprintf(stderr, "seed %d op %d: read of %" PRId64 "+%" PRId64 " differs\n",
                        seed, op, offset, length);
                exit(1);
            }
        } else if (kind < 92) {
            CHECK_EQ(bdrv_flush(bs), 0);
            memcpy(m.flushed, m.now, IMAGE_SIZE);
        } else if (kind < 96) {
            bdrv_close(bs);                       /* clean: flushes */
            memcpy(m.flushed, m.now, IMAGE_SIZE);
            check_clean(path, seed, op);
            bs = test_open(path, "cow", BDRV_O_RDWR);
            compare_image(bs, m.now, "after a clean reopen", seed, op);
        } else {
            bdrv_inject_write_failure(bdrv_get_file(bs), 0);
            bdrv_close(bs);                       /* its flush fails: a crash */
            check_clean(path, seed, op);
            bs = test_open(path, "cow", BDRV_O_RDWR);
            settle_after_crash(bs, &m, seed, op);
        }
    }
    bdrv_close(bs);
    check_clean(path, seed, OPS_PER_SEED);
    bs = test_open(path, "cow", 0);
    compare_image(bs, m.now, "at the end", seed, OPS_PER_SEED);
    bdrv_close(bs);
    free(m.now);
    free(m.flushed);
    free(buf);
}

static void test_random_operations_match_the_model(void)
{
    char *base = test_path("model-base.img");
    uint8_t *contents = malloc(IMAGE_SIZE);
    BlockDriverState *bs;

    test_create("raw", base, IMAGE_SIZE, NULL, 0);
    bs = test_open(base, "raw", BDRV_O_RDWR);
    test_fill(contents, IMAGE_SIZE, 77);
    CHECK_EQ(bdrv_pwrite(bs, 0, IMAGE_SIZE, contents), 0);
    bdrv_close(bs);
    free(contents);

    for (int seed = 0; seed < SEEDS; seed++) {
        char name[32];
        char *path;

        snprintf(name, sizeof(name), "model-%d.cow", seed);
        path = test_path(name);
        run_seed(seed, base, path);
        free(path);
    }
    free(base);
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {
        { "random_operations_match_the_model", test_random_operations_match_the_model },
    };

    bdrv_init();
    return run_tests(tests, ARRAY_SIZE(tests), argc, argv);
}
