/*
 * The operating-system calls the Linux backend makes, behind a table of
 * function pointers so tests can make any of them fail (fault injection) or
 * answer from elsewhere. The real table is mw_sys_default.
 */
#ifndef MEMWATCH_SYS_H
#define MEMWATCH_SYS_H

#include <dirent.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct bpf_object;

typedef struct mw_sys {
    int (*openat)(int dirfd, const char *path, int flags);
    ssize_t (*pread)(int fd, void *buf, size_t len, off_t off);
    int (*close)(int fd);
    ssize_t (*readlinkat)(int dirfd, const char *path, char *buf, size_t len);
    /* Directory listing of an open directory descriptor (not consumed). */
    DIR *(*fdopendir)(int fd);
    struct dirent *(*readdir)(DIR *dir);
    int (*closedir)(DIR *dir);
    /* Streams read in order (/dev/kmsg: one record a read). */
    ssize_t (*read)(int fd, void *buf, size_t len);
    /* Datagrams to local sockets (the system log's /dev/log). */
    int (*socket)(int domain, int type, int protocol);
    ssize_t (*sendto)(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
                      socklen_t addrlen);
    /* Linux, the BPF sampler: a step just before its program is loaded
     * into the kernel, where a test makes the load fail as the verifier
     * would. NULL: none. */
    int (*bpf_object_load)(struct bpf_object *obj);
} mw_sys;

extern const mw_sys mw_sys_default;

/* sys->openat, retried while it fails with EINTR: the fd, or -1 and errno. */
int mw_sys_openat(const mw_sys *sys, int dirfd, const char *path, int flags);

/*
 * Read a whole small file relative to dirfd into buf (NUL-terminated).
 * Returns the length, or -errno. EINTR is retried; a file longer than
 * len-1 is truncated (callers size buf for the files they read).
 */
ssize_t mw_sys_read_file(const mw_sys *sys, int dirfd, const char *path, char *buf, size_t len);
/* Read from an open descriptor at offset 0, same contract. */
ssize_t mw_sys_pread_all(const mw_sys *sys, int fd, char *buf, size_t len);

/*
 * Send msg as one datagram to the AF_UNIX datagram socket named by path (a
 * file such as /dev/log, or "@name" in Linux's abstract namespace) from a
 * fresh unbound socket, closed again before returning. 0, or -errno: what
 * socket or sendto failed with (EINTR retried; ENOENT or ECONNREFUSED: no
 * one listens there), -EINVAL for a name that is neither, -ENAMETOOLONG
 * when it does not fit a socket address, -EMSGSIZE when less than the
 * whole message was sent.
 */
int mw_sys_send_datagram(const mw_sys *sys, const char *path, const void *msg, size_t len);

#endif
