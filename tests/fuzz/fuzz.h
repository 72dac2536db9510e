/*
 * What every fuzz target shares: the libFuzzer entry point and a check that
 * stops the run (abort, which libFuzzer and the corpus replayer both report
 * with the input) when an invariant does not hold. assert() is not used: the
 * checks must stay in release builds.
 */
#ifndef MEMWATCH_FUZZ_H
#define MEMWATCH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Whether s holds a NUL within its cap bytes (a C string that fits). */
static inline int fuzz_terminated(const char *s, size_t cap)
{
    for (size_t i = 0; i < cap; i++) {
        if (s[i] == '\0')
            return 1;
    }
    return 0;
}

#endif
