/* The shape of QEMU 1.6's alloc_refcount_block (block/qcow2-refcount.c):
 * declarations in mid-block after yields, a do/while whose body declares a
 * name that a later declaration of the enclosing block declares again,
 * gotos forward past declarations to cleanup labels, a byte array written
 * through casts, the address of a local passed down, and unsigned 64-bit
 * arithmetic mixed with int shifts.  And qcow2_alloc_clusters_at's scan,
 * `refcount = get_refcount(bs, cluster_index++)`: the increment happens
 * before the call, so the variable saved across it must be the new value
 * (the translation once saved it first, rescanning one cluster forever and
 * corrupting iotest 044's image). */
#include "qemu/coroutine.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct State {
    uint64_t *table;
    uint64_t table_size;
    uint64_t free_index;
    int cluster_bits;
    int cluster_size;
    uint64_t written;
} State;

static int coroutine_fn write_sync(State *s, uint64_t offset, const void *buf, size_t bytes)
{
    const uint8_t *p = buf;
    uint64_t sum = 0;
    qemu_coroutine_yield();
    for (size_t i = 0; i < bytes; i++) {
        sum = sum * 31 + p[i];
    }
    s->written += sum ^ offset;
    printf("write at %llu, %zu bytes, sum %llu\n", (unsigned long long)offset, bytes,
           (unsigned long long)sum);
    return offset == 7 ? -5 : 0;
}

static uint64_t next_size(State *s, uint64_t min)
{
    uint64_t size = s->table_size ? s->table_size : 1;
    while (size < min) {
        size = (size * 3 + 1) / 2;
    }
    return size + (uint64_t)(s->cluster_bits & 1);
}

static uint64_t to_clusters(State *s, uint64_t bytes)
{
    return (bytes + s->cluster_size - 1) >> s->cluster_bits;
}

static int64_t coroutine_fn alloc_noref(State *s, int64_t size)
{
    qemu_coroutine_yield();
    int64_t at = (int64_t)s->free_index << s->cluster_bits;
    s->free_index += (size + s->cluster_size - 1) >> s->cluster_bits;
    return at;
}

static int coroutine_fn grow(State *s, int64_t index, uint16_t **block, int fail_at)
{
    unsigned int table_index;
    int ret;

    table_index = index >> (s->cluster_bits - 1);
    if (table_index < s->table_size) {
        uint64_t offset = s->table[table_index] & ~511ULL;
        if (offset) {
            return (int)(offset >> 9);
        }
    }
    *block = NULL;
    ret = write_sync(s, 1, "x", 1);
    if (ret < 0) {
        return ret;
    }

    int64_t new_block = alloc_noref(s, s->cluster_size);
    if (new_block < 0) {
        return new_block;
    }
    if (new_block % 3 == 0) {
        *block = calloc(s->cluster_size, 1);
        int block_index = (new_block >> s->cluster_bits) & ((1 << (s->cluster_bits - 1)) - 1);
        (*block)[block_index % 4] = 1;
    } else {
        ret = write_sync(s, 2, &new_block, sizeof(new_block));
        if (ret < 0) {
            goto fail_block;
        }
        *block = calloc(s->cluster_size, 1);
    }

    if (table_index < s->table_size) {
        uint64_t data64 = (uint64_t)new_block * 0x0100000001ULL;
        ret = write_sync(s, 3 + table_index, &data64, sizeof(data64));
        if (ret < 0) {
            goto fail_block;
        }
        s->table[table_index] = new_block;
        return 0;
    }

    uint64_t block_clusters = 1 << (s->cluster_bits - 1);
    uint64_t blocks_used = (s->free_index + block_clusters - 1) / block_clusters;
    uint64_t table_size = next_size(s, blocks_used + 1);
    uint64_t last_table_size;
    uint64_t blocks_clusters;
    do {
        uint64_t table_clusters = to_clusters(s, table_size * sizeof(uint64_t));
        blocks_clusters = 1 + ((table_clusters + block_clusters - 1) / block_clusters);
        uint64_t meta_clusters = table_clusters + blocks_clusters;
        last_table_size = table_size;
        table_size = next_size(s, blocks_used + ((meta_clusters + block_clusters - 1) / block_clusters));
    } while (last_table_size != table_size);

    uint64_t meta_offset = (blocks_used * block_clusters) * s->cluster_size;
    uint64_t table_offset = meta_offset + blocks_clusters * s->cluster_size;
    uint16_t *new_blocks = calloc(blocks_clusters * s->cluster_size, 1);
    uint64_t *new_table = calloc(table_size, sizeof(uint64_t));
    memcpy(new_table, s->table, s->table_size * sizeof(uint64_t));
    new_table[table_index] = new_block;

    int i;
    for (i = 0; (uint64_t)i < blocks_clusters; i++) {
        new_table[blocks_used + i] = meta_offset + (i * s->cluster_size);
    }
    uint64_t table_clusters = to_clusters(s, table_size * sizeof(uint64_t));
    int slot = 0;
    for (i = 0; (uint64_t)i < table_clusters + blocks_clusters; i++) {
        new_blocks[slot++] = 1 + i;
    }
    ret = write_sync(s, meta_offset, new_blocks, blocks_clusters * s->cluster_size);
    free(new_blocks);
    if (ret < 0) {
        goto fail_table;
    }
    ret = write_sync(s, table_offset, new_table, table_size * sizeof(uint64_t));
    if (ret < 0 || fail_at == 1) {
        goto fail_table;
    }

    uint8_t data[12];
    memcpy(data, &table_offset, sizeof(uint64_t));
    *(uint32_t *)(data + 8) = (uint32_t)table_clusters;
    ret = write_sync(s, 100, data, sizeof(data));
    if (ret < 0) {
        goto fail_table;
    }

    uint64_t old_size = s->table_size;
    free(s->table);
    s->table = new_table;
    s->table_size = table_size;
    uint64_t old_free = s->free_index;
    ret = write_sync(s, 200 + old_size, &old_free, sizeof(old_free));
    s->free_index = old_free + table_clusters;
    printf("grown to %llu (clusters %llu, blocks %llu, meta %llu)\n", (unsigned long long)table_size,
           (unsigned long long)table_clusters, (unsigned long long)blocks_clusters,
           (unsigned long long)meta_offset);
    return ret;

fail_table:
    free(new_table);
fail_block:
    if (*block != NULL) {
        free(*block);
        *block = NULL;
    }
    printf("failed %d\n", ret);
    return ret;
}

static int coroutine_fn refcount_of(State *s, uint64_t index)
{
    qemu_coroutine_yield();
    return index % 7 == 6 || index < s->free_index;
}

static int coroutine_fn alloc_at(State *s, uint64_t offset, int nb_clusters)
{
    uint64_t cluster_index;
    int i, refcount;

    cluster_index = offset >> s->cluster_bits;
    for (i = 0; i < nb_clusters; i++) {
        refcount = refcount_of(s, cluster_index++);
        if (refcount < 0) {
            return refcount;
        } else if (refcount != 0) {
            break;
        }
    }
    printf("alloc_at %llu: %d free, next %llu\n", (unsigned long long)offset, i,
           (unsigned long long)cluster_index);
    return i;
}

static int finished;

static void coroutine_fn run_grow(void *opaque)
{
    State *s = opaque;
    for (int round = 0; round < 6; round++) {
        uint16_t *block = NULL;
        int ret = grow(s, (int64_t)round * 37, &block, round == 4);
        printf("round %d ret %d block %s free %llu size %llu written %llu\n", round, ret,
               block ? "set" : "null", (unsigned long long)s->free_index,
               (unsigned long long)s->table_size, (unsigned long long)s->written);
        free(block);
        printf("at %d\n", alloc_at(s, (uint64_t)(s->free_index + round) << s->cluster_bits, 5 + round));
    }
    finished = 1;
}

int main(void)
{
    State s = { calloc(2, sizeof(uint64_t)), 2, 5, 4, 16, 0 };
    s.table[1] = 1024;
    Coroutine *co = qemu_coroutine_create(run_grow);
    qemu_coroutine_enter(co, &s);
    while (!finished) {
        qemu_coroutine_enter(co, NULL);
    }
    free(s.table);
    return 0;
}
