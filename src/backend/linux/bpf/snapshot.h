/*
 * One pass of the task iterator, as the sampler keeps it: the records of
 * every thread-group leader, sorted by pid, each with its group's CPU time.
 * Pure: a buffer of struct mw_bpf_rec in, a snapshot out; and one record to
 * an mw_proc, with the units /proc prints in.
 */
#ifndef MEMWATCH_BPF_SNAPSHOT_H
#define MEMWATCH_BPF_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "memwatch/memwatch.h"

#include "backend/linux/bpf/record.h"

typedef struct mw_bpf_entry {
    struct mw_bpf_rec rec;
    char *full_name;        /* the full name (fullname.h), heap; NULL: see have_name */
    unsigned have_name : 1; /* full_name was worked out (NULL then: comm is the name) */
} mw_bpf_entry;

typedef struct mw_bpf_snapshot {
    mw_bpf_entry *e; /* sorted by rec.pid */
    size_t count, capacity;
} mw_bpf_snapshot;

/*
 * Replace s's entries with the records in buf[0..len). Threads' CPU time is
 * added to their leader's; a thread whose leader the pass did not see (it
 * exited meanwhile) is dropped. Full names already worked out for the same
 * process (pid and start time) are carried over from the entries s held.
 * MW_EPARSE when len is not a whole number of records or a record is of an
 * unknown kind (s is then empty); -ENOMEM.
 */
int mw_bpf_snapshot_build(mw_bpf_snapshot *s, const void *buf, size_t len);

/* The entry of pid, or NULL. */
mw_bpf_entry *mw_bpf_snapshot_find(const mw_bpf_snapshot *s, int32_t pid);

void mw_bpf_snapshot_release(mw_bpf_snapshot *s);

/* What a record's numbers are in: the kernel's page size, USER_HZ (stat's
 * clock ticks) and the boot time (epoch seconds, -1 unknown). */
typedef struct mw_bpf_units {
    int64_t page_size;
    int64_t ticks_per_sec;
    int64_t btime;
} mw_bpf_units;

/*
 * Fill out (initialised by the caller) with what status and stat give for
 * the record, in the units and roundings they print: memory in whole KiB,
 * CPU time in whole clock ticks (stat's utime + stime, here from the group's
 * run time, within one tick of stat's), the start time in ticks since boot.
 * Sets MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT in out->read. The name is
 * comm; the caller puts the full name in.
 */
void mw_bpf_to_proc(const struct mw_bpf_rec *r, const mw_bpf_units *u, mw_proc *out);

#endif
