/*
 * OOM-kill evidence on Linux, read when a watched group vanishes: the
 * kernel's kill counter (/proc/vmstat) and the kill records of its log
 * (/dev/kmsg). Parsing is in oom.c; this file only reads, through the
 * syscall table.
 */
#include "memwatch/alloc.h"
#include "memwatch/memwatch.h"
#include "memwatch/sys.h"

#include "backend/linux/internal.h"
#include "backend/linux/oom.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

/* /proc/vmstat is a few kilobytes; oom_kill sits in its middle. */
#define VMSTAT_MAX ((size_t)64 * 1024)
/* A /dev/kmsg read returns one whole record or fails with EINVAL when the
 * buffer is too small; the kernel's records fit in 8 KiB (its
 * CONSOLE_EXT_LOG_MAX). Twice that leaves room for a partial line carried
 * over when the log is a regular file (a captured fixture). */
#define KMSG_BUF ((size_t)16 * 1024)
/* Records overwritten while we read (EPIPE) move the position on; a bound
 * keeps a log that never stops being overwritten from holding us. */
#define MAX_EPIPE 64

int mw_linux_oom_kill_count(void *state, int64_t *count)
{
    int rootfd;
    const mw_sys *sys = mw_linux_sys(state, &rootfd);
    char *buf = mw_malloc(VMSTAT_MAX);
    ssize_t n;
    int rc;

    if (!buf)
        return -ENOMEM;
    n = mw_sys_read_file(sys, rootfd, "vmstat", buf, VMSTAT_MAX);
    if (n < 0)
        rc = (int)n;
    else
        rc = mw_parse_flat_keyed(buf, (size_t)n, "oom_kill", count) < 0 ? MW_ENOTSUP : MW_OK;
    mw_free(buf);
    return rc;
}

struct reader {
    uint64_t cursor, next;
    mw_oom_cb cb;
    void *ud;
};

/* One record's first line (continuation lines, " KEY=value", are skipped by
 * the caller). Returns the callback's nonzero value to stop, else 0. */
static int one_record(struct reader *r, const char *line, size_t len)
{
    uint64_t seq;
    mw_kmsg_oom k;
    mw_oom_kill out;

    int rc;

    if (mw_parse_kmsg_seq(line, len, &seq) < 0 || seq < r->cursor)
        return 0;
    if (mw_parse_kmsg_oom(line, len, &k) == 0) {
        out.seq = k.seq;
        out.usec = k.usec;
        out.pid = k.pid;
        memcpy(out.comm, k.comm, sizeof out.comm);
        /* Stopped here: the next read resumes with this record. */
        if ((rc = r->cb(r->ud, &out)) != 0)
            return rc;
    }
    if (seq + 1 > r->next)
        r->next = seq + 1;
    return 0;
}

int mw_linux_oom_kills(void *state, uint64_t cursor, mw_oom_cb cb, void *ud, uint64_t *next)
{
    int rootfd, fd, rc = 0, epipes = 0;
    const mw_sys *sys = mw_linux_sys(state, &rootfd);
    struct reader r = {cursor, cursor, cb, ud};
    size_t have = 0;
    char *buf;

    /* Non-blocking: the log is read up to its end, never waited on. A new
     * descriptor starts at the oldest record the kernel keeps; the sequence
     * numbers tell which of them came after the cursor. */
    fd = mw_sys_openat(sys, AT_FDCWD, mw_linux_kmsg(state),
                       O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    buf = mw_malloc(KMSG_BUF);
    if (!buf) {
        sys->close(fd);
        return -ENOMEM;
    }
    for (;;) {
        size_t start = 0;
        const char *nl;
        ssize_t n = sys->read(fd, buf + have, KMSG_BUF - have);

        if (n < 0) {
            if (errno == EINTR || (errno == EPIPE && ++epipes <= MAX_EPIPE))
                continue;
            if (errno != EAGAIN)
                rc = -errno;
            break;
        }
        if (n == 0)
            break; /* a regular file's end */
        have += (size_t)n;
        while (rc == 0 && (nl = memchr(buf + start, '\n', have - start)) != NULL) {
            size_t len = (size_t)(nl - (buf + start));
            if (len > 0 && buf[start] != ' ')
                rc = one_record(&r, buf + start, len);
            start += len + 1;
        }
        if (rc != 0)
            break;
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == KMSG_BUF)
            have = 0; /* a line longer than any record: not a log, drop it */
    }
    /* A file's last line without its newline. */
    if (rc == 0 && have > 0 && buf[0] != ' ')
        rc = one_record(&r, buf, have);
    mw_free(buf);
    sys->close(fd);
    if (rc >= 0)
        *next = r.next;
    return rc;
}
