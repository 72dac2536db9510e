/*
 * The darwin backend: the libproc, sysctl, Mach and ledger() calls. What they
 * return is handed unchanged to darwin_norm.c, which makes records of it.
 */
#include "backend/darwin/darwin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libproc.h>
#include <mach/mach.h>
#include <mach/mach_time.h>
#include <sys/proc.h>
#include <sys/proc_info.h>
#include <sys/resource.h>
#include <sys/sysctl.h>

#include "backend/darwin/darwin_norm.h"
#include "backend/darwin/darwin_private.h"
#include "memwatch/backend.h"

typedef struct darwin_state {
    mw_darwin_timebase tb;
    int flavor_idx; /* index into rusage_flavors of the newest flavor accepted */
    mach_port_t host;
    char *args; /* KERN_PROCARGS2 buffer, KERN_ARGMAX bytes */
    size_t args_cap;
    struct ledger_template_info *tmpl; /* the ledger template, read once */
    size_t ntmpl;
} darwin_state;

static const int rusage_flavors[] = {RUSAGE_INFO_V6, RUSAGE_INFO_V4, RUSAGE_INFO_V2};
#define N_FLAVORS ((int)(sizeof rusage_flavors / sizeof rusage_flavors[0]))

/* errno after a failed call, never 0: a library that forgot to set it must
 * not turn a failure into success. */
static int last_errno(void)
{
    return errno ? errno : EIO;
}

/* An integer sysctl, whether the kernel stores it in 4 or 8 bytes. */
static int sysctl_uint(const char *name, uint64_t *out)
{
    union {
        uint64_t q;
        uint32_t l;
    } v;
    size_t len = sizeof v;

    memset(&v, 0, sizeof v);
    if (sysctlbyname(name, &v, &len, NULL, 0) != 0)
        return -last_errno();
    if (len == sizeof v.q)
        *out = v.q;
    else if (len == sizeof v.l)
        *out = v.l;
    else
        return MW_EPARSE;
    return 0;
}

static int read_timebase(mw_darwin_timebase *tb)
{
    mach_timebase_info_data_t info = {0, 0};
    uint64_t translated = 0, hz = 0;

    if (mach_timebase_info(&info) != KERN_SUCCESS)
        info.numer = info.denom = 0;
    /* Absent on Intel before macOS 11: not translated. */
    if (sysctl_uint("sysctl.proc_translated", &translated) != 0)
        translated = 0;
    if (sysctl_uint("hw.tbfrequency", &hz) != 0)
        hz = 0;
    return mw_darwin_timebase_choose(info.numer, info.denom, translated != 0, hz, tb);
}

static int darwin_open(const mw_backend_cfg *cfg, void **state)
{
    darwin_state *st;
    int rc;

    (void)cfg;
    st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    rc = read_timebase(&st->tb);
    if (rc) {
        free(st);
        return rc;
    }
    st->host = mach_host_self();
    *state = st;
    return 0;
}

static void darwin_close(void *state)
{
    darwin_state *st = state;

    if (!st)
        return;
    if (st->host != MACH_PORT_NULL)
        mach_port_deallocate(mach_task_self(), st->host);
    free(st->args);
    free(st->tmpl);
    free(st);
}

static int darwin_list_pids(void *state, mw_pid_list *out)
{
    int hint;

    (void)state;
    /* NULL asks for a size hint (nprocs + 20); processes started since then
     * may fill the buffer, in which case the list may be cut short: retry. */
    hint = proc_listallpids(NULL, 0);
    if (hint <= 0)
        return -last_errno();
    for (int attempt = 0; attempt < 5; attempt++) {
        int cap = hint + hint / 4 + 64, n, rc = 0;
        int *buf = malloc((size_t)cap * sizeof *buf);

        if (!buf)
            return -ENOMEM;
        n = proc_listallpids(buf, cap * (int)sizeof *buf);
        if (n < 0) {
            int e = last_errno();
            free(buf);
            return -e;
        }
        if (n < cap) {
            for (int i = 0; i < n && rc == 0; i++)
                rc = mw_pid_list_push(out, buf[i]);
            free(buf);
            return rc;
        }
        free(buf);
        hint = n * 2;
    }
    return -EAGAIN;
}

/* proc_pidinfo as 0 or a positive errno; a short copy is a failure (ENOMEM
 * is what the kernel says when the buffer is too small). */
static int pidinfo(int32_t pid, int flavor, uint64_t arg, void *buf, int size)
{
    int n;

    errno = 0;
    n = proc_pidinfo(pid, flavor, arg, buf, size);
    if (n == size)
        return 0;
    if (n <= 0)
        return last_errno();
    return EIO;
}

static int read_rusage(darwin_state *st, int32_t pid, mw_darwin_raw *raw)
{
    /* Kernels older than a flavor reject it with EINVAL; the flavor that
     * worked is remembered so the rejected call is paid for once. */
    for (int i = st->flavor_idx; i < N_FLAVORS; i++) {
        memset(&raw->ru, 0, sizeof raw->ru);
        if (proc_pid_rusage(pid, rusage_flavors[i], (rusage_info_t *)&raw->ru) == 0) {
            st->flavor_idx = i;
            raw->rusage_flavor = rusage_flavors[i];
            return 0;
        }
        if (errno != EINVAL)
            return last_errno();
    }
    return EINVAL;
}

static int read_path(mw_darwin_raw *raw)
{
    char buf[PROC_PIDPATHINFO_MAXSIZE];
    int n;

    errno = 0;
    n = proc_pidpath(raw->pid, buf, sizeof buf);
    if (n <= 0) {
        raw->path_err = last_errno();
        return 0;
    }
    raw->path = malloc((size_t)n + 1);
    if (!raw->path)
        return -ENOMEM;
    memcpy(raw->path, buf, (size_t)n);
    raw->path[n] = '\0';
    raw->path_err = 0;
    return 0;
}

static int read_args(darwin_state *st, mw_darwin_raw *raw)
{
    int mib[3] = {CTL_KERN, KERN_PROCARGS2, raw->pid};
    size_t len;
    int rc;

    if (!st->args) {
        int mib_max[2] = {CTL_KERN, KERN_ARGMAX};
        int argmax = 0;
        size_t sz = sizeof argmax;

        if (sysctl(mib_max, 2, &argmax, &sz, NULL, 0) != 0 || argmax <= 0)
            argmax = 1024 * 1024; /* macOS's ARG_MAX */
        st->args = malloc((size_t)argmax);
        if (!st->args)
            return -ENOMEM;
        st->args_cap = (size_t)argmax;
    }
    len = st->args_cap;
    if (sysctl(mib, 3, st->args, &len, NULL, 0) != 0) {
        raw->args_err = last_errno();
        return 0;
    }
    rc = mw_darwin_procargs2_cmdline(st->args, len, &raw->cmdline);
    if (rc == -ENOMEM)
        return rc;
    raw->args_err = rc ? EIO : 0;
    return 0;
}

static int darwin_read_proc(void *state, int32_t pid, unsigned want, mw_proc *out)
{
    darwin_state *st = state;
    mw_darwin_raw raw;
    int zombie, same_user_refused = 0, rc = 0;

    /* The start time comes with the BSD info. */
    if (want & MW_SRC_IDENT)
        want |= MW_SRC_STAT;
    mw_darwin_raw_init(&raw, pid);
    /* arg 1: the BSD flavors see zombies only when asked to. Cheap and
     * readable for every uid, so it goes first and finds vanished pids. */
    raw.short_err = pidinfo(pid, PROC_PIDT_SHORTBSDINFO, 1, &raw.sbi, sizeof raw.sbi);
    if (raw.short_err == ESRCH)
        return -ESRCH;
    zombie = raw.short_err == 0 && raw.sbi.pbsi_status == SZOMB;

    /* rusage, TBSDINFO and TASKINFO share one gate (the caller's effective
     * uid must match the target's); after one refusal the others are not
     * tried. */
    if (want & (MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IO)) {
        raw.rusage_err = read_rusage(st, pid, &raw);
        same_user_refused = mw_refused(-raw.rusage_err);
    }
    if (want & MW_SRC_STAT) {
        raw.bsd_err = same_user_refused ? raw.rusage_err
                                        : pidinfo(pid, PROC_PIDTBSDINFO, 1, &raw.bi, sizeof raw.bi);
        same_user_refused = same_user_refused || mw_refused(-raw.bsd_err);
        raw.uniq_err = pidinfo(pid, PROC_PIDUNIQIDENTIFIERINFO, 1, &raw.uniq, sizeof raw.uniq);
    }
    /* proc_name's longer name (pbi_name, 2 * MAXCOMLEN bytes) when p_comm is
     * at its limit: one more call, behind the same uid gate, so other
     * users' processes keep the short name. */
    if (raw.short_err == 0 && raw.bsd_err == MW_DARWIN_UNREAD && !same_user_refused &&
        mw_darwin_comm_at_limit(raw.sbi.pbsi_comm, sizeof raw.sbi.pbsi_comm))
        raw.bsd_err = pidinfo(pid, PROC_PIDTBSDINFO, 1, &raw.bi, sizeof raw.bi);
    /* A zombie has no task, no executable vnode and no arguments left. */
    if ((want & MW_SRC_STATUS) && !zombie)
        raw.task_err =
            same_user_refused ? EPERM : pidinfo(pid, PROC_PIDTASKINFO, 0, &raw.ti, sizeof raw.ti);
    if ((want & MW_SRC_PATH) && !zombie)
        rc = read_path(&raw);
    if (rc == 0 && (want & MW_SRC_CMDLINE) && !zombie)
        rc = read_args(st, &raw);
    if (rc == 0)
        rc = mw_darwin_proc_from_raw(&raw, &st->tb, want, out);
    if (rc == 0 && (out->read & MW_SRC_STAT))
        out->read |= MW_SRC_IDENT;
    if (rc == 0 && (out->denied & MW_SRC_STAT))
        out->denied |= MW_SRC_IDENT;
    mw_darwin_raw_release(&raw);
    if (rc)
        mw_proc_release(out);
    return rc;
}

static int darwin_read_system(void *state, mw_system *out)
{
    darwin_state *st = state;
    mw_darwin_sys_raw raw;
    mach_msg_type_number_t count = HOST_VM_INFO64_COUNT;
    vm_size_t page = 0;
    uint64_t v = 0;
    size_t len;

    memset(&raw, 0, sizeof raw);
    if (sysctl_uint("hw.memsize", &v) == 0) {
        raw.have_memsize = 1;
        raw.memsize = v;
    }
    /* host_page_size answers the kernel's page size (16 KiB on Apple
     * Silicon, even under Rosetta), the unit host_statistics64 counts in. */
    if (st->host != MACH_PORT_NULL &&
        host_statistics64(st->host, HOST_VM_INFO64, (host_info64_t)&raw.vm, &count) ==
            KERN_SUCCESS &&
        host_page_size(st->host, &page) == KERN_SUCCESS && page > 0) {
        raw.have_vm = 1;
        raw.page_size = page;
    }
    len = sizeof raw.swap;
    if (sysctlbyname("vm.swapusage", &raw.swap, &len, NULL, 0) == 0 && len == sizeof raw.swap)
        raw.have_swap = 1;
    if (sysctl_uint("kern.memorystatus_vm_pressure_level", &v) == 0) {
        raw.have_pressure = 1;
        raw.pressure = (int)v;
    }
    mw_darwin_system_from_raw(&raw, out);
    return out->present ? 0 : -EIO;
}

/* The template describes every task's ledger and is the caller's own (the
 * syscall takes no pid for it); it cannot change while we run. */
static int load_template(darwin_state *st)
{
    int cap = 128;

    while (!st->tmpl) {
        struct ledger_template_info *t = calloc((size_t)cap, sizeof *t);
        int n = cap;

        if (!t)
            return -ENOMEM;
        if (ledger(LEDGER_TEMPLATE_INFO, (char *)t, (char *)&n, NULL) != 0) {
            int e = last_errno();
            free(t);
            return -e;
        }
        if (n < 0 || n > cap) {
            free(t);
            return MW_EPARSE;
        }
        if (n == cap && cap < 65536) {
            /* Possibly cut short: ask again with room to spare. */
            free(t);
            cap *= 4;
            continue;
        }
        st->tmpl = t;
        st->ntmpl = (size_t)n;
    }
    return 0;
}

static int darwin_read_ledger(void *state, int32_t pid, mw_ledger *out)
{
    darwin_state *st = state;
    struct ledger_entry_info *ent;
    int n, rc = load_template(st);

    if (rc)
        return rc;
    ent = calloc(st->ntmpl ? st->ntmpl : 1, sizeof *ent);
    if (!ent)
        return -ENOMEM;
    /* The count is an int in and out: capacity, then entries copied. */
    n = (int)st->ntmpl;
    if (ledger(LEDGER_ENTRY_INFO, (char *)(intptr_t)pid, (char *)ent, (char *)&n) != 0) {
        rc = -last_errno();
    } else if (n < 0 || (size_t)n > st->ntmpl) {
        rc = MW_EPARSE;
    } else {
        rc = mw_darwin_ledger_build(st->tmpl, st->ntmpl, ent, (size_t)n, &st->tb, out);
    }
    free(ent);
    return rc;
}

int mw_darwin_coalition_id(int32_t pid, uint64_t *id)
{
    struct proc_pidcoalitioninfo ci;
    int err;

    memset(&ci, 0, sizeof ci);
    err = pidinfo(pid, PROC_PIDCOALITIONINFO, 0, &ci, sizeof ci);
    if (err)
        return -err;
    if (ci.coalition_id[COALITION_TYPE_RESOURCE] == 0)
        return -ENOENT;
    *id = ci.coalition_id[COALITION_TYPE_RESOURCE];
    return 0;
}

static int darwin_app_key(void *state, int32_t pid, char *buf, size_t len)
{
    uint64_t id = 0;
    int rc = mw_darwin_coalition_id(pid, &id);

    (void)state;
    if (rc)
        return rc;
    return mw_darwin_app_key_format(id, buf, len);
}

int mw_darwin_coalition_usage(int32_t pid, mw_ledger *out)
{
    struct coalition_resource_usage cru;
    mw_darwin_timebase tb;
    uint64_t id = 0;
    int rc = mw_darwin_coalition_id(pid, &id);

    if (rc)
        return rc;
    rc = read_timebase(&tb);
    if (rc)
        return rc;
    /* Fields an older kernel does not copy out stay zero. */
    memset(&cru, 0, sizeof cru);
    if (coalition_info_resource_usage(id, &cru, sizeof cru) != 0)
        return -last_errno();
    return mw_darwin_coalition_ledger(&cru, &tb, out);
}

static int darwin_app_totals(void *state, const char *key, mw_ledger *out)
{
    darwin_state *st = state;
    struct coalition_resource_usage cru;
    uint64_t id = 0;

    if (mw_darwin_app_key_parse(key, &id) != 0)
        return -ESRCH;
    memset(&cru, 0, sizeof cru);
    if (coalition_info_resource_usage(id, &cru, sizeof cru) != 0)
        return -last_errno();
    return mw_darwin_coalition_ledger(&cru, &st->tb, out);
}

/* The kernel's resource coalitions: *list (heap) and *n, or -errno. */
static int list_coalitions(struct procinfo_coalinfo **list, size_t *n)
{
    for (int tries = 0; tries < 4; tries++) {
        int need =
            proc_listcoalitions(MW_LISTCOALITIONS_SINGLE_TYPE, COALITION_TYPE_RESOURCE, NULL, 0);
        int cap, got;
        struct procinfo_coalinfo *buf;

        if (need < 0)
            return -last_errno();
        /* Room for coalitions made between the two calls. */
        cap = need + 32 * (int)sizeof *buf;
        buf = calloc((size_t)cap / sizeof *buf, sizeof *buf);
        if (!buf)
            return -ENOMEM;
        got = proc_listcoalitions(MW_LISTCOALITIONS_SINGLE_TYPE, COALITION_TYPE_RESOURCE, buf, cap);
        if (got < 0) {
            int e = last_errno();
            free(buf);
            return -e;
        }
        if (got < cap) {
            *list = buf;
            *n = (size_t)got / sizeof *buf;
            return 0;
        }
        free(buf);
    }
    return -EAGAIN;
}

/* The leaders of resource coalitions among the processes now. Processes
 * that vanish or refuse are passed over: a coalition without a leader found
 * is reported with leader 0. */
static int find_leaders(void *state, mw_darwin_leader **out, size_t *n)
{
    mw_pid_list pids = {NULL, 0, 0};
    mw_darwin_leader *leaders = NULL;
    size_t count = 0;
    int rc = darwin_list_pids(state, &pids);

    if (rc)
        return rc;
    for (size_t i = 0; i < pids.count; i++) {
        int32_t pid = pids.pids[i];
        int roles[COALITION_NUM_TYPES] = {0};
        size_t len = sizeof roles;
        uint64_t id = 0;
        mw_darwin_leader *grown;

        if (sysctlbyname(MW_COALITION_ROLES_SYSCTL, roles, &len, &pid, sizeof pid) != 0 ||
            len != sizeof roles || roles[COALITION_TYPE_RESOURCE] != MW_COALITION_TASKROLE_LEADER ||
            mw_darwin_coalition_id(pid, &id) != 0)
            continue;
        grown = realloc(leaders, (count + 1) * sizeof *leaders);
        if (!grown) {
            rc = -ENOMEM;
            break;
        }
        leaders = grown;
        leaders[count].pid = pid;
        leaders[count].coalition_id = id;
        count++;
    }
    mw_pid_list_release(&pids);
    if (rc) {
        free(leaders);
        return rc;
    }
    *out = leaders;
    *n = count;
    return 0;
}

static int darwin_apps(void *state, mw_app_list *out)
{
    darwin_state *st = state;
    struct procinfo_coalinfo *list = NULL;
    struct coalition_resource_usage *usage = NULL;
    const struct coalition_resource_usage **cru = NULL;
    mw_darwin_leader *leaders = NULL;
    size_t n = 0, nleaders = 0;
    int rc = list_coalitions(&list, &n);

    if (rc)
        return rc;
    usage = calloc(n ? n : 1, sizeof *usage);
    cru = calloc(n ? n : 1, sizeof(const struct coalition_resource_usage *));
    if (!usage || !cru)
        rc = -ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        /* A coalition reaped since the listing is left out. */
        if (coalition_info_resource_usage(list[i].coalition_id, &usage[i], sizeof usage[i]) == 0)
            cru[i] = &usage[i];
    }
    if (rc == 0)
        rc = find_leaders(state, &leaders, &nleaders);
    if (rc == 0)
        rc = mw_darwin_apps_build(list, n, cru, leaders, nleaders, &st->tb, out);
    free(leaders);
    free(cru);
    free(usage);
    free(list);
    return rc;
}

static int darwin_read_regions(void *state, int32_t pid, mw_regions *out)
{
    darwin_state *st = state;
    vm_size_t page = 0;

    /* The region counts are in the kernel's pages (16 KiB on Apple Silicon). */
    if (st->host == MACH_PORT_NULL || host_page_size(st->host, &page) != KERN_SUCCESS || page == 0)
        page = 4096;
    return mw_darwin_read_regions(pid, page, out);
}

const mw_backend_ops mw_backend_native = {
    .name = "darwin",
    .platform = "darwin",
    .open = darwin_open,
    .close = darwin_close,
    .list_pids = darwin_list_pids,
    .read_proc = darwin_read_proc,
    .read_system = darwin_read_system,
    .read_ledger = darwin_read_ledger,
    .app_key = darwin_app_key,
    .apps = darwin_apps,
    .app_totals = darwin_app_totals,
    .read_regions = darwin_read_regions,
    .scan_begin = NULL,
    .scan_end = NULL,
};
