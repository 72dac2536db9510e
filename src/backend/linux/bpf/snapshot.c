/* Iterator passes to snapshots and records: see snapshot.h. */
#include "backend/linux/bpf/snapshot.h"

#include "memwatch/alloc.h"

#include "backend/linux/normalize.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int by_pid(const void *a, const void *b)
{
    int32_t x = ((const mw_bpf_entry *)a)->rec.pid, y = ((const mw_bpf_entry *)b)->rec.pid;
    return (x > y) - (x < y);
}

mw_bpf_entry *mw_bpf_snapshot_find(const mw_bpf_snapshot *s, int32_t pid)
{
    size_t lo = 0, hi = s->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->e[mid].rec.pid == pid)
            return &s->e[mid];
        if (s->e[mid].rec.pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void free_names(mw_bpf_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mw_free(e[i].full_name);
}

void mw_bpf_snapshot_release(mw_bpf_snapshot *s)
{
    free_names(s->e, s->count);
    mw_free(s->e);
    memset(s, 0, sizeof *s);
}

/* The leaders of buf, in a new array (sorted); *n set. */
static int collect_leaders(const struct mw_bpf_rec *recs, size_t nrecs, mw_bpf_entry **out,
                           size_t *n)
{
    mw_bpf_entry *e;
    size_t count = 0, sorted = 1;

    for (size_t i = 0; i < nrecs; i++) {
        if (recs[i].kind != MW_BPF_PROC && recs[i].kind != MW_BPF_THREAD)
            return MW_EPARSE;
        count += recs[i].kind == MW_BPF_PROC;
    }
    e = mw_calloc(count ? count : 1, sizeof *e);
    if (!e)
        return -ENOMEM;
    count = 0;
    for (size_t i = 0; i < nrecs; i++) {
        if (recs[i].kind != MW_BPF_PROC)
            continue;
        e[count].rec = recs[i];
        if (count && e[count - 1].rec.pid > recs[i].pid)
            sorted = 0;
        count++;
    }
    /* The iterator walks tasks by their global id: in memwatch's own pid
     * namespace the numbers may come in another order. */
    if (!sorted)
        qsort(e, count, sizeof *e, by_pid);
    *out = e;
    *n = count;
    return 0;
}

int mw_bpf_snapshot_build(mw_bpf_snapshot *s, const void *buf, size_t len)
{
    const struct mw_bpf_rec *recs = buf;
    size_t nrecs = len / sizeof *recs, count = 0;
    mw_bpf_snapshot fresh;
    mw_bpf_entry *e = NULL;
    int rc;

    if (len % sizeof *recs) {
        mw_bpf_snapshot_release(s);
        return MW_EPARSE;
    }
    if ((rc = collect_leaders(recs, nrecs, &e, &count)) < 0) {
        mw_bpf_snapshot_release(s);
        return rc;
    }
    fresh.e = e;
    fresh.count = fresh.capacity = count;
    for (size_t i = 0; i < nrecs; i++) {
        mw_bpf_entry *lead;
        if (recs[i].kind != MW_BPF_THREAD)
            continue;
        if ((lead = mw_bpf_snapshot_find(&fresh, recs[i].pid)) != NULL)
            lead->rec.runtime += recs[i].runtime;
    }
    /* Names worked out before stay with the same process: same pid, same
     * start. */
    for (size_t i = 0; i < count; i++) {
        mw_bpf_entry *old = mw_bpf_snapshot_find(s, e[i].rec.pid);
        if (old && old->have_name && old->rec.start_boottime == e[i].rec.start_boottime &&
            memcmp(old->rec.comm, e[i].rec.comm, sizeof e[i].rec.comm) == 0) {
            e[i].full_name = old->full_name;
            e[i].have_name = 1;
            old->full_name = NULL;
        }
    }
    mw_bpf_snapshot_release(s);
    *s = fresh;
    return 0;
}

/* pages * page size, or the record's kB rounding for byte counts. */
static int64_t pages(uint64_t n, const mw_bpf_units *u)
{
    return (int64_t)n * u->page_size;
}

/* ns to whole clock ticks, as the kernel's nsec_to_clock_t. */
static uint64_t ticks_of(uint64_t ns, int64_t ticks_per_sec)
{
    return ns / (1000000000u / (uint64_t)ticks_per_sec);
}

void mw_bpf_to_proc(const struct mw_bpf_rec *r, const mw_bpf_units *u, mw_proc *out)
{
    uint64_t tck = (uint64_t)u->ticks_per_sec, cpu = ticks_of(r->runtime, u->ticks_per_sec);
    uint64_t start = ticks_of(r->start_boottime, u->ticks_per_sec);

    out->pid = r->pid;
    memcpy(out->name, r->comm, sizeof r->comm);
    out->name[sizeof r->comm - 1] = '\0';
    out->state = r->state;
    mw_proc_set(out, MW_F_PID, r->pid);
    mw_proc_set(out, MW_F_PPID, r->ppid);
    mw_proc_set(out, MW_F_UID, r->euid);
    mw_proc_set(out, MW_F_THREADS, r->threads);
    if (r->flags & MW_BPF_KTHREAD)
        out->flags |= MW_PROC_KTHREAD;
    if (r->state == 'Z')
        out->flags |= MW_PROC_ZOMBIE;
    if (r->flags & MW_BPF_HAS_MM) {
        uint64_t rss = r->anon + r->file + r->shmem;
        int64_t footprint;
        /* status prints VmPTE in whole KiB, rounded down. */
        int64_t pte = (int64_t)(r->pgtables_bytes >> 10) << 10;
        mw_proc_set(out, MW_F_VIRTUAL, pages(r->total_vm, u));
        mw_proc_set(out, MW_F_LOCKED, pages(r->locked_vm, u));
        mw_proc_set(out, MW_F_RESIDENT_PEAK, pages(r->hiwater_rss > rss ? r->hiwater_rss : rss, u));
        mw_proc_set(out, MW_F_RESIDENT, pages(rss, u));
        mw_proc_set(out, MW_F_RSS_ANON, pages(r->anon, u));
        mw_proc_set(out, MW_F_RSS_FILE, pages(r->file, u));
        mw_proc_set(out, MW_F_RSS_SHMEM, pages(r->shmem, u));
        mw_proc_set(out, MW_F_PAGE_TABLE, pte);
        mw_proc_set(out, MW_F_SWAP, pages(r->swapents, u));
        if (mw_linux_footprint_of(pages(r->anon, u), pages(r->shmem, u), pages(r->swapents, u), pte,
                                  &footprint) == 0)
            mw_proc_set(out, MW_F_FOOTPRINT, footprint);
    }
    mw_proc_set(out, MW_F_CPU_TIME,
                (int64_t)(cpu / tck * 1000000000u + cpu % tck * 1000000000u / tck));
    mw_linux_set_start(out, start, u->ticks_per_sec, u->btime);
    out->read |= MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT;
}
