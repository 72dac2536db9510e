/*
 * The real system-call table and the read helpers every backend uses.
 * Going through the table (never calling openat/pread directly) is what lets
 * the fault-injection tests fail any call.
 */
#include "memwatch/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

static int real_openat(int dirfd, const char *path, int flags)
{
    return openat(dirfd, path, flags);
}

const mw_sys mw_sys_default = {
    .openat = real_openat,
    .pread = pread,
    .close = close,
    .readlinkat = readlinkat,
    .fdopendir = fdopendir,
    .readdir = readdir,
    .closedir = closedir,
    .read = read,
    .socket = socket,
    .sendto = sendto,
};

ssize_t mw_sys_pread_all(const mw_sys *sys, int fd, char *buf, size_t len)
{
    size_t used = 0;

    if (len == 0)
        return -EINVAL;
    /* A read shorter than asked means the end: procfs single-record files come
     * whole in one read, and regular (fixture) files only run short at EOF.
     * Stopping there saves the extra read that would return 0, a syscall per
     * file on the hot path. */
    while (used < len - 1) {
        ssize_t n = sys->pread(fd, buf + used, len - 1 - used, (off_t)used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        used += (size_t)n;
        if (n == 0 || used < len - 1)
            break;
    }
    buf[used] = '\0';
    return (ssize_t)used;
}

int mw_sys_openat(const mw_sys *sys, int dirfd, const char *path, int flags)
{
    int fd;

    do {
        fd = sys->openat(dirfd, path, flags);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

ssize_t mw_sys_read_file(const mw_sys *sys, int dirfd, const char *path, char *buf, size_t len)
{
    ssize_t n;
    int fd = mw_sys_openat(sys, dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0)
        return -errno;
    n = mw_sys_pread_all(sys, fd, buf, len);
    sys->close(fd);
    return n;
}

int mw_sys_send_datagram(const mw_sys *sys, const char *path, const void *msg, size_t len)
{
    struct sockaddr_un addr;
    size_t plen = strlen(path);
    socklen_t addrlen;
    ssize_t n;
    int fd, r = 0;

    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (plen < 2 || (path[0] != '/' && path[0] != '@'))
        return -EINVAL;
    /* A path needs its terminating NUL in sun_path; an abstract name does
     * not have one (its length is the address length). */
    if (plen > sizeof addr.sun_path - (path[0] == '/'))
        return -ENAMETOOLONG;
    memcpy(addr.sun_path, path, plen);
    if (path[0] == '@')
        addr.sun_path[0] = '\0';
    addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
#ifdef SOCK_CLOEXEC
    fd = sys->socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
#else
    fd = sys->socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd >= 0)
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
    if (fd < 0)
        return -errno;
    do {
        n = sys->sendto(fd, msg, len, 0, (const struct sockaddr *)&addr, addrlen);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        r = -errno;
    else if ((size_t)n != len)
        r = -EMSGSIZE;
    sys->close(fd);
    return r;
}
