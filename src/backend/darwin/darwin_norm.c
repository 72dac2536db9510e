/* Raw darwin rows to memwatch records: the part of the backend with no system calls. */
#include "backend/darwin/darwin_norm.h"
#include "memwatch/alloc.h"
#include "memwatch/backend.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/proc.h>

/* The flavor fallback relies on each flavor extending the one before it. */
_Static_assert(sizeof(struct rusage_info_v2) == 160, "rusage_info_v2 size");
_Static_assert(sizeof(struct rusage_info_v4) == 296, "rusage_info_v4 size");
_Static_assert(sizeof(struct rusage_info_v6) == 464, "rusage_info_v6 size");
_Static_assert(offsetof(struct rusage_info_v6, ri_diskio_byteswritten) + 8 <=
                   sizeof(struct rusage_info_v2),
               "disk bytes are in the V2 prefix");
_Static_assert(offsetof(struct rusage_info_v6, ri_interval_max_phys_footprint) + 8 <=
                   sizeof(struct rusage_info_v4),
               "footprint peaks are in the V4 prefix");
_Static_assert(sizeof(struct proc_bsdinfo) == 136, "proc_bsdinfo size");
_Static_assert(sizeof(struct proc_bsdshortinfo) == 64, "proc_bsdshortinfo size");
_Static_assert(sizeof(struct proc_taskinfo) == 96, "proc_taskinfo size");

/* ---- time --------------------------------------------------------------------- */

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int set_ratio(uint64_t numer, uint64_t denom, mw_darwin_timebase *out)
{
    uint64_t g;

    if (numer == 0 || denom == 0)
        return MW_EINVAL;
    g = gcd64(numer, denom);
    numer /= g;
    denom /= g;
    if (numer > UINT32_MAX || denom > UINT32_MAX)
        return MW_EINVAL;
    out->numer = (uint32_t)numer;
    out->denom = (uint32_t)denom;
    return 0;
}

int mw_darwin_timebase_choose(uint32_t mach_numer, uint32_t mach_denom, int translated,
                              uint64_t tb_hz, mw_darwin_timebase *out)
{
    if (translated) {
        if (tb_hz && set_ratio(UINT64_C(1000000000), tb_hz, out) == 0)
            return 0;
        /* Rosetta only exists on Apple Silicon, whose timebase is 24 MHz. */
        out->numer = 125;
        out->denom = 3;
        return 0;
    }
    if (set_ratio(mach_numer, mach_denom, out) == 0)
        return 0;
    if (tb_hz)
        return set_ratio(UINT64_C(1000000000), tb_hz, out);
    return MW_EINVAL;
}

int64_t mw_darwin_mach_to_ns(const mw_darwin_timebase *tb, uint64_t ticks)
{
    /* Split so ticks * numer cannot overflow: q*numer + r*numer/denom. */
    uint64_t q = ticks / tb->denom, r = ticks % tb->denom;
    uint64_t hi, lo;

    if (q > (uint64_t)INT64_MAX / tb->numer)
        return INT64_MAX;
    hi = q * tb->numer;
    lo = r * tb->numer / tb->denom; /* r < denom <= UINT32_MAX: fits */
    if (hi > (uint64_t)INT64_MAX - lo)
        return INT64_MAX;
    return (int64_t)(hi + lo);
}

/* ---- one process ----------------------------------------------------------------- */

void mw_darwin_raw_init(mw_darwin_raw *raw, int32_t pid)
{
    memset(raw, 0, sizeof *raw);
    raw->pid = pid;
    raw->short_err = raw->bsd_err = raw->uniq_err = raw->task_err = MW_DARWIN_UNREAD;
    raw->rusage_err = raw->path_err = raw->args_err = MW_DARWIN_UNREAD;
}

void mw_darwin_raw_release(mw_darwin_raw *raw)
{
    free(raw->path);
    free(raw->cmdline);
    raw->path = raw->cmdline = NULL;
}

char mw_darwin_state_letter(uint32_t p_stat)
{
    /* xnu keeps p_stat at SRUN for every live process (sleep is per thread),
     * so live processes read 'R'; SIDL is 'R' in BSD ps(1) too. */
    switch (p_stat) {
    case SIDL:
    case SRUN:
        return 'R';
    case SSLEEP:
        return 'S';
    case SSTOP:
        return 'T';
    case SZOMB:
        return 'Z';
    default:
        return 0;
    }
}

static void copy_name(char *dst, size_t cap, const char *src, size_t srcmax)
{
    size_t n = strnlen(src, srcmax);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int mw_darwin_comm_at_limit(const char *comm, size_t cap)
{
    return cap > 1 && strnlen(comm, cap) >= cap - 1;
}

static void set_u64(mw_proc *p, enum mw_field f, uint64_t v)
{
    mw_proc_set(p, f, v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v);
}

int mw_darwin_proc_from_raw(mw_darwin_raw *raw, const mw_darwin_timebase *tb, unsigned want,
                            mw_proc *out)
{
    const struct rusage_info_v6 *ru = &raw->ru;
    int have_identity = 0, zombie = 0, ru_ok = raw->rusage_err == 0;
    uint32_t p_stat = 0;

    if (raw->short_err == ESRCH)
        return -ESRCH;
    if (raw->short_err == 0) {
        p_stat = raw->sbi.pbsi_status;
        have_identity = 1;
    } else if (raw->bsd_err == 0) {
        p_stat = raw->bi.pbi_status;
        have_identity = 1;
    } else if (raw->short_err > 0 && !mw_refused(-raw->short_err)) {
        return -raw->short_err;
    }
    zombie = p_stat == SZOMB || (ru_ok && ru->ri_proc_exit_abstime != 0);

    /* Any other call meeting ESRCH means the pid went away between calls,
     * unless it is a zombie, which the non-BSD flavors cannot see. */
    if (!zombie && (raw->bsd_err == ESRCH || raw->uniq_err == ESRCH || raw->task_err == ESRCH ||
                    raw->rusage_err == ESRCH))
        return -ESRCH;

    out->pid = raw->pid;
    mw_proc_set(out, MW_F_PID, raw->pid);
    if (raw->short_err == 0) {
        /* p_comm, not pbi_name: it is the only name readable for every uid,
         * so a process keeps one name whatever the caller asked to read. */
        copy_name(out->name, sizeof out->name, raw->sbi.pbsi_comm, sizeof raw->sbi.pbsi_comm);
        mw_proc_set(out, MW_F_PPID, raw->sbi.pbsi_ppid);
        mw_proc_set(out, MW_F_UID, raw->sbi.pbsi_uid);
    } else if (raw->bsd_err == 0) {
        copy_name(out->name, sizeof out->name, raw->bi.pbi_comm, sizeof raw->bi.pbi_comm);
        mw_proc_set(out, MW_F_PPID, raw->bi.pbi_ppid);
        mw_proc_set(out, MW_F_UID, raw->bi.pbi_uid);
    }
    copy_name(out->comm, sizeof out->comm, out->name, sizeof out->name);
    /* The name proc_name gives (pbi_name, up to 32 bytes) when p_comm is
     * cut and it starts with it; read only for the caller's own processes. */
    if (raw->bsd_err == 0 && mw_darwin_comm_at_limit(out->comm, sizeof raw->sbi.pbsi_comm)) {
        size_t clen = strlen(out->comm);
        if (strnlen(raw->bi.pbi_name, sizeof raw->bi.pbi_name) > clen &&
            strncmp(raw->bi.pbi_name, out->comm, clen) == 0)
            copy_name(out->name, sizeof out->name, raw->bi.pbi_name, sizeof raw->bi.pbi_name);
    }
    if (have_identity)
        out->state = mw_darwin_state_letter(p_stat);
    if (zombie) {
        out->flags |= MW_PROC_ZOMBIE;
        out->state = 'Z';
    }

    if (want & MW_SRC_STAT) {
        if (raw->bsd_err == 0) {
            /* A start time past the year 2262 (int64 ns) is not one. */
            uint64_t sec = raw->bi.pbi_start_tvsec, usec = raw->bi.pbi_start_tvusec;
            if (sec < (uint64_t)INT64_MAX / 1000000000 && usec < 1000000)
                mw_proc_set(out, MW_F_START_TIME, (int64_t)(sec * 1000000000 + usec * 1000));
            out->read |= MW_SRC_STAT;
        } else if (mw_refused(-raw->bsd_err) || mw_refused(-raw->short_err)) {
            out->denied |= MW_SRC_STAT;
        }
        if (raw->uniq_err == 0)
            set_u64(out, MW_F_UNIQUE_ID, raw->uniq.p_uniqueid);
        if (ru_ok) {
            int64_t u = mw_darwin_mach_to_ns(tb, ru->ri_user_time);
            int64_t s = mw_darwin_mach_to_ns(tb, ru->ri_system_time);
            mw_proc_set(out, MW_F_CPU_TIME, u > INT64_MAX - s ? INT64_MAX : u + s);
        } else if (mw_refused(-raw->rusage_err)) {
            out->denied |= MW_SRC_STAT;
        }
    }

    if (want & MW_SRC_STATUS) {
        if (ru_ok) {
            /* A zombie's rusage is the copy cached at exit: its cumulative
             * counters stand, but it holds no memory now (as on Linux). */
            if (!zombie) {
                set_u64(out, MW_F_FOOTPRINT, ru->ri_phys_footprint);
                set_u64(out, MW_F_RESIDENT, ru->ri_resident_size);
                set_u64(out, MW_F_WIRED, ru->ri_wired_size);
            }
            if (raw->rusage_flavor >= RUSAGE_INFO_V4) {
                set_u64(out, MW_F_FOOTPRINT_PEAK, ru->ri_lifetime_max_phys_footprint);
                if (!zombie)
                    set_u64(out, MW_F_FOOTPRINT_INTERVAL_PEAK, ru->ri_interval_max_phys_footprint);
            }
            out->read |= MW_SRC_STATUS;
        } else if (mw_refused(-raw->rusage_err) || mw_refused(-raw->short_err)) {
            out->denied |= MW_SRC_STATUS;
        }
        if (raw->task_err == 0 && !zombie) {
            mw_proc_set(out, MW_F_THREADS, raw->ti.pti_threadnum);
            set_u64(out, MW_F_VIRTUAL, raw->ti.pti_virtual_size);
        }
    }

    if (want & MW_SRC_IO) {
        if (ru_ok) {
            set_u64(out, MW_F_DISK_READ, ru->ri_diskio_bytesread);
            set_u64(out, MW_F_DISK_WRITTEN, ru->ri_diskio_byteswritten);
            out->read |= MW_SRC_IO;
        } else if (mw_refused(-raw->rusage_err) || mw_refused(-raw->short_err)) {
            out->denied |= MW_SRC_IO;
        }
    }

    if (want & MW_SRC_PATH) {
        if (raw->path_err == 0 && raw->path) {
            out->path = raw->path;
            raw->path = NULL;
            out->read |= MW_SRC_PATH;
        } else if (mw_refused(-raw->path_err)) {
            out->denied |= MW_SRC_PATH;
        }
    }

    if (want & MW_SRC_CMDLINE) {
        if (raw->args_err == 0) {
            out->cmdline = raw->cmdline;
            raw->cmdline = NULL;
            out->read |= MW_SRC_CMDLINE;
        } else if (mw_refused(-raw->args_err) || (raw->args_err == EINVAL && !zombie && raw->pid)) {
            /* sysctl_procargsx answers EINVAL, not EPERM, for another
             * user's process; zombies and kernel_task just have none. */
            out->denied |= MW_SRC_CMDLINE;
        }
    }

    if (!have_identity && !out->read)
        return -EPERM;
    return 0;
}

int mw_darwin_procargs2_cmdline(const char *buf, size_t len, char **cmdline)
{
    int argc;
    size_t pos, start, total;
    char *s;

    *cmdline = NULL;
    if (len < sizeof argc)
        return MW_EPARSE;
    memcpy(&argc, buf, sizeof argc);
    if (argc < 0)
        return MW_EPARSE;
    if (argc == 0)
        return 0;
    /* Skip the exec path, then the NULs that pad it to a word boundary. */
    pos = sizeof argc;
    while (pos < len && buf[pos] != '\0')
        pos++;
    while (pos < len && buf[pos] == '\0')
        pos++;
    start = pos;
    for (int i = 0; i < argc; i++) {
        const char *nul = pos < len ? memchr(buf + pos, '\0', len - pos) : NULL;
        if (!nul)
            return MW_EPARSE;
        pos = (size_t)(nul - buf) + 1;
    }
    total = pos - start; /* argc strings, each with its NUL */
    s = malloc(total);
    if (!s)
        return -ENOMEM;
    memcpy(s, buf + start, total);
    for (size_t i = 0; i + 1 < total; i++) {
        if (s[i] == '\0')
            s[i] = ' ';
    }
    *cmdline = s;
    return 0;
}

/* ---- the system --------------------------------------------------------------------- */

static void sys_set(mw_system *out, enum mw_sys_bit bit, int64_t *slot, uint64_t v)
{
    *slot = v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
    out->present |= (uint64_t)1 << bit;
}

void mw_darwin_system_from_raw(const mw_darwin_sys_raw *raw, mw_system *out)
{
    if (raw->have_memsize)
        sys_set(out, MW_SYS_TOTAL, &out->total, raw->memsize);
    if (raw->have_vm && raw->page_size) {
        const vm_statistics64_data_t *vm = &raw->vm;
        uint64_t pg = raw->page_size;
        uint64_t free_pages = vm->free_count >= vm->speculative_count
                                  ? (uint64_t)vm->free_count - vm->speculative_count
                                  : 0;
        uint64_t avail = free_pages + vm->external_page_count + vm->purgeable_count;

        sys_set(out, MW_SYS_FREE, &out->free, free_pages * pg);
        sys_set(out, MW_SYS_AVAILABLE, &out->available, avail * pg);
        sys_set(out, MW_SYS_ACTIVE, &out->active, (uint64_t)vm->active_count * pg);
        sys_set(out, MW_SYS_INACTIVE, &out->inactive, (uint64_t)vm->inactive_count * pg);
        sys_set(out, MW_SYS_WIRED, &out->wired, (uint64_t)vm->wire_count * pg);
        /* The RAM the compressor occupies, as Activity Monitor's "Compressed". */
        sys_set(out, MW_SYS_COMPRESSED, &out->compressed, (uint64_t)vm->compressor_page_count * pg);
    }
    if (raw->have_swap) {
        sys_set(out, MW_SYS_SWAP_TOTAL, &out->swap_total, raw->swap.xsu_total);
        sys_set(out, MW_SYS_SWAP_FREE, &out->swap_free, raw->swap.xsu_avail);
    }
    if (raw->have_pressure) {
        out->pressure_level = raw->pressure;
        out->present |= (uint64_t)1 << MW_SYS_PRESSURE_LEVEL;
    }
}

/* ---- ledgers ------------------------------------------------------------------------ */

int mw_darwin_ledger_is_mach(const char *name)
{
    return strcmp(name, "cpu_time") == 0 || strcmp(name, "cpu_time_billed_to_me") == 0 ||
           strcmp(name, "cpu_time_billed_to_others") == 0;
}

static int64_t signed_mach_to_ns(const mw_darwin_timebase *tb, int64_t v)
{
    if (v >= 0)
        return mw_darwin_mach_to_ns(tb, (uint64_t)v);
    return -mw_darwin_mach_to_ns(tb, v == INT64_MIN ? (uint64_t)INT64_MAX : (uint64_t)-v);
}

int mw_darwin_ledger_build(const struct ledger_template_info *tmpl, size_t ntmpl,
                           const struct ledger_entry_info *ent, size_t nent,
                           const mw_darwin_timebase *tb, mw_ledger *out)
{
    size_t n = ntmpl < nent ? ntmpl : nent;

    for (size_t i = 0; i < n; i++) {
        char name[LEDGER_NAME_MAX + 1], group[LEDGER_NAME_MAX + 1], unit[LEDGER_NAME_MAX + 1];
        int64_t balance = ent[i].lei_balance, credit = ent[i].lei_credit, debit = ent[i].lei_debit;
        int rc;

        copy_name(name, sizeof name, tmpl[i].lti_name, LEDGER_NAME_MAX);
        copy_name(group, sizeof group, tmpl[i].lti_group, LEDGER_NAME_MAX);
        copy_name(unit, sizeof unit, tmpl[i].lti_units, LEDGER_NAME_MAX);
        if (mw_darwin_ledger_is_mach(name)) {
            balance = signed_mach_to_ns(tb, balance);
            credit = signed_mach_to_ns(tb, credit);
            debit = signed_mach_to_ns(tb, debit);
        }
        rc = mw_ledger_add(out, group, name, unit, balance, &credit, &debit);
        if (rc)
            return rc;
    }
    return 0;
}

const mw_darwin_term mw_darwin_footprint_formula[] = {
    {"internal", +1},
    {"alternate_accounting", -1},
    {"internal_compressed", +1},
    {"alternate_accounting_compressed", -1},
    {"iokit_mapped", +1},
    {"purgeable_nonvolatile", +1},
    {"purgeable_nonvolatile_compress", +1},
    {"page_table", +1},
};
const size_t mw_darwin_footprint_formula_len =
    sizeof mw_darwin_footprint_formula / sizeof mw_darwin_footprint_formula[0];

int mw_darwin_footprint_from_ledger(const mw_ledger *l, int64_t *footprint)
{
    int64_t sum = 0;

    for (size_t i = 0; i < mw_darwin_footprint_formula_len; i++) {
        const mw_ledger_row *row = mw_ledger_find(l, NULL, mw_darwin_footprint_formula[i].name);
        if (!row)
            return -ENOENT;
        sum += mw_darwin_footprint_formula[i].sign * row->balance;
    }
    *footprint = sum;
    return 0;
}

/* ---- coalitions ---------------------------------------------------------------------- */

int mw_darwin_app_key_format(uint64_t coalition_id, char *buf, size_t len)
{
    int n;

    if (coalition_id == 0)
        return -ENOENT;
    n = snprintf(buf, len, "coalition:%" PRIu64, coalition_id);
    if (n < 0 || (size_t)n >= len)
        return -ERANGE;
    return 0;
}

int mw_darwin_app_key_parse(const char *key, uint64_t *coalition_id)
{
    static const char prefix[] = "coalition:";
    const char *p = key;
    uint64_t id = 0;

    if (strncmp(p, prefix, sizeof prefix - 1) != 0)
        return -ENOENT;
    p += sizeof prefix - 1;
    if (*p < '1' || *p > '9')
        return -ENOENT;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (id > (UINT64_MAX - d) / 10)
            return -ENOENT;
        id = id * 10 + d;
    }
    if (*p)
        return -ENOENT;
    *coalition_id = id;
    return 0;
}

int mw_darwin_apps_build(const struct procinfo_coalinfo *list, size_t n,
                         const struct coalition_resource_usage *const *cru,
                         const mw_darwin_leader *leaders, size_t nleaders,
                         const mw_darwin_timebase *tb, mw_app_list *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    out->apps = mw_calloc(n, sizeof *out->apps);
    if (!out->apps)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        mw_app *a = &out->apps[out->count];
        int rc;

        if (!cru[i] || list[i].coalition_type != COALITION_TYPE_RESOURCE)
            continue;
        rc = mw_darwin_app_key_format(list[i].coalition_id, a->key, sizeof a->key);
        if (rc == -ENOENT)
            continue;
        if (rc)
            return rc;
        a->tasks = list[i].coalition_tasks;
        for (size_t j = 0; j < nleaders; j++) {
            if (leaders[j].coalition_id == list[i].coalition_id) {
                a->leader = leaders[j].pid;
                break;
            }
        }
        mw_ledger_init(&a->totals);
        out->count++;
        rc = mw_darwin_coalition_ledger(cru[i], tb, &a->totals);
        if (rc)
            return rc;
    }
    return 0;
}

int mw_darwin_coalition_ledger(const struct coalition_resource_usage *cru,
                               const mw_darwin_timebase *tb, mw_ledger *out)
{
    struct row {
        const char *name, *unit;
        uint64_t value;
        int mach;
    } rows[] = {
        {"tasks_started", "count", cru->tasks_started, 0},
        {"tasks_exited", "count", cru->tasks_exited, 0},
        {"time_nonempty", "ns", cru->time_nonempty, 0},
        {"cpu_time", "ns", cru->cpu_time, 1},
        {"cpu_ptime", "ns", cru->cpu_ptime, 1},
        {"cpu_time_billed_to_me", "ns", cru->cpu_time_billed_to_me, 1},
        {"cpu_time_billed_to_others", "ns", cru->cpu_time_billed_to_others, 1},
        {"gpu_time", "ns", cru->gpu_time, 0},
        {"interrupt_wakeups", "count", cru->interrupt_wakeups, 0},
        {"platform_idle_wakeups", "count", cru->platform_idle_wakeups, 0},
        {"bytesread", "bytes", cru->bytesread, 0},
        {"byteswritten", "bytes", cru->byteswritten, 0},
        {"logical_immediate_writes", "bytes", cru->logical_immediate_writes, 0},
        {"logical_deferred_writes", "bytes", cru->logical_deferred_writes, 0},
        {"energy", "nj", cru->energy, 0},
        {"energy_billed_to_me", "nj", cru->energy_billed_to_me, 0},
        {"energy_billed_to_others", "nj", cru->energy_billed_to_others, 0},
        {"phys_footprint", "bytes", cru->phys_footprint, 0},
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int64_t v = rows[i].mach                          ? mw_darwin_mach_to_ns(tb, rows[i].value)
                    : rows[i].value > (uint64_t)INT64_MAX ? INT64_MAX
                                                          : (int64_t)rows[i].value;
        int rc = mw_ledger_add(out, "coalition", rows[i].name, rows[i].unit, v, NULL, NULL);
        if (rc)
            return rc;
    }
    return 0;
}
