/*
 * The darwin kernel, as far as the darwin backend can see it, replayed from a
 * fixture. Beyond returning the fixture's rows it applies the rules the
 * kernel applies (xnu bsd/kern/proc_info.c, proc_security_policy and the
 * flavors' handlers; bsd/kern/kern_resource.c, proc_pid_rusage;
 * bsd/kern/sys_generic.c, ledger), so the backend is tested
 * against them rather than against whatever a fixture happens to say:
 *   - rusage, TBSDINFO, TASKINFO, REGIONPATHINFO and flavor 18 need the caller's effective
 *     uid (self_uid) to match the target's, unless the caller is root: EPERM;
 *   - the BSD flavors (3, 13, 17, 18) see a zombie only when arg != 0; every
 *     other per-pid call gets ESRCH for a zombie, except rusage, which
 *     answers the copy cached at exit;
 *   - a flavor newer than the system's (rusage_maxflavor) is EINVAL, and
 *     exactly sizeof(struct rusage_info_vN) bytes are copied;
 *   - buffers smaller than a flavor's struct are ENOMEM; KERN_PROCARGS2 for
 *     another user's process is EINVAL;
 *   - ledger entries come back in template order, however the fixture
 *     lists them;
 *   - PROC_PIDREGIONPATHINFO (same uid too) answers the region holding the
 *     address asked for or the first above it, EINVAL past the last.
 * An "errno=NAME" on a fixture line overrides all of that for that call.
 */
#include "fake.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libproc.h>
#include <mach/mach.h>
#include <mach/mach_time.h>
#include <sys/proc.h>
#include <sys/proc_info.h>
#include <sys/resource.h>
#include <sys/sysctl.h>

#include "backend/darwin/darwin_private.h"
#include "memwatch/memwatch.h"

#define MAX_ARGS 64

typedef struct fake_ledger_value {
    char name[LEDGER_NAME_MAX];
    int64_t balance, credit, debit;
} fake_ledger_value;

/* One region of a task's address space (PROC_PIDREGIONPATHINFO). */
typedef struct fake_region {
    struct proc_regionwithpathinfo info;
    int err; /* the call answering this region fails so (the task exits) */
} fake_region;

typedef struct fake_proc {
    int32_t pid;
    int ghost; /* listed, but gone by the time anyone asks */
    struct proc_bsdshortinfo sbi;
    int short_err;
    struct proc_bsdinfo bi; /* identity fields copied from sbi at the end */
    int bsd_err;
    char name[2 * MAXCOMLEN + 1];
    struct proc_taskinfo ti;
    int task_err;
    struct proc_uniqidentifierinfo uniq;
    int uniq_err;
    struct rusage_info_v6 ru;
    int rusage_err;
    char *path;
    int path_err;
    char *exe;
    char *argv[MAX_ARGS];
    int argc;
    int args_err;
    uint64_t coalition[COALITION_NUM_TYPES];
    int coalition_err;
    int coalition_leader; /* leads its coalitions (kern.coalition_roles) */
    fake_ledger_value *ledger;
    size_t nledger;
    int ledger_err;
    fake_region *regions;
    size_t nregions;
} fake_proc;

typedef struct fake_sysctl {
    char name[64];
    uint64_t value;
} fake_sysctl;

typedef struct fake_coalition {
    uint64_t id;
    struct coalition_resource_usage cru;
} fake_coalition;

static struct fake {
    int loaded;
    int broken; /* the fixture did not parse: every call fails */
    uint32_t self_uid;
    uint32_t tb_numer, tb_denom;
    int rusage_maxflavor;
    int listhint; /* < 0: nprocs + 20, as the kernel does */
    fake_sysctl *sysctls;
    size_t nsysctls;
    int have_swap;
    struct xsw_usage swap;
    int have_vm;
    vm_statistics64_data_t vm;
    uint64_t page_size;
    struct ledger_template_info *tmpl;
    size_t ntmpl;
    fake_proc *procs;
    size_t nprocs;
    fake_coalition *coalitions;
    size_t ncoalitions;
    mw_darwin_fake_stats stats;
} F;

mach_port_t mach_task_self_ = 0x203;

/* ---- loading -------------------------------------------------------------------- */

static void free_all(void)
{
    for (size_t i = 0; i < F.nprocs; i++) {
        fake_proc *p = &F.procs[i];
        free(p->path);
        free(p->exe);
        for (int a = 0; a < p->argc; a++)
            free(p->argv[a]);
        free(p->ledger);
        free(p->regions);
    }
    free(F.procs);
    free(F.sysctls);
    free(F.tmpl);
    free(F.coalitions);
    memset(&F, 0, sizeof F);
}

static void set_defaults(void)
{
    F.loaded = 1;
    F.self_uid = 501;
    F.tb_numer = F.tb_denom = 1;
    F.rusage_maxflavor = RUSAGE_INFO_V6;
    F.listhint = -1;
}

void mw_darwin_fake_reset(void)
{
    free_all();
}

const mw_darwin_fake_stats *mw_darwin_fake_stats_get(void)
{
    return &F.stats;
}

static void *grow(void *arr, size_t *n, size_t elem)
{
    char *a = realloc(arr, (*n + 1) * elem);
    if (!a)
        return NULL;
    memset(a + *n * elem, 0, elem);
    (*n)++;
    return a;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static const struct {
    const char *name;
    int value;
} errno_names[] = {
    {"EPERM", EPERM},   {"ESRCH", ESRCH},   {"EINVAL", EINVAL}, {"ENOENT", ENOENT},
    {"EACCES", EACCES}, {"ENOMEM", ENOMEM}, {"EIO", EIO},       {"EFAULT", EFAULT},
};

static int parse_errno(const char *s, int *out)
{
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++) {
        if (strcmp(s, errno_names[i].name) == 0) {
            *out = errno_names[i].value;
            return 0;
        }
    }
    return -1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!*s)
        return -1;
    errno = 0;
    *out = strtoull(s, &end, 0);
    return (errno || *end) ? -1 : 0;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    if (!*s)
        return -1;
    errno = 0;
    *out = strtoll(s, &end, 0);
    return (errno || *end) ? -1 : 0;
}

/* A field of a fixed-layout struct that a fixture may set by name. */
typedef struct field {
    const char *name;
    size_t off;
    size_t size;
} field;

#define FLD(type, member, key)                                                                     \
    {                                                                                              \
        key, offsetof(type, member), sizeof(((type *)0)->member)                                   \
    }

static const field short_fields[] = {
    FLD(struct proc_bsdshortinfo, pbsi_ppid, "ppid"),
    FLD(struct proc_bsdshortinfo, pbsi_pgid, "pgid"),
    FLD(struct proc_bsdshortinfo, pbsi_status, "status"),
    FLD(struct proc_bsdshortinfo, pbsi_flags, "flags"),
    FLD(struct proc_bsdshortinfo, pbsi_uid, "uid"),
    FLD(struct proc_bsdshortinfo, pbsi_gid, "gid"),
    FLD(struct proc_bsdshortinfo, pbsi_ruid, "ruid"),
    FLD(struct proc_bsdshortinfo, pbsi_rgid, "rgid"),
    FLD(struct proc_bsdshortinfo, pbsi_svuid, "svuid"),
    FLD(struct proc_bsdshortinfo, pbsi_svgid, "svgid"),
    {NULL, 0, 0},
};

static const field bsd_fields[] = {
    FLD(struct proc_bsdinfo, pbi_xstatus, "xstatus"),
    FLD(struct proc_bsdinfo, pbi_nfiles, "nfiles"),
    FLD(struct proc_bsdinfo, pbi_nice, "nice"),
    FLD(struct proc_bsdinfo, pbi_start_tvsec, "start_sec"),
    FLD(struct proc_bsdinfo, pbi_start_tvusec, "start_usec"),
    {NULL, 0, 0},
};

static const field task_fields[] = {
    FLD(struct proc_taskinfo, pti_virtual_size, "virtual_size"),
    FLD(struct proc_taskinfo, pti_resident_size, "resident_size"),
    FLD(struct proc_taskinfo, pti_total_user, "total_user"),
    FLD(struct proc_taskinfo, pti_total_system, "total_system"),
    FLD(struct proc_taskinfo, pti_threadnum, "threadnum"),
    FLD(struct proc_taskinfo, pti_numrunning, "numrunning"),
    FLD(struct proc_taskinfo, pti_faults, "faults"),
    FLD(struct proc_taskinfo, pti_pageins, "pageins"),
    {NULL, 0, 0},
};

static const field uniq_fields[] = {
    FLD(struct proc_uniqidentifierinfo, p_uniqueid, "uniqueid"),
    FLD(struct proc_uniqidentifierinfo, p_puniqueid, "puniqueid"),
    FLD(struct proc_uniqidentifierinfo, p_idversion, "idversion"),
    {NULL, 0, 0},
};

#define RU(member) FLD(struct rusage_info_v6, ri_##member, #member)
static const field rusage_fields[] = {
    RU(user_time),
    RU(system_time),
    RU(pageins),
    RU(wired_size),
    RU(resident_size),
    RU(phys_footprint),
    RU(proc_start_abstime),
    RU(proc_exit_abstime),
    RU(diskio_bytesread),
    RU(diskio_byteswritten),
    RU(logical_writes),
    RU(lifetime_max_phys_footprint),
    RU(interval_max_phys_footprint),
    RU(runnable_time),
    RU(user_ptime),
    RU(system_ptime),
    RU(energy_nj),
    RU(neural_footprint),
    {NULL, 0, 0},
};

#define VM(member) FLD(vm_statistics64_data_t, member, #member)
static const field vm_fields[] = {
    VM(free_count),
    VM(active_count),
    VM(inactive_count),
    VM(wire_count),
    VM(purgeable_count),
    VM(speculative_count),
    VM(compressor_page_count),
    VM(throttled_count),
    VM(external_page_count),
    VM(internal_page_count),
    VM(pageins),
    VM(pageouts),
    VM(compressions),
    VM(decompressions),
    VM(total_uncompressed_pages_in_compressor),
    {NULL, 0, 0},
};

static const field swap_fields[] = {
    FLD(struct xsw_usage, xsu_total, "total"),
    FLD(struct xsw_usage, xsu_avail, "avail"),
    FLD(struct xsw_usage, xsu_used, "used"),
    FLD(struct xsw_usage, xsu_pagesize, "pagesize"),
    FLD(struct xsw_usage, xsu_encrypted, "encrypted"),
    {NULL, 0, 0},
};

#define CRU(member) FLD(struct coalition_resource_usage, member, #member)
static const field coalition_fields[] = {
    CRU(tasks_started), CRU(tasks_exited),   CRU(time_nonempty), CRU(cpu_time),
    CRU(cpu_ptime),     CRU(bytesread),      CRU(byteswritten),  CRU(gpu_time),
    CRU(energy),        CRU(phys_footprint), {NULL, 0, 0},
};

#define PRI(member) FLD(struct proc_regioninfo, pri_##member, #member)
static const field region_fields[] = {
    PRI(protection),
    PRI(max_protection),
    PRI(flags),
    PRI(offset),
    PRI(user_wired_count),
    PRI(user_tag),
    PRI(pages_resident),
    PRI(pages_shared_now_private),
    PRI(pages_swapped_out),
    PRI(pages_dirtied),
    PRI(ref_count),
    PRI(share_mode),
    PRI(private_pages_resident),
    PRI(shared_pages_resident),
    PRI(obj_id),
    PRI(depth),
    PRI(address),
    PRI(size),
    {NULL, 0, 0},
};

#define VST(member) FLD(struct vinfo_stat, vst_##member, #member)
static const field vnode_fields[] = {
    VST(dev),
    VST(ino),
    {NULL, 0, 0},
};

static int set_field(const field *fields, void *base, const char *key, const char *val)
{
    for (const field *f = fields; f->name; f++) {
        if (strcmp(f->name, key) == 0) {
            int64_t v;
            uint64_t u;
            char *dst = (char *)base + f->off;
            if (parse_i64(val, &v) != 0) {
                if (parse_u64(val, &u) != 0)
                    return -1;
                v = (int64_t)u;
            }
            if (f->size == 8) {
                memcpy(dst, &v, 8);
            } else if (f->size == 4) {
                int32_t w = (int32_t)v;
                memcpy(dst, &w, 4);
            } else {
                return -1;
            }
            return 0;
        }
    }
    return -1;
}

/*
 * "key=value key=value ..." into a struct. "errno=NAME" sets *err instead.
 * "extra" handles keys that are not struct fields (returns 0 if it took one).
 */
static int set_fields(const field *fields, void *base, char *rest, int *err,
                      int (*extra)(const char *key, const char *val))
{
    for (char *tok = strtok(rest, " \t"); tok; tok = strtok(NULL, " \t")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return -1;
        *eq = '\0';
        if (strcmp(tok, "errno") == 0) {
            if (!err || parse_errno(eq + 1, err) != 0)
                return -1;
        } else if (extra && extra(tok, eq + 1) == 0) {
            continue;
        } else if (set_field(fields, base, tok, eq + 1) != 0) {
            return -1;
        }
    }
    return 0;
}

static fake_proc *find_proc(int32_t pid)
{
    for (size_t i = 0; i < F.nprocs; i++) {
        if (F.procs[i].pid == pid)
            return &F.procs[i];
    }
    return NULL;
}

/* The vnode of the region being parsed (ino=, dev=), set by parse_region. */
static struct vinfo_stat *region_vnode;

static int parse_region_extra(const char *key, const char *val)
{
    return set_field(vnode_fields, region_vnode, key, val);
}

/* "region FIELD=N ... [errno=NAME] [path=TEXT to the end of the line]" */
static int parse_region(fake_proc *p, char *rest)
{
    fake_region *r = grow(p->regions, &p->nregions, sizeof *p->regions);
    char *path;
    if (!r)
        return -1;
    p->regions = r;
    r = &p->regions[p->nregions - 1];
    path = strstr(rest, "path=");
    if (path) {
        if (path != rest && path[-1] != ' ' && path[-1] != '\t')
            return -1;
        *path = '\0';
        path += 5;
        if (strlen(path) >= sizeof r->info.prp_vip.vip_path)
            return -1;
        strcpy(r->info.prp_vip.vip_path, path);
    }
    region_vnode = &r->info.prp_vip.vip_vi.vi_stat;
    return set_fields(region_fields, &r->info.prp_prinfo, rest, &r->err, parse_region_extra);
}

static int parse_rusage_extra(const char *key, const char *val)
{
    uint64_t v;
    if (strcmp(key, "maxflavor") != 0 || parse_u64(val, &v) != 0)
        return -1;
    F.rusage_maxflavor = (int)v;
    return 0;
}

static int add_proc(int32_t pid, int ghost, fake_proc **out)
{
    fake_proc *p;
    if (find_proc(pid))
        return -1;
    p = grow(F.procs, &F.nprocs, sizeof *F.procs);
    if (!p)
        return -1;
    F.procs = p;
    p = &F.procs[F.nprocs - 1];
    p->pid = pid;
    p->ghost = ghost;
    p->sbi.pbsi_pid = (uint32_t)pid;
    p->sbi.pbsi_ppid = 1;
    p->sbi.pbsi_status = SRUN;
    p->sbi.pbsi_uid = p->sbi.pbsi_ruid = p->sbi.pbsi_svuid = F.self_uid;
    p->sbi.pbsi_gid = p->sbi.pbsi_rgid = p->sbi.pbsi_svgid = 20;
    p->ti.pti_threadnum = 1;
    p->path_err = ENOENT;
    *out = p;
    return 0;
}

static int parse_line(char *line, fake_proc **cur)
{
    char *kw, *rest;
    fake_proc *p = *cur;
    uint64_t a, b;

    while (*line == ' ' || *line == '\t')
        line++;
    if (*line == '\0' || *line == '#')
        return 0;
    kw = line;
    rest = line + strcspn(line, " \t");
    if (*rest) {
        *rest++ = '\0';
        while (*rest == ' ' || *rest == '\t')
            rest++;
    }

    if (strcmp(kw, "self_uid") == 0)
        return parse_u64(rest, &a) ? -1 : (F.self_uid = (uint32_t)a, 0);
    if (strcmp(kw, "timebase") == 0) {
        if (sscanf(rest, "%" SCNu64 " %" SCNu64, &a, &b) != 2)
            return -1;
        F.tb_numer = (uint32_t)a;
        F.tb_denom = (uint32_t)b;
        return 0;
    }
    if (strcmp(kw, "rusage_maxflavor") == 0)
        return parse_rusage_extra("maxflavor", rest);
    if (strcmp(kw, "listhint") == 0)
        return parse_u64(rest, &a) ? -1 : (F.listhint = (int)a, 0);
    if (strcmp(kw, "sysctl") == 0) {
        char name[64];
        fake_sysctl *s;
        if (sscanf(rest, "%63s %" SCNu64, name, &a) != 2)
            return -1;
        s = grow(F.sysctls, &F.nsysctls, sizeof *s);
        if (!s)
            return -1;
        F.sysctls = s;
        strcpy(F.sysctls[F.nsysctls - 1].name, name);
        F.sysctls[F.nsysctls - 1].value = a;
        return 0;
    }
    if (strcmp(kw, "swapusage") == 0) {
        F.have_swap = 1;
        return set_fields(swap_fields, &F.swap, rest, NULL, NULL);
    }
    if (strcmp(kw, "vmstat") == 0) {
        F.have_vm = 1;
        return set_fields(vm_fields, &F.vm, rest, NULL, NULL);
    }
    if (strcmp(kw, "pagesize") == 0)
        return parse_u64(rest, &F.page_size);
    if (strcmp(kw, "template") == 0) {
        char group[LEDGER_NAME_MAX], name[LEDGER_NAME_MAX], units[LEDGER_NAME_MAX];
        struct ledger_template_info *t;
        if (sscanf(rest, "%31s %31s %31s", group, name, units) != 3)
            return -1;
        t = grow(F.tmpl, &F.ntmpl, sizeof *t);
        if (!t)
            return -1;
        F.tmpl = t;
        t = &F.tmpl[F.ntmpl - 1];
        /* strncpy's NUL padding is what the kernel's names look like. */
        strncpy(t->lti_group, group, sizeof t->lti_group);
        strncpy(t->lti_name, name, sizeof t->lti_name);
        strncpy(t->lti_units, units, sizeof t->lti_units);
        return 0;
    }
    if (strcmp(kw, "coalition_usage") == 0) {
        fake_coalition *c;
        char *sp = rest + strcspn(rest, " \t");
        if (*sp)
            *sp++ = '\0';
        if (parse_u64(rest, &a) != 0)
            return -1;
        c = grow(F.coalitions, &F.ncoalitions, sizeof *c);
        if (!c)
            return -1;
        F.coalitions = c;
        c = &F.coalitions[F.ncoalitions - 1];
        c->id = a;
        return set_fields(coalition_fields, &c->cru, sp, NULL, NULL);
    }
    if (strcmp(kw, "pid") == 0 || strcmp(kw, "ghost") == 0) {
        int64_t pid;
        if (parse_i64(rest, &pid) != 0 || add_proc((int32_t)pid, kw[0] == 'g', cur) != 0)
            return -1;
        return 0;
    }

    /* Everything else describes the current process. */
    if (!p)
        return -1;
    if (strcmp(kw, "short") == 0)
        return set_fields(short_fields, &p->sbi, rest, &p->short_err, NULL);
    if (strcmp(kw, "comm") == 0) {
        strncpy(p->sbi.pbsi_comm, rest, sizeof p->sbi.pbsi_comm - 1);
        return 0;
    }
    if (strcmp(kw, "name") == 0) {
        strncpy(p->name, rest, sizeof p->name - 1);
        return 0;
    }
    if (strcmp(kw, "bsd") == 0)
        return set_fields(bsd_fields, &p->bi, rest, &p->bsd_err, NULL);
    if (strcmp(kw, "task") == 0)
        return set_fields(task_fields, &p->ti, rest, &p->task_err, NULL);
    if (strcmp(kw, "uniq") == 0)
        return set_fields(uniq_fields, &p->uniq, rest, &p->uniq_err, NULL);
    if (strcmp(kw, "rusage") == 0)
        return set_fields(rusage_fields, &p->ru, rest, &p->rusage_err, NULL);
    if (strcmp(kw, "path") == 0) {
        if (strncmp(rest, "errno=", 6) == 0)
            return parse_errno(rest + 6, &p->path_err);
        free(p->path);
        p->path = dupstr(rest);
        p->path_err = 0;
        return p->path ? 0 : -1;
    }
    if (strcmp(kw, "exe") == 0) {
        free(p->exe);
        p->exe = dupstr(rest);
        return p->exe ? 0 : -1;
    }
    if (strcmp(kw, "arg") == 0) {
        if (p->argc == MAX_ARGS || !(p->argv[p->argc] = dupstr(rest)))
            return -1;
        p->argc++;
        return 0;
    }
    if (strcmp(kw, "args") == 0)
        return strncmp(rest, "errno=", 6) == 0 ? parse_errno(rest + 6, &p->args_err) : -1;
    if (strcmp(kw, "coalition") == 0) {
        char role[16] = "";
        int n;
        if (strncmp(rest, "errno=", 6) == 0)
            return parse_errno(rest + 6, &p->coalition_err);
        n = sscanf(rest, "%" SCNu64 " %" SCNu64 " %15s", &a, &b, role);
        if (n < 2 || (n == 3 && strcmp(role, "leader") != 0))
            return -1;
        p->coalition[COALITION_TYPE_RESOURCE] = a;
        p->coalition[COALITION_TYPE_JETSAM] = b;
        p->coalition_leader = n == 3;
        return 0;
    }
    if (strcmp(kw, "region") == 0)
        return parse_region(p, rest);
    if (strcmp(kw, "ledger") == 0) {
        fake_ledger_value *v;
        char name[LEDGER_NAME_MAX];
        int64_t bal, cr, db;
        if (strncmp(rest, "errno=", 6) == 0)
            return parse_errno(rest + 6, &p->ledger_err);
        if (sscanf(rest, "%31s %" SCNd64 " %" SCNd64 " %" SCNd64, name, &bal, &cr, &db) != 4)
            return -1;
        v = grow(p->ledger, &p->nledger, sizeof *v);
        if (!v)
            return -1;
        p->ledger = v;
        v = &p->ledger[p->nledger - 1];
        strcpy(v->name, name);
        v->balance = bal;
        v->credit = cr;
        v->debit = db;
        return 0;
    }
    return -1;
}

/* The BSD info repeats the short info's identity: derive it once parsed. */
static void finish(void)
{
    for (size_t i = 0; i < F.nprocs; i++) {
        fake_proc *p = &F.procs[i];
        p->bi.pbi_flags = p->sbi.pbsi_flags;
        p->bi.pbi_status = p->sbi.pbsi_status;
        p->bi.pbi_pid = p->sbi.pbsi_pid;
        p->bi.pbi_ppid = p->sbi.pbsi_ppid;
        p->bi.pbi_uid = p->sbi.pbsi_uid;
        p->bi.pbi_gid = p->sbi.pbsi_gid;
        p->bi.pbi_ruid = p->sbi.pbsi_ruid;
        p->bi.pbi_rgid = p->sbi.pbsi_rgid;
        p->bi.pbi_svuid = p->sbi.pbsi_svuid;
        p->bi.pbi_svgid = p->sbi.pbsi_svgid;
        p->bi.pbi_pgid = p->sbi.pbsi_pgid;
        memcpy(p->bi.pbi_comm, p->sbi.pbsi_comm, sizeof p->bi.pbi_comm);
        memcpy(p->bi.pbi_name, p->name, sizeof p->bi.pbi_name);
    }
}

static int load_text(char *text, const char *origin)
{
    fake_proc *cur = NULL;
    int lineno = 0;
    char *line = text;

    free_all();
    set_defaults();
    while (line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        if (parse_line(line, &cur) != 0) {
            fprintf(stderr, "%s:%d: bad fixture line\n", origin, lineno);
            F.broken = 1;
            return MW_EPARSE;
        }
        line = nl ? nl + 1 : NULL;
    }
    finish();
    return 0;
}

int mw_darwin_fake_load_string(const char *text)
{
    char *copy = dupstr(text);
    int rc;
    if (!copy)
        return -ENOMEM;
    rc = load_text(copy, "<string>");
    free(copy);
    return rc;
}

int mw_darwin_fake_load(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc;

    if (!f) {
        int e = errno;
        fprintf(stderr, "%s: %s\n", path, strerror(e));
        free_all();
        set_defaults();
        F.broken = 1;
        return -e;
    }
    for (;;) {
        size_t n;
        if (len + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = (cap ? cap * 2 : 8192));
            if (!nb) {
                free(buf);
                fclose(f);
                return -ENOMEM;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n < 4096)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    rc = load_text(buf, path);
    free(buf);
    return rc;
}

/* Load from the environment on first use. 0 when usable. */
static int ready(void)
{
    const char *path;

    if (F.loaded)
        return F.broken ? -1 : 0;
    path = getenv("MEMWATCH_DARWIN_FIXTURE");
    if (!path) {
        fprintf(stderr, "darwin fake: MEMWATCH_DARWIN_FIXTURE is not set\n");
        set_defaults();
        F.broken = 1;
        return -1;
    }
    return mw_darwin_fake_load(path) == 0 ? 0 : -1;
}

/* ---- the rules ------------------------------------------------------------------ */

static int is_zombie(const fake_proc *p)
{
    return p->sbi.pbsi_status == SZOMB;
}

static int same_user_ok(const fake_proc *p)
{
    return F.self_uid == 0 || F.self_uid == p->sbi.pbsi_uid;
}

/* The process a per-pid call may see, or NULL with errno set. */
static fake_proc *live(int32_t pid)
{
    fake_proc *p;
    if (ready() != 0) {
        errno = EIO;
        return NULL;
    }
    p = find_proc(pid);
    if (!p || p->ghost) {
        errno = ESRCH;
        return NULL;
    }
    return p;
}

static int fail(int err)
{
    errno = err;
    return -1;
}

/* ---- libproc --------------------------------------------------------------------- */

int proc_listallpids(void *buffer, int buffersize)
{
    int n, cap;

    if (ready() != 0)
        return fail(EIO);
    n = (int)F.nprocs;
    if (!buffer)
        return F.listhint >= 0 ? F.listhint : n + 20;
    F.stats.listallpids_calls++;
    cap = buffersize / (int)sizeof(int);
    if (n > cap)
        n = cap;
    for (int i = 0; i < n; i++)
        ((int *)buffer)[i] = F.procs[i].pid;
    return n;
}

/* The region holding address, or the first above it (the kernel's
 * vm_map_lookup_entry, then the next entry), or NULL past the last. */
static const fake_region *region_at(const fake_proc *p, uint64_t address)
{
    const fake_region *best = NULL;
    for (size_t i = 0; i < p->nregions; i++) {
        const struct proc_regioninfo *ri = &p->regions[i].info.prp_prinfo;
        if (ri->pri_address + ri->pri_size > address &&
            (!best || ri->pri_address < best->info.prp_prinfo.pri_address))
            best = &p->regions[i];
    }
    return best;
}

int proc_pidinfo(int pid, int flavor, uint64_t arg, void *buffer, int buffersize)
{
    fake_proc *p;
    const void *src = NULL;
    int size, err = 0, gated = 0, bsd_flavor = 0;
    struct proc_bsdinfowithuniqid both;

    if (flavor >= 0 && flavor < 32)
        F.stats.pidinfo_calls[flavor]++;
    switch (flavor) {
    case PROC_PIDTBSDINFO:
        size = (int)sizeof(struct proc_bsdinfo);
        gated = bsd_flavor = 1;
        break;
    case PROC_PIDT_SHORTBSDINFO:
        size = (int)sizeof(struct proc_bsdshortinfo);
        bsd_flavor = 1;
        break;
    case PROC_PIDUNIQIDENTIFIERINFO:
        size = (int)sizeof(struct proc_uniqidentifierinfo);
        bsd_flavor = 1;
        break;
    case PROC_PIDT_BSDINFOWITHUNIQID:
        size = (int)sizeof(struct proc_bsdinfowithuniqid);
        gated = bsd_flavor = 1;
        break;
    case PROC_PIDTASKINFO:
        size = (int)sizeof(struct proc_taskinfo);
        gated = 1;
        break;
    case PROC_PIDCOALITIONINFO:
        size = (int)sizeof(struct proc_pidcoalitioninfo);
        break;
    case PROC_PIDREGIONPATHINFO:
        size = (int)sizeof(struct proc_regionwithpathinfo);
        gated = 1;
        break;
    default:
        errno = EINVAL;
        return 0;
    }
    if (buffersize < size) {
        errno = ENOMEM;
        return 0;
    }
    p = live(pid);
    if (!p)
        return 0;
    if (is_zombie(p) && !(bsd_flavor && arg != 0)) {
        errno = ESRCH;
        return 0;
    }
    if (gated && !same_user_ok(p)) {
        errno = EPERM;
        return 0;
    }
    switch (flavor) {
    case PROC_PIDTBSDINFO:
        err = p->bsd_err;
        src = &p->bi;
        break;
    case PROC_PIDT_SHORTBSDINFO:
        err = p->short_err;
        src = &p->sbi;
        break;
    case PROC_PIDUNIQIDENTIFIERINFO:
        err = p->uniq_err;
        src = &p->uniq;
        break;
    case PROC_PIDT_BSDINFOWITHUNIQID:
        err = p->bsd_err ? p->bsd_err : p->uniq_err;
        both.pbsd = p->bi;
        both.p_uniqidentifier = p->uniq;
        src = &both;
        break;
    case PROC_PIDTASKINFO:
        err = p->task_err;
        src = &p->ti;
        break;
    case PROC_PIDREGIONPATHINFO: {
        const fake_region *r = region_at(p, arg);
        if (!r) {
            errno = EINVAL; /* nothing at or above arg */
            return 0;
        }
        err = r->err;
        src = &r->info;
        break;
    }
    default: {
        struct proc_pidcoalitioninfo ci;
        if (p->coalition_err) {
            errno = p->coalition_err;
            return 0;
        }
        memset(&ci, 0, sizeof ci);
        memcpy(ci.coalition_id, p->coalition, sizeof ci.coalition_id);
        memcpy(buffer, &ci, sizeof ci);
        return size;
    }
    }
    if (err) {
        errno = err;
        return 0;
    }
    memcpy(buffer, src, (size_t)size);
    return size;
}

int proc_pidpath(int pid, void *buffer, uint32_t buffersize)
{
    fake_proc *p;
    size_t n;

    F.stats.pidpath_calls++;
    if (buffersize < PROC_PIDPATHINFO_SIZE) {
        errno = ENOMEM;
        return 0;
    }
    if (buffersize > PROC_PIDPATHINFO_MAXSIZE) {
        errno = EOVERFLOW;
        return 0;
    }
    p = live(pid);
    if (!p)
        return 0;
    if (is_zombie(p)) {
        errno = ESRCH;
        return 0;
    }
    if (p->path_err || !p->path) {
        errno = p->path_err ? p->path_err : ENOENT;
        return 0;
    }
    n = strlen(p->path);
    if (n + 1 > buffersize) {
        errno = ENOMEM;
        return 0;
    }
    memcpy(buffer, p->path, n + 1);
    return (int)n;
}

int proc_pid_rusage(int pid, int flavor, rusage_info_t *buffer)
{
    static const size_t sizes[] = {96, 144, 160, 232, 296, 304, sizeof(struct rusage_info_v6)};
    fake_proc *p;

    if (F.stats.rusage_calls < 64)
        F.stats.rusage_flavors[F.stats.rusage_calls] = flavor;
    F.stats.rusage_calls++;
    if (flavor < 0 || flavor > RUSAGE_INFO_V6 || flavor > F.rusage_maxflavor)
        return fail(EINVAL);
    p = live(pid);
    if (!p)
        return -1;
    if (!same_user_ok(p))
        return fail(EPERM);
    if (p->rusage_err)
        return fail(p->rusage_err);
    memcpy(buffer, &p->ru, sizes[flavor]);
    return 0;
}

/* ---- sysctl ----------------------------------------------------------------------- */

static const fake_sysctl *find_sysctl(const char *name)
{
    for (size_t i = 0; i < F.nsysctls; i++) {
        if (strcmp(F.sysctls[i].name, name) == 0)
            return &F.sysctls[i];
    }
    return NULL;
}

/* The integer sysctls the kernel keeps in an int; the rest are quads. */
static size_t sysctl_width(const char *name)
{
    static const char *const ints[] = {"kern.memorystatus_vm_pressure_level",
                                       "sysctl.proc_translated", "kern.argmax"};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (strcmp(name, ints[i]) == 0)
            return 4;
    }
    return 8;
}

static int copy_out(void *oldp, size_t *oldlenp, const void *src, size_t n)
{
    if (!oldp) {
        *oldlenp = n;
        return 0;
    }
    if (*oldlenp < n)
        return fail(ENOMEM);
    memcpy(oldp, src, n);
    *oldlenp = n;
    return 0;
}

/* kern.coalition_roles: the pid goes in as the new value; every process's
 * roles are readable. A task in no coalition of a type has role -1. */
static int coalition_roles(void *oldp, size_t *oldlenp, const void *newp, size_t newlen)
{
    int roles[COALITION_NUM_TYPES];
    int32_t pid;
    fake_proc *p;

    if (!newp || newlen != sizeof pid)
        return fail(EINVAL);
    memcpy(&pid, newp, sizeof pid);
    p = live(pid);
    if (!p)
        return -1;
    if (is_zombie(p))
        return fail(ESRCH);
    for (int t = 0; t < COALITION_NUM_TYPES; t++)
        roles[t] = p->coalition[t] == 0  ? -1
                   : p->coalition_leader ? MW_COALITION_TASKROLE_LEADER
                                         : 0;
    return copy_out(oldp, oldlenp, roles, sizeof roles);
}

int sysctlbyname(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
{
    const fake_sysctl *s;

    if (ready() != 0)
        return fail(EIO);
    if (strcmp(name, MW_COALITION_ROLES_SYSCTL) == 0)
        return coalition_roles(oldp, oldlenp, newp, newlen);
    if (newp)
        return fail(EPERM);
    if (strcmp(name, "vm.swapusage") == 0) {
        if (!F.have_swap)
            return fail(ENOENT);
        return copy_out(oldp, oldlenp, &F.swap, sizeof F.swap);
    }
    s = find_sysctl(name);
    if (!s)
        return fail(ENOENT);
    if (sysctl_width(name) == 4) {
        int32_t v = (int32_t)s->value;
        return copy_out(oldp, oldlenp, &v, sizeof v);
    }
    return copy_out(oldp, oldlenp, &s->value, sizeof s->value);
}

static int procargs2(int32_t pid, void *oldp, size_t *oldlenp)
{
    fake_proc *p;
    char *buf;
    size_t len, pos;
    const char *exe;
    int rc;

    F.stats.procargs_calls++;
    p = live(pid);
    if (!p || is_zombie(p))
        return fail(EINVAL); /* sysctl_procargsx says EINVAL for these too */
    if (!same_user_ok(p))
        return fail(EINVAL);
    if (p->args_err)
        return fail(p->args_err);
    exe = p->exe ? p->exe : (p->argc ? p->argv[0] : "");
    /* int argc, exec path, NULs up to a word boundary, argv[], then envp[]. */
    len = sizeof(int) + strlen(exe) + 1 + 8;
    for (int i = 0; i < p->argc; i++)
        len += strlen(p->argv[i]) + 1;
    len += sizeof "TERM=xterm-256color";
    buf = calloc(1, len);
    if (!buf)
        return fail(ENOMEM);
    memcpy(buf, &p->argc, sizeof(int));
    pos = sizeof(int);
    memcpy(buf + pos, exe, strlen(exe));
    pos += strlen(exe) + 1;
    pos = (pos + 7) & ~(size_t)7;
    for (int i = 0; i < p->argc; i++) {
        size_t n = strlen(p->argv[i]) + 1;
        memcpy(buf + pos, p->argv[i], n);
        pos += n;
    }
    memcpy(buf + pos, "TERM=xterm-256color", sizeof "TERM=xterm-256color");
    pos += sizeof "TERM=xterm-256color";
    rc = copy_out(oldp, oldlenp, buf, pos);
    free(buf);
    return rc;
}

int sysctl(int *name, unsigned int namelen, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
{
    (void)newlen;
    if (ready() != 0)
        return fail(EIO);
    if (newp || namelen < 2 || name[0] != CTL_KERN)
        return fail(EINVAL);
    if (name[1] == KERN_ARGMAX && namelen == 2) {
        const fake_sysctl *s = find_sysctl("kern.argmax");
        int32_t v = s ? (int32_t)s->value : 1024 * 1024;
        return copy_out(oldp, oldlenp, &v, sizeof v);
    }
    if (name[1] == KERN_PROCARGS2 && namelen == 3)
        return procargs2(name[2], oldp, oldlenp);
    return fail(ENOTSUP);
}

/* ---- Mach ----------------------------------------------------------------------- */

kern_return_t mach_timebase_info(mach_timebase_info_t info)
{
    if (ready() != 0)
        return 5; /* KERN_FAILURE */
    info->numer = F.tb_numer;
    info->denom = F.tb_denom;
    return KERN_SUCCESS;
}

mach_port_t mach_host_self(void)
{
    F.stats.host_self++;
    return 0x103;
}

kern_return_t mach_port_deallocate(ipc_space_t task, mach_port_name_t name)
{
    if (task != mach_task_self_ || name != 0x103)
        return 15; /* KERN_INVALID_NAME */
    F.stats.host_released++;
    return KERN_SUCCESS;
}

kern_return_t host_statistics64(host_t host, host_flavor_t flavor, host_info64_t info,
                                mach_msg_type_number_t *count)
{
    if (ready() != 0 || host != 0x103 || flavor != HOST_VM_INFO64 || !F.have_vm)
        return 5;
    if (*count < HOST_VM_INFO64_COUNT)
        return 5;
    memcpy(info, &F.vm, sizeof F.vm);
    *count = HOST_VM_INFO64_COUNT;
    return KERN_SUCCESS;
}

kern_return_t host_page_size(host_t host, vm_size_t *size)
{
    (void)host;
    if (ready() != 0)
        return 5;
    *size = F.page_size ? F.page_size : 16384;
    return KERN_SUCCESS;
}

/* ---- ledger() and coalitions ------------------------------------------------------------ */

int ledger(int cmd, char *arg1, char *arg2, char *arg3)
{
    int cap;

    if (ready() != 0)
        return fail(EIO);
    if (cmd == LEDGER_TEMPLATE_INFO) {
        F.stats.template_calls++;
        memcpy(&cap, arg2, sizeof cap);
        if (cap < 0)
            return fail(EINVAL);
        if ((size_t)cap > F.ntmpl)
            cap = (int)F.ntmpl;
        memcpy(arg1, F.tmpl, (size_t)cap * sizeof *F.tmpl);
        memcpy(arg2, &cap, sizeof cap);
        return 0;
    }
    if (cmd == LEDGER_INFO || cmd == LEDGER_ENTRY_INFO) {
        fake_proc *p = live((int32_t)(intptr_t)arg1);
        if (!p)
            return -1;
        if (is_zombie(p))
            return fail(ESRCH);
        if (p->ledger_err)
            return fail(p->ledger_err);
        if (cmd == LEDGER_INFO) {
            struct ledger_info li;
            memset(&li, 0, sizeof li);
            strcpy(li.li_name, "Per-task ledger");
            li.li_id = 1000 + p->pid;
            li.li_entries = (int64_t)F.ntmpl;
            memcpy(arg2, &li, sizeof li);
            return 0;
        }
        F.stats.entry_calls++;
        memcpy(&cap, arg3, sizeof cap);
        if (cap < 0)
            return fail(EINVAL);
        if ((size_t)cap > F.ntmpl)
            cap = (int)F.ntmpl;
        /* Entry i is template entry i: find each one's value by name. */
        for (int i = 0; i < cap; i++) {
            struct ledger_entry_info e;
            memset(&e, 0, sizeof e);
            e.lei_limit = (uint64_t)INT64_MAX;
            for (size_t k = 0; k < p->nledger; k++) {
                if (strncmp(p->ledger[k].name, F.tmpl[i].lti_name, LEDGER_NAME_MAX) == 0) {
                    e.lei_balance = p->ledger[k].balance;
                    e.lei_credit = p->ledger[k].credit;
                    e.lei_debit = p->ledger[k].debit;
                }
            }
            memcpy(arg2 + (size_t)i * sizeof e, &e, sizeof e);
        }
        memcpy(arg3, &cap, sizeof cap);
        return 0;
    }
    return fail(EINVAL);
}

/* The coalitions of the fixture's coalition_usage lines, each with the live
 * (not zombie, not vanished) processes in it: every user's, as the kernel
 * counts them. */
int proc_listcoalitions(int flavor, int coaltype, void *buffer, int buffersize)
{
    size_t fit;

    if (ready() != 0)
        return fail(EIO);
    if (flavor != MW_LISTCOALITIONS_SINGLE_TYPE || coaltype != COALITION_TYPE_RESOURCE)
        return fail(EINVAL);
    if (!buffer || buffersize <= 0)
        return (int)(F.ncoalitions * sizeof(struct procinfo_coalinfo));
    fit = (size_t)buffersize / sizeof(struct procinfo_coalinfo);
    if (fit > F.ncoalitions)
        fit = F.ncoalitions;
    for (size_t i = 0; i < fit; i++) {
        struct procinfo_coalinfo ci = {F.coalitions[i].id, COALITION_TYPE_RESOURCE, 0};
        for (size_t k = 0; k < F.nprocs; k++) {
            const fake_proc *p = &F.procs[k];
            if (!p->ghost && !is_zombie(p) &&
                p->coalition[COALITION_TYPE_RESOURCE] == ci.coalition_id)
                ci.coalition_tasks++;
        }
        memcpy((char *)buffer + i * sizeof ci, &ci, sizeof ci);
    }
    return (int)(fit * sizeof(struct procinfo_coalinfo));
}

int coalition_info_resource_usage(uint64_t cid, struct coalition_resource_usage *cru, size_t sz)
{
    if (ready() != 0)
        return fail(EIO);
    for (size_t i = 0; i < F.ncoalitions; i++) {
        if (F.coalitions[i].id == cid) {
            memcpy(cru, &F.coalitions[i].cru, sz < sizeof *cru ? sz : sizeof *cru);
            return 0;
        }
    }
    return fail(ESRCH);
}
