/*
 * The runtime's allocator (cpc_block_alloc / cpc_block_free) across
 * threads: blocks freed by a thread that has exited are handed to the
 * threads that allocate next, not lost with the exited thread's free lists;
 * and a block is aligned to CPC_ALIGN and reused in place within a thread.
 * Native C against cpc_runtime.h.
 */
#include "cpc_runtime.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

enum { BLOCKS = 1000, BYTES = 96 };

static void *freed_by_worker[BLOCKS];

static void *worker(void *unused)
{
    (void)unused;
    for (int i = 0; i < BLOCKS; i++) {
        freed_by_worker[i] = cpc_block_alloc(BYTES);
    }
    for (int i = 0; i < BLOCKS; i++) {
        cpc_block_free(freed_by_worker[i], BYTES);
    }
    return NULL;
}

static int was_freed_by_worker(const void *block)
{
    for (int i = 0; i < BLOCKS; i++) {
        if (freed_by_worker[i] == block) {
            return 1;
        }
    }
    return 0;
}

int main(void)
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, NULL) != 0 || pthread_join(thread, NULL) != 0) {
        fprintf(stderr, "cannot run the worker thread\n");
        return 1;
    }
    int reused = 0, aligned = 0;
    void *mine[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
        mine[i] = cpc_block_alloc(BYTES);
        reused += was_freed_by_worker(mine[i]);
        aligned += (uintptr_t)mine[i] % CPC_ALIGN == 0;
    }
    printf("blocks of the exited thread reused: %d of %d\n", reused, BLOCKS);
    printf("aligned: %d of %d\n", aligned, BLOCKS);
    cpc_block_free(mine[7], BYTES);
    printf("a freed block is the next one allocated: %s\n", cpc_block_alloc(BYTES) == mine[7] ? "yes" : "no");
    return 0;
}
