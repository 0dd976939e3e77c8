/* Shared by the fuzz harnesses (each is compiled with replay.c, or linked
 * against libFuzzer): the entry point's prototype and the invariant check. */
#ifndef DBK_TESTS_FUZZ_COMMON_H
#define DBK_TESTS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort, naming the harness line and the condition, unless `cond` holds:
 * a broken invariant is a bug in the code under test. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
