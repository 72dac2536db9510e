/* The sampler context: one backend state, the user-name cache, scans. */
#include "memwatch/alloc.h"
#include "memwatch/backend.h"
#include "memwatch/memwatch.h"
#include "memwatch/sys.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct user_entry {
    int64_t uid;
    char *name; /* NULL: the system has no name for this uid */
} user_entry;

struct mw_ctx {
    const mw_backend_ops *ops;
    void *state;
    user_entry *users;
    size_t nusers, capusers;
    char errmsg[256];
};

static void set_error(mw_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(mw_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
    va_end(ap);
}

int mw_ctx_open(const mw_ctx_cfg *cfg, mw_ctx **out)
{
    mw_backend_cfg bcfg = {"/proc", &mw_sys_default, -1, "/dev/kmsg", NULL, 0};
    mw_ctx *ctx;
    int rc;

    *out = NULL;
    /* The core names no backend: the caller (the Lua binding, a test) picks
     * one, so the core links without any. */
    if (!cfg || !cfg->backend)
        return MW_EINVAL;
    ctx = mw_calloc(1, sizeof *ctx);
    if (!ctx)
        return -ENOMEM;
    ctx->ops = cfg->backend;
    if (cfg->root)
        bcfg.root = cfg->root;
    if (cfg->sys)
        bcfg.sys = cfg->sys;
    bcfg.max_cached_fds = cfg->max_cached_fds;
    if (cfg->kmsg)
        bcfg.kmsg = cfg->kmsg;
    bcfg.why = cfg->why;
    bcfg.whylen = cfg->whylen;
    rc = ctx->ops->open(&bcfg, &ctx->state);
    if (rc < 0) {
        mw_free(ctx);
        return rc;
    }
    *out = ctx;
    return MW_OK;
}

void mw_ctx_close(mw_ctx *ctx)
{
    if (!ctx)
        return;
    ctx->ops->close(ctx->state);
    for (size_t i = 0; i < ctx->nusers; i++)
        mw_free(ctx->users[i].name);
    mw_free(ctx->users);
    mw_free(ctx);
}

const char *mw_ctx_platform(const mw_ctx *ctx)
{
    return ctx->ops->platform;
}

const struct mw_backend_ops *mw_ctx_backend(const mw_ctx *ctx)
{
    return ctx->ops;
}

void *mw_ctx_backend_state(const mw_ctx *ctx)
{
    return ctx->state;
}

const char *mw_ctx_errmsg(const mw_ctx *ctx)
{
    return ctx->errmsg;
}

static int is_gone(int rc)
{
    return rc == -ESRCH || rc == -ENOENT;
}

/* The last path component of s[0..n). */
static const char *base_of(const char *s, size_t *n)
{
    const char *b = s;
    for (size_t i = 0; i < *n; i++) {
        if (s[i] == '/')
            b = s + i + 1;
    }
    *n -= (size_t)(b - s);
    return b;
}

static int base_is(const char *s, size_t n, const char *name)
{
    const char *b = base_of(s, &n);
    return n == strlen(name) && memcmp(b, name, n) == 0;
}

/*
 * Does the process answer to name? Its full name, or (see mw_scan_opts.name)
 * a comm at the limit that starts name, with an executable or argv[0] called
 * name: those two are read only for such a process.
 */
static int name_matches(mw_ctx *ctx, const mw_proc *p, const char *name)
{
    static const char deleted[] = " (deleted)";
    size_t clen = strlen(p->comm), n;
    mw_proc more;
    int yes = 0;

    if (strcmp(p->name, name) == 0)
        return 1;
    if (clen < MW_COMM_LIMIT || strlen(name) <= clen || strncmp(name, p->comm, clen) != 0)
        return 0;
    mw_proc_init(&more);
    if (ctx->ops->read_proc(ctx->state, p->pid, MW_SRC_PATH | MW_SRC_CMDLINE, &more) == 0) {
        if (more.path) {
            n = strlen(more.path);
            if (n > sizeof deleted - 1 &&
                strcmp(more.path + n - (sizeof deleted - 1), deleted) == 0)
                n -= sizeof deleted - 1;
            yes = base_is(more.path, n, name);
        }
        /* argv[0]: the command line joins arguments with spaces. */
        if (!yes && more.cmdline)
            yes = base_is(more.cmdline, strcspn(more.cmdline, " "), name);
    }
    mw_proc_release(&more);
    return yes;
}

static int visit(mw_ctx *ctx, const mw_scan_opts *opts, int32_t pid, mw_scan_cb cb, void *ud)
{
    mw_proc p;
    int rc;

    mw_proc_init(&p);
    rc = ctx->ops->read_proc(ctx->state, pid, opts->want, &p);
    if (mw_refused(rc)) {
        /* Forbidden, not gone: the process is listed, marked, and the scan
         * goes on (hidepid mounts, foreign processes on macOS). */
        p.pid = pid;
        mw_proc_set(&p, MW_F_PID, pid);
        p.denied |= opts->want & (MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT);
        if (opts->uid >= 0 || opts->name) {
            mw_proc_release(&p);
            return 0; /* cannot tell whether it matches */
        }
        rc = cb(ud, &p);
        mw_proc_release(&p);
        return rc;
    }
    if (rc < 0) {
        /* A process that vanished mid-scan is not an error; anything else is
         * remembered for mw_ctx_errmsg and the scan goes on, except running
         * out of memory, which ends the scan with -ENOMEM. */
        if (!is_gone(rc))
            set_error(ctx, "pid %d: %s", (int)pid, mw_strerror(rc));
        mw_proc_release(&p);
        return rc == -ENOMEM ? rc : 0;
    }
    if ((opts->uid >= 0 && (!mw_proc_has(&p, MW_F_UID) || p.v[MW_F_UID] != opts->uid)) ||
        (opts->name && !name_matches(ctx, &p, opts->name))) {
        mw_proc_release(&p);
        return 0;
    }
    rc = cb(ud, &p);
    mw_proc_release(&p);
    return rc;
}

int mw_scan(mw_ctx *ctx, const mw_scan_opts *opts, mw_scan_cb cb, void *ud)
{
    mw_pid_list list = {0};
    int rc = 0;

    if (ctx->ops->scan_begin)
        ctx->ops->scan_begin(ctx->state, opts);
    if (opts->pids) {
        for (size_t i = 0; i < opts->npids && rc == 0; i++)
            rc = visit(ctx, opts, opts->pids[i], cb, ud);
    } else {
        rc = ctx->ops->list_pids(ctx->state, &list);
        if (rc < 0) {
            set_error(ctx, "listing processes: %s", mw_strerror(rc));
        } else {
            for (size_t i = 0; i < list.count && rc == 0; i++)
                rc = visit(ctx, opts, list.pids[i], cb, ud);
        }
        mw_pid_list_release(&list);
    }
    /* Only a full scan tells which cached processes are gone (one stopped
     * early has not seen them all). */
    if (ctx->ops->scan_end && !opts->pids && rc == 0)
        ctx->ops->scan_end(ctx->state);
    if (ctx->ops->scan_over)
        ctx->ops->scan_over(ctx->state);
    return rc;
}

int mw_proc_read(mw_ctx *ctx, int32_t pid, unsigned want, mw_proc *out)
{
    int rc;

    mw_proc_init(out);
    if (pid < 0)
        return -ESRCH;
    rc = ctx->ops->read_proc(ctx->state, pid, want, out);
    if (rc < 0) {
        set_error(ctx, "pid %d: %s", (int)pid, mw_strerror(rc));
        mw_proc_release(out);
    }
    return rc;
}

int mw_system_read(mw_ctx *ctx, mw_system *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    rc = ctx->ops->read_system(ctx->state, out);
    if (rc < 0)
        set_error(ctx, "system memory: %s", mw_strerror(rc));
    return rc;
}

int mw_ledger_read(mw_ctx *ctx, int32_t pid, mw_ledger *out)
{
    int rc;

    mw_ledger_init(out);
    if (!ctx->ops->read_ledger)
        return MW_ENOTSUP;
    rc = ctx->ops->read_ledger(ctx->state, pid, out);
    if (rc < 0) {
        set_error(ctx, "pid %d: %s", (int)pid, mw_strerror(rc));
        mw_ledger_release(out);
    }
    return rc;
}

int mw_regions_read(mw_ctx *ctx, int32_t pid, mw_regions *out)
{
    int rc;

    mw_regions_init(out);
    if (!ctx->ops->read_regions)
        return MW_ENOTSUP;
    rc = ctx->ops->read_regions(ctx->state, pid, out);
    if (rc < 0) {
        set_error(ctx, "pid %d: %s", (int)pid, mw_strerror(rc));
        mw_regions_release(out);
    }
    return rc;
}

int mw_app_key(mw_ctx *ctx, int32_t pid, char *buf, size_t len)
{
    if (!ctx->ops->app_key)
        return -ENOENT;
    return ctx->ops->app_key(ctx->state, pid, buf, len);
}

int mw_apps_read(mw_ctx *ctx, mw_app_list *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    if (!ctx->ops->apps)
        return MW_ENOTSUP;
    rc = ctx->ops->apps(ctx->state, out);
    if (rc < 0)
        mw_app_list_release(out);
    return rc;
}

int mw_app_totals(mw_ctx *ctx, const char *key, mw_ledger *out)
{
    int rc;

    mw_ledger_init(out);
    if (!ctx->ops->app_totals)
        return MW_ENOTSUP;
    rc = ctx->ops->app_totals(ctx->state, key, out);
    if (rc < 0)
        mw_ledger_release(out);
    return rc;
}

int mw_cgroup_ids_read(mw_ctx *ctx, int32_t pid, mw_cgroup_ids *out)
{
    memset(out, 0, sizeof *out);
    if (!ctx->ops->cgroup_ids)
        return MW_ENOTSUP;
    if (pid <= 0)
        return -ESRCH;
    return ctx->ops->cgroup_ids(ctx->state, pid, out);
}

int mw_oom_kill_count(mw_ctx *ctx, int64_t *count)
{
    int rc;

    if (!ctx->ops->oom_kill_count)
        return MW_ENOTSUP;
    rc = ctx->ops->oom_kill_count(ctx->state, count);
    if (rc < 0)
        set_error(ctx, "OOM kill count: %s", mw_strerror(rc));
    return rc;
}

int mw_oom_kills_since(mw_ctx *ctx, uint64_t cursor, mw_oom_cb cb, void *ud, uint64_t *next)
{
    int rc;

    if (!ctx->ops->oom_kills)
        return MW_ENOTSUP;
    rc = ctx->ops->oom_kills(ctx->state, cursor, cb, ud, next);
    if (rc < 0)
        set_error(ctx, "kernel log: %s", mw_strerror(rc));
    return rc;
}

static user_entry *find_user(mw_ctx *ctx, int64_t uid)
{
    for (size_t i = 0; i < ctx->nusers; i++) {
        if (ctx->users[i].uid == uid)
            return &ctx->users[i];
    }
    return NULL;
}

const char *mw_user_name(mw_ctx *ctx, int64_t uid)
{
    user_entry *e = find_user(ctx, uid), *users;
    struct passwd pw, *res = NULL;
    char buf[1024];

    if (e)
        return e->name;
    users = mw_grow(ctx->users, &ctx->capusers, ctx->nusers + 1, sizeof *users, 16);
    if (!users)
        return NULL;
    ctx->users = users;
    e = &ctx->users[ctx->nusers++];
    e->uid = uid;
    e->name = NULL;
    if (uid >= 0 && getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &res) == 0 && res &&
        !(e->name = mw_strdup(res->pw_name)))
        ctx->nusers--; /* out of memory: do not remember the uid as nameless */
    return e->name;
}

int mw_user_uid(mw_ctx *ctx, const char *name, int64_t *uid)
{
    struct passwd pw, *res = NULL;
    char buf[1024];

    (void)ctx;
    if (getpwnam_r(name, &pw, buf, sizeof buf, &res) != 0 || !res)
        return -ENOENT;
    *uid = (int64_t)res->pw_uid;
    return MW_OK;
}
