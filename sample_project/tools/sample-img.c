/*
 * sample-img — create, inspect, check, convert and commit images, like
 * qemu-img.
 *
 *   sample-img create -f FMT [-b BACKING [-F BACKING_FMT]] [-o cluster_size=SIZE] FILE [SIZE]
 *   sample-img info [-f FMT] FILE
 *   sample-img check [-f FMT] [-r leaks|all] FILE
 *   sample-img convert [-f FMT] -O OUTPUT_FMT [-o cluster_size=SIZE] SOURCE DEST
 *   sample-img commit [-f FMT] FILE
 *   sample-img map [-f FMT] FILE
 *
 * Exit status: 0 success; 1 failure; 2 usage error, or `check` found
 * corruption; 3 `check` found leaked clusters only.
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "block/block.h"

#include <getopt.h>

#define COPY_CHUNK (1 << 20)

static void die_usage(const char *message)
{
    fprintf(stderr, "sample-img: %s\n", message);
    fprintf(stderr,
            "usage: sample-img create -f FMT [-b BACKING [-F BACKING_FMT]] [-o cluster_size=SIZE] FILE [SIZE]\n"
            "       sample-img info [-f FMT] FILE\n"
            "       sample-img check [-f FMT] [-r leaks|all] FILE\n"
            "       sample-img convert [-f FMT] -O OUTPUT_FMT [-o cluster_size=SIZE] SOURCE DEST\n"
            "       sample-img commit [-f FMT] FILE\n"
            "       sample-img map [-f FMT] FILE\n");
    exit(2);
}

static int fail(char *err, const char *fallback)
{
    fprintf(stderr, "sample-img: %s\n", err ? err : fallback);
    free(err);
    return 1;
}

/* "-o cluster_size=64K": the cluster bits, or -1. */
static int parse_create_options(const char *spec)
{
    int64_t size;
    int bits = 0;

    if (strncmp(spec, "cluster_size=", 13) != 0) {
        return -1;
    }
    size = qemu_parse_size(spec + 13);
    if (size <= 0 || (size & (size - 1))) {
        return -1;
    }
    while (((int64_t)1 << bits) < size) {
        bits++;
    }
    return bits;
}

static void print_size(const char *label, int64_t bytes)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double value = (double)bytes;
    size_t unit = 0;

    while (value >= 1024 && unit + 1 < ARRAY_SIZE(units)) {
        value /= 1024;
        unit++;
    }
    printf("%s: %.3g %s (%" PRId64 " bytes)\n", label, value, units[unit], bytes);
}

static BlockDriverState *open_image(const char *filename, const char *fmt, int flags)
{
    char *err = NULL;
    BlockDriverState *bs = bdrv_open(filename, fmt, flags, &err);

    if (!bs) {
        fail(err, "cannot open image");
    }
    return bs;
}

/* --- create -------------------------------------------------------------------------------- */

static int cmd_create(int argc, char **argv)
{
    BlockCreateOptions opts = { 0 };
    const char *fmt = "raw";
    char *err = NULL;
    int opt;

    while ((opt = getopt(argc, argv, "f:b:F:o:")) != -1) {
        switch (opt) {
        case 'f': fmt = optarg; break;
        case 'b': opts.backing_file = optarg; break;
        case 'F': opts.backing_fmt = optarg; break;
        case 'o':
            opts.cluster_bits = parse_create_options(optarg);
            if (opts.cluster_bits < 0) {
                die_usage("invalid -o (expected cluster_size=POWER_OF_TWO)");
            }
            break;
        default: die_usage("bad create option");
        }
    }
    if (optind >= argc || argc - optind > 2) {
        die_usage("create: expected FILE [SIZE]");
    }
    opts.filename = argv[optind];
    if (argc - optind == 2) {
        opts.size = qemu_parse_size(argv[optind + 1]);
        if (opts.size < 0) {
            die_usage("invalid size");
        }
    } else if (!opts.backing_file) {
        die_usage("create: SIZE is needed without a backing file");
    }
    if (bdrv_create(fmt, &opts, &err) < 0) {
        return fail(err, "cannot create image");
    }
    if (opts.size == 0 && opts.backing_file) {
        /* The size was taken from the backing file: report the real one. */
        BlockDriverState *bs = open_image(opts.filename, fmt, BDRV_O_NO_BACKING);
        if (!bs) {
            return 1;
        }
        opts.size = bdrv_getlength(bs);
        bdrv_close(bs);
    }
    printf("Formatting '%s', fmt=%s size=%" PRId64 "%s%s\n", opts.filename, fmt, opts.size,
           opts.backing_file ? " backing_file=" : "", opts.backing_file ? opts.backing_file : "");
    return 0;
}

/* --- info ---------------------------------------------------------------------------------- */

static int cmd_info(const char *fmt, const char *filename)
{
    BlockDriverState *bs = open_image(filename, fmt, BDRV_O_NO_BACKING);
    BlockDriverInfo bdi;
    int64_t allocated;

    if (!bs) {
        return 1;
    }
    bdrv_get_info(bs, &bdi);
    printf("image: %s\n", filename);
    printf("file format: %s\n", bdrv_get_format_name(bs));
    print_size("virtual size", bdrv_getlength(bs));
    allocated = bdrv_get_allocated_file_size(bs);
    if (allocated >= 0) {
        print_size("disk size", allocated);
    }
    if (bdi.cluster_size) {
        printf("cluster_size: %" PRId64 "\n", bdi.cluster_size);
    }
    if (bdi.version) {
        printf("version: %d\n", bdi.version);
        printf("dirty: %s\n", bdi.dirty ? "yes" : "no");
    }
    if (bdi.backing_file[0]) {
        printf("backing file: %s\n", bdi.backing_file);
    }
    bdrv_close(bs);
    /* Where the name leads, from a second open that follows it. */
    if (bdi.backing_file[0]) {
        bs = open_image(filename, fmt, 0);
        if (!bs) {
            return 1;
        }
        printf("backing file path: %s\n", bdrv_get_filename(bdrv_get_backing(bs)));
        printf("backing file format: %s\n", bdrv_get_format_name(bdrv_get_backing(bs)));
        bdrv_close(bs);
    }
    return 0;
}

/* --- check --------------------------------------------------------------------------------- */

static int cmd_check(const char *fmt, const char *filename, BdrvCheckMode mode)
{
    int flags = BDRV_O_CHECK | BDRV_O_NO_BACKING | (mode != BDRV_CHECK_ONLY ? BDRV_O_RDWR : 0);
    BlockDriverState *bs;
    BdrvCheckResult res;
    char *err = NULL;
    int ret;

    bs = bdrv_open(filename, fmt, flags, &err);
    if (!bs) {
        /* A header that does not even open is corrupt metadata. */
        fprintf(stderr, "sample-img: %s\n", err ? err : "cannot open image");
        free(err);
        return 2;
    }
    ret = bdrv_check(bs, &res, mode);
    if (ret == -ENOTSUP) {
        printf("No metadata to check: format '%s' keeps none.\n", bdrv_get_format_name(bs));
        bdrv_close(bs);
        return 0;
    }
    if (ret < 0) {
        fprintf(stderr, "sample-img: check failed: %s\n", strerror(-ret));
        bdrv_close(bs);
        return 1;
    }
    if (res.leaks_fixed || res.corruptions_fixed) {
        printf("Repaired: %d leaked clusters, %d corruptions.\n", res.leaks_fixed, res.corruptions_fixed);
    }
    if (res.corruptions) {
        printf("\n%d errors were found on the image.\n"
               "Data may be corrupted, or further writes to the image may corrupt it.\n", res.corruptions);
    }
    if (res.leaks) {
        printf("\n%d leaked clusters were found on the image.\n"
               "This means waste of disk space, but no harm to data.\n", res.leaks);
    }
    if (!res.corruptions && !res.leaks) {
        printf("No errors were found on the image.\n");
    }
    if (res.total_clusters) {
        printf("%" PRId64 "/%" PRId64 " = %.2f%% allocated\n", res.allocated_clusters,
               res.total_clusters, 100.0 * res.allocated_clusters / res.total_clusters);
    }
    printf("Image end offset: %" PRId64 "\n", res.image_end_offset);
    bdrv_close(bs);
    return res.corruptions ? 2 : res.leaks ? 3 : 0;
}

/* --- convert ------------------------------------------------------------------------------- */

static bool all_zero(const uint8_t *buf, int64_t length)
{
    for (int64_t i = 0; i < length; i++) {
        if (buf[i]) {
            return false;
        }
    }
    return true;
}

static int cmd_convert(const char *fmt, const char *out_fmt, int cluster_bits, const char *source,
                       const char *dest)
{
    BlockDriverState *src = open_image(source, fmt, 0), *dst;
    BlockCreateOptions opts = { .filename = dest, .cluster_bits = cluster_bits };
    char *err = NULL;
    uint8_t *buf;
    int64_t length;
    int ret = 0;

    if (!src) {
        return 1;
    }
    length = bdrv_getlength(src);
    opts.size = length;
    if (bdrv_create(out_fmt, &opts, &err) < 0) {
        bdrv_close(src);
        return fail(err, "cannot create the destination");
    }
    dst = open_image(dest, out_fmt, BDRV_O_RDWR);
    if (!dst) {
        bdrv_close(src);
        return 1;
    }
    buf = qemu_malloc(COPY_CHUNK);
    for (int64_t offset = 0; offset < length && ret >= 0; offset += COPY_CHUNK) {
        int64_t bytes = MIN(COPY_CHUNK, length - offset);
        ret = bdrv_pread(src, offset, bytes, buf);
        /* The new image reads as zeroes already: keep it sparse. */
        if (ret >= 0 && !all_zero(buf, bytes)) {
            ret = bdrv_pwrite(dst, offset, bytes, buf);
        }
    }
    if (ret >= 0) {
        ret = bdrv_flush(dst);
    }
    free(buf);
    bdrv_close(dst);
    bdrv_close(src);
    if (ret < 0) {
        fprintf(stderr, "sample-img: convert failed: %s\n", strerror(-ret));
        return 1;
    }
    return 0;
}

/* --- commit -------------------------------------------------------------------------------- */

static int cmd_commit(const char *fmt, const char *filename)
{
    BlockDriverState *bs = open_image(filename, fmt, BDRV_O_RDWR | BDRV_O_BACKING_RDWR);
    int ret;

    if (!bs) {
        return 1;
    }
    if (!bdrv_get_backing(bs)) {
        fprintf(stderr, "sample-img: %s has no backing file to commit to\n", filename);
        bdrv_close(bs);
        return 1;
    }
    ret = bdrv_commit(bs);
    bdrv_close(bs);
    if (ret < 0) {
        fprintf(stderr, "sample-img: commit failed: %s\n", strerror(-ret));
        return 1;
    }
    printf("Image committed.\n");
    return 0;
}

/* --- map ----------------------------------------------------------------------------------- */

typedef struct MapExtent {
    int64_t offset, length, host;
    bool data;
    bool zero;
    BlockDriverState *layer;    /* NULL: zero, defined by no layer */
} MapExtent;

/* Which layer of the chain defines the range at `offset` and how. */
static int map_status(BlockDriverState *bs, int64_t offset, int64_t bytes, MapExtent *e)
{
    for (BlockDriverState *layer = bs; layer; layer = bdrv_get_backing(layer)) {
        int64_t pnum, host;
        int64_t layer_length = bdrv_getlength(layer);
        int status;

        if (offset >= layer_length) {
            break;     /* a shorter backing file reads as zeroes there */
        }
        status = bdrv_block_status(layer, offset, MIN(bytes, layer_length - offset), &pnum, &host);
        if (status < 0) {
            return status;
        }
        bytes = pnum;
        if (status & (BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_ZERO)) {
            *e = (MapExtent){
                .offset = offset, .length = pnum, .data = status & BDRV_BLOCK_DATA,
                .zero = !(status & BDRV_BLOCK_DATA), .layer = layer,
                .host = status & BDRV_BLOCK_OFFSET_VALID ? host : -1,
            };
            return 0;
        }
    }
    *e = (MapExtent){ .offset = offset, .length = bytes, .zero = true, .host = -1 };
    return 0;
}

static int cmd_map(const char *fmt, const char *filename)
{
    BlockDriverState *bs = open_image(filename, fmt, 0);
    int64_t length, offset = 0;
    MapExtent pending = { 0 };
    bool have_pending = false;

    if (!bs) {
        return 1;
    }
    length = bdrv_getlength(bs);
    printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    while (offset < length) {
        MapExtent e;
        int ret = map_status(bs, offset, length - offset, &e);

        if (ret < 0) {
            fprintf(stderr, "sample-img: map failed: %s\n", strerror(-ret));
            bdrv_close(bs);
            return 1;
        }
        /* Merge with the previous extent when it continues it exactly. */
        if (have_pending && pending.layer == e.layer && pending.data == e.data &&
            (pending.host < 0 ? e.host < 0 : e.host == pending.host + pending.length)) {
            pending.length += e.length;
        } else {
            if (have_pending && pending.data) {
                printf("0x%-14" PRIx64 "0x%-14" PRIx64 "0x%-14" PRIx64 "%s\n", pending.offset,
                       pending.length, pending.host < 0 ? pending.offset : pending.host,
                       bdrv_get_filename(pending.layer));
            }
            pending = e;
            have_pending = true;
        }
        offset += e.length;
    }
    if (have_pending && pending.data) {
        printf("0x%-14" PRIx64 "0x%-14" PRIx64 "0x%-14" PRIx64 "%s\n", pending.offset, pending.length,
               pending.host < 0 ? pending.offset : pending.host, bdrv_get_filename(pending.layer));
    }
    bdrv_close(bs);
    return 0;
}

/* --- main ---------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *command, *fmt = NULL, *out_fmt = NULL;
    BdrvCheckMode mode = BDRV_CHECK_ONLY;
    int cluster_bits = 0, opt;

    if (argc < 2) {
        die_usage("missing command");
    }
    command = argv[1];
    argc--;
    argv++;
    bdrv_init();
    if (strcmp(command, "create") == 0) {
        return cmd_create(argc, argv);
    }
    while ((opt = getopt(argc, argv, "f:O:o:r:")) != -1) {
        switch (opt) {
        case 'f': fmt = optarg; break;
        case 'O': out_fmt = optarg; break;
        case 'o':
            cluster_bits = parse_create_options(optarg);
            if (cluster_bits < 0) {
                die_usage("invalid -o (expected cluster_size=POWER_OF_TWO)");
            }
            break;
        case 'r':
            if (strcmp(optarg, "leaks") == 0) {
                mode = BDRV_FIX_LEAKS;
            } else if (strcmp(optarg, "all") == 0) {
                mode = BDRV_FIX_ERRORS;
            } else {
                die_usage("-r takes 'leaks' or 'all'");
            }
            break;
        default: die_usage("bad option");
        }
    }
    if (strcmp(command, "convert") == 0) {
        if (argc - optind != 2 || !out_fmt) {
            die_usage("convert: expected -O FMT SOURCE DEST");
        }
        return cmd_convert(fmt, out_fmt, cluster_bits, argv[optind], argv[optind + 1]);
    }
    if (argc - optind != 1) {
        die_usage("expected one FILE");
    }
    if (strcmp(command, "info") == 0) {
        return cmd_info(fmt, argv[optind]);
    }
    if (strcmp(command, "check") == 0) {
        return cmd_check(fmt, argv[optind], mode);
    }
    if (strcmp(command, "commit") == 0) {
        return cmd_commit(fmt, argv[optind]);
    }
    if (strcmp(command, "map") == 0) {
        return cmd_map(fmt, argv[optind]);
    }
    die_usage("unknown command");
    return 2;
}
