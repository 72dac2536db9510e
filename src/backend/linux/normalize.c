/* Kernel fields to memwatch records: see normalize.h. */
#include "backend/linux/normalize.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Each status line that is a record field as it stands. */
static const struct {
    enum mw_status_field from;
    enum mw_field to;
} status_fields[] = {
    {MW_STATUS_PID, MW_F_PID},
    {MW_STATUS_PPID, MW_F_PPID},
    {MW_STATUS_EUID, MW_F_UID},
    {MW_STATUS_THREADS, MW_F_THREADS},
    {MW_STATUS_VM_SIZE, MW_F_VIRTUAL},
    {MW_STATUS_VM_LCK, MW_F_LOCKED},
    {MW_STATUS_VM_HWM, MW_F_RESIDENT_PEAK},
    {MW_STATUS_VM_RSS, MW_F_RESIDENT},
    {MW_STATUS_RSS_ANON, MW_F_RSS_ANON},
    {MW_STATUS_RSS_FILE, MW_F_RSS_FILE},
    {MW_STATUS_RSS_SHMEM, MW_F_RSS_SHMEM},
    {MW_STATUS_VM_PTE, MW_F_PAGE_TABLE},
    {MW_STATUS_VM_SWAP, MW_F_SWAP},
};

/* Each smaps_rollup line that is a record field as it stands. */
static const struct {
    enum mw_smaps_field from;
    enum mw_field to;
} smaps_fields[] = {
    {MW_SMAPS_PSS, MW_F_PSS},
    {MW_SMAPS_SWAP_PSS, MW_F_SWAP_PSS},
    {MW_SMAPS_LAZY_FREE, MW_F_LAZY_FREE},
};

/* a + b for sizes the parsers give (0..INT64_MAX each), taken unsigned so it
 * cannot overflow; -ENODATA past INT64_MAX. */
static int add_sizes(int64_t a, int64_t b, int64_t *sum)
{
    uint64_t s = (uint64_t)a + (uint64_t)b;
    if (s > (uint64_t)INT64_MAX)
        return -ENODATA;
    *sum = (int64_t)s;
    return 0;
}

int mw_linux_footprint_of(int64_t rss_anon, int64_t rss_shmem, int64_t swap, int64_t page_tables,
                          int64_t *bytes)
{
    int64_t sum;

    if (add_sizes(rss_anon, rss_shmem, &sum) < 0 || add_sizes(sum, swap, &sum) < 0 ||
        add_sizes(sum, page_tables, &sum) < 0)
        return -ENODATA;
    *bytes = sum;
    return 0;
}

int mw_linux_footprint(const mw_status_info *si, int64_t *bytes)
{
    /* All four terms or no footprint at all, never a partial sum. */
    if (!mw_status_has(si, MW_STATUS_RSS_ANON) || !mw_status_has(si, MW_STATUS_RSS_SHMEM) ||
        !mw_status_has(si, MW_STATUS_VM_SWAP) || !mw_status_has(si, MW_STATUS_VM_PTE))
        return -ENODATA;
    return mw_linux_footprint_of(si->v[MW_STATUS_RSS_ANON], si->v[MW_STATUS_RSS_SHMEM],
                                 si->v[MW_STATUS_VM_SWAP], si->v[MW_STATUS_VM_PTE], bytes);
}

int mw_linux_uss(const mw_smaps_info *sm, int64_t *bytes)
{
    if (!mw_smaps_has(sm, MW_SMAPS_PRIVATE_CLEAN) || !mw_smaps_has(sm, MW_SMAPS_PRIVATE_DIRTY))
        return -ENODATA;
    return add_sizes(sm->v[MW_SMAPS_PRIVATE_CLEAN], sm->v[MW_SMAPS_PRIVATE_DIRTY], bytes);
}

void mw_linux_from_status(const mw_status_info *si, mw_proc *out)
{
    int64_t footprint;

    snprintf(out->name, sizeof out->name, "%s", si->name);
    out->state = si->state;
    for (size_t i = 0; i < sizeof status_fields / sizeof status_fields[0]; i++) {
        if (mw_status_has(si, status_fields[i].from))
            mw_proc_set(out, status_fields[i].to, si->v[status_fields[i].from]);
    }
    if (si->kthread)
        out->flags |= MW_PROC_KTHREAD;
    if (si->state == 'Z')
        out->flags |= MW_PROC_ZOMBIE;
    if (mw_linux_footprint(si, &footprint) == 0)
        mw_proc_set(out, MW_F_FOOTPRINT, footprint);
}

void mw_linux_set_start(mw_proc *out, uint64_t ticks, int64_t ticks_per_sec, int64_t btime)
{
    int64_t tck = ticks_per_sec;
    if (btime >= 0)
        mw_proc_set(out, MW_F_START_TIME,
                    btime * 1000000000 + (int64_t)(ticks / (uint64_t)tck) * 1000000000 +
                        (int64_t)(ticks % (uint64_t)tck * 1000000000u / (uint64_t)tck));
}

void mw_linux_from_stat(const mw_stat_info *si, int have_status, int64_t ticks_per_sec,
                        int64_t btime, mw_proc *out)
{
    int64_t tck = ticks_per_sec;

    if (!have_status) {
        snprintf(out->name, sizeof out->name, "%s", si->comm);
        out->state = si->state;
        mw_proc_set(out, MW_F_PID, si->pid);
        mw_proc_set(out, MW_F_PPID, si->ppid);
        mw_proc_set(out, MW_F_THREADS, si->num_threads);
        if (si->state == 'Z')
            out->flags |= MW_PROC_ZOMBIE;
    }
    if (si->flags & MW_PF_KTHREAD)
        out->flags |= MW_PROC_KTHREAD;
    /* Ticks to nanoseconds without overflow for any realistic uptime. */
    mw_proc_set(out, MW_F_CPU_TIME,
                (int64_t)((si->utime + si->stime) / (uint64_t)tck * 1000000000u +
                          (si->utime + si->stime) % (uint64_t)tck * 1000000000u / (uint64_t)tck));
    mw_linux_set_start(out, si->starttime, ticks_per_sec, btime);
}

void mw_linux_from_smaps(const mw_smaps_info *sm, mw_proc *out)
{
    int64_t uss;

    for (size_t i = 0; i < sizeof smaps_fields / sizeof smaps_fields[0]; i++) {
        if (mw_smaps_has(sm, smaps_fields[i].from))
            mw_proc_set(out, smaps_fields[i].to, sm->v[smaps_fields[i].from]);
    }
    if (mw_linux_uss(sm, &uss) == 0)
        mw_proc_set(out, MW_F_USS, uss);
}

void mw_linux_from_io(const mw_io_info *io, mw_proc *out)
{
    mw_proc_set(out, MW_F_DISK_READ, io->read_bytes);
    mw_proc_set(out, MW_F_DISK_WRITTEN, io->write_bytes);
}

void mw_linux_from_system(const mw_meminfo *mi, const mw_psi *psi, mw_system *out)
{
    out->present = mi->present;
    out->total = mi->total;
    out->free = mi->free;
    out->available = mi->available;
    out->swap_total = mi->swap_total;
    out->swap_free = mi->swap_free;
    if (!psi)
        return;
    out->some_avg10 = psi->some_avg10;
    out->some_avg60 = psi->some_avg60;
    out->present |= (uint64_t)1 << MW_SYS_PSI;
    if (psi->has_full) {
        out->full_avg10 = psi->full_avg10;
        out->full_avg60 = psi->full_avg60;
        out->present |= (uint64_t)1 << MW_SYS_PSI_FULL;
    }
}
