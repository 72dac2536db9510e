/*
 * Descriptors of /proc/PID files kept open between scans, keyed by pid.
 * Re-reading an open status file with pread costs less than reopening it,
 * and a descriptor whose process died answers ESRCH even when the pid has
 * been reused, which detects reuse for free.
 */
#ifndef MEMWATCH_LINUX_FDCACHE_H
#define MEMWATCH_LINUX_FDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "memwatch/sys.h"

enum { MW_FDC_STATUS, MW_FDC_STAT, MW_FDC_KINDS };

typedef struct mw_fdc_entry {
    int32_t pid;          /* 0: empty slot */
    int fd[MW_FDC_KINDS]; /* -1 when not open */
    unsigned generation;  /* the scan that last saw this pid */
    /* What cannot change while fd[MW_FDC_STATUS] stays valid (the same
     * process), so later scans need not read it again; forgotten when a new
     * status descriptor is kept. */
    int have_start;       /* start_ticks is known */
    uint64_t start_ticks; /* stat's starttime */
    int have_name;        /* full_name is known */
    char *full_name;      /* heap: the name when longer than comm; NULL: comm itself */
} mw_fdc_entry;

typedef struct mw_fdcache {
    const mw_sys *sys;
    mw_fdc_entry *slots;
    size_t capacity; /* a power of two, or 0 */
    size_t used;     /* occupied slots */
    size_t open_fds;
    size_t max_fds; /* descriptors we may hold; 0 disables caching */
    unsigned generation;
} mw_fdcache;

void mw_fdcache_init(mw_fdcache *c, const mw_sys *sys, size_t max_fds);
/* Close every descriptor and free the table. */
void mw_fdcache_release(mw_fdcache *c);
/* The cached descriptor for (pid, kind), or -1. Marks the pid as seen. */
int mw_fdcache_get(mw_fdcache *c, int32_t pid, int kind);
/* Keep fd for (pid, kind). Returns 0, or -1 when the cache is full (the caller
 * then closes fd itself). */
int mw_fdcache_put(mw_fdcache *c, int32_t pid, int kind, int fd);
/* The entry of pid, or NULL (for the start time and name kept with it). */
mw_fdc_entry *mw_fdcache_entry(mw_fdcache *c, int32_t pid);
/* Close and forget every descriptor of pid (its process is gone). */
void mw_fdcache_drop(mw_fdcache *c, int32_t pid);
/* Start a scan / close the descriptors of pids the last scan did not see. */
void mw_fdcache_begin(mw_fdcache *c);
void mw_fdcache_sweep(mw_fdcache *c);

#endif
