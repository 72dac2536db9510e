/*
 * mw_sys_send_datagram, the primitive under memwatch.actions.syslog: a real
 * round trip through a bound AF_UNIX datagram socket (a path and an abstract
 * name), the names it refuses, and through a fake system-call table every
 * failure of socket and sendto: the errno comes back, EINTR is retried, a
 * short send is -EMSGSIZE, and the socket is closed on every path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "memwatch/sys.h"

/* ---- a real receiver ----------------------------------------------------------------- */

/* A datagram socket bound to name (a path, or "@abstract"): its fd. */
static int bind_receiver(const char *name)
{
    struct sockaddr_un addr;
    size_t len = strlen(name);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    assert_true(len < sizeof addr.sun_path);
    memcpy(addr.sun_path, name, len);
    if (name[0] == '@')
        addr.sun_path[0] = '\0';
    assert_int_equal(bind(fd, (struct sockaddr *)&addr,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)),
                     0);
    return fd;
}

static void expect_received(int fd, const char *text)
{
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);

    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, text);
}

static void test_round_trip_path(void **state)
{
    char dir[] = "/tmp/mw-datagram.XXXXXX";
    char path[64];
    const char *msg = "<28>Nov 25 10:04:05 memwatch[42]: ALERT rule 'big'";
    int fd;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/log", dir);
    fd = bind_receiver(path);
    assert_int_equal(mw_sys_send_datagram(&mw_sys_default, path, msg, strlen(msg)), 0);
    expect_received(fd, msg);
    close(fd);
    unlink(path);
    rmdir(dir);
}

#ifdef __linux__
/* Linux's abstract namespace: no file, the name starts with a NUL byte (only
 * Linux has one, so only Linux has the test). */
static void test_round_trip_abstract(void **state)
{
    char name[64];
    int fd;

    (void)state;
    snprintf(name, sizeof name, "@mw-datagram-test-%ld", (long)getpid());
    fd = bind_receiver(name);
    assert_int_equal(mw_sys_send_datagram(&mw_sys_default, name, "hello", 5), 0);
    expect_received(fd, "hello");
    close(fd);
}
#endif

static void test_refused_names(void **state)
{
    char long_path[200];

    (void)state;
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    assert_int_equal(mw_sys_send_datagram(&mw_sys_default, "dev/log", "x", 1), -EINVAL);
    assert_int_equal(mw_sys_send_datagram(&mw_sys_default, "/", "x", 1), -EINVAL);
    assert_int_equal(mw_sys_send_datagram(&mw_sys_default, "", "x", 1), -EINVAL);
    assert_int_equal(mw_sys_send_datagram(&mw_sys_default, long_path, "x", 1), -ENAMETOOLONG);
    /* Nobody listens: the errno of sendto. */
    assert_int_equal(mw_sys_send_datagram(&mw_sys_default, "/nonexistent-dir/log", "x", 1),
                     -ENOENT);
}

/* ---- faults ---------------------------------------------------------------------------- */

static struct {
    int socket_err;     /* socket fails with this errno (0: it works) */
    int sendto_errs[4]; /* the errno of each sendto call in turn (0: it works) */
    ssize_t short_by;   /* a working sendto sends this many bytes less */
    int sendto_calls;
    int closes;
    int fd;
} F;

static int fake_socket(int domain, int type, int protocol)
{
    (void)domain;
    (void)type;
    (void)protocol;
    if (F.socket_err) {
        errno = F.socket_err;
        return -1;
    }
    F.fd = 1000;
    return F.fd;
}

static ssize_t fake_sendto(int fd, const void *buf, size_t len, int flags,
                           const struct sockaddr *addr, socklen_t addrlen)
{
    int err = F.sendto_calls < 4 ? F.sendto_errs[F.sendto_calls] : 0;

    (void)buf;
    (void)flags;
    (void)addr;
    (void)addrlen;
    assert_int_equal(fd, F.fd);
    F.sendto_calls++;
    if (err) {
        errno = err;
        return -1;
    }
    return (ssize_t)len - F.short_by;
}

static int fake_close(int fd)
{
    assert_int_equal(fd, F.fd);
    F.closes++;
    return 0;
}

static const mw_sys fake_sys = {
    .close = fake_close,
    .socket = fake_socket,
    .sendto = fake_sendto,
};

static int reset(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    return 0;
}

static void test_socket_fails(void **state)
{
    (void)state;
    F.socket_err = EMFILE;
    assert_int_equal(mw_sys_send_datagram(&fake_sys, "/dev/log", "x", 1), -EMFILE);
    assert_int_equal(F.sendto_calls, 0);
    assert_int_equal(F.closes, 0);
}

static void test_sendto_fails(void **state)
{
    static const int errs[] = {ENOENT, ECONNREFUSED, EACCES, ENOBUFS, EAGAIN};

    (void)state;
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        reset(NULL);
        F.sendto_errs[0] = errs[i];
        assert_int_equal(mw_sys_send_datagram(&fake_sys, "/dev/log", "x", 1), -errs[i]);
        assert_int_equal(F.sendto_calls, 1);
        assert_int_equal(F.closes, 1);
    }
}

static void test_eintr_retried(void **state)
{
    (void)state;
    F.sendto_errs[0] = EINTR;
    F.sendto_errs[1] = EINTR;
    assert_int_equal(mw_sys_send_datagram(&fake_sys, "/dev/log", "abc", 3), 0);
    assert_int_equal(F.sendto_calls, 3);
    assert_int_equal(F.closes, 1);
}

static void test_short_send(void **state)
{
    (void)state;
    F.short_by = 1;
    assert_int_equal(mw_sys_send_datagram(&fake_sys, "/dev/log", "abc", 3), -EMSGSIZE);
    assert_int_equal(F.closes, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_path),
#ifdef __linux__
        cmocka_unit_test(test_round_trip_abstract),
#endif
        cmocka_unit_test(test_refused_names),
        cmocka_unit_test_setup(test_socket_fails, reset),
        cmocka_unit_test_setup(test_sendto_fails, reset),
        cmocka_unit_test_setup(test_eintr_retried, reset),
        cmocka_unit_test_setup(test_short_send, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
