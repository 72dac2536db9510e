/*
 * Captured-style /proc trees (tests/fixtures/linux/<case>) replayed through
 * the real Linux backend: mw_ctx_open with cfg.root at the fixture. Where
 * the file system cannot produce a failure (tests run as root, so no
 * EACCES; regular files never answer ESRCH), a fake mw_sys table that wraps
 * the real one injects it.
 *
 * The basic tree: 100 firefox (every file, GPU descriptors), 2 kthreadd
 * (kernel thread), 300 a zombie, 400 comm "a b) Z\n(c", 500 listed but its
 * files gone, 600 sshd (the fake refuses its smaps_rollup), 700 bash (no
 * smaps_rollup: an old kernel). nopsi: no pressure/, no btime, pid 42.
 * names: comms at the kernel's 15-byte limit: 800 "my-leaky-servic" (exe
 * /opt/app/my-leaky-service-long), 801 "Isolated Web Co" (firefox-esr renamed
 * itself), 802 "long-script-nam" (python3 running /srv/long-script-name.py),
 * 803 "unreadable-exe-" (no exe link; argv[0] ./unreadable-exe-name), 804
 * "deleted-binary-" (exe deleted-binary-name " (deleted)", argv[0]
 * deleted-binary-alias), 805 "short" (under the limit: comm is the name).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "memwatch/backend.h"
#include "memwatch/memwatch.h"
#include "memwatch/sys.h"

#define BASIC MW_FIXTURES_DIR "/linux/basic"
#define NOPSI MW_FIXTURES_DIR "/linux/nopsi"
#define NAMES MW_FIXTURES_DIR "/linux/names"
#define KB(n) ((int64_t)(n)*1024)
#define NS    1000000000LL

/* ---- a fake mw_sys: the real calls, plus injected failures and a log --------- */

#define LOG_MAX 256

static struct {
    char deny_path[64]; /* openat of this path fails with deny_errno */
    int deny_errno;
    char deny_path2[64];
    int esrch_fd; /* the next pread of this fd fails with ESRCH */
    int esrch_left;
    char watch_path[64]; /* opens of this path are counted, the last fd kept */
    int watch_opens;
    int watch_fd;
    int watch_fd_closes; /* closes of watch_fd while it was the watched one */
    char log[LOG_MAX][64];
    size_t nlog;
    int readlinks;     /* readlinkat calls */
    int deny_readlink; /* readlinkat fails with this errno (0: never) */
} fake;

static int fake_openat(int dirfd, const char *path, int flags)
{
    int fd;
    if (fake.nlog < LOG_MAX)
        snprintf(fake.log[fake.nlog++], sizeof fake.log[0], "%s", path);
    if ((fake.deny_path[0] && strcmp(path, fake.deny_path) == 0) ||
        (fake.deny_path2[0] && strcmp(path, fake.deny_path2) == 0)) {
        errno = fake.deny_errno;
        return -1;
    }
    fd = mw_sys_default.openat(dirfd, path, flags);
    if (fd >= 0 && fake.watch_path[0] && strcmp(path, fake.watch_path) == 0) {
        fake.watch_opens++;
        fake.watch_fd = fd;
    }
    return fd;
}

static ssize_t fake_pread(int fd, void *buf, size_t len, off_t off)
{
    if (fake.esrch_left > 0 && fd == fake.esrch_fd) {
        fake.esrch_left--;
        errno = ESRCH;
        return -1;
    }
    return mw_sys_default.pread(fd, buf, len, off);
}

static int fake_close(int fd)
{
    if (fake.watch_fd >= 0 && fd == fake.watch_fd) {
        fake.watch_fd_closes++;
        fake.watch_fd = -1;
    }
    return mw_sys_default.close(fd);
}

static ssize_t fake_readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
    fake.readlinks++;
    if (fake.nlog < LOG_MAX)
        snprintf(fake.log[fake.nlog++], sizeof fake.log[0], "%s", path);
    if (fake.deny_readlink) {
        errno = fake.deny_readlink;
        return -1;
    }
    return mw_sys_default.readlinkat(dirfd, path, buf, len);
}

static DIR *fake_fdopendir(int fd)
{
    return mw_sys_default.fdopendir(fd);
}

static struct dirent *fake_readdir(DIR *dir)
{
    return mw_sys_default.readdir(dir);
}

static int fake_closedir(DIR *dir)
{
    return mw_sys_default.closedir(dir);
}

static const mw_sys fake_sys = {
    .openat = fake_openat,
    .pread = fake_pread,
    .close = fake_close,
    .readlinkat = fake_readlinkat,
    .fdopendir = fake_fdopendir,
    .readdir = fake_readdir,
    .closedir = fake_closedir,
};

static int reset_fake(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof fake);
    fake.esrch_fd = -1;
    fake.watch_fd = -1;
    return 0;
}

/* Whether the fake saw an open of path. */
static int opened(const char *path)
{
    for (size_t i = 0; i < fake.nlog; i++) {
        if (strcmp(fake.log[i], path) == 0)
            return 1;
    }
    return 0;
}

/* ---- helpers --------------------------------------------------------------------- */

static mw_ctx *open_ctx(const char *root, const mw_sys *sys, int max_fds)
{
    mw_ctx_cfg cfg;
    mw_ctx *ctx = NULL;
    int rc;

    memset(&cfg, 0, sizeof cfg);
    cfg.backend = &mw_backend_native;
    cfg.root = root;
    cfg.sys = sys;
    cfg.max_cached_fds = max_fds;
    rc = mw_ctx_open(&cfg, &ctx);
    if (rc != MW_OK)
        fail_msg("mw_ctx_open(%s): %s", root, mw_strerror(rc));
    assert_non_null(ctx);
    assert_string_equal(mw_ctx_platform(ctx), "linux");
    return ctx;
}

static int64_t ticks_per_sec(void)
{
    long t = sysconf(_SC_CLK_TCK);
    return t > 0 ? t : 100;
}

/* What the backend should make of a tick count: nanoseconds. */
static int64_t ticks_ns(uint64_t ticks)
{
    uint64_t t = (uint64_t)ticks_per_sec();
    return (int64_t)(ticks / t * 1000000000u + ticks % t * 1000000000u / t);
}

static void field_is(const mw_proc *p, enum mw_field f, int64_t want)
{
    if (!mw_proc_has(p, f))
        fail_msg("pid %d: field %s absent, want %lld", p->pid, mw_field_get(f)->name,
                 (long long)want);
    if (p->v[f] != want)
        fail_msg("pid %d: field %s = %lld, want %lld", p->pid, mw_field_get(f)->name,
                 (long long)p->v[f], (long long)want);
}

static void field_absent(const mw_proc *p, enum mw_field f)
{
    if (mw_proc_has(p, f))
        fail_msg("pid %d: field %s present (%lld), want absent", p->pid, mw_field_get(f)->name,
                 (long long)p->v[f]);
}

static void no_memory_fields(const mw_proc *p)
{
    static const enum mw_field mem[] = {
        MW_F_FOOTPRINT, MW_F_RESIDENT,   MW_F_RSS_ANON,      MW_F_RSS_FILE,  MW_F_RSS_SHMEM,
        MW_F_SWAP,      MW_F_PAGE_TABLE, MW_F_RESIDENT_PEAK, MW_F_VIRTUAL,   MW_F_LOCKED,
        MW_F_PSS,       MW_F_USS,        MW_F_SWAP_PSS,      MW_F_LAZY_FREE,
    };
    for (size_t i = 0; i < sizeof mem / sizeof mem[0]; i++)
        field_absent(p, mem[i]);
}

/* Descriptors this process has open now. */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* A scan callback that records the pids it sees (and a copy of one record). */
struct seen {
    int32_t pids[64];
    size_t n;
    int stop_at; /* return 7 after this many (0: never) */
    int32_t keep_pid;
    mw_proc kept;
};

static int collect(void *ud, const mw_proc *p)
{
    struct seen *s = ud;
    assert_true(s->n < 64);
    s->pids[s->n++] = p->pid;
    if (p->pid == s->keep_pid) {
        s->kept = *p; /* the scan frees path/cmdline: drop them from the copy */
        s->kept.path = NULL;
        s->kept.cmdline = NULL;
    }
    return s->stop_at && (int)s->n >= s->stop_at ? 7 : 0;
}

static int cmp_pid(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Assert the scan saw exactly want[0..n) (in any order). */
static void saw_exactly(struct seen *s, const int32_t *want, size_t n)
{
    char got[256] = "", exp[256] = "";
    size_t i;
    qsort(s->pids, s->n, sizeof s->pids[0], cmp_pid);
    for (i = 0; i < s->n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), " %d", s->pids[i]);
    for (i = 0; i < n; i++)
        snprintf(exp + strlen(exp), sizeof exp - strlen(exp), " %d", want[i]);
    if (strcmp(got, exp) != 0)
        fail_msg("scan saw {%s }, want {%s }", got, exp);
}

static void scan_pids(mw_ctx *ctx, unsigned want, int64_t uid, const char *name, struct seen *s)
{
    mw_scan_opts o;
    int rc;
    memset(&o, 0, sizeof o);
    memset(s, 0, sizeof *s);
    o.want = want;
    o.uid = uid;
    o.name = name;
    rc = mw_scan(ctx, &o, collect, s);
    if (rc != 0)
        fail_msg("mw_scan: %d (%s)", rc, mw_ctx_errmsg(ctx));
}

/* ---- processes ---------------------------------------------------------------------- */

static void test_normal_process(void **state)
{
    mw_ctx *ctx = open_ctx(BASIC, NULL, 64);
    mw_proc p;
    (void)state;
    assert_int_equal(mw_proc_read(ctx, 100, MW_SRC_ALL, &p), MW_OK);
    assert_int_equal(p.pid, 100);
    assert_string_equal(p.name, "firefox");
    assert_int_equal(p.state, 'S');
    assert_int_equal(p.flags, 0);
    assert_int_equal(p.read, MW_SRC_ALL);
    assert_int_equal(p.denied, 0);
    field_is(&p, MW_F_PID, 100);
    field_is(&p, MW_F_PPID, 1);
    field_is(&p, MW_F_UID, 1000);
    field_is(&p, MW_F_THREADS, 57);
    /* status */
    field_is(&p, MW_F_FOOTPRINT, KB(90000 + 5000 + 3000 + 700));
    field_is(&p, MW_F_RESIDENT, KB(120000));
    field_is(&p, MW_F_RSS_ANON, KB(90000));
    field_is(&p, MW_F_RSS_FILE, KB(25000));
    field_is(&p, MW_F_RSS_SHMEM, KB(5000));
    field_is(&p, MW_F_SWAP, KB(3000));
    field_is(&p, MW_F_PAGE_TABLE, KB(700));
    field_is(&p, MW_F_RESIDENT_PEAK, KB(150000));
    field_is(&p, MW_F_VIRTUAL, KB(800000));
    field_is(&p, MW_F_LOCKED, KB(16));
    /* stat: 250 + 125 ticks; started 12345 ticks after btime 1700000000 */
    field_is(&p, MW_F_CPU_TIME, ticks_ns(375));
    field_is(&p, MW_F_START_TIME, 1700000000 * NS + ticks_ns(12345));
    /* smaps_rollup */
    field_is(&p, MW_F_PSS, KB(80000));
    field_is(&p, MW_F_USS, KB(1000 + 60000));
    field_is(&p, MW_F_SWAP_PSS, KB(1500));
    field_is(&p, MW_F_LAZY_FREE, KB(2048));
    /* io */
    field_is(&p, MW_F_DISK_READ, 409600);
    field_is(&p, MW_F_DISK_WRITTEN, 8192);
    /* cmdline (NUL-separated, joined by spaces) and exe */
    assert_non_null(p.cmdline);
    assert_string_equal(p.cmdline, "/usr/lib/firefox/firefox -P default --no-remote");
    assert_non_null(p.path);
    assert_string_equal(p.path, "/usr/lib/firefox/firefox");
    mw_proc_release(&p);
    assert_null(p.path);
    mw_ctx_close(ctx);
}

static void test_reads_only_what_is_asked(void **state)
{
    /* A footprint read opens status and nothing else. */
    mw_ctx *ctx = open_ctx(BASIC, &fake_sys, 64);
    mw_proc p;
    (void)state;
    fake.nlog = 0;
    assert_int_equal(mw_proc_read(ctx, 100, MW_SRC_STATUS, &p), MW_OK);
    assert_int_equal(fake.nlog, 1);
    assert_string_equal(fake.log[0], "100/status");
    assert_int_equal(p.read, MW_SRC_STATUS);
    field_is(&p, MW_F_FOOTPRINT, KB(98700));
    field_absent(&p, MW_F_PSS);
    field_absent(&p, MW_F_CPU_TIME);
    field_absent(&p, MW_F_DISK_READ);
    assert_null(p.cmdline);
    assert_null(p.path);
    mw_proc_release(&p);
    /* The second read reuses the cached descriptor: no open at all. */
    fake.nlog = 0;
    assert_int_equal(mw_proc_read(ctx, 100, MW_SRC_STATUS, &p), MW_OK);
    assert_int_equal(fake.nlog, 0);
    field_is(&p, MW_F_RESIDENT, KB(120000));
    mw_proc_release(&p);
    /* A scan for name, footprint and resident never opens smaps_rollup,
     * io, fdinfo or cmdline. */
    {
        struct seen s;
        fake.nlog = 0;
        scan_pids(ctx, MW_SRC_STATUS, -1, NULL, &s);
        assert_int_equal(s.n, 6);
        for (size_t i = 0; i < fake.nlog; i++) {
            const char *slash = strchr(fake.log[i], '/');
            if (strcmp(fake.log[i], ".") != 0 && (!slash || strcmp(slash, "/status") != 0))
                fail_msg("a status scan opened %s", fake.log[i]);
        }
    }
    mw_ctx_close(ctx);
}

static void test_kernel_thread(void **state)
{
    mw_ctx *ctx = open_ctx(BASIC, NULL, 64);
    mw_proc p;
    (void)state;
    assert_int_equal(mw_proc_read(ctx, 2, MW_SRC_ALL, &p), MW_OK);
    assert_string_equal(p.name, "kthreadd");
    assert_int_equal(p.flags, MW_PROC_KTHREAD);
    field_is(&p, MW_F_PPID, 0);
    field_is(&p, MW_F_UID, 0);
    field_is(&p, MW_F_THREADS, 1);
    field_is(&p, MW_F_CPU_TIME, ticks_ns(37));
    no_memory_fields(&p);
    /* No smaps_rollup is not a refusal. */
    assert_int_equal(p.denied, 0);
    assert_int_equal(p.read & MW_SRC_SMAPS, 0);
    /* Empty cmdline: read, but no command line; no exe link: no path. */
    assert_int_equal(p.read & MW_SRC_CMDLINE, MW_SRC_CMDLINE);
    assert_null(p.cmdline);
    assert_null(p.path);
    assert_int_equal(p.read & MW_SRC_PATH, 0);
    field_is(&p, MW_F_DISK_READ, 0);
    mw_proc_release(&p);

    /* stat alone also tells a kernel thread (PF_KTHREAD in flags). */
    assert_int_equal(mw_proc_read(ctx, 2, MW_SRC_STAT, &p), MW_OK);
    assert_int_equal(p.flags, MW_PROC_KTHREAD);
    assert_string_equal(p.name, "kthreadd");
    field_is(&p, MW_F_THREADS, 1);
    mw_proc_release(&p);
    mw_ctx_close(ctx);
}

static void test_zombie(void **state)
{
    mw_ctx *ctx = open_ctx(BASIC, NULL, 64);
    mw_proc p;
    (void)state;
    assert_int_equal(mw_proc_read(ctx, 300, MW_SRC_ALL, &p), MW_OK);
    assert_string_equal(p.name, "defunct-child");
    assert_int_equal(p.state, 'Z');
    assert_int_equal(p.flags, MW_PROC_ZOMBIE);
    field_is(&p, MW_F_PPID, 100);
    field_is(&p, MW_F_UID, 1000);
    field_is(&p, MW_F_CPU_TIME, ticks_ns(7));
    no_memory_fields(&p);
    assert_int_equal(p.denied, 0);
    assert_null(p.cmdline);
    mw_proc_release(&p);
    /* From stat alone too. */
    assert_int_equal(mw_proc_read(ctx, 300, MW_SRC_STAT, &p), MW_OK);
    assert_int_equal(p.state, 'Z');
    assert_int_equal(p.flags, MW_PROC_ZOMBIE);
    mw_proc_release(&p);
    mw_ctx_close(ctx);
}

static void test_hostile_comm(void **state)
{
    mw_ctx *ctx = open_ctx(BASIC, NULL, 64);
    mw_proc p;
    (void)state;
    /* From status (escaped newline undone)... */
    assert_int_equal(mw_proc_read(ctx, 400, MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_CMDLINE, &p),
                     MW_OK);
    assert_string_equal(p.name, "a b) Z\n(c");
    assert_int_equal(p.state, 'S');
    assert_int_equal(p.flags, 0);
    field_is(&p, MW_F_UID, 1001);
    field_is(&p, MW_F_FOOTPRINT, KB(2000 + 0 + 0 + 60));
    field_is(&p, MW_F_CPU_TIME, ticks_ns(11));
    field_is(&p, MW_F_START_TIME, 1700000000 * NS + ticks_ns(30000));
    assert_string_equal(p.cmdline, "./evil a b) Z");
    mw_proc_release(&p);
    /* ...and from stat alone: the same name, and ") Z " does not make it a zombie. */
    assert_int_equal(mw_proc_read(ctx, 400, MW_SRC_STAT, &p), MW_OK);
    assert_string_equal(p.name, "a b) Z\n(c");
    assert_int_equal(p.state, 'S');
    assert_int_equal(p.flags, 0);
    field_is(&p, MW_F_PPID, 1);
    field_is(&p, MW_F_THREADS, 2);
    mw_proc_release(&p);
    mw_ctx_close(ctx);
}

static void test_vanished_pid(void **state)
{
    mw_ctx *ctx = open_ctx(BASIC, NULL, 64);
    mw_proc p;
    struct seen s;
    static const int32_t all[] = {2, 100, 300, 400, 600, 700};
    int rc;
    (void)state;
    /* Listed (500/ exists) but its files are gone. */
    rc = mw_proc_read(ctx, 500, MW_SRC_STATUS, &p);
    if (rc != -ENOENT && rc != -ESRCH)
        fail_msg("mw_proc_read(500): %d (%s), want -ENOENT or -ESRCH", rc, mw_strerror(rc));
    assert_int_equal(p.present, 0);
    assert_null(p.path);
    rc = mw_proc_read(ctx, 500, MW_SRC_STAT | MW_SRC_SMAPS, &p);
    assert_true(rc == -ENOENT || rc == -ESRCH);
    rc = mw_proc_read(ctx, 500, MW_SRC_CMDLINE, &p);
    assert_true(rc == -ENOENT || rc == -ESRCH);
    /* Never existed. */
    rc = mw_proc_read(ctx, 99999, MW_SRC_STATUS, &p);
    assert_true(rc == -ENOENT || rc == -ESRCH);
    rc = mw_proc_read(ctx, -5, MW_SRC_STATUS, &p);
    assert_int_equal(rc, -ESRCH);
    mw_ctx_close(ctx);

    /* A scan skips it silently: no error recorded. */
    ctx = open_ctx(BASIC, NULL, 64);
    scan_pids(ctx, MW_SRC_STATUS | MW_SRC_STAT, -1, NULL, &s);
    saw_exactly(&s, all, 6);
    assert_string_equal(mw_ctx_errmsg(ctx), "");
    /* Also when the caller names it. */
    {
        static const int32_t ask[] = {500, 700, 99999, 100};
        static const int32_t found[] = {100, 700};
        mw_scan_opts o;
        memset(&o, 0, sizeof o);
        memset(&s, 0, sizeof s);
        o.want = MW_SRC_STATUS;
        o.uid = -1;
        o.pids = ask;
        o.npids = 4;
        assert_int_equal(mw_scan(ctx, &o, collect, &s), 0);
        saw_exactly(&s, found, 2);
        assert_string_equal(mw_ctx_errmsg(ctx), "");
    }
    mw_ctx_close(ctx);
}

static void test_smaps_eacces(void **state)
{
    mw_ctx *ctx = open_ctx(BASIC, &fake_sys, 64);
    mw_proc p;
    (void)state;
    snprintf(fake.deny_path, sizeof fake.deny_path, "600/smaps_rollup");
    fake.deny_errno = EACCES;
    assert_int_equal(mw_proc_read(ctx, 600, MW_SRC_STATUS | MW_SRC_SMAPS, &p), MW_OK);
    assert_true(opened("600/smaps_rollup"));
    assert_int_equal(p.denied, MW_SRC_SMAPS);
    assert_int_equal(p.read, MW_SRC_STATUS);
    field_absent(&p, MW_F_PSS);
    field_absent(&p, MW_F_USS);
    field_absent(&p, MW_F_SWAP_PSS);
    field_absent(&p, MW_F_LAZY_FREE);
    /* Everything status gives is still there. */
    assert_string_equal(p.name, "sshd");
    field_is(&p, MW_F_FOOTPRINT, KB(4000 + 100 + 0 + 80));
    field_is(&p, MW_F_RESIDENT, KB(10100));
    mw_proc_release(&p);

    /* EPERM counts as a refusal too; without the fault the file reads fine. */
    fake.deny_errno = EPERM;
    assert_int_equal(mw_proc_read(ctx, 600, MW_SRC_SMAPS | MW_SRC_STAT, &p), MW_OK);
    assert_int_equal(p.denied, MW_SRC_SMAPS);
    mw_proc_release(&p);
    fake.deny_path[0] = '\0';
    assert_int_equal(mw_proc_read(ctx, 600, MW_SRC_STATUS | MW_SRC_SMAPS, &p), MW_OK);
    assert_int_equal(p.denied, 0);
    field_is(&p, MW_F_PSS, KB(5000));
    field_is(&p, MW_F_USS, KB(3100));
    mw_proc_release(&p);
    mw_ctx_close(ctx);
}

static void test_smaps_missing_old_kernel(void **state)
{
    mw_ctx *ctx = open_ctx(BASIC, NULL, 64);
    mw_proc p;
    (void)state;
    assert_int_equal(mw_proc_read(ctx, 700, MW_SRC_STATUS | MW_SRC_SMAPS | MW_SRC_PATH, &p), MW_OK);
    assert_int_equal(p.denied, 0);
    assert_int_equal(p.read, MW_SRC_STATUS | MW_SRC_PATH);
    field_absent(&p, MW_F_PSS);
    field_absent(&p, MW_F_USS);
    assert_string_equal(p.name, "bash");
    assert_int_equal(p.state, 'R');
    field_is(&p, MW_F_FOOTPRINT, KB(1500 + 0 + 100 + 48));
    field_is(&p, MW_F_PPID, 600);
    assert_string_equal(p.path, "/usr/bin/bash");
    mw_proc_release(&p);
    mw_ctx_close(ctx);
}

static void test_status_denied_falls_back_to_stat(void **state)
{
    mw_ctx *ctx = open_ctx(BASIC, &fake_sys, 64);
    mw_proc p;
    struct seen s;
    (void)state;
    snprintf(fake.deny_path, sizeof fake.deny_path, "700/status");
    fake.deny_errno = EACCES;
    assert_int_equal(mw_proc_read(ctx, 700, MW_SRC_STATUS | MW_SRC_STAT, &p), MW_OK);
    assert_int_equal(p.denied, MW_SRC_STATUS);
    assert_int_equal(p.read, MW_SRC_STAT | MW_SRC_IDENT);
    assert_string_equal(p.name, "bash");
    field_is(&p, MW_F_PPID, 600);
    field_is(&p, MW_F_THREADS, 1);
    field_absent(&p, MW_F_FOOTPRINT);
    field_absent(&p, MW_F_UID);
    mw_proc_release(&p);
    /* A scan visits it, marked. */
    scan_pids(ctx, MW_SRC_STATUS | MW_SRC_STAT, -1, "bash", &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.pids[0], 700);
    mw_ctx_close(ctx);
    /* Both refused: -EACCES from a direct read (a fresh context, so no
     * descriptor of 700/stat is cached from the reads above). */
    ctx = open_ctx(BASIC, &fake_sys, 64);
    snprintf(fake.deny_path2, sizeof fake.deny_path2, "700/stat");
    assert_int_equal(mw_proc_read(ctx, 700, MW_SRC_STATUS | MW_SRC_STAT, &p), -EACCES);
    assert_int_equal(p.present, 0);
    assert_non_null(strstr(mw_ctx_errmsg(ctx), "pid 700"));
    mw_ctx_close(ctx);
}

static void test_scan_visits_fully_refused(void **state)
{
    /* mw_scan's contract (memwatch.h): "processes whose data the OS refuses
     * are visited with the refused sources in p->denied". */
    mw_ctx *ctx;
    struct seen s;
    (void)state;
    ctx = open_ctx(BASIC, &fake_sys, 64);
    snprintf(fake.deny_path, sizeof fake.deny_path, "700/status");
    snprintf(fake.deny_path2, sizeof fake.deny_path2, "700/stat");
    fake.deny_errno = EACCES;
    memset(&s, 0, sizeof s);
    s.keep_pid = 700;
    {
        mw_scan_opts o;
        memset(&o, 0, sizeof o);
        o.want = MW_SRC_STATUS | MW_SRC_STAT;
        o.uid = -1;
        assert_int_equal(mw_scan(ctx, &o, collect, &s), 0);
    }
    mw_ctx_close(ctx);
    assert_int_equal(s.n, 6);
    assert_int_equal(s.kept.pid, 700);
    assert_int_equal(s.kept.denied, MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT);
}

/* ---- scans and filters ------------------------------------------------------------------- */

static void test_scan_filters(void **state)
{
    mw_ctx *ctx = open_ctx(BASIC, NULL, 64);
    struct seen s;
    static const int32_t all[] = {2, 100, 300, 400, 600, 700};
    static const int32_t uid1000[] = {100, 300, 600};
    static const int32_t uid0[] = {2, 700};
    static const int32_t uid1001[] = {400};
    static const int32_t firefox[] = {100};
    (void)state;
    scan_pids(ctx, MW_SRC_STATUS, -1, NULL, &s);
    saw_exactly(&s, all, 6);
    scan_pids(ctx, MW_SRC_STATUS, 1000, NULL, &s);
    saw_exactly(&s, uid1000, 3);
    scan_pids(ctx, MW_SRC_STATUS, 0, NULL, &s);
    saw_exactly(&s, uid0, 2);
    scan_pids(ctx, MW_SRC_STATUS | MW_SRC_STAT, 1001, NULL, &s);
    saw_exactly(&s, uid1001, 1);
    scan_pids(ctx, MW_SRC_STATUS, -1, "firefox", &s);
    saw_exactly(&s, firefox, 1);
    scan_pids(ctx, MW_SRC_STAT, -1, "a b) Z\n(c", &s);
    saw_exactly(&s, uid1001, 1);
    scan_pids(ctx, MW_SRC_STATUS, 1000, "firefox", &s);
    saw_exactly(&s, firefox, 1);
    scan_pids(ctx, MW_SRC_STATUS, 0, "firefox", &s);
    saw_exactly(&s, NULL, 0);
    scan_pids(ctx, MW_SRC_STATUS, -1, "firefo", &s);
    saw_exactly(&s, NULL, 0);
    scan_pids(ctx, MW_SRC_STATUS, 4242, NULL, &s);
    saw_exactly(&s, NULL, 0);
    /* A nonzero callback return stops the scan and is returned. */
    {
        mw_scan_opts o;
        memset(&o, 0, sizeof o);
        memset(&s, 0, sizeof s);
        o.want = MW_SRC_STATUS;
        o.uid = -1;
        s.stop_at = 2;
        assert_int_equal(mw_scan(ctx, &o, collect, &s), 7);
        assert_int_equal(s.n, 2);
    }
    /* The records a scan hands over carry the values. */
    {
        mw_scan_opts o;
        memset(&o, 0, sizeof o);
        memset(&s, 0, sizeof s);
        o.want = MW_SRC_STATUS;
        o.uid = -1;
        s.keep_pid = 100;
        assert_int_equal(mw_scan(ctx, &o, collect, &s), 0);
        assert_string_equal(s.kept.name, "firefox");
        field_is(&s.kept, MW_F_FOOTPRINT, KB(98700));
    }
    assert_string_equal(mw_ctx_errmsg(ctx), "");
    mw_ctx_close(ctx);
}

/* ---- system, ledger, app key ------------------------------------------------------------- */

static void test_system_with_psi(void **state)
{
    mw_ctx *ctx = open_ctx(BASIC, NULL, 64);
    mw_system m;
    (void)state;
    assert_int_equal(mw_system_read(ctx, &m), MW_OK);
    assert_int_equal(m.total, KB(8039428));
    assert_int_equal(m.available, KB(6000000));
    assert_int_equal(m.free, KB(512000));
    assert_int_equal(m.swap_total, KB(1048572));
    assert_int_equal(m.swap_free, KB(1000000));
    assert_true(m.present & (1u << MW_SYS_TOTAL));
    assert_true(m.present & (1u << MW_SYS_AVAILABLE));
    assert_true(m.present & (1u << MW_SYS_FREE));
    assert_true(m.present & (1u << MW_SYS_SWAP_TOTAL));
    assert_true(m.present & (1u << MW_SYS_SWAP_FREE));
    assert_true(m.present & (1u << MW_SYS_PSI));
    assert_false(m.present & (1u << MW_SYS_WIRED));
    assert_true(m.some_avg10 > 1.4999 && m.some_avg10 < 1.5001);
    assert_true(m.some_avg60 > 0.2499 && m.some_avg60 < 0.2501);
    assert_true(m.full_avg10 > 0.7499 && m.full_avg10 < 0.7501);
    assert_true(m.full_avg60 > 0.0999 && m.full_avg60 < 0.1001);
    mw_ctx_close(ctx);
}

static void test_system_without_psi(void **state)
{
    mw_ctx *ctx = open_ctx(NOPSI, NULL, 64);
    mw_system m;
    mw_proc p;
    (void)state;
    assert_int_equal(mw_system_read(ctx, &m), MW_OK);
    assert_int_equal(m.total, KB(8039428));
    assert_int_equal(m.available, KB(6000000));
    assert_false(m.present & (1u << MW_SYS_PSI));
    assert_true(m.some_avg10 == 0.0 && m.full_avg60 == 0.0);
    /* No btime in this tree's stat: no start time, everything else there. */
    assert_int_equal(mw_proc_read(ctx, 42, MW_SRC_STATUS | MW_SRC_STAT, &p), MW_OK);
    assert_string_equal(p.name, "init");
    field_absent(&p, MW_F_START_TIME);
    field_is(&p, MW_F_CPU_TIME, ticks_ns(150));
    field_is(&p, MW_F_FOOTPRINT, KB(3000 + 10 + 0 + 40));
    mw_proc_release(&p);
    mw_ctx_close(ctx);
}

static void test_system_meminfo_missing(void **state)
{
    /* A root without meminfo: the error is an errno, and it is explained. */
    mw_ctx *ctx = open_ctx(BASIC "/100", NULL, 64);
    mw_system m;
    (void)state;
    assert_int_equal(mw_system_read(ctx, &m), -ENOENT);
    assert_non_null(strstr(mw_ctx_errmsg(ctx), "system memory"));
    mw_ctx_close(ctx);
}

static const mw_ledger_row *row(const mw_ledger *l, const char *group, const char *name)
{
    const mw_ledger_row *r = mw_ledger_find(l, group, name);
    if (!r)
        fail_msg("ledger has no row %s/%s", group, name);
    return r;
}

static void row_is(const mw_ledger *l, const char *group, const char *name, int64_t balance,
                   const char *unit)
{
    const mw_ledger_row *r = row(l, group, name);
    if (r->balance != balance || strcmp(r->unit, unit) != 0)
        fail_msg("ledger %s/%s = %lld %s, want %lld %s", group, name, (long long)r->balance,
                 r->unit, (long long)balance, unit);
    if (r->has_credit || r->has_debit)
        fail_msg("ledger %s/%s has credit/debit; Linux keeps none", group, name);
}

static size_t rows_in(const mw_ledger *l, const char *group)
{
    size_t n = 0;
    for (size_t i = 0; i < l->count; i++)
        n += strcmp(l->rows[i].group, group) == 0;
    return n;
}

static void test_ledger_rows(void **state)
{
    mw_ctx *ctx = open_ctx(BASIC, NULL, 64);
    mw_ledger l;
    int64_t tick_ns = NS / ticks_per_sec();
    (void)state;
    assert_int_equal(mw_ledger_read(ctx, 100, &l), MW_OK);
    /* physmem: footprint first, then every kB line of status and smaps_rollup. */
    assert_string_equal(l.rows[0].group, "physmem");
    assert_string_equal(l.rows[0].name, "footprint");
    row_is(&l, "physmem", "footprint", KB(98700), "bytes");
    row_is(&l, "physmem", "VmRSS", KB(120000), "bytes");
    row_is(&l, "physmem", "RssAnon", KB(90000), "bytes");
    row_is(&l, "physmem", "VmSwap", KB(3000), "bytes");
    row_is(&l, "physmem", "VmPTE", KB(700), "bytes");
    row_is(&l, "physmem", "HugetlbPages", 0, "bytes");
    row_is(&l, "physmem", "Pss", KB(80000), "bytes");
    row_is(&l, "physmem", "Private_Dirty", KB(60000), "bytes");
    row_is(&l, "physmem", "LazyFree", KB(2048), "bytes");
    row_is(&l, "physmem", "SwapPss", KB(1500), "bytes");
    assert_int_equal(rows_in(&l, "physmem"), 1 + 16 + 22);
    assert_null(mw_ledger_find(&l, "physmem", "Threads"));
    assert_null(mw_ledger_find(&l, "physmem", "Uid"));
    /* sched */
    row_is(&l, "sched", "user_time", 250 * tick_ns, "ns");
    row_is(&l, "sched", "system_time", 125 * tick_ns, "ns");
    row_is(&l, "sched", "voluntary_switches", 1500, "count");
    row_is(&l, "sched", "involuntary_switches", 42, "count");
    row_is(&l, "sched", "minor_faults", 5000, "count");
    row_is(&l, "sched", "major_faults", 12, "count");
    assert_int_equal(rows_in(&l, "sched"), 6);
    /* res: /proc/PID/io */
    row_is(&l, "res", "rchar", 1000000, "bytes");
    row_is(&l, "res", "wchar", 50000, "bytes");
    row_is(&l, "res", "syscr", 300, "count");
    row_is(&l, "res", "syscw", 100, "count");
    row_is(&l, "res", "read_bytes", 409600, "bytes");
    row_is(&l, "res", "write_bytes", 8192, "bytes");
    row_is(&l, "res", "cancelled_write_bytes", 4096, "bytes");
    assert_int_equal(rows_in(&l, "res"), 7);
    /* gpu: fds 3 and 4 are one DRM client (counted once), fd 6 another,
     * fd 5 is /dev/null. */
    row_is(&l, "gpu", "total-system0", KB(1024) + KB(2048), "bytes");
    row_is(&l, "gpu", "resident-system0", KB(512) + 2097152, "bytes");
    row_is(&l, "gpu", "memory-vram", KB(3072), "bytes");
    assert_int_equal(rows_in(&l, "gpu"), 3);
    assert_int_equal(l.count, 39 + 6 + 7 + 3);
    mw_ledger_release(&l);
    assert_null(l.rows);
    mw_ctx_close(ctx);
}

static void test_ledger_kernel_thread_and_missing(void **state)
{
    mw_ctx *ctx = open_ctx(BASIC, NULL, 64);
    mw_ledger l;
    int64_t tick_ns = NS / ticks_per_sec();
    int rc;
    (void)state;
    assert_int_equal(mw_ledger_read(ctx, 2, &l), MW_OK);
    assert_int_equal(rows_in(&l, "physmem"), 0);
    assert_null(mw_ledger_find(&l, NULL, "footprint"));
    row_is(&l, "sched", "system_time", 37 * tick_ns, "ns");
    row_is(&l, "sched", "voluntary_switches", 900, "count");
    row_is(&l, "res", "read_bytes", 0, "bytes");
    assert_int_equal(rows_in(&l, "gpu"), 0);
    mw_ledger_release(&l);
    /* Old kernel: no smaps rows, status rows still there. */
    assert_int_equal(mw_ledger_read(ctx, 700, &l), MW_OK);
    assert_int_equal(rows_in(&l, "physmem"), 1 + 16);
    assert_null(mw_ledger_find(&l, "physmem", "Pss"));
    mw_ledger_release(&l);
    /* Gone. */
    rc = mw_ledger_read(ctx, 500, &l);
    assert_true(rc == -ENOENT || rc == -ESRCH);
    assert_int_equal(l.count, 0);
    assert_null(l.rows);
    assert_non_null(strstr(mw_ctx_errmsg(ctx), "pid 500"));
    rc = mw_ledger_read(ctx, 99999, &l);
    assert_true(rc == -ENOENT || rc == -ESRCH);
    mw_ctx_close(ctx);
}

static void test_app_key(void **state)
{
    mw_ctx *ctx = open_ctx(BASIC, NULL, 64);
    char app[128];
    (void)state;
    assert_int_equal(mw_app_key(ctx, 100, app, sizeof app), MW_OK);
    assert_string_equal(app, "app-firefox-1234.scope");
    /* The zombie child belongs to the same app. */
    assert_int_equal(mw_app_key(ctx, 300, app, sizeof app), MW_OK);
    assert_string_equal(app, "app-firefox-1234.scope");
    assert_int_equal(mw_app_key(ctx, 600, app, sizeof app), MW_OK);
    assert_string_equal(app, "ssh.service");
    /* cgroup v1: the name=systemd line. */
    assert_int_equal(mw_app_key(ctx, 700, app, sizeof app), MW_OK);
    assert_string_equal(app, "cron.service");
    /* Root cgroup, login session: no app. */
    assert_int_equal(mw_app_key(ctx, 2, app, sizeof app), -ENOENT);
    assert_int_equal(mw_app_key(ctx, 400, app, sizeof app), -ENOENT);
    /* Gone. */
    assert_int_equal(mw_app_key(ctx, 500, app, sizeof app), -ENOENT);
    mw_ctx_close(ctx);
}

/* ---- cached descriptors ------------------------------------------------------------------- */

/* A private copy of the basic tree, to delete from. */
static void copy_basic(char *dir, size_t len)
{
    char cmd[512];
    snprintf(dir, len, "/tmp/mw_fixture_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd, "cp -a '%s/.' '%s/'", BASIC, dir);
    assert_int_equal(system(cmd), 0);
}

static void remove_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_cached_fds_swept_and_closed(void **state)
{
    char dir[64], pid100[96], cmd[160];
    static const int32_t all[] = {2, 100, 300, 400, 600, 700};
    static const int32_t rest[] = {2, 300, 400, 600, 700};
    int before, after_open;
    mw_ctx *ctx;
    mw_proc p;
    struct seen s;
    int rc;
    (void)state;
    copy_basic(dir, sizeof dir);
    before = count_fds();
    ctx = open_ctx(dir, NULL, 64);
    after_open = count_fds();
    assert_int_equal(after_open, before + 1); /* the root directory */

    /* Scan 1 caches status and stat of the six live pids. */
    scan_pids(ctx, MW_SRC_STATUS | MW_SRC_STAT, -1, NULL, &s);
    saw_exactly(&s, all, 6);
    assert_int_equal(count_fds(), after_open + 12);
    /* Scan 2 of the same tree opens nothing new. */
    scan_pids(ctx, MW_SRC_STATUS | MW_SRC_STAT, -1, NULL, &s);
    saw_exactly(&s, all, 6);
    assert_int_equal(count_fds(), after_open + 12);
    /* A filtered scan (pids given) does not sweep. */
    {
        static const int32_t one[] = {2};
        mw_scan_opts o;
        memset(&o, 0, sizeof o);
        memset(&s, 0, sizeof s);
        o.want = MW_SRC_STATUS;
        o.uid = -1;
        o.pids = one;
        o.npids = 1;
        assert_int_equal(mw_scan(ctx, &o, collect, &s), 0);
        assert_int_equal(s.n, 1);
        assert_int_equal(count_fds(), after_open + 12);
    }

    /* Pid 100 exits: its directory goes. Scan 3 does not see it and closes
     * its two descriptors. */
    snprintf(pid100, sizeof pid100, "%s/100", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pid100);
    assert_int_equal(system(cmd), 0);
    scan_pids(ctx, MW_SRC_STATUS | MW_SRC_STAT, -1, NULL, &s);
    saw_exactly(&s, rest, 5);
    assert_int_equal(count_fds(), after_open + 10);
    /* With its descriptors gone, a read finds nothing. */
    rc = mw_proc_read(ctx, 100, MW_SRC_STATUS, &p);
    assert_true(rc == -ENOENT || rc == -ESRCH);
    assert_int_equal(count_fds(), after_open + 10);
    /* The others still read right through their cached descriptors. */
    assert_int_equal(mw_proc_read(ctx, 600, MW_SRC_STATUS, &p), MW_OK);
    field_is(&p, MW_F_FOOTPRINT, KB(4180));
    mw_proc_release(&p);

    mw_ctx_close(ctx);
    assert_int_equal(count_fds(), before);
    remove_tree(dir);
}

static void test_cached_fds_limits(void **state)
{
    int before = count_fds();
    mw_ctx *ctx;
    struct seen s;
    static const int32_t all[] = {2, 100, 300, 400, 600, 700};
    (void)state;
    /* max_cached_fds = 3: at most three kept, every process still read. */
    ctx = open_ctx(BASIC, NULL, 3);
    scan_pids(ctx, MW_SRC_STATUS | MW_SRC_STAT, -1, NULL, &s);
    saw_exactly(&s, all, 6);
    assert_int_equal(count_fds(), before + 1 + 3);
    scan_pids(ctx, MW_SRC_STATUS | MW_SRC_STAT, -1, NULL, &s);
    saw_exactly(&s, all, 6);
    assert_int_equal(count_fds(), before + 1 + 3);
    mw_ctx_close(ctx);
    assert_int_equal(count_fds(), before);
    /* 0 disables the cache. */
    ctx = open_ctx(BASIC, NULL, 0);
    scan_pids(ctx, MW_SRC_STATUS | MW_SRC_STAT, -1, NULL, &s);
    saw_exactly(&s, all, 6);
    assert_int_equal(count_fds(), before + 1);
    mw_ctx_close(ctx);
    /* The default (negative) caches, given a soft limit above 128. */
    ctx = open_ctx(BASIC, NULL, -1);
    scan_pids(ctx, MW_SRC_STATUS, -1, NULL, &s);
    saw_exactly(&s, all, 6);
    {
        struct rlimit rl;
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 128)
            assert_int_equal(count_fds(), before + 1 + 6);
    }
    mw_ctx_close(ctx);
    assert_int_equal(count_fds(), before);
    /* Reads that never cache (ledger, system, app key) leave nothing open. */
    ctx = open_ctx(BASIC, NULL, 64);
    {
        mw_ledger l;
        mw_system m;
        char app[64];
        assert_int_equal(mw_ledger_read(ctx, 100, &l), MW_OK);
        mw_ledger_release(&l);
        assert_int_equal(mw_system_read(ctx, &m), MW_OK);
        assert_int_equal(mw_app_key(ctx, 100, app, sizeof app), MW_OK);
        assert_int_equal(count_fds(), before + 1);
    }
    mw_ctx_close(ctx);
    assert_int_equal(count_fds(), before);
}

static void test_cached_fd_esrch_reopens(void **state)
{
    int before = count_fds();
    mw_ctx *ctx = open_ctx(BASIC, &fake_sys, 64);
    mw_proc p;
    int first_fd;
    (void)state;
    snprintf(fake.watch_path, sizeof fake.watch_path, "100/status");
    assert_int_equal(mw_proc_read(ctx, 100, MW_SRC_STATUS, &p), MW_OK);
    mw_proc_release(&p);
    assert_int_equal(fake.watch_opens, 1);
    first_fd = fake.watch_fd;
    assert_true(first_fd >= 0);
    /* Cached: the next read opens nothing. */
    assert_int_equal(mw_proc_read(ctx, 100, MW_SRC_STATUS, &p), MW_OK);
    mw_proc_release(&p);
    assert_int_equal(fake.watch_opens, 1);

    /* The process behind the descriptor died (and the pid may be reused):
     * the old descriptor answers ESRCH once. The backend drops it, reopens
     * the pid and reads the new process. */
    fake.esrch_fd = first_fd;
    fake.esrch_left = 1;
    assert_int_equal(mw_proc_read(ctx, 100, MW_SRC_STATUS, &p), MW_OK);
    assert_int_equal(fake.esrch_left, 0);
    assert_int_equal(fake.watch_fd_closes, 1); /* the old descriptor was closed */
    assert_int_equal(fake.watch_opens, 2);     /* and the path opened afresh */
    assert_string_equal(p.name, "firefox");
    field_is(&p, MW_F_FOOTPRINT, KB(98700));
    mw_proc_release(&p);
    /* The new descriptor is cached in turn. */
    assert_int_equal(mw_proc_read(ctx, 100, MW_SRC_STATUS, &p), MW_OK);
    mw_proc_release(&p);
    assert_int_equal(fake.watch_opens, 2);
    assert_int_equal(count_fds(), before + 2);

    /* ESRCH and then nothing to reopen: the process is gone. */
    fake.esrch_fd = fake.watch_fd;
    fake.esrch_left = 1;
    snprintf(fake.deny_path, sizeof fake.deny_path, "100/status");
    fake.deny_errno = ENOENT;
    assert_int_equal(mw_proc_read(ctx, 100, MW_SRC_STATUS, &p), -ENOENT);
    assert_int_equal(fake.watch_fd_closes, 2);
    assert_int_equal(count_fds(), before + 1);

    mw_ctx_close(ctx);
    assert_int_equal(count_fds(), before);
}

/* ---- full names ---------------------------------------------------------------- */

static void name_is(mw_ctx *ctx, int32_t pid, const char *name, const char *comm)
{
    mw_proc p;
    assert_int_equal(mw_proc_read(ctx, pid, MW_SRC_STATUS | MW_SRC_STAT, &p), MW_OK);
    if (strcmp(p.name, name) != 0 || strcmp(p.comm, comm) != 0)
        fail_msg("pid %d: name '%s' comm '%s', want '%s' '%s'", pid, p.name, p.comm, name, comm);
    mw_proc_release(&p);
}

static void test_full_names(void **state)
{
    mw_ctx *ctx = open_ctx(NAMES, &fake_sys, 0);
    (void)state;
    name_is(ctx, 800, "my-leaky-service-long", "my-leaky-servic");
    name_is(ctx, 801, "Isolated Web Co", "Isolated Web Co");
    name_is(ctx, 802, "long-script-name.py", "long-script-nam");
    name_is(ctx, 803, "unreadable-exe-name", "unreadable-exe-");
    name_is(ctx, 804, "deleted-binary-name", "deleted-binary-");
    /* Under the limit: neither exe nor cmdline is read. */
    fake.nlog = 0;
    fake.readlinks = 0;
    name_is(ctx, 805, "short", "short");
    assert_int_equal(fake.readlinks, 0);
    assert_false(opened("805/cmdline"));
    /* The stat-only path (status refused) names the same way. */
    snprintf(fake.deny_path, sizeof fake.deny_path, "800/status");
    fake.deny_errno = EACCES;
    name_is(ctx, 800, "my-leaky-service-long", "my-leaky-servic");
    /* An executable link the system refuses: argv[0] still names it. */
    fake.deny_path[0] = '\0';
    fake.deny_readlink = EACCES;
    name_is(ctx, 800, "my-leaky-service-long", "my-leaky-servic");
    /* ... and with neither, comm is the name. */
    snprintf(fake.deny_path, sizeof fake.deny_path, "800/cmdline");
    name_is(ctx, 800, "my-leaky-servic", "my-leaky-servic");
    mw_ctx_close(ctx);
}

static void test_full_name_read_once(void **state)
{
    mw_ctx *ctx = open_ctx(NAMES, &fake_sys, 64);
    struct seen s;
    (void)state;
    /* Five names at the limit: one readlink each in the first scan ... */
    scan_pids(ctx, MW_SRC_STATUS, -1, NULL, &s);
    assert_int_equal(s.n, 6);
    assert_int_equal(fake.readlinks, 5);
    assert_true(opened("800/cmdline"));
    /* ... none in the next ones: the names are kept with the descriptors. */
    fake.nlog = 0;
    scan_pids(ctx, MW_SRC_STATUS, -1, NULL, &s);
    scan_pids(ctx, MW_SRC_STATUS, -1, NULL, &s);
    assert_int_equal(fake.readlinks, 5);
    assert_false(opened("800/cmdline"));
    name_is(ctx, 800, "my-leaky-service-long", "my-leaky-servic");
    name_is(ctx, 801, "Isolated Web Co", "Isolated Web Co");
    assert_int_equal(fake.readlinks, 5);
    mw_ctx_close(ctx);

    /* Without cached descriptors every read looks again. */
    ctx = open_ctx(NAMES, &fake_sys, 0);
    fake.readlinks = 0;
    scan_pids(ctx, MW_SRC_STATUS, -1, NULL, &s);
    scan_pids(ctx, MW_SRC_STATUS, -1, NULL, &s);
    assert_int_equal(fake.readlinks, 10);
    mw_ctx_close(ctx);
}

static void test_name_filter(void **state)
{
    mw_ctx *ctx = open_ctx(NAMES, NULL, 64);
    static const int32_t p800[] = {800}, p801[] = {801}, p802[] = {802}, p803[] = {803},
                         p804[] = {804}, p805[] = {805};
    struct seen s;
    (void)state;
    scan_pids(ctx, MW_SRC_STATUS, -1, "my-leaky-service-long", &s);
    saw_exactly(&s, p800, 1);
    /* The name is the full name, not comm. */
    scan_pids(ctx, MW_SRC_STATUS, -1, "my-leaky-servic", &s);
    saw_exactly(&s, NULL, 0);
    scan_pids(ctx, MW_SRC_STATUS, -1, "Isolated Web Co", &s);
    saw_exactly(&s, p801, 1);
    /* A renamed comm is not the start of its executable's name. */
    scan_pids(ctx, MW_SRC_STATUS, -1, "firefox-esr", &s);
    saw_exactly(&s, NULL, 0);
    scan_pids(ctx, MW_SRC_STATUS, -1, "long-script-name.py", &s);
    saw_exactly(&s, p802, 1);
    scan_pids(ctx, MW_SRC_STATUS, -1, "unreadable-exe-name", &s);
    saw_exactly(&s, p803, 1);
    /* Longer than 15 bytes, comm its start, argv[0] its name: matches
     * though the full name came from the executable. */
    scan_pids(ctx, MW_SRC_STATUS, -1, "deleted-binary-alias", &s);
    saw_exactly(&s, p804, 1);
    scan_pids(ctx, MW_SRC_STATUS, -1, "deleted-binary-name", &s);
    saw_exactly(&s, p804, 1);
    scan_pids(ctx, MW_SRC_STATUS, -1, "deleted-binary-other", &s);
    saw_exactly(&s, NULL, 0);
    /* Under the limit only comm counts. */
    scan_pids(ctx, MW_SRC_STATUS, -1, "short", &s);
    saw_exactly(&s, p805, 1);
    scan_pids(ctx, MW_SRC_STATUS, -1, "short-but-not-really", &s);
    saw_exactly(&s, NULL, 0);
    mw_ctx_close(ctx);
}

static void test_cgroup_ids(void **state)
{
    mw_ctx *ctx = open_ctx(NAMES, NULL, 0);
    mw_cgroup_ids ids;
    (void)state;
    assert_int_equal(mw_cgroup_ids_read(ctx, 800, &ids), MW_OK);
    assert_string_equal(ids.unit, "app.service");
    assert_string_equal(ids.container, "");
    assert_int_equal(mw_cgroup_ids_read(ctx, 999, &ids), -ENOENT);
    assert_int_equal(mw_cgroup_ids_read(ctx, 0, &ids), -ESRCH);
    mw_ctx_close(ctx);
}

static void test_ctx_open_bad_root(void **state)
{
    mw_ctx_cfg cfg;
    mw_ctx *ctx = (mw_ctx *)&cfg; /* must be reset to NULL */
    int before = count_fds();
    (void)state;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = &mw_backend_native;
    cfg.root = MW_FIXTURES_DIR "/linux/no-such-tree";
    cfg.max_cached_fds = -1;
    assert_int_equal(mw_ctx_open(&cfg, &ctx), -ENOENT);
    assert_null(ctx);
    cfg.root = BASIC "/meminfo"; /* not a directory */
    assert_int_equal(mw_ctx_open(&cfg, &ctx), -ENOTDIR);
    assert_null(ctx);
    cfg.root = BASIC;
    cfg.backend = NULL; /* the core names no backend of its own */
    assert_int_equal(mw_ctx_open(&cfg, &ctx), MW_EINVAL);
    assert_null(ctx);
    assert_int_equal(mw_ctx_open(NULL, &ctx), MW_EINVAL);
    assert_null(ctx);
    assert_int_equal(count_fds(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_normal_process, reset_fake),
        cmocka_unit_test_setup(test_reads_only_what_is_asked, reset_fake),
        cmocka_unit_test_setup(test_kernel_thread, reset_fake),
        cmocka_unit_test_setup(test_zombie, reset_fake),
        cmocka_unit_test_setup(test_hostile_comm, reset_fake),
        cmocka_unit_test_setup(test_vanished_pid, reset_fake),
        cmocka_unit_test_setup(test_smaps_eacces, reset_fake),
        cmocka_unit_test_setup(test_smaps_missing_old_kernel, reset_fake),
        cmocka_unit_test_setup(test_status_denied_falls_back_to_stat, reset_fake),
        cmocka_unit_test_setup(test_scan_visits_fully_refused, reset_fake),
        cmocka_unit_test_setup(test_scan_filters, reset_fake),
        cmocka_unit_test_setup(test_system_with_psi, reset_fake),
        cmocka_unit_test_setup(test_system_without_psi, reset_fake),
        cmocka_unit_test_setup(test_system_meminfo_missing, reset_fake),
        cmocka_unit_test_setup(test_ledger_rows, reset_fake),
        cmocka_unit_test_setup(test_ledger_kernel_thread_and_missing, reset_fake),
        cmocka_unit_test_setup(test_app_key, reset_fake),
        cmocka_unit_test_setup(test_cached_fds_swept_and_closed, reset_fake),
        cmocka_unit_test_setup(test_cached_fds_limits, reset_fake),
        cmocka_unit_test_setup(test_cached_fd_esrch_reopens, reset_fake),
        cmocka_unit_test_setup(test_full_names, reset_fake),
        cmocka_unit_test_setup(test_full_name_read_once, reset_fake),
        cmocka_unit_test_setup(test_name_filter, reset_fake),
        cmocka_unit_test_setup(test_cgroup_ids, reset_fake),
        cmocka_unit_test_setup(test_ctx_open_bad_root, reset_fake),
    };
    return cmocka_run_group_tests_name("linux_fixture", tests, NULL, NULL);
}
