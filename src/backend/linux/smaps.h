/*
 * The pure parser of /proc/PID/smaps: a buffer in, one row per mapping out
 * (through a callback, so the parser allocates nothing). Never reads past
 * len; the buffer need not be NUL-terminated.
 *
 * The format (Documentation/filesystems/proc.rst, "smaps"; show_smap in
 * fs/proc/task_mmu.c): per mapping a header line as in /proc/PID/maps,
 *     start-end perms offset major:minor inode [path]
 * then "Key:   N kB" lines and a closing "VmFlags: ..." line. Keys this
 * parser does not know are skipped, so newer kernels parse.
 */
#ifndef MEMWATCH_LINUX_SMAPS_H
#define MEMWATCH_LINUX_SMAPS_H

#include <stddef.h>
#include <stdint.h>

#include "memwatch/memwatch.h"

typedef struct mw_smaps_row {
    uint64_t start, end, offset, inode;
    unsigned dev_major, dev_minor;
    char perms[5];
    /* The path or pseudo-path as smaps shows it (kernel escapes kept), without
     * a trailing " (deleted)"; pathlen 0 for an anonymous mapping. Points into
     * the buffer. */
    const char *path;
    size_t pathlen;
    unsigned flags;   /* enum mw_region_flag */
    uint64_t present; /* bit (1 << MW_REGION_x) when v[MW_REGION_x] was read */
    int64_t v[MW_REGION_COUNT];
    /* 0 when the buffer ended inside this mapping's lines (before its
     * VmFlags line): a read cut short because the process exited. */
    int complete;
} mw_smaps_row;

/* Called once per mapping, in address order; nonzero stops the walk and is
 * returned by mw_parse_smaps. */
typedef int (*mw_smaps_cb)(void *ud, const mw_smaps_row *row);

/*
 * Walk every mapping of an smaps buffer. Lines before the first header and
 * malformed header lines are skipped (with the key lines under them). An
 * empty buffer (kernel thread, zombie) has no mappings. Returns 0 or the
 * callback's nonzero value.
 */
int mw_parse_smaps(const char *buf, size_t len, mw_smaps_cb cb, void *ud);

/*
 * Whether a mapping's pages are shared memory (shmem/tmpfs). smaps has no
 * per-mapping Shmem key (status's RssShmem is the process total), so it is
 * decided from the mapping itself:
 *   - MAP_SHARED anonymous memory: shared ("s" in perms) and "/dev/zero";
 *   - memfd_create: "/memfd:NAME"; SysV shm: "/SYSV<key>";
 *   - POSIX shm_open: "/dev/shm/..."; named shared anonymous memory
 *     (PR_SET_VMA_ANON_NAME on a shared mapping): "[anon_shmem:NAME]".
 * A private mapping of one of these is shmem too until written (the written
 * pages are Anonymous). Files on other tmpfs mounts (/run, a tmpfs /tmp)
 * cannot be told from disk files in smaps and count as files.
 */
int mw_smaps_is_shmem(const char *perms, const char *path, size_t pathlen);

/*
 * The stack pointer in /proc/PID/task/TID/syscall: "NR ARG1..ARG6 SP PC" for a
 * thread in a system call, "-1 SP PC" for one blocked outside of one (the
 * last two fields either way). MW_EPARSE for "running" (a thread on a CPU
 * has no saved registers to show) and anything else. The file needs ptrace
 * access to the process (its owner, or root; Yama may narrow that).
 */
int mw_parse_syscall_sp(const char *buf, size_t len, uint64_t *sp);

#endif
