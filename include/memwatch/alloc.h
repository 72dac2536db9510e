/*
 * The allocator of the core and the Linux backend, behind a settable table
 * (SQLite's sqlite3_mem_methods) so tests can count every allocation, or make
 * the Nth one fail and check that -ENOMEM comes back and nothing leaks.
 *
 * Every block the core hands out (mw_proc.path and .cmdline, ledger rows,
 * pid lists) comes from here and is released with mw_free, which the
 * release functions of memwatch.h call. An installed table must therefore be
 * able to free what the default one (libc) allocated: wrap libc, do not
 * replace it with a separate heap while blocks are outstanding.
 */
#ifndef MEMWATCH_ALLOC_H
#define MEMWATCH_ALLOC_H

#include <stddef.h>

typedef struct mw_allocator {
    void *(*malloc)(size_t n);
    void *(*calloc)(size_t count, size_t size);
    void *(*realloc)(void *p, size_t n); /* n > 0; the core never reallocs to 0 */
    void (*free)(void *p);
} mw_allocator;

/* The libc allocator, the default. */
extern const mw_allocator mw_allocator_libc;

/* Install a table (NULL: back to libc). Not thread-safe: set it before use. */
void mw_alloc_set(const mw_allocator *a);

/*
 * Fault injection (SQLite's sqlite3FaultSim, Lua's ltests "failnext"):
 * make the nth allocation from now fail (1 = the next one), and with
 * persistent every one after it too; n = 0 turns failures off. A failed
 * allocation returns NULL with errno ENOMEM, as malloc does.
 */
void mw_alloc_set_failure(long n, int persistent);
/* Allocations failed on purpose since the last mw_alloc_set_failure. */
long mw_alloc_failures(void);

void *mw_malloc(size_t n);
void *mw_calloc(size_t count, size_t size);
void *mw_realloc(void *p, size_t n);
void mw_free(void *p);
char *mw_strdup(const char *s);
char *mw_strndup(const char *s, size_t n);

/*
 * The array items (of *capacity elements of size bytes) made to hold at
 * least need elements (need >= 1), its capacity doubled from first as many
 * times as it takes: the array, perhaps moved, with *capacity updated; or
 * NULL (out of memory, or a size past SIZE_MAX) with items and *capacity as
 * they were.
 */
void *mw_grow(void *items, size_t *capacity, size_t need, size_t size, size_t first);

#endif
