/*
 * sample-io — issue block requests to an image from the command line, like
 * qemu-io.
 *
 *   sample-io [-f FMT] [-r] [-t LIMITS] FILE -c CMD [-c CMD]...
 *   sample-io [-f FMT] [-t LIMITS] FILE stress --workers N --ops M [--seed S]
 *             [--block-size B] [--region BLOCKS] [--write-percent P] [--no-pool]
 *
 * Commands:  read [-P PATTERN] [-q] OFF LEN     read (and verify every byte)
 *            write [-P PATTERN] [-z] [-q] OFF LEN
 *            aio_read [-P PATTERN] [-q] OFF LEN  start a request, do not wait
 *            aio_write [-P PATTERN] [-q] OFF LEN
 *            aio_flush                           wait for every started request
 *            flush
 *            length
 * Sizes take K/M/G suffixes.  FILE is a path, or mem:SIZE / null:SIZE.
 * LIMITS: iops=N,bps=SIZE[,burst=SECONDS] (a throttle group for the image).
 *
 * Stress mode runs N coroutine workers that together perform M random
 * reads and writes of whole blocks; every write fills its block with a
 * pattern unique to the block and the write, every read is checked against
 * what the block must hold.  Two workers never touch one block at once.  The
 * mode prints one line: `stress workers=N ops=M errors=E ops_per_sec=X`.
 * --no-pool switches the coroutine pool off (for benchmarks).
 *
 * Exit status: 0 success, 1 an I/O error or failed verification, 2 usage.
 */
#include "qemu/osdep.h"
#include "qemu/coroutine.h"
#include "qemu/main-loop.h"
#include "block/block.h"
#include "block/throttle.h"

#include <getopt.h>

#define MAX_COMMANDS 64
#define DEFAULT_STRESS_BLOCKS 16384

static bool failed;

static void usage_error(const char *message)
{
    fprintf(stderr, "sample-io: %s\n", message);
    fprintf(stderr, "usage: sample-io [-f FMT] [-r] [-t LIMITS] FILE -c CMD [-c CMD]...\n"
                    "       sample-io [-f FMT] [-t LIMITS] FILE stress --workers N --ops M "
                    "[--seed S] [--block-size B] [--region BLOCKS] [--write-percent P] [--no-pool]\n");
    exit(2);
}

static double now_seconds(void)
{
    return qemu_clock_get_ns() / 1e9;
}

/* --- -c commands ------------------------------------------------------------------------ */

typedef struct IoArgs {
    int pattern;          /* -1: none */
    bool zeroes;
    bool quiet;
    int64_t offset;
    int64_t length;
} IoArgs;

/* Split `cmd` into words (in place); returns the count. */
static int split_words(char *cmd, char **words, int max)
{
    int count = 0;
    char *saveptr = NULL;

    for (char *w = strtok_r(cmd, " \t", &saveptr); w && count < max; w = strtok_r(NULL, " \t", &saveptr)) {
        words[count++] = w;
    }
    return count;
}

static bool parse_io_args(const char *name, int argc, char **argv, IoArgs *args)
{
    int i = 1;

    *args = (IoArgs){ .pattern = -1 };
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-P") == 0 && i + 1 < argc) {
            char *end;
            long value = strtol(argv[++i], &end, 0);
            if (*end || value < 0 || value > 255) {
                fprintf(stderr, "%s: invalid pattern '%s'\n", name, argv[i]);
                return false;
            }
            args->pattern = (int)value;
        } else if (strcmp(argv[i], "-z") == 0) {
            args->zeroes = true;
        } else if (strcmp(argv[i], "-q") == 0) {
            args->quiet = true;
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", name, argv[i]);
            return false;
        }
    }
    if (argc - i != 2) {
        fprintf(stderr, "%s: expected OFFSET LENGTH\n", name);
        return false;
    }
    args->offset = qemu_parse_size(argv[i]);
    args->length = qemu_parse_size(argv[i + 1]);
    if (args->offset < 0 || args->length < 0) {
        fprintf(stderr, "%s: invalid offset or length\n", name);
        return false;
    }
    return true;
}

/* Every byte must be `pattern`; reports the first mismatch. */
static bool verify_pattern(const uint8_t *buf, int64_t offset, int64_t length, int pattern)
{
    for (int64_t i = 0; i < length; i++) {
        if (buf[i] != pattern) {
            printf("Pattern verification failed at offset %" PRId64 ", %" PRId64 " bytes "
                   "(found 0x%02x, expected 0x%02x)\n", offset + i, length, buf[i], pattern);
            return false;
        }
    }
    return true;
}

static void print_done(const char *what, const IoArgs *args, double seconds)
{
    if (args->quiet) {
        return;
    }
    printf("%s %" PRId64 "/%" PRId64 " bytes at offset %" PRId64 "\n", what, args->length,
           args->length, args->offset);
    printf("%.6f sec\n", seconds);
}

typedef struct AioCommand {
    IoArgs args;
    bool is_write;
    uint8_t *buf;
    double start;
} AioCommand;

static unsigned aio_outstanding;

static void aio_done(void *opaque, int ret)
{
    AioCommand *cmd = opaque;

    aio_outstanding--;
    if (ret < 0) {
        printf("aio_%s failed: %s\n", cmd->is_write ? "write" : "read", strerror(-ret));
        failed = true;
    } else {
        if (!cmd->is_write && cmd->args.pattern >= 0 &&
            !verify_pattern(cmd->buf, cmd->args.offset, cmd->args.length, cmd->args.pattern)) {
            failed = true;
        }
        print_done(cmd->is_write ? "wrote" : "read", &cmd->args, now_seconds() - cmd->start);
    }
    free(cmd->buf);
    free(cmd);
}

static void run_command(BlockDriverState *bs, const char *text)
{
    char *copy = qemu_strdup(text);
    char *argv[16];
    int argc = split_words(copy, argv, ARRAY_SIZE(argv));
    IoArgs args;
    double start = now_seconds();
    int ret;

    if (argc == 0) {
        free(copy);
        return;
    }
    if (strcmp(argv[0], "read") == 0 || strcmp(argv[0], "write") == 0) {
        bool is_write = argv[0][0] == 'w';
        uint8_t *buf;

        if (!parse_io_args(argv[0], argc, argv, &args)) {
            failed = true;
            goto out;
        }
        buf = qemu_malloc(args.length ? args.length : 1);
        if (is_write) {
            if (args.zeroes) {
                ret = bdrv_pwrite_zeroes(bs, args.offset, args.length);
            } else {
                memset(buf, args.pattern >= 0 ? args.pattern : 0xcd, args.length);
                ret = bdrv_pwrite(bs, args.offset, args.length, buf);
            }
        } else {
            ret = bdrv_pread(bs, args.offset, args.length, buf);
        }
        if (ret < 0) {
            printf("%s failed: %s\n", argv[0], strerror(-ret));
            failed = true;
        } else {
            if (!is_write && args.pattern >= 0 &&
                !verify_pattern(buf, args.offset, args.length, args.pattern)) {
                failed = true;
            }
            print_done(is_write ? "wrote" : "read", &args, now_seconds() - start);
        }
        free(buf);
    } else if (strcmp(argv[0], "aio_read") == 0 || strcmp(argv[0], "aio_write") == 0) {
        AioCommand *cmd = qemu_mallocz(sizeof(*cmd));

        if (!parse_io_args(argv[0], argc, argv, &cmd->args)) {
            free(cmd);
            failed = true;
            goto out;
        }
        cmd->is_write = argv[0][4] == 'w';
        cmd->start = start;
        cmd->buf = qemu_malloc(cmd->args.length ? cmd->args.length : 1);
        aio_outstanding++;
        if (cmd->is_write) {
            memset(cmd->buf, cmd->args.pattern >= 0 ? cmd->args.pattern : 0xcd, cmd->args.length);
            bdrv_aio_pwritev(bs, cmd->args.offset, cmd->args.length, cmd->buf, aio_done, cmd);
        } else {
            bdrv_aio_preadv(bs, cmd->args.offset, cmd->args.length, cmd->buf, aio_done, cmd);
        }
    } else if (strcmp(argv[0], "aio_flush") == 0) {
        AIO_WAIT_WHILE(aio_outstanding > 0);
    } else if (strcmp(argv[0], "flush") == 0) {
        ret = bdrv_flush(bs);
        if (ret < 0) {
            printf("flush failed: %s\n", strerror(-ret));
            failed = true;
        }
    } else if (strcmp(argv[0], "length") == 0) {
        printf("%" PRId64 "\n", bdrv_getlength(bs));
    } else {
        printf("unknown command '%s'\n", argv[0]);
        failed = true;
    }
out:
    free(copy);
}

/* --- stress mode ------------------------------------------------------------------------- */

typedef struct StressState {
    BlockDriverState *bs;
    int64_t block_size;
    int64_t blocks;             /* blocks in the exercised region */
    uint64_t *expected;         /* per block: hash of what it must hold */
    uint32_t *generation;       /* per block: writes so far */
    bool *busy;                 /* per block: a worker is on it */
    int64_t ops;
    int64_t ops_started;
    int64_t errors;
    int write_percent;
    uint64_t rng;
    unsigned running;
} StressState;

typedef struct StressWorker {
    StressState *st;
    Coroutine *co;
    QEMUBH *bh;                 /* re-enters the worker from the loop */
    uint8_t *buf;
} StressWorker;

static uint64_t next_random(StressState *st)
{
    /* xorshift64*: deterministic for a given --seed. */
    st->rng ^= st->rng >> 12;
    st->rng ^= st->rng << 25;
    st->rng ^= st->rng >> 27;
    return st->rng * 0x2545F4914F6CDD1DULL;
}

/* A 64-bit digest of the block, a word at a time: verification must stay
 * cheap next to the requests, or it hides what the stress mode measures. */
static uint64_t hash_bytes(const uint8_t *buf, int64_t length)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)length;
    int64_t i = 0;

    for (; i + 8 <= length; i += 8) {
        uint64_t word;
        memcpy(&word, buf + i, 8);
        h = (h ^ word) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < length; i++) {
        h = (h ^ buf[i]) * 0x100000001b3ULL;
    }
    return h;
}

/* The contents of `block` after its `generation`-th write: differs from
 * block to block and from write to write, and within the block, so a read
 * of the wrong place or of stale data shows. */
static void fill_pattern(uint8_t *buf, int64_t length, int64_t block, uint32_t generation)
{
    uint64_t seed = (uint64_t)block * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)generation << 32 | 0x5bd1e995);

    for (int64_t i = 0; i < length; i += 8) {
        uint64_t word = (seed + (uint64_t)i) * 0xff51afd7ed558ccdULL;
        memcpy(buf + i, &word, MIN(8, length - i));
    }
}

static int64_t stress_pick_block(StressState *st)
{
    int64_t block = (int64_t)(next_random(st) % (uint64_t)st->blocks);

    /* There are more blocks than workers, so a free one exists. */
    while (st->busy[block]) {
        block = (block + 1) % st->blocks;
    }
    return block;
}

static void stress_bh(void *opaque)
{
    StressWorker *w = opaque;

    qemu_coroutine_enter(w->co, w);
}

/* Let the other workers run before the next request, even when the driver
 * completed this one without waiting. */
static void coroutine_fn stress_yield_to_loop(StressWorker *w)
{
    qemu_bh_schedule(w->bh);
    qemu_coroutine_yield();
}

static void coroutine_fn stress_worker(void *opaque)
{
    StressWorker *w = opaque;
    StressState *st = w->st;

    while (st->ops_started < st->ops) {
        int64_t block = stress_pick_block(st);
        int64_t offset = block * st->block_size;
        bool is_write = (int)(next_random(st) % 100) < st->write_percent;
        int ret;

        st->ops_started++;
        st->busy[block] = true;
        if (is_write) {
            uint32_t generation = st->generation[block] + 1;
            fill_pattern(w->buf, st->block_size, block, generation);
            ret = bdrv_co_pwritev(st->bs, offset, st->block_size, w->buf);
            if (ret < 0) {
                fprintf(stderr, "stress: write at %" PRId64 " failed: %s\n", offset, strerror(-ret));
                st->errors++;
            } else {
                st->generation[block] = generation;
                st->expected[block] = hash_bytes(w->buf, st->block_size);
            }
        } else {
            ret = bdrv_co_preadv(st->bs, offset, st->block_size, w->buf);
            if (ret < 0) {
                fprintf(stderr, "stress: read at %" PRId64 " failed: %s\n", offset, strerror(-ret));
                st->errors++;
            } else if (hash_bytes(w->buf, st->block_size) != st->expected[block]) {
                fprintf(stderr, "stress: block %" PRId64 " (offset %" PRId64 ") does not hold "
                        "what was written last (generation %" PRIu32 ")\n",
                        block, offset, st->generation[block]);
                st->errors++;
            }
        }
        st->busy[block] = false;
        stress_yield_to_loop(w);
    }
    st->running--;
}

static long parse_count(const char *option, const char *text, long min)
{
    char *end;
    long value = strtol(text, &end, 0);

    if (*end || value < min) {
        fprintf(stderr, "sample-io: invalid value '%s' for %s\n", text, option);
        exit(2);
    }
    return value;
}

static int run_stress(BlockDriverState *bs, int argc, char **argv)
{
    static const struct option options[] = {
        { "workers", required_argument, NULL, 'w' },
        { "ops", required_argument, NULL, 'n' },
        { "seed", required_argument, NULL, 's' },
        { "block-size", required_argument, NULL, 'b' },
        { "region", required_argument, NULL, 'R' },
        { "write-percent", required_argument, NULL, 'p' },
        { "no-pool", no_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    StressState st = { .bs = bs, .block_size = 4096, .write_percent = 50, .rng = 1 };
    long workers = 16;
    int64_t region = 0;
    int64_t length = bdrv_getlength(bs);
    StressWorker *pool;
    const int64_t chunk = 1 << 20;
    uint8_t *scan;
    double start, elapsed;
    int opt;

    st.ops = 1000;
    optind = 0;     /* re-initialise getopt: argv[0] is "stress" */
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'w': workers = parse_count("--workers", optarg, 1); break;
        case 'n': st.ops = parse_count("--ops", optarg, 0); break;
        case 's': st.rng = (uint64_t)parse_count("--seed", optarg, 0) * 2654435761ULL + 1; break;
        case 'b': st.block_size = qemu_parse_size(optarg); break;
        case 'R': region = parse_count("--region", optarg, 1); break;
        case 'p': st.write_percent = (int)parse_count("--write-percent", optarg, 0); break;
        case 'P': qemu_coroutine_set_pool_enabled(false); break;
        default: usage_error("bad stress option");
        }
    }
    if (optind != argc) {
        usage_error("unexpected stress argument");
    }
    if (st.block_size <= 0 || st.block_size > chunk || st.write_percent > 100) {
        usage_error("invalid --block-size or --write-percent");
    }
    /* By default the first 16384 blocks: a region the initial scan reads
     * quickly and the workers revisit often enough to verify their writes. */
    st.blocks = MIN(length / st.block_size, region > 0 ? region : DEFAULT_STRESS_BLOCKS);
    if (st.blocks <= workers) {
        fprintf(stderr, "sample-io: the image needs more blocks (%" PRId64 ") than workers (%ld)\n",
                st.blocks, workers);
        return 2;
    }
    st.expected = qemu_mallocz(st.blocks * sizeof(*st.expected));
    st.generation = qemu_mallocz(st.blocks * sizeof(*st.generation));
    st.busy = qemu_mallocz(st.blocks * sizeof(*st.busy));

    /* What the region holds now: any earlier contents are fine, as long as
     * they stay until overwritten. */
    scan = qemu_malloc(chunk);
    for (int64_t offset = 0; offset < st.blocks * st.block_size; offset += chunk) {
        int64_t bytes = MIN(chunk, st.blocks * st.block_size - offset);
        int ret = bdrv_pread(bs, offset, bytes, scan);
        if (ret < 0) {
            fprintf(stderr, "sample-io: reading the region failed: %s\n", strerror(-ret));
            return 1;
        }
        for (int64_t i = 0; i < bytes; i += st.block_size) {
            st.expected[(offset + i) / st.block_size] = hash_bytes(scan + i, st.block_size);
        }
    }
    free(scan);

    /* On stderr, so that stdout stays the one result line: a harness may
     * wait for this before it, say, kills the process mid-round. */
    fprintf(stderr, "stress: %" PRId64 " blocks of %" PRId64 " bytes, %ld workers starting\n", st.blocks,
            st.block_size, workers);
    fflush(stderr);
    pool = qemu_mallocz(workers * sizeof(*pool));
    start = now_seconds();
    st.running = (unsigned)workers;
    for (long i = 0; i < workers; i++) {
        pool[i].st = &st;
        pool[i].buf = qemu_malloc(st.block_size);
        pool[i].bh = qemu_bh_new(stress_bh, &pool[i]);
        pool[i].co = qemu_coroutine_create(stress_worker);
    }
    for (long i = 0; i < workers; i++) {
        qemu_coroutine_enter(pool[i].co, &pool[i]);
    }
    AIO_WAIT_WHILE(st.running > 0);
    elapsed = now_seconds() - start;

    printf("stress workers=%ld ops=%" PRId64 " errors=%" PRId64 " ops_per_sec=%.0f\n", workers, st.ops,
           st.errors, elapsed > 0 ? st.ops / elapsed : 0.0);
    for (long i = 0; i < workers; i++) {
        qemu_bh_delete(pool[i].bh);
        free(pool[i].buf);
    }
    free(pool);
    free(st.expected);
    free(st.generation);
    free(st.busy);
    return st.errors ? 1 : 0;
}

/* --- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *fmt = NULL, *limits_spec = NULL;
    const char *commands[MAX_COMMANDS];
    int ncommands = 0, flags = BDRV_O_RDWR, status;
    BlockDriverState *bs;
    char *err = NULL;
    int opt;

    /* Options stop at the first non-option (FILE): the stress mode has its own. */
    while ((opt = getopt(argc, argv, "+f:rt:c:h")) != -1) {
        switch (opt) {
        case 'f': fmt = optarg; break;
        case 'r': flags &= ~BDRV_O_RDWR; break;
        case 't': limits_spec = optarg; break;
        case 'c':
            if (ncommands == MAX_COMMANDS) {
                usage_error("too many -c commands");
            }
            commands[ncommands++] = optarg;
            break;
        default: usage_error("bad option");
        }
    }
    if (optind >= argc) {
        usage_error("missing FILE");
    }
    bdrv_init();
    bs = bdrv_open(argv[optind], fmt, flags, &err);
    if (!bs) {
        fprintf(stderr, "sample-io: %s\n", err ? err : "cannot open image");
        free(err);
        return 1;
    }
    if (limits_spec) {
        ThrottleLimits limits;
        if (!throttle_parse_limits(limits_spec, &limits)) {
            usage_error("invalid -t limits (iops=N,bps=SIZE[,burst=SECONDS])");
        }
        bdrv_set_throttle_group(bs, throttle_group_get("sample-io", &limits));
    }

    /* Remaining words: more -c commands after FILE, or the stress mode. */
    optind++;
    if (optind < argc && strcmp(argv[optind], "stress") == 0) {
        if (ncommands) {
            usage_error("stress does not combine with -c");
        }
        status = run_stress(bs, argc - optind, argv + optind);
        bdrv_close(bs);
        return status;
    }
    for (; optind < argc; optind++) {
        const char *arg = argv[optind];
        if (ncommands == MAX_COMMANDS) {
            usage_error("too many -c commands");
        }
        if (strcmp(arg, "-c") == 0 && optind + 1 < argc) {
            commands[ncommands++] = argv[++optind];
        } else if (strncmp(arg, "-c", 2) == 0 && arg[2]) {
            commands[ncommands++] = arg + 2;
        } else {
            usage_error("unexpected argument after FILE");
        }
    }
    for (int i = 0; i < ncommands; i++) {
        run_command(bs, commands[i]);
    }
    AIO_WAIT_WHILE(aio_outstanding > 0);
    bdrv_close(bs);
    return failed ? 1 : 0;
}
