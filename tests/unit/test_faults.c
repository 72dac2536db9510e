/*
 * Fault injection over the Linux backend, SQLite test_syscall.c style: a fake
 * mw_sys table makes the Nth call of one kind (openat, pread, close,
 * readlinkat, fdopendir, readdir, closedir, read) fail with EINTR, EACCES, ENOENT,
 * ESRCH or EIO, once or from then on, or makes the Nth pread return a single
 * byte. For N = 1, 2, 3, ... until a run ends without the fault firing, the
 * same workload (open, two scans of every source, three ledgers, the system,
 * an app key, one process read, the OOM-kill count and the kernel log's kills,
 * close) runs over the basic fixture tree, and:
 *   - nothing crashes (ASan/UBSan watch every run);
 *   - every descriptor the fake handed out is closed when the context is, and
 *     the process holds as many descriptors (/proc/self/fd) as before;
 *   - what comes back is the fault-free answer or less of it: a process is
 *     skipped or its refused sources are marked, never given wrong values;
 *   - a one-shot EINTR changes nothing at all (every call site retries);
 *   - each failure reports its error text through mw_ctx_errmsg.
 * Targeted cases then check the exact text for the common failures.
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
#include <unistd.h>

#include "memwatch/backend.h"
#include "memwatch/memwatch.h"
#include "memwatch/sys.h"

#define BASIC MW_FIXTURES_DIR "/linux/basic"
#define KMSG  MW_FIXTURES_DIR "/linux/kmsg/oom.log"

/* ---- the fake: tsIsFail for every call of the table -------------------------------- */

enum call {
    C_OPENAT,
    C_PREAD,
    C_CLOSE,
    C_READLINKAT,
    C_FDOPENDIR,
    C_READDIR,
    C_CLOSEDIR,
    C_READ,
    C_KINDS
};

static const char *const call_names[C_KINDS] = {
    "openat", "pread", "close", "readlinkat", "fdopendir", "readdir", "closedir", "read",
};

#define SHORT_READ (-1) /* the injected "error": a one-byte read */
#define MAX_OPEN   256

static struct {
    int kind;       /* the call to fail */
    long nth;       /* fail its nth call (1-based); 0: no fault */
    int err;        /* errno, or SHORT_READ */
    int persistent; /* and every call after it */
    long calls[C_KINDS];
    long hits;          /* faults injected */
    char fail_path[64]; /* targeted: openat of this path fails with path_err */
    int path_err;
    int open[MAX_OPEN]; /* descriptors handed out and not closed */
    int nopen;
} F;

static void fake_reset(int kind, long nth, int err, int persistent)
{
    memset(&F, 0, sizeof F);
    F.kind = kind;
    F.nth = nth;
    F.err = err;
    F.persistent = persistent;
}

/* Whether this call is one to fail (counts it). */
static int is_fail(int kind)
{
    long n = ++F.calls[kind];
    if (F.nth == 0 || kind != F.kind)
        return 0;
    if (n == F.nth || (F.persistent && n > F.nth)) {
        F.hits++;
        return 1;
    }
    return 0;
}

static void track_open(int fd)
{
    assert_true(F.nopen < MAX_OPEN);
    F.open[F.nopen++] = fd;
}

static void track_close(int fd)
{
    for (int i = 0; i < F.nopen; i++) {
        if (F.open[i] == fd) {
            F.open[i] = F.open[--F.nopen];
            return;
        }
    }
    fail_msg("close of descriptor %d that the fake never opened (or closed twice)", fd);
}

static int fake_openat(int dirfd, const char *path, int flags)
{
    int fd;
    if (is_fail(C_OPENAT) && F.err != SHORT_READ) {
        errno = F.err;
        return -1;
    }
    if (F.fail_path[0] && strcmp(path, F.fail_path) == 0) {
        errno = F.path_err;
        return -1;
    }
    fd = mw_sys_default.openat(dirfd, path, flags);
    if (fd >= 0)
        track_open(fd);
    return fd;
}

static ssize_t fake_pread(int fd, void *buf, size_t len, off_t off)
{
    if (is_fail(C_PREAD)) {
        if (F.err == SHORT_READ)
            return mw_sys_default.pread(fd, buf, len > 0 ? 1 : 0, off);
        errno = F.err;
        return -1;
    }
    return mw_sys_default.pread(fd, buf, len, off);
}

/* close(2) releases the descriptor even when it reports an error (Linux). */
static int fake_close(int fd)
{
    int fail = is_fail(C_CLOSE);
    track_close(fd);
    mw_sys_default.close(fd);
    if (fail) {
        errno = F.err == SHORT_READ ? EIO : F.err;
        return -1;
    }
    return 0;
}

static ssize_t fake_readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
    if (is_fail(C_READLINKAT)) {
        errno = F.err == SHORT_READ ? EIO : F.err;
        return -1;
    }
    return mw_sys_default.readlinkat(dirfd, path, buf, len);
}

static DIR *fake_fdopendir(int fd)
{
    if (is_fail(C_FDOPENDIR)) {
        errno = F.err == SHORT_READ ? EIO : F.err;
        return NULL;
    }
    return mw_sys_default.fdopendir(fd);
}

static struct dirent *fake_readdir(DIR *dir)
{
    if (is_fail(C_READDIR)) {
        errno = F.err == SHORT_READ ? EIO : F.err;
        return NULL;
    }
    return mw_sys_default.readdir(dir);
}

/* closedir closes the descriptor fdopendir took over. */
static int fake_closedir(DIR *dir)
{
    int fail = is_fail(C_CLOSEDIR);
    track_close(dirfd(dir));
    mw_sys_default.closedir(dir);
    if (fail) {
        errno = F.err == SHORT_READ ? EIO : F.err;
        return -1;
    }
    return 0;
}

static ssize_t fake_read(int fd, void *buf, size_t len)
{
    if (is_fail(C_READ)) {
        if (F.err == SHORT_READ)
            return mw_sys_default.read(fd, buf, len > 0 ? 1 : 0);
        errno = F.err;
        return -1;
    }
    return mw_sys_default.read(fd, buf, len);
}

static const mw_sys fake_sys = {
    .openat = fake_openat,
    .pread = fake_pread,
    .close = fake_close,
    .readlinkat = fake_readlinkat,
    .fdopendir = fake_fdopendir,
    .readdir = fake_readdir,
    .closedir = fake_closedir,
    .read = fake_read,
};

/* Descriptors this process holds now (the listing's own one included). */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ---- the workload and what it saw ------------------------------------------------------ */

#define MAX_PROCS 16
static const int32_t ledger_pids[] = {100, 2, 600};
#define NLEDGERS (sizeof ledger_pids / sizeof ledger_pids[0])

typedef struct outcome {
    int open_rc;
    int scan_rc[2];
    mw_proc scan[2][MAX_PROCS];
    size_t nscan[2];
    int ledger_rc[NLEDGERS];
    mw_ledger ledger[NLEDGERS];
    int sys_rc;
    mw_system sys;
    int app_rc;
    char app[128];
    int read_rc;
    mw_proc one;
    int regions_rc;
    mw_regions regions;
    int count_rc;
    int64_t oom_count;
    int kills_rc;
    int32_t kill_pids[4];
    size_t nkills;
    uint64_t next;
} outcome;

static char *dup_or_null(const char *s)
{
    char *d;
    if (!s)
        return NULL;
    d = strdup(s);
    assert_non_null(d);
    return d;
}

struct collect {
    mw_proc *procs;
    size_t n;
};

static int collect(void *ud, const mw_proc *p)
{
    struct collect *c = ud;
    mw_proc *q;
    assert_true(c->n < MAX_PROCS);
    q = &c->procs[c->n++];
    *q = *p;
    q->path = dup_or_null(p->path);
    q->cmdline = dup_or_null(p->cmdline);
    return 0;
}

/* The error text of a failed call names the failure. */
static void errmsg_names(mw_ctx *ctx, int rc)
{
    const char *msg = mw_ctx_errmsg(ctx);
    if (!strstr(msg, mw_strerror(rc)))
        fail_msg("rc %d (%s) but mw_ctx_errmsg says \"%s\"", rc, mw_strerror(rc), msg);
}

static int take_kill(void *ud, const mw_oom_kill *k)
{
    outcome *o = ud;
    assert_true(o->nkills < 4);
    o->kill_pids[o->nkills++] = k->pid;
    return 0;
}

static void run_workload(outcome *o)
{
    mw_ctx_cfg cfg;
    mw_ctx *ctx = NULL;
    mw_scan_opts opts;

    memset(o, 0, sizeof *o);
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = &mw_backend_native;
    cfg.root = BASIC;
    cfg.sys = &fake_sys;
    cfg.max_cached_fds = 64;
    cfg.kmsg = KMSG;
    o->open_rc = mw_ctx_open(&cfg, &ctx);
    if (o->open_rc < 0) {
        assert_null(ctx);
        return;
    }
    memset(&opts, 0, sizeof opts);
    opts.want = MW_SRC_ALL;
    opts.uid = -1;
    for (int i = 0; i < 2; i++) {
        struct collect c = {o->scan[i], 0};
        o->scan_rc[i] = mw_scan(ctx, &opts, collect, &c);
        o->nscan[i] = c.n;
        if (o->scan_rc[i] < 0)
            errmsg_names(ctx, o->scan_rc[i]);
    }
    for (size_t i = 0; i < NLEDGERS; i++) {
        o->ledger_rc[i] = mw_ledger_read(ctx, ledger_pids[i], &o->ledger[i]);
        if (o->ledger_rc[i] < 0)
            errmsg_names(ctx, o->ledger_rc[i]);
    }
    o->sys_rc = mw_system_read(ctx, &o->sys);
    if (o->sys_rc < 0)
        errmsg_names(ctx, o->sys_rc);
    o->app_rc = mw_app_key(ctx, 100, o->app, sizeof o->app);
    o->read_rc = mw_proc_read(ctx, 100, MW_SRC_ALL, &o->one);
    if (o->read_rc < 0)
        errmsg_names(ctx, o->read_rc);
    o->regions_rc = mw_regions_read(ctx, 100, &o->regions);
    if (o->regions_rc < 0)
        errmsg_names(ctx, o->regions_rc);
    o->count_rc = mw_oom_kill_count(ctx, &o->oom_count);
    if (o->count_rc < 0)
        errmsg_names(ctx, o->count_rc);
    o->kills_rc = mw_oom_kills_since(ctx, 41, take_kill, o, &o->next);
    if (o->kills_rc < 0)
        errmsg_names(ctx, o->kills_rc);
    mw_ctx_close(ctx);
}

static void outcome_release(outcome *o)
{
    for (int i = 0; i < 2; i++) {
        for (size_t k = 0; k < o->nscan[i]; k++)
            mw_proc_release(&o->scan[i][k]);
    }
    for (size_t i = 0; i < NLEDGERS; i++)
        mw_ledger_release(&o->ledger[i]);
    mw_proc_release(&o->one);
    mw_regions_release(&o->regions);
}

/* ---- comparing with the fault-free run ------------------------------------------------- */

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/*
 * got is base or less: every value got has, base has equally; strings too.
 * With exact, got must be base. cmdline may be cut short by a short read
 * (mw_sys_pread_all takes a short read for the end of the file).
 */
static void proc_within(const mw_proc *got, const mw_proc *base, int exact, int short_read)
{
    assert_int_equal(got->pid, base->pid);
    for (int f = 0; f < MW_F_COUNT; f++) {
        if (!mw_proc_has(got, (enum mw_field)f))
            continue;
        if (!mw_proc_has(base, (enum mw_field)f) || got->v[f] != base->v[f])
            fail_msg("pid %d: %s = %lld, fault-free run has %lld", got->pid,
                     mw_field_get((enum mw_field)f)->name, (long long)got->v[f],
                     mw_proc_has(base, (enum mw_field)f) ? (long long)base->v[f] : -1LL);
    }
    if (got->read & (MW_SRC_STATUS | MW_SRC_STAT))
        assert_string_equal(got->name, base->name);
    if (got->path)
        assert_true(str_eq(got->path, base->path));
    if (got->cmdline && !short_read)
        assert_true(str_eq(got->cmdline, base->cmdline));
    if (exact) {
        assert_int_equal(got->present, base->present);
        assert_int_equal(got->read, base->read);
        assert_int_equal(got->denied, base->denied);
        assert_int_equal(got->flags, base->flags);
        assert_int_equal(got->state, base->state);
        assert_true(str_eq(got->path, base->path));
        assert_true(str_eq(got->cmdline, base->cmdline));
    }
}

static const mw_proc *find_proc(const mw_proc *procs, size_t n, int32_t pid)
{
    for (size_t i = 0; i < n; i++) {
        if (procs[i].pid == pid)
            return &procs[i];
    }
    return NULL;
}

static void ledger_within(const mw_ledger *got, const mw_ledger *base, int exact)
{
    for (size_t i = 0; i < got->count; i++) {
        const mw_ledger_row *r = &got->rows[i];
        const mw_ledger_row *b = mw_ledger_find(base, r->group, r->name);
        /* gpu rows sum the descriptors' fdinfo: a file that could not be
         * read leaves its share out. */
        if (!b ||
            (strcmp(r->group, "gpu") == 0 ? r->balance > b->balance : b->balance != r->balance))
            fail_msg("ledger row %s.%s = %lld not in the fault-free run", r->group, r->name,
                     (long long)r->balance);
    }
    if (exact)
        assert_int_equal(got->count, base->count);
}

static void outcome_within(const outcome *got, const outcome *base, int exact, int short_read)
{
    if (got->open_rc < 0) {
        assert_false(exact);
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (exact) {
            assert_int_equal(got->scan_rc[i], base->scan_rc[i]);
            assert_int_equal(got->nscan[i], base->nscan[i]);
        }
        for (size_t k = 0; k < got->nscan[i]; k++) {
            const mw_proc *b = find_proc(base->scan[i], base->nscan[i], got->scan[i][k].pid);
            const mw_proc *g = &got->scan[i][k];
            /* A pid whose files are gone (500) but whose open was refused is
             * listed as refused: its pid and the denied mark, nothing else. */
            if (!b && !exact && g->read == 0 && g->denied != 0 && g->present == (1u << MW_F_PID))
                continue;
            if (!b)
                fail_msg("scan visited pid %d, which the fault-free scan did not", g->pid);
            proc_within(g, b, exact, short_read);
        }
    }
    for (size_t i = 0; i < NLEDGERS; i++) {
        if (exact)
            assert_int_equal(got->ledger_rc[i], base->ledger_rc[i]);
        if (got->ledger_rc[i] == 0)
            ledger_within(&got->ledger[i], &base->ledger[i], exact);
    }
    if (exact)
        assert_int_equal(got->sys_rc, base->sys_rc);
    if (got->sys_rc == 0) {
        assert_int_equal(got->sys.present & ~base->sys.present, 0);
        if (got->sys.present & (1u << MW_SYS_TOTAL))
            assert_int_equal(got->sys.total, base->sys.total);
        if (got->sys.present & (1u << MW_SYS_AVAILABLE))
            assert_int_equal(got->sys.available, base->sys.available);
    }
    if (exact)
        assert_int_equal(got->app_rc, base->app_rc);
    if (got->app_rc == 0)
        assert_string_equal(got->app, base->app);
    if (exact)
        assert_int_equal(got->read_rc, base->read_rc);
    if (got->read_rc == 0)
        proc_within(&got->one, &base->one, exact, short_read);
    if (exact) {
        assert_int_equal(got->regions_rc, base->regions_rc);
        assert_int_equal(got->regions.count, base->regions.count);
    }
    /* A read cut short lists fewer mappings, each one whole and as it was. */
    if (got->regions_rc == 0) {
        assert_true(got->regions.count <= base->regions.count);
        for (size_t i = 0; i < got->regions.count; i++) {
            const mw_region *g = &got->regions.rows[i], *b = &base->regions.rows[i];
            assert_int_equal(g->start, b->start);
            assert_int_equal(g->present, b->present);
            assert_memory_equal(g->v, b->v, sizeof g->v);
            assert_true(str_eq(g->path, b->path));
        }
    }
    if (exact) {
        assert_int_equal(got->count_rc, base->count_rc);
        assert_int_equal(got->kills_rc, base->kills_rc);
    }
    if (got->count_rc == 0)
        assert_int_equal(got->oom_count, base->oom_count);
    /* The log's kills: those of the fault-free read, in order, or fewer
     * (a failed read ends the list; a short one may split a record). */
    if (got->kills_rc == 0) {
        assert_true(got->nkills <= base->nkills);
        for (size_t i = 0; i < got->nkills; i++)
            assert_int_equal(got->kill_pids[i], base->kill_pids[i]);
        if (!short_read) {
            assert_int_equal(got->nkills, base->nkills);
            assert_int_equal(got->next, base->next);
        }
    }
}

/* ---- the sweep ---------------------------------------------------------------------------- */

static outcome base;
static long base_calls[C_KINDS];

static int setup_base(void **state)
{
    (void)state;
    fake_reset(0, 0, 0, 0);
    run_workload(&base);
    memcpy(base_calls, F.calls, sizeof base_calls);
    assert_int_equal(base.open_rc, 0);
    assert_int_equal(F.nopen, 0);
    /* The fixtures: vmstat counts 3 kills; the log from record 41 on holds
     * two (100 in a memory cgroup, then 600), its last record is 58. */
    assert_int_equal(base.count_rc, 0);
    assert_int_equal(base.oom_count, 3);
    assert_int_equal(base.kills_rc, 0);
    assert_int_equal(base.nkills, 2);
    assert_int_equal(base.kill_pids[0], 100);
    assert_int_equal(base.kill_pids[1], 600);
    assert_int_equal(base.next, 59);
    return 0;
}

static int teardown_base(void **state)
{
    (void)state;
    outcome_release(&base);
    return 0;
}

/* Fail call kind with err at N = 1, 2, ... until a run does not reach N. */
static long sweep(int kind, int err, int persistent)
{
    long runs = 0;

    for (long nth = 1;; nth++) {
        outcome o;
        int before = count_fds(), after;
        long hits;

        fake_reset(kind, nth, err, persistent);
        run_workload(&o);
        hits = F.hits;
        after = count_fds();
        if (F.nopen != 0)
            fail_msg("%s #%ld failing with %d: %d descriptor(s) left open (first %d)",
                     call_names[kind], nth, err, F.nopen, F.open[0]);
        if (after != before)
            fail_msg("%s #%ld failing with %d: %d descriptors before, %d after", call_names[kind],
                     nth, err, before, after);
        /* A one-shot EINTR in opening, reading or closing a file must not
         * change anything: those calls are retried (close is not, and
         * need not be: Linux releases the descriptor anyway). */
        outcome_within(
            &o, &base,
            err == EINTR && !persistent &&
                (kind == C_OPENAT || kind == C_PREAD || kind == C_CLOSE || kind == C_READ),
            err == SHORT_READ);
        outcome_release(&o);
        runs++;
        if (hits == 0)
            break;
        assert_true(nth < 100000);
    }
    return runs;
}

static const int errnos[] = {EINTR, EACCES, ENOENT, ESRCH, EIO};

static void sweep_kind(int kind)
{
    long runs = 0;

    for (size_t e = 0; e < sizeof errnos / sizeof errnos[0]; e++) {
        runs += sweep(kind, errnos[e], 0);
        /* Persistent EINTR would make a retrying call spin forever, as it
         * would on a real system that never stops interrupting. */
        if (errnos[e] != EINTR)
            runs += sweep(kind, errnos[e], 1);
    }
    if (kind == C_PREAD || kind == C_READ) {
        runs += sweep(kind, SHORT_READ, 0);
        runs += sweep(kind, SHORT_READ, 1);
    }
    print_message("%-10s %5ld faulty runs (the fault-free run makes %ld calls)\n", call_names[kind],
                  runs, base_calls[kind]);
}

static void test_faults_openat(void **state)
{
    (void)state;
    sweep_kind(C_OPENAT);
}

static void test_faults_pread(void **state)
{
    (void)state;
    sweep_kind(C_PREAD);
}

static void test_faults_close(void **state)
{
    (void)state;
    sweep_kind(C_CLOSE);
}

static void test_faults_readlinkat(void **state)
{
    (void)state;
    sweep_kind(C_READLINKAT);
}

static void test_faults_read(void **state)
{
    (void)state;
    sweep_kind(C_READ);
}

static void test_faults_dirs(void **state)
{
    (void)state;
    sweep_kind(C_FDOPENDIR);
    sweep_kind(C_READDIR);
    sweep_kind(C_CLOSEDIR);
}

/* ---- the error texts ------------------------------------------------------------------------- */

static mw_ctx *open_fake(void)
{
    mw_ctx_cfg cfg;
    mw_ctx *ctx = NULL;

    memset(&cfg, 0, sizeof cfg);
    cfg.backend = &mw_backend_native;
    cfg.root = BASIC;
    cfg.sys = &fake_sys;
    cfg.max_cached_fds = 64;
    assert_int_equal(mw_ctx_open(&cfg, &ctx), 0);
    return ctx;
}

static int count_visits(void *ud, const mw_proc *p)
{
    (void)p;
    (*(int *)ud)++;
    return 0;
}

static void test_error_texts(void **state)
{
    mw_ctx_cfg cfg;
    mw_ctx *ctx;
    mw_system sys;
    mw_proc p;
    mw_ledger l;
    mw_scan_opts opts;
    int visits = 0;
    (void)state;

    /* The root itself. */
    fake_reset(C_OPENAT, 1, EACCES, 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = &mw_backend_native;
    cfg.root = BASIC;
    cfg.sys = &fake_sys;
    ctx = (mw_ctx *)&cfg; /* must be reset to NULL */
    assert_int_equal(mw_ctx_open(&cfg, &ctx), -EACCES);
    assert_null(ctx);
    assert_int_equal(F.nopen, 0);

    fake_reset(0, 0, 0, 0);
    ctx = open_fake();
    assert_string_equal(mw_ctx_errmsg(ctx), "");

    snprintf(F.fail_path, sizeof F.fail_path, "meminfo");
    F.path_err = EIO;
    assert_int_equal(mw_system_read(ctx, &sys), -EIO);
    assert_string_equal(mw_ctx_errmsg(ctx), "system memory: Input/output error");

    snprintf(F.fail_path, sizeof F.fail_path, "100/status");
    F.path_err = EIO;
    assert_int_equal(mw_proc_read(ctx, 100, MW_SRC_STATUS, &p), -EIO);
    assert_string_equal(mw_ctx_errmsg(ctx), "pid 100: Input/output error");
    assert_int_equal(mw_ledger_read(ctx, 100, &l), -EIO);
    assert_string_equal(mw_ctx_errmsg(ctx), "pid 100: Input/output error");

    /* A refused process is marked, not an error; a vanished one is skipped. */
    F.path_err = EACCES;
    assert_int_equal(mw_proc_read(ctx, 100, MW_SRC_STATUS | MW_SRC_STAT, &p), 0);
    assert_true(p.denied & MW_SRC_STATUS);
    assert_true(p.read & MW_SRC_STAT);
    mw_proc_release(&p);

    /* One process failing mid-scan: the others are visited, the error kept. */
    snprintf(F.fail_path, sizeof F.fail_path, "700/stat");
    F.path_err = EIO;
    memset(&opts, 0, sizeof opts);
    opts.want = MW_SRC_STATUS | MW_SRC_STAT;
    opts.uid = -1;
    assert_int_equal(mw_scan(ctx, &opts, count_visits, &visits), 0);
    assert_int_equal(visits, 5); /* 2, 100, 300, 400, 600: 500 is gone, 700 failed */
    assert_string_equal(mw_ctx_errmsg(ctx), "pid 700: Input/output error");

    /* The listing itself. */
    snprintf(F.fail_path, sizeof F.fail_path, ".");
    F.path_err = EACCES;
    visits = 0;
    assert_int_equal(mw_scan(ctx, &opts, count_visits, &visits), -EACCES);
    assert_int_equal(visits, 0);
    assert_string_equal(mw_ctx_errmsg(ctx), "listing processes: Permission denied");

    mw_ctx_close(ctx);
    assert_int_equal(F.nopen, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faults_openat), cmocka_unit_test(test_faults_pread),
        cmocka_unit_test(test_faults_close),  cmocka_unit_test(test_faults_readlinkat),
        cmocka_unit_test(test_faults_dirs),   cmocka_unit_test(test_faults_read),
        cmocka_unit_test(test_error_texts),
    };
    return cmocka_run_group_tests_name("faults", tests, setup_base, teardown_base);
}
