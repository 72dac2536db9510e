/* Iterator passes to snapshots and records: see snapshot.h. */
#include "backend/linux/bpf/snapshot.h"

#include "memwatch/alloc.h"

#include "backend/linux/normalize.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * Order the n keys (pid << 32 | record index) by pid: a least-significant
 * digit radix sort, 11 bits at a time over the 31 bits a positive pid has,
 * linear in n. The records come in runs of rising pids (the walker's order
 * is the tasks' creation, broken where pids wrapped; the iterator's is by
 * id): a comparison sort would copy the large entries about instead.
 */
static int sort_keys(uint64_t *key, size_t n)
{
    uint64_t *tmp = mw_malloc(n * sizeof *tmp), *from = key, *to = tmp, *swap;
    size_t count[1u << 11];

    if (!tmp)
        return -ENOMEM;
    for (unsigned shift = 32; shift < 32 + 33; shift += 11) {
        size_t sum = 0;
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(from[i] >> shift) & 0x7ff]++;
        for (size_t d = 0; d < (1u << 11); d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            to[count[(from[i] >> shift) & 0x7ff]++] = from[i];
        swap = from;
        from = to;
        to = swap;
    }
    if (from != key)
        memcpy(key, from, n * sizeof *key);
    mw_free(tmp);
    return 0;
}

/* The leaders of buf, in a new array sorted by pid; *n set. */
static int collect_leaders(const struct mw_bpf_rec *recs, size_t nrecs, mw_bpf_entry **out,
                           size_t *n)
{
    mw_bpf_entry *e;
    uint64_t *key = NULL;
    size_t count = 0, k = 0;
    int sorted = 1, rc;
    int32_t last = 0;

    for (size_t i = 0; i < nrecs; i++) {
        if (recs[i].kind != MW_BPF_PROC && recs[i].kind != MW_BPF_THREAD)
            return MW_EPARSE;
        if (recs[i].kind != MW_BPF_PROC)
            continue;
        if (recs[i].pid <= 0)
            return MW_EPARSE;
        if (count && recs[i].pid < last)
            sorted = 0;
        last = recs[i].pid;
        count++;
    }
    e = mw_calloc(count ? count : 1, sizeof *e);
    if (!e)
        return -ENOMEM;
    if (sorted) {
        for (size_t i = 0; i < nrecs; i++) {
            if (recs[i].kind == MW_BPF_PROC)
                e[k++].rec = recs[i];
        }
    } else {
        if (!(key = mw_malloc(count * sizeof *key))) {
            mw_free(e);
            return -ENOMEM;
        }
        for (size_t i = 0; i < nrecs; i++) {
            if (recs[i].kind == MW_BPF_PROC)
                key[k++] = (uint64_t)(uint32_t)recs[i].pid << 32 | (uint32_t)i;
        }
        if ((rc = sort_keys(key, count)) < 0) {
            mw_free(key);
            mw_free(e);
            return rc;
        }
        for (size_t i = 0; i < count; i++)
            e[i].rec = recs[(uint32_t)key[i]];
        mw_free(key);
    }
    *out = e;
    *n = count;
    return 0;
}

int mw_bpf_snapshot_build(mw_bpf_snapshot *s, const void *buf, size_t len)
{
    const struct mw_bpf_rec *recs = buf;
    size_t nrecs = len / sizeof *recs, count = 0, j = 0;
    mw_bpf_snapshot fresh;
    mw_bpf_entry *e = NULL, *lead = NULL;
    int rc;

    if (len % sizeof *recs || nrecs > UINT32_MAX) {
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
        if (recs[i].kind != MW_BPF_THREAD)
            continue;
        /* A group's threads mostly come together: the last leader first. */
        if (!lead || lead->rec.pid != recs[i].pid)
            lead = mw_bpf_snapshot_find(&fresh, recs[i].pid);
        if (lead)
            lead->rec.runtime += recs[i].runtime;
    }
    /* Names worked out before stay with the same process: same pid, same
     * start. Both lists are sorted by pid: one walk down both. */
    for (size_t i = 0; i < count && j < s->count; i++) {
        mw_bpf_entry *old;
        while (j < s->count && s->e[j].rec.pid < e[i].rec.pid)
            j++;
        if (j == s->count || s->e[j].rec.pid != e[i].rec.pid)
            continue;
        old = &s->e[j];
        if (old->have_name && old->rec.start_boottime == e[i].rec.start_boottime &&
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
