/*
 * block-test.c — see block-test.h.
 */
#include "block-test.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

static char *scratch_dir;

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void remove_scratch_dir(void)
{
    if (scratch_dir) {
        nftw(scratch_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

const char *test_dir(void)
{
    if (!scratch_dir) {
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        scratch_dir = bdrv_strdup_printf("%s/block-test.XXXXXX", base);
        CHECK(mkdtemp(scratch_dir) != NULL);
        atexit(remove_scratch_dir);
    }
    return scratch_dir;
}

char *test_path(const char *name)
{
    return bdrv_strdup_printf("%s/%s", test_dir(), name);
}

BlockDriverState *test_open(const char *filename, const char *fmt, int flags)
{
    char *err = NULL;
    BlockDriverState *bs = bdrv_open(filename, fmt, flags, &err);

    if (!bs) {
        fprintf(stderr, "cannot open %s: %s\n", filename, err ? err : "?");
        exit(1);
    }
    return bs;
}

void test_create(const char *fmt, const char *filename, int64_t size, const char *backing,
                 int cluster_bits)
{
    BlockCreateOptions opts = {
        .filename = filename, .size = size, .backing_file = backing, .cluster_bits = cluster_bits,
    };
    char *err = NULL;

    if (bdrv_create(fmt, &opts, &err) < 0) {
        fprintf(stderr, "cannot create %s: %s\n", filename, err ? err : "?");
        exit(1);
    }
}

void test_copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ssize_t n;

    CHECK(in >= 0 && out >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        CHECK(write(out, buf, n) == n);
    }
    CHECK(n == 0);
    close(in);
    close(out);
}

int64_t test_file_size(const char *filename)
{
    struct stat st;

    CHECK(stat(filename, &st) == 0);
    return st.st_size;
}

static uint8_t pattern_byte(uint32_t seed, int64_t i)
{
    uint32_t x = seed * 0x9E3779B1u + (uint32_t)i * 0x85EBCA6Bu + (uint32_t)(i >> 32);

    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    return (uint8_t)(x >> 24);
}

void test_fill(uint8_t *buf, int64_t length, uint32_t seed)
{
    for (int64_t i = 0; i < length; i++) {
        buf[i] = pattern_byte(seed, i);
    }
}

bool test_matches(const uint8_t *buf, int64_t length, uint32_t seed)
{
    for (int64_t i = 0; i < length; i++) {
        if (buf[i] != pattern_byte(seed, i)) {
            return false;
        }
    }
    return true;
}

bool test_all_bytes(const uint8_t *buf, int64_t length, uint8_t value)
{
    for (int64_t i = 0; i < length; i++) {
        if (buf[i] != value) {
            return false;
        }
    }
    return true;
}

typedef struct CoroutineRun {
    CoroutineEntry *entry;
    void *opaque;
    bool done;
} CoroutineRun;

static void coroutine_fn run_entry(void *opaque)
{
    CoroutineRun *run = opaque;

    run->entry(run->opaque);
    run->done = true;
}

void test_run_coroutine(CoroutineEntry *entry, void *opaque)
{
    CoroutineRun run = { .entry = entry, .opaque = opaque };

    qemu_coroutine_enter(qemu_coroutine_create(run_entry), &run);
    AIO_WAIT_WHILE(!run.done);
}

CowHeader test_read_cow_header(const char *path)
{
    uint8_t buf[COW_HEADER_SIZE];
    CowHeader h;
    int fd = open(path, O_RDONLY);

    CHECK(fd >= 0);
    CHECK_EQ(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
    close(fd);
    cow_header_decode(&h, buf);
    return h;
}
