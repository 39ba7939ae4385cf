/*
 * cow.h — the on-disk layout of the `cow` overlay format (block/cow.c).
 *
 * All integers are little-endian.  The image is an array of clusters of
 * 2^cluster_bits bytes:
 *
 *   cluster 0          header (CowHeader, then the backing file name)
 *   l1_offset          L1 table: l1_entries u64, host offsets of L2 tables
 *   refcount_offset    refcount table: one u16 per host cluster, preallocated
 *                      for the largest the image can grow to
 *   after them         L2 tables (one cluster of u64 host offsets of data
 *                      clusters each) and data clusters, in allocation order
 *
 * A zero L1/L2 entry means "not allocated in this layer": the range reads
 * from the backing file, or as zeroes without one.
 */
#ifndef BLOCK_COW_H
#define BLOCK_COW_H

#include "qemu/osdep.h"

#define COW_MAGIC 0x574f4353u          /* "SCOW" */
#define COW_VERSION 1
#define COW_HEADER_SIZE 64
#define COW_DEFAULT_CLUSTER_BITS 16    /* 64 KiB */
#define COW_MIN_CLUSTER_BITS 9
#define COW_MAX_CLUSTER_BITS 21
#define COW_MAX_BACKING_NAME 1023

/* Header flags. */
#define COW_FLAG_DIRTY 1u              /* refcounts on disk may lag the tables */

typedef struct CowHeader {
    uint32_t magic;
    uint32_t version;
    uint32_t cluster_bits;
    uint32_t flags;
    uint64_t size;                     /* virtual disk size in bytes */
    uint64_t l1_offset;
    uint32_t l1_entries;
    uint32_t refcount_clusters;
    uint64_t refcount_offset;
    uint32_t backing_name_offset;      /* in cluster 0; 0: no backing file */
    uint32_t backing_name_len;
    uint8_t reserved[8];
} CowHeader;

_Static_assert(sizeof(CowHeader) == COW_HEADER_SIZE, "CowHeader is the on-disk header");

/* Decode/encode the header at the start of `buf` (COW_HEADER_SIZE bytes). */
void cow_header_decode(CowHeader *header, const uint8_t *buf);
void cow_header_encode(const CowHeader *header, uint8_t *buf);

#endif
