/* Open-addressing pid -> descriptors table; see fdcache.h. */
#include "backend/linux/fdcache.h"
#include "memwatch/alloc.h"

#include <stdlib.h>
#include <string.h>

void mw_fdcache_init(mw_fdcache *c, const mw_sys *sys, size_t max_fds)
{
    memset(c, 0, sizeof *c);
    c->sys = sys;
    c->max_fds = max_fds;
}

static size_t slot_of(const mw_fdcache *c, int32_t pid)
{
    /* Fibonacci hashing spreads consecutive pids over the table. */
    return (size_t)(((uint32_t)pid * 2654435769u) >> 7) & (c->capacity - 1);
}

/* What an entry keeps with its status descriptor, forgotten. */
static void forget_facts(mw_fdc_entry *e)
{
    mw_free(e->full_name);
    e->full_name = NULL;
    e->have_name = 0;
    e->have_start = 0;
}

static void close_entry(mw_fdcache *c, mw_fdc_entry *e)
{
    forget_facts(e);
    for (int k = 0; k < MW_FDC_KINDS; k++) {
        if (e->fd[k] >= 0) {
            c->sys->close(e->fd[k]);
            c->open_fds--;
            e->fd[k] = -1;
        }
    }
}

void mw_fdcache_release(mw_fdcache *c)
{
    for (size_t i = 0; i < c->capacity; i++) {
        if (c->slots[i].pid)
            close_entry(c, &c->slots[i]);
    }
    mw_free(c->slots);
    c->slots = NULL;
    c->capacity = c->used = 0;
}

static mw_fdc_entry *lookup(mw_fdcache *c, int32_t pid)
{
    size_t i;

    if (!c->capacity)
        return NULL;
    for (i = slot_of(c, pid);; i = (i + 1) & (c->capacity - 1)) {
        if (c->slots[i].pid == pid)
            return &c->slots[i];
        if (c->slots[i].pid == 0)
            return NULL;
    }
}

static int grow(mw_fdcache *c)
{
    size_t cap = c->capacity ? c->capacity * 2 : 256;
    mw_fdc_entry *old = c->slots, *slots = mw_calloc(cap, sizeof *slots);
    size_t oldcap = c->capacity;

    if (!slots)
        return -1;
    c->slots = slots;
    c->capacity = cap;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].pid) {
            size_t j = slot_of(c, old[i].pid);
            while (slots[j].pid)
                j = (j + 1) & (cap - 1);
            slots[j] = old[i];
        }
    }
    mw_free(old);
    return 0;
}

mw_fdc_entry *mw_fdcache_entry(mw_fdcache *c, int32_t pid)
{
    return lookup(c, pid);
}

int mw_fdcache_get(mw_fdcache *c, int32_t pid, int kind)
{
    mw_fdc_entry *e = lookup(c, pid);
    if (!e)
        return -1;
    e->generation = c->generation;
    return e->fd[kind];
}

int mw_fdcache_put(mw_fdcache *c, int32_t pid, int kind, int fd)
{
    mw_fdc_entry *e;

    if (c->open_fds >= c->max_fds)
        return -1;
    e = lookup(c, pid);
    if (!e) {
        size_t i;
        /* Keep the load under one half so probes stay short. */
        if ((c->used + 1) * 2 > c->capacity && grow(c) < 0)
            return -1;
        i = slot_of(c, pid);
        while (c->slots[i].pid)
            i = (i + 1) & (c->capacity - 1);
        e = &c->slots[i];
        e->pid = pid;
        /* A freed slot may still hold a moved entry's pointer: not ours. */
        e->full_name = NULL;
        forget_facts(e);
        for (int k = 0; k < MW_FDC_KINDS; k++)
            e->fd[k] = -1;
        c->used++;
    }
    if (e->fd[kind] >= 0) {
        c->sys->close(e->fd[kind]);
        c->open_fds--;
    }
    /* Facts kept from another status descriptor may be of another process. */
    if (kind == MW_FDC_STATUS)
        forget_facts(e);
    e->fd[kind] = fd;
    e->generation = c->generation;
    c->open_fds++;
    return 0;
}

/* Remove slot i and shift later members of its probe run back so lookups
 * never stop early at the hole (backward-shift deletion). */
static void remove_slot(mw_fdcache *c, size_t i)
{
    size_t j = i;

    c->slots[i].pid = 0;
    c->used--;
    for (;;) {
        size_t home;
        j = (j + 1) & (c->capacity - 1);
        if (c->slots[j].pid == 0)
            return;
        home = slot_of(c, c->slots[j].pid);
        /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            c->slots[i] = c->slots[j];
            c->slots[j].pid = 0;
            c->slots[j].full_name = NULL; /* moved to slot i */
            i = j;
        }
    }
}

void mw_fdcache_drop(mw_fdcache *c, int32_t pid)
{
    mw_fdc_entry *e = lookup(c, pid);
    if (!e)
        return;
    close_entry(c, e);
    remove_slot(c, (size_t)(e - c->slots));
}

void mw_fdcache_begin(mw_fdcache *c)
{
    c->generation++;
}

void mw_fdcache_sweep(mw_fdcache *c)
{
    size_t i = 0;

    while (i < c->capacity) {
        mw_fdc_entry *e = &c->slots[i];
        if (e->pid && e->generation != c->generation) {
            close_entry(c, e);
            remove_slot(c, i);
            /* remove_slot may have moved another entry into slot i. */
            continue;
        }
        i++;
    }
}
