/* qemu-common.h of a miniature QEMU 1.6-shaped tree (tests/driver/test_backend_qemu16.py). */
#ifndef QEMU_COMMON_H
#define QEMU_COMMON_H
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef QEMU_2013_PORT
/* The 2013 port includes the original CPC runtime's header everywhere. */
#include "cpc/cpc_runtime.h"
#endif
#endif
