/* The replaceable allocator of the core: see memwatch/alloc.h. */
#include "memwatch/alloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const mw_allocator mw_allocator_libc = {
    .malloc = malloc,
    .calloc = calloc,
    .realloc = realloc,
    .free = free,
};

static const mw_allocator *current = &mw_allocator_libc;

/* Fault injection: countdown to the failing allocation (0: off). */
static long fail_countdown;
static int fail_persistent;
static long fail_count;

void mw_alloc_set(const mw_allocator *a)
{
    current = a ? a : &mw_allocator_libc;
}

void mw_alloc_set_failure(long n, int persistent)
{
    fail_countdown = n > 0 ? n : 0;
    fail_persistent = persistent;
    fail_count = 0;
}

long mw_alloc_failures(void)
{
    return fail_count;
}

/* Whether this allocation is the one to fail (tsIsFail for memory). */
static int should_fail(void)
{
    if (fail_countdown == 0)
        return 0;
    if (fail_countdown > 1) {
        fail_countdown--;
        return 0;
    }
    if (!fail_persistent)
        fail_countdown = 0;
    fail_count++;
    errno = ENOMEM;
    return 1;
}

void *mw_malloc(size_t n)
{
    return should_fail() ? NULL : current->malloc(n);
}

void *mw_calloc(size_t count, size_t size)
{
    return should_fail() ? NULL : current->calloc(count, size);
}

void *mw_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : current->realloc(p, n);
}

void mw_free(void *p)
{
    if (p)
        current->free(p);
}

void *mw_grow(void *items, size_t *capacity, size_t need, size_t size, size_t first)
{
    size_t cap = *capacity ? *capacity : first;
    void *grown;

    if (need <= *capacity)
        return items;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return NULL;
        cap *= 2;
    }
    if (cap > SIZE_MAX / size || !(grown = mw_realloc(items, cap * size)))
        return NULL;
    *capacity = cap;
    return grown;
}

char *mw_strdup(const char *s)
{
    return mw_strndup(s, strlen(s));
}

char *mw_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = mw_malloc(len + 1);

    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}
