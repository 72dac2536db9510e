/*
 * The Linux backend: /proc read through a directory descriptor whose path is
 * a runtime parameter (the real /proc, or a captured fixture tree), every
 * call going through the mw_sys table.
 */
#include "memwatch/alloc.h"
#include "memwatch/backend.h"
#include "memwatch/memwatch.h"
#include "memwatch/sys.h"

#include "backend/linux/cgroup_ids.h"
#include "backend/linux/fdcache.h"
#include "backend/linux/fullname.h"
#include "backend/linux/internal.h"
#include "backend/linux/normalize.h"
#include "backend/linux/parse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Files larger than this are not ours to read whole (cmdline is capped). */
#define MAX_FILE (1u << 20)

typedef struct linux_state {
    const mw_sys *sys;
    int rootfd;
    int64_t ticks_per_sec;
    int64_t btime; /* boot time, epoch seconds; -1 unknown */
    mw_fdcache fds;
    char *buf; /* read buffer, grown on demand */
    size_t buflen;
    char *kmsg; /* the kernel log device, opened only when asked */
} linux_state;

static int linux_open(const mw_backend_cfg *cfg, void **out)
{
    linux_state *st = mw_calloc(1, sizeof *st);
    ssize_t n;
    long tck = sysconf(_SC_CLK_TCK);
    size_t max_fds;

    if (!st)
        return -ENOMEM;
    st->sys = cfg->sys;
    st->rootfd = mw_sys_openat(cfg->sys, AT_FDCWD, cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->rootfd < 0) {
        int rc = -errno;
        mw_free(st);
        return rc;
    }
    st->ticks_per_sec = tck > 0 ? tck : 100;
    st->btime = -1;
    /* /proc/stat can be long on many-core machines; btime sits after the cpu
     * lines, so read enough of it. */
    st->buflen = (size_t)64 * 1024;
    st->buf = mw_malloc(st->buflen);
    st->kmsg = mw_strdup(cfg->kmsg);
    if (!st->buf || !st->kmsg) {
        cfg->sys->close(st->rootfd);
        mw_free(st->buf);
        mw_free(st->kmsg);
        mw_free(st);
        return -ENOMEM;
    }
    n = mw_sys_read_file(st->sys, st->rootfd, "stat", st->buf, st->buflen);
    if (n > 0 && mw_parse_btime(st->buf, (size_t)n, &st->btime) < 0)
        st->btime = -1;
    if (cfg->max_cached_fds >= 0) {
        max_fds = (size_t)cfg->max_cached_fds;
    } else {
        /* Use at most half of the descriptors we may open, so the watcher's
         * scripts and actions keep room; the executable raises the soft limit
         * at start-up. */
        struct rlimit rl;
        max_fds = 0;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 128)
            max_fds = (size_t)(rl.rlim_cur / 2);
        if (max_fds > 16384)
            max_fds = 16384;
    }
    mw_fdcache_init(&st->fds, st->sys, max_fds);
    *out = st;
    return MW_OK;
}

static void linux_close(void *state)
{
    linux_state *st = state;
    if (!st)
        return;
    mw_fdcache_release(&st->fds);
    st->sys->close(st->rootfd);
    mw_free(st->buf);
    mw_free(st->kmsg);
    mw_free(st);
}

static int linux_list_pids(void *state, mw_pid_list *out)
{
    linux_state *st = state;
    struct dirent *de;
    DIR *dir;
    int fd, rc = 0;

    fd = mw_sys_openat(st->sys, st->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    dir = st->sys->fdopendir(fd);
    if (!dir) {
        rc = -errno;
        st->sys->close(fd);
        return rc;
    }
    while ((de = st->sys->readdir(dir)) != NULL) {
        const char *s = de->d_name;
        long pid = 0;
        if (*s < '1' || *s > '9')
            continue;
        for (; *s >= '0' && *s <= '9' && pid <= INT32_MAX; s++)
            pid = pid * 10 + (*s - '0');
        if (*s || pid > INT32_MAX)
            continue;
        if ((rc = mw_pid_list_push(out, (int32_t)pid)) < 0)
            break;
    }
    st->sys->closedir(dir);
    return rc;
}

/* A failed read (n < 0): a refusal marks bits in out->denied and lets the
 * read go on (0); a vanished process or another error is returned. */
static int mark_refused(ssize_t n, mw_proc *out, unsigned bits)
{
    if (!mw_refused((int)n))
        return (int)n;
    out->denied |= bits;
    return 0;
}

/* Read PID/<file> into st->buf, growing it when the file fills it. */
static ssize_t read_file(linux_state *st, int32_t pid, const char *file)
{
    char path[64];
    ssize_t n;

    snprintf(path, sizeof path, "%d/%s", (int)pid, file);
    for (;;) {
        char *bigger;
        n = mw_sys_read_file(st->sys, st->rootfd, path, st->buf, st->buflen);
        if (n < 0 || (size_t)n < st->buflen - 1 || st->buflen >= MAX_FILE)
            return n;
        bigger = mw_realloc(st->buf, st->buflen * 2);
        if (!bigger)
            return n; /* a truncated read is still a read */
        st->buf = bigger;
        st->buflen *= 2;
    }
}

/*
 * Read a file we keep open between scans. A cached descriptor that answers
 * ESRCH belonged to a process that has died (perhaps its pid is reused now):
 * forget it and open the pid afresh.
 */
static ssize_t read_cached(linux_state *st, int32_t pid, int kind, const char *file,
                           int *from_cache)
{
    char path[64];
    ssize_t n;
    int fd = mw_fdcache_get(&st->fds, pid, kind);

    *from_cache = 0;
    if (fd >= 0) {
        n = mw_sys_pread_all(st->sys, fd, st->buf, st->buflen);
        if (n >= 0 && (size_t)n < st->buflen - 1) {
            *from_cache = 1; /* the same process as when the descriptor was opened */
            return n;
        }
        if (n >= 0 || n != -ESRCH)
            return read_file(st, pid, file); /* too big for the buffer, or odd */
        mw_fdcache_drop(&st->fds, pid);
    }
    snprintf(path, sizeof path, "%d/%s", (int)pid, file);
    fd = mw_sys_openat(st->sys, st->rootfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    n = mw_sys_pread_all(st->sys, fd, st->buf, st->buflen);
    if (n < 0 || mw_fdcache_put(&st->fds, pid, kind, fd) < 0)
        st->sys->close(fd);
    if (n >= 0 && (size_t)n >= st->buflen - 1)
        return read_file(st, pid, file);
    return n;
}

/* Keep the start time with the process's cached descriptors: it cannot
 * change while they stay valid, so later scans need not read stat for it. */
static void remember_start(linux_state *st, int32_t pid, uint64_t ticks)
{
    mw_fdc_entry *e = mw_fdcache_entry(&st->fds, pid);
    if (e) {
        e->start_ticks = ticks;
        e->have_start = 1;
    }
}

static void read_smaps(linux_state *st, int32_t pid, mw_proc *out)
{
    ssize_t n = read_file(st, pid, "smaps_rollup");
    mw_smaps_info sm;

    if (n < 0) {
        mark_refused(n, out, MW_SRC_SMAPS);
        /* ESRCH: a kernel thread or zombie has no address space; ENOENT: a
         * kernel without smaps_rollup. Both leave the fields absent. */
        return;
    }
    if (mw_parse_smaps_rollup(st->buf, (size_t)n, &sm) < 0)
        return;
    out->read |= MW_SRC_SMAPS;
    mw_linux_from_smaps(&sm, out);
}

static void read_io(linux_state *st, int32_t pid, mw_proc *out)
{
    ssize_t n = read_file(st, pid, "io");
    mw_io_info io;

    if (n < 0) {
        mark_refused(n, out, MW_SRC_IO);
        return;
    }
    if (mw_parse_io(st->buf, (size_t)n, &io) < 0)
        return;
    out->read |= MW_SRC_IO;
    mw_linux_from_io(&io, out);
}

/* 0, or -ENOMEM when the copy could not be made. */
static int read_cmdline(linux_state *st, int32_t pid, mw_proc *out)
{
    ssize_t n = read_file(st, pid, "cmdline");

    if (n < 0) {
        mark_refused(n, out, MW_SRC_CMDLINE);
        return 0;
    }
    /* Arguments are NUL-separated with a trailing NUL; kernel threads have none. */
    while (n > 0 && st->buf[n - 1] == '\0')
        n--;
    for (ssize_t i = 0; i < n; i++) {
        if (st->buf[i] == '\0')
            st->buf[i] = ' ';
    }
    if (n > 0 && !(out->cmdline = mw_strndup(st->buf, (size_t)n)))
        return -ENOMEM;
    out->read |= MW_SRC_CMDLINE;
    return 0;
}

/* 0, or -ENOMEM when the copy could not be made. */
static int read_path(linux_state *st, int32_t pid, mw_proc *out)
{
    char link[64], target[4096];
    ssize_t n;

    snprintf(link, sizeof link, "%d/exe", (int)pid);
    n = st->sys->readlinkat(st->rootfd, link, target, sizeof target - 1);
    if (n < 0) {
        mark_refused(-errno, out, MW_SRC_PATH);
        return 0;
    }
    target[n] = '\0';
    if (!(out->path = mw_strdup(target)))
        return -ENOMEM;
    out->read |= MW_SRC_PATH;
    return 0;
}

/* stat: CPU time and the start time, which is kept with the process's cached
 * descriptors. keep: hold stat's own descriptor open between scans. */
static int read_stat(linux_state *st, int32_t pid, mw_proc *out, int have_status, int keep,
                     unsigned denied_bits)
{
    mw_stat_info si;
    int cached;
    ssize_t n =
        keep ? read_cached(st, pid, MW_FDC_STAT, "stat", &cached) : read_file(st, pid, "stat");

    if (n < 0)
        return mark_refused(n, out, denied_bits);
    if (mw_parse_stat(st->buf, (size_t)n, &si) < 0)
        return MW_EPARSE;
    mw_linux_from_stat(&si, have_status, st->ticks_per_sec, st->btime, out);
    remember_start(st, pid, si.starttime);
    out->read |= MW_SRC_STAT | MW_SRC_IDENT;
    return 0;
}

/*
 * name: the full name when comm is at the kernel's 15-byte limit
 * (fullname.h), from the executable's link and the command line. Those two
 * reads are made once per process: the choice is kept with its cached
 * status descriptor (status_cached: this call read through it, so it is
 * still the same process). Kernel threads have neither and keep comm.
 */
static void resolve_name(linux_state *st, int32_t pid, mw_proc *out, int status_cached)
{
    mw_fdc_entry *e = mw_fdcache_entry(&st->fds, pid);
    char name[MW_NAME_MAX];
    size_t clen = strnlen(out->name, sizeof out->comm - 1);
    int longer;

    memcpy(out->comm, out->name, clen);
    out->comm[clen] = '\0';
    if (!mw_comm_truncated(out->comm) || (out->flags & MW_PROC_KTHREAD))
        return;
    if (status_cached && e && e->have_name) {
        if (e->full_name)
            snprintf(out->name, sizeof out->name, "%s", e->full_name);
        return;
    }
    longer = mw_linux_full_name(st, pid, out->comm, name, sizeof name);
    memcpy(out->name, name, sizeof out->name);
    /* Kept only with a status descriptor, the thing that says "same process"
     * on the next scan; out of memory only costs the next scan these reads. */
    if (e && e->fd[MW_FDC_STATUS] >= 0) {
        mw_free(e->full_name);
        e->full_name = longer ? mw_strdup(name) : NULL;
        e->have_name = !longer || e->full_name != NULL;
    }
}

static int linux_read_proc(void *state, int32_t pid, unsigned want, mw_proc *out)
{
    linux_state *st = state;
    int have_status = 0, status_cached = 0, rc;
    mw_status_info si;
    ssize_t n;

    out->pid = pid;
    if (want & MW_SRC_STATUS) {
        n = read_cached(st, pid, MW_FDC_STATUS, "status", &status_cached);
        if (n < 0) {
            if ((rc = mark_refused(n, out, MW_SRC_STATUS)) < 0)
                return rc;
        } else if (mw_parse_status(st->buf, (size_t)n, &si) == 0) {
            mw_linux_from_status(&si, out);
            have_status = 1;
            out->read |= MW_SRC_STATUS;
        } else {
            return MW_EPARSE;
        }
    }
    if ((want & MW_SRC_STAT) &&
        (rc = read_stat(st, pid, out, have_status, 1, MW_SRC_STAT | MW_SRC_IDENT)) < 0)
        return rc;
    if ((want & MW_SRC_IDENT) && !(out->read & MW_SRC_IDENT) && !(out->denied & MW_SRC_IDENT)) {
        /* The start time: kept from an earlier scan when this call read the
         * process's status through a descriptor that is still valid; else
         * from stat, read once (its descriptor is not kept). */
        mw_fdc_entry *e = status_cached ? mw_fdcache_entry(&st->fds, pid) : NULL;
        if (e && e->have_start) {
            mw_linux_set_start(out, e->start_ticks, st->ticks_per_sec, st->btime);
            out->read |= MW_SRC_IDENT;
        } else if ((rc = read_stat(st, pid, out, have_status, 0, MW_SRC_IDENT)) < 0) {
            return rc;
        }
    }
    if ((want & (MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT)) &&
        !(out->read & (MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT)))
        return -EACCES;
    mw_proc_set(out, MW_F_PID, pid);
    if (out->read & (MW_SRC_STATUS | MW_SRC_STAT))
        resolve_name(st, pid, out, status_cached);
    if (want & MW_SRC_SMAPS)
        read_smaps(st, pid, out);
    if (want & MW_SRC_IO)
        read_io(st, pid, out);
    if ((want & MW_SRC_CMDLINE) && read_cmdline(st, pid, out) < 0)
        return -ENOMEM;
    if ((want & MW_SRC_PATH) && read_path(st, pid, out) < 0)
        return -ENOMEM;
    if (!(want & (MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT)) && !out->read && !out->denied)
        return -ESRCH;
    return MW_OK;
}

static int linux_read_system(void *state, mw_system *out)
{
    linux_state *st = state;
    mw_meminfo mi;
    mw_psi psi;
    int have_psi;
    ssize_t n = mw_sys_read_file(st->sys, st->rootfd, "meminfo", st->buf, st->buflen);

    if (n < 0)
        return (int)n;
    if (mw_parse_meminfo(st->buf, (size_t)n, &mi) < 0)
        return MW_EPARSE;
    /* PSI is absent on kernels without CONFIG_PSI or booted with psi=0. */
    n = mw_sys_read_file(st->sys, st->rootfd, "pressure/memory", st->buf, st->buflen);
    have_psi = n > 0 && mw_parse_psi(st->buf, (size_t)n, &psi) == 0;
    mw_linux_from_system(&mi, have_psi ? &psi : NULL, out);
    return MW_OK;
}

static int linux_app_key(void *state, int32_t pid, char *buf, size_t len)
{
    linux_state *st = state;
    ssize_t n = read_file(st, pid, "cgroup");

    if (n < 0)
        return (int)n;
    if (mw_parse_cgroup_app(st->buf, (size_t)n, buf, len) < 0)
        return -ENOENT;
    return MW_OK;
}

static int linux_cgroup_ids(void *state, int32_t pid, mw_cgroup_ids *out)
{
    linux_state *st = state;
    ssize_t n = read_file(st, pid, "cgroup");

    if (n < 0)
        return (int)n;
    return mw_parse_cgroup_ids(st->buf, (size_t)n, out);
}

static void linux_scan_begin(void *state, const mw_scan_opts *opts)
{
    (void)opts;
    mw_fdcache_begin(&((linux_state *)state)->fds);
}

static void linux_scan_end(void *state)
{
    mw_fdcache_sweep(&((linux_state *)state)->fds);
}

int mw_linux_read_rel(void *state, int32_t pid, const char *file, const char **data, size_t *len)
{
    linux_state *st = state;
    ssize_t n = read_file(st, pid, file);
    if (n < 0)
        return (int)n;
    *data = st->buf;
    *len = (size_t)n;
    return MW_OK;
}

const mw_sys *mw_linux_sys(void *state, int *rootfd)
{
    linux_state *st = state;
    *rootfd = st->rootfd;
    return st->sys;
}

int64_t mw_linux_btime(void *state)
{
    return ((linux_state *)state)->btime;
}

int mw_linux_full_name(void *state, int32_t pid, const char *comm, char *out, size_t len)
{
    linux_state *st = state;
    char link[64], exe[4096];
    ssize_t n, nargs;

    snprintf(link, sizeof link, "%d/exe", (int)pid);
    n = st->sys->readlinkat(st->rootfd, link, exe, sizeof exe - 1);
    if (n >= 0)
        exe[n] = '\0';
    nargs = read_file(st, pid, "cmdline");
    return mw_full_name(comm, n >= 0 ? exe : NULL, nargs > 0 ? st->buf : NULL,
                        nargs > 0 ? (size_t)nargs : 0, out, len);
}

const char *mw_linux_kmsg(void *state)
{
    return ((linux_state *)state)->kmsg;
}

const mw_backend_ops mw_backend_native = {
    .name = "linux",
    .platform = "linux",
    .open = linux_open,
    .close = linux_close,
    .list_pids = linux_list_pids,
    .read_proc = linux_read_proc,
    .read_system = linux_read_system,
    .read_ledger = mw_linux_read_ledger,
    .app_key = linux_app_key,
    .cgroup_ids = linux_cgroup_ids,
    .scan_begin = linux_scan_begin,
    .scan_end = linux_scan_end,
    .oom_kill_count = mw_linux_oom_kill_count,
    .oom_kills = mw_linux_oom_kills,
    .read_regions = mw_linux_read_regions,
};
