/*
 * The one step from the kernel's fields (parse.h) to memwatch's record: the
 * Linux backend's parsers return what /proc shows, and everything memwatch
 * derives from it (footprint, uss, the process flags, CPU and start times in
 * nanoseconds) is computed here and nowhere else. Pure: no I/O, no state.
 */
#ifndef MEMWATCH_LINUX_NORMALIZE_H
#define MEMWATCH_LINUX_NORMALIZE_H

#include <stdint.h>

#include "backend/linux/parse.h"
#include "memwatch/memwatch.h"

/*
 * footprint = RssAnon + RssShmem + VmSwap + VmPTE: macOS's phys_footprint
 * (the comment on it in xnu osfmk/kern/task.c: internal + internal_compressed
 * + page_table, among others) as far as Linux's status lines allow. 0, or
 * -ENODATA when a term is missing (kernel threads and zombies have none of
 * them) or the sum is past INT64_MAX; never a partial sum.
 */
int mw_linux_footprint(const mw_status_info *si, int64_t *bytes);

/* The same sum from its four terms in bytes, for a sampler that reads them
 * elsewhere than from status (the BPF sampler, from the mm counters):
 * 0, or -ENODATA when the sum is past INT64_MAX. */
int mw_linux_footprint_of(int64_t rss_anon, int64_t rss_shmem, int64_t swap, int64_t page_tables,
                          int64_t *bytes);

/* uss = Private_Clean + Private_Dirty of smaps_rollup (pages mapped by this
 * process alone). 0, or -ENODATA when either is missing or the sum is past
 * INT64_MAX. */
int mw_linux_uss(const mw_smaps_info *sm, int64_t *bytes);

/* status into a record: name, state, identity and memory fields, the kernel
 * thread and zombie flags, and footprint. */
void mw_linux_from_status(const mw_status_info *si, mw_proc *out);

/*
 * stat into a record: the kernel thread flag, CPU time and the start time
 * (mw_linux_set_start); name, state, pid, ppid, threads and the zombie flag
 * only when have_status is 0 (status, when read, says the same and more).
 * ticks_per_sec is sysconf(_SC_CLK_TCK), above 0; btime as for set_start.
 */
void mw_linux_from_stat(const mw_stat_info *si, int have_status, int64_t ticks_per_sec,
                        int64_t btime, mw_proc *out);

/* start_time from stat's starttime (clock ticks since boot) and the boot time
 * (/proc/stat btime, epoch seconds); left absent when btime is -1 (unknown). */
void mw_linux_set_start(mw_proc *out, uint64_t ticks, int64_t ticks_per_sec, int64_t btime);

/* smaps_rollup into a record: pss, uss, swap_pss, lazy_free. */
void mw_linux_from_smaps(const mw_smaps_info *sm, mw_proc *out);

/* /proc/PID/io into a record: disk_read, disk_written. */
void mw_linux_from_io(const mw_io_info *io, mw_proc *out);

/* meminfo and, when psi is not NULL, /proc/pressure/memory into out. */
void mw_linux_from_system(const mw_meminfo *mi, const mw_psi *psi, mw_system *out);

#endif
