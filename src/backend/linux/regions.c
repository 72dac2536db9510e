/*
 * backend_ops.read_regions for Linux: /proc/PID/smaps read whole, then
 * parsed (smaps.c) into mw_region rows.
 *
 * Reading smaps walks the process's mappings under its mmap_lock, a page
 * table walk per mapping: milliseconds for a large process, during which
 * that process cannot map or unmap memory. It is therefore read on demand,
 * for one process, never in scans (tests/bench/regions.c measures it).
 */
#include "backend/linux/internal.h"
#include "backend/linux/smaps.h"

#include "memwatch/alloc.h"
#include "memwatch/backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* smaps shows about 1.1 KiB per mapping; a process at the default
 * vm.max_map_count (65530) needs about 72 MiB. */
#define SMAPS_FIRST_READ ((size_t)64 * 1024)
#define SMAPS_MAX        ((size_t)256 * 1024 * 1024)

/* The whole file through sys->read (a seq_file: pread would restart it). */
static int read_all(const mw_sys *sys, int fd, char **out, size_t *outlen)
{
    size_t cap = SMAPS_FIRST_READ, used = 0;
    char *buf = mw_malloc(cap);

    if (!buf)
        return -ENOMEM;
    for (;;) {
        ssize_t n;
        if (used == cap) {
            char *bigger;
            if (cap >= SMAPS_MAX) {
                mw_free(buf);
                return -EFBIG;
            }
            bigger = mw_realloc(buf, cap * 2);
            if (!bigger) {
                mw_free(buf);
                return -ENOMEM;
            }
            buf = bigger;
            cap *= 2;
        }
        n = sys->read(fd, buf + used, cap - used);
        if (n < 0) {
            int rc = -errno;
            if (rc == -EINTR)
                continue;
            /* A process that exits while its smaps is read makes the next
             * read fail with ESRCH on some kernels; what was read stands. */
            if (rc == -ESRCH && used > 0)
                break;
            mw_free(buf);
            return rc;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    *out = buf;
    *outlen = used;
    return MW_OK;
}

struct collect {
    mw_regions *out;
};

static int add_row(void *ud, const mw_smaps_row *row)
{
    mw_regions *out = ((struct collect *)ud)->out;
    mw_region *r;

    if (!row->complete) {
        out->truncated = 1;
        return 0;
    }
    if (!(r = mw_regions_next(out)))
        return -ENOMEM;
    r->start = row->start;
    r->end = row->end;
    r->offset = row->offset;
    r->inode = row->inode;
    r->dev_major = row->dev_major;
    r->dev_minor = row->dev_minor;
    memcpy(r->perms, row->perms, sizeof r->perms);
    r->flags = row->flags;
    r->present = row->present;
    memcpy(r->v, row->v, sizeof r->v);
    if (row->pathlen > 0 && !(r->path = mw_strndup(row->path, row->pathlen)))
        return -ENOMEM;
    out->count++;
    return 0;
}

/*
 * Linux has not labelled thread stacks in maps and smaps since 4.5 (only the
 * main thread's [stack]); a thread's stack is an unnamed mapping like any
 * other. Each thread's saved stack pointer (task/TID/syscall) places it. Best
 * effort: a thread that is running, gone, or not ours to read leaves its
 * stack unnamed.
 */
static void place_thread_stacks(const mw_sys *sys, int rootfd, int32_t pid, mw_regions *out)
{
    char path[64], buf[256];
    struct dirent *de;
    DIR *dir;
    int fd;

    snprintf(path, sizeof path, "%d/task", (int)pid);
    fd = mw_sys_openat(sys, rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    dir = sys->fdopendir(fd);
    if (!dir) {
        sys->close(fd);
        return;
    }
    while ((de = sys->readdir(dir)) != NULL) {
        char *tail;
        long tid = strtol(de->d_name, &tail, 10);
        uint64_t sp;
        ssize_t n;
        if (*tail != '\0' || tid <= 0 || tid > INT32_MAX || tid == pid)
            continue;
        snprintf(path, sizeof path, "%d/task/%ld/syscall", (int)pid, tid);
        n = mw_sys_read_file(sys, rootfd, path, buf, sizeof buf);
        if (n <= 0 || mw_parse_syscall_sp(buf, (size_t)n, &sp) < 0)
            continue;
        for (size_t i = 0; i < out->count; i++) {
            mw_region *r = &out->rows[i];
            if (sp >= r->start && sp < r->end) {
                if (!r->path && r->perms[3] == 'p' && !r->stack_tid)
                    r->stack_tid = (int32_t)tid;
                break;
            }
        }
    }
    sys->closedir(dir);
}

int mw_linux_read_regions(void *state, int32_t pid, mw_regions *out)
{
    int rootfd, fd, rc;
    const mw_sys *sys = mw_linux_sys(state, &rootfd);
    char path[32];
    char *buf = NULL;
    size_t len = 0;
    struct collect c = {out};

    snprintf(path, sizeof path, "%d/smaps", (int)pid);
    fd = mw_sys_openat(sys, rootfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT ? -ESRCH : -errno;
    rc = read_all(sys, fd, &buf, &len);
    sys->close(fd);
    if (rc < 0)
        return rc;
    rc = mw_parse_smaps(buf, len, add_row, &c);
    mw_free(buf);
    if (rc == 0)
        place_thread_stacks(sys, rootfd, pid, out);
    return rc;
}
