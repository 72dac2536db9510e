/*
 * The BPF sampler (Linux, built with -DMEMWATCH_BPF): a second backend whose
 * scans read every process's status and stat numbers from one pass of a BPF
 * task iterator, in binary, instead of formatting and parsing two /proc
 * files per process. Everything else (smaps_rollup, io, cmdline, exe, full
 * names, single reads, system memory, ledgers, cgroups, OOM kills) is the
 * /proc backend's, whose state this one wraps.
 *
 * A pass is taken when a scan begins and serves that scan only: a read
 * outside a scan (a record's lazily read fields, core.read) goes to /proc,
 * so its start time, the pid-reuse check, comes from stat as before.
 */
#include "memwatch/alloc.h"
#include "memwatch/backend.h"
#include "memwatch/memwatch.h"
#include "memwatch/sys.h"

#include "backend/linux/bpf/loader.h"
#include "backend/linux/bpf/snapshot.h"
#include "backend/linux/fullname.h"
#include "backend/linux/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FROM_PASS (MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT)

typedef struct bpf_state {
    void *proc; /* the /proc backend's state */
    const mw_sys *sys;
    mw_bpf_loader *loader;
    mw_bpf_units units;
    mw_bpf_snapshot snap;
    int in_scan; /* snap is this scan's pass */
} bpf_state;

/* A scan of at most this many named pids reads them from /proc: a few
 * status reads cost less than a pass over every task (which at 1000
 * processes costs about what 50 of them do). */
#define FEW_PIDS 16

static void bpf_close(void *state)
{
    bpf_state *st = state;
    if (!st)
        return;
    mw_bpf_unload(st->loader);
    mw_bpf_snapshot_release(&st->snap);
    mw_backend_native.close(st->proc);
    mw_free(st);
}

static int bpf_open(const mw_backend_cfg *cfg, void **out)
{
    bpf_state *st;
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    int rc;

    *out = NULL;
    /* The iterator reads the running kernel: a /proc tree elsewhere (a
     * captured fixture) is not it. */
    if (strcmp(cfg->root, "/proc") != 0) {
        if (cfg->why)
            snprintf(cfg->why, cfg->whylen, "the /proc root is %s, not the running kernel's",
                     cfg->root);
        return -EINVAL;
    }
    if (!(st = mw_calloc(1, sizeof *st)))
        return -ENOMEM;
    st->sys = cfg->sys;
    if ((rc = mw_backend_native.open(cfg, &st->proc)) < 0) {
        if (cfg->why)
            snprintf(cfg->why, cfg->whylen, "/proc: %s", mw_strerror(rc));
        mw_free(st);
        return rc;
    }
    {
        char why[256] = "";
        rc = mw_bpf_load(cfg->sys, &st->loader, why, sizeof why);
        if (rc < 0) {
            if (cfg->why)
                snprintf(cfg->why, cfg->whylen, "%s", why);
            bpf_close(st);
            return rc;
        }
    }
    st->units.page_size = page > 0 ? page : 4096;
    st->units.ticks_per_sec = tck > 0 ? tck : 100;
    st->units.btime = mw_linux_btime(st->proc);
    *out = st;
    return MW_OK;
}

/* The scan's filters, as far as the program can try them: a process can be
 * called name only when its comm is name's first MW_COMM_LIMIT bytes (a
 * full name starts with the comm). */
static void filter_of(const mw_scan_opts *opts, mw_bpf_filter *f)
{
    memset(f, 0, sizeof *f);
    if (opts->name) {
        size_t n = strlen(opts->name);
        if (n > MW_COMM_LIMIT)
            n = MW_COMM_LIMIT;
        memcpy(f->comm, opts->name, n);
        f->flags |= MW_BPF_WANT_COMM;
    }
    if (opts->uid >= 0 && opts->uid <= UINT32_MAX) {
        f->uid = (uint32_t)opts->uid;
        f->flags |= MW_BPF_WANT_UID;
    }
}

static void bpf_scan_begin(void *state, const mw_scan_opts *opts)
{
    bpf_state *st = state;
    mw_bpf_filter filter;
    const void *recs;
    size_t len = 0;

    mw_backend_native.scan_begin(st->proc, opts);
    st->in_scan = 0;
    if (opts->pids && opts->npids <= FEW_PIDS)
        return;
    filter_of(opts, &filter);
    if (mw_bpf_pass(st->loader, &filter, &recs, &len) == 0 &&
        mw_bpf_snapshot_build(&st->snap, recs, len) == 0)
        st->in_scan = 1;
}

static void bpf_scan_end(void *state)
{
    bpf_state *st = state;
    mw_backend_native.scan_end(st->proc);
}

static void bpf_scan_over(void *state)
{
    ((bpf_state *)state)->in_scan = 0;
}

static int bpf_list_pids(void *state, mw_pid_list *out)
{
    bpf_state *st = state;
    int rc;

    /* A pass that failed: this scan is /proc's. */
    if (!st->in_scan)
        return mw_backend_native.list_pids(st->proc, out);
    for (size_t i = 0; i < st->snap.count; i++) {
        if ((rc = mw_pid_list_push(out, st->snap.e[i].rec.pid)) < 0)
            return rc;
    }
    return MW_OK;
}

/* The full name of a process whose comm is at the kernel's limit: worked
 * out once per process (the /proc backend reads exe and cmdline). */
static void put_name(bpf_state *st, mw_bpf_entry *e, mw_proc *out)
{
    char name[MW_NAME_MAX];

    memcpy(out->comm, out->name, sizeof e->rec.comm);
    if (!mw_comm_truncated(out->comm) || (out->flags & MW_PROC_KTHREAD))
        return;
    if (!e->have_name) {
        if (mw_linux_full_name(st->proc, e->rec.pid, out->comm, name, sizeof name) == 1) {
            e->full_name = mw_strdup(name);
            e->have_name = e->full_name != NULL; /* out of memory: try again next time */
        } else {
            e->have_name = 1;
        }
    }
    if (e->full_name)
        snprintf(out->name, sizeof out->name, "%s", e->full_name);
}

static int bpf_read_proc(void *state, int32_t pid, unsigned want, mw_proc *out)
{
    bpf_state *st = state;
    mw_bpf_entry *e = st->in_scan ? mw_bpf_snapshot_find(&st->snap, pid) : NULL;
    mw_proc more;
    int rc;

    if (!e || !(want & FROM_PASS))
        return mw_backend_native.read_proc(st->proc, pid, want, out);
    mw_bpf_to_proc(&e->rec, &st->units, out);
    put_name(st, e, out);
    if (!(want & ~FROM_PASS))
        return MW_OK;
    /* The rest is /proc's: smaps_rollup, io, cmdline, exe. */
    mw_proc_init(&more);
    rc = mw_backend_native.read_proc(st->proc, pid, want & ~FROM_PASS, &more);
    if (rc == 0) {
        for (int f = 0; f < MW_F_COUNT; f++) {
            if (mw_proc_has(&more, (enum mw_field)f) && !mw_proc_has(out, (enum mw_field)f))
                mw_proc_set(out, (enum mw_field)f, more.v[f]);
        }
        out->read |= more.read;
        out->denied |= more.denied;
        out->path = more.path;
        out->cmdline = more.cmdline;
        more.path = more.cmdline = NULL;
    }
    mw_proc_release(&more);
    /* Gone since the pass: the scan skips it, as /proc's would. */
    return rc == -ENOMEM || rc == -ESRCH || rc == -ENOENT ? rc : MW_OK;
}

static int bpf_read_system(void *state, mw_system *out)
{
    return mw_backend_native.read_system(((bpf_state *)state)->proc, out);
}

static int bpf_read_ledger(void *state, int32_t pid, mw_ledger *out)
{
    return mw_backend_native.read_ledger(((bpf_state *)state)->proc, pid, out);
}

static int bpf_app_key(void *state, int32_t pid, char *buf, size_t len)
{
    return mw_backend_native.app_key(((bpf_state *)state)->proc, pid, buf, len);
}

static int bpf_cgroup_ids(void *state, int32_t pid, mw_cgroup_ids *out)
{
    return mw_backend_native.cgroup_ids(((bpf_state *)state)->proc, pid, out);
}

static int bpf_oom_kill_count(void *state, int64_t *count)
{
    return mw_backend_native.oom_kill_count(((bpf_state *)state)->proc, count);
}

static int bpf_oom_kills(void *state, uint64_t cursor, mw_oom_cb cb, void *ud, uint64_t *next)
{
    return mw_backend_native.oom_kills(((bpf_state *)state)->proc, cursor, cb, ud, next);
}

static int bpf_read_regions(void *state, int32_t pid, mw_regions *out)
{
    return mw_backend_native.read_regions(((bpf_state *)state)->proc, pid, out);
}

static const char *bpf_detail(void *state)
{
    return mw_bpf_counters(((bpf_state *)state)->loader);
}

const mw_backend_ops mw_backend_bpf = {
    .name = "bpf",
    .platform = "linux",
    .open = bpf_open,
    .close = bpf_close,
    .list_pids = bpf_list_pids,
    .read_proc = bpf_read_proc,
    .read_system = bpf_read_system,
    .read_ledger = bpf_read_ledger,
    .app_key = bpf_app_key,
    .cgroup_ids = bpf_cgroup_ids,
    .scan_begin = bpf_scan_begin,
    .scan_end = bpf_scan_end,
    .scan_over = bpf_scan_over,
    .oom_kill_count = bpf_oom_kill_count,
    .oom_kills = bpf_oom_kills,
    .read_regions = bpf_read_regions,
    .detail = bpf_detail,
};
