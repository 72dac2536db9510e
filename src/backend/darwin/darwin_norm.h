/*
 * The pure half of the darwin backend: what the kernel handed back (raw rows
 * in Apple's own structs) goes in, memwatch records come out. Nothing here
 * calls the operating system, so tests drive it with hand-made rows.
 */
#ifndef MEMWATCH_DARWIN_NORM_H
#define MEMWATCH_DARWIN_NORM_H

#include <stddef.h>
#include <stdint.h>
#include <mach/mach.h>
#include <sys/proc_info.h>
#include <sys/resource.h>
#include <sys/sysctl.h>

#include "backend/darwin/darwin_private.h"
#include "memwatch/memwatch.h"

/* ---- time ------------------------------------------------------------------ */

/* ns = ticks * numer / denom, reduced to lowest terms. */
typedef struct mw_darwin_timebase {
    uint32_t numer;
    uint32_t denom;
} mw_darwin_timebase;

/*
 * Pick the timebase that converts this machine's counters. Natively that is
 * mach_timebase_info. Under Rosetta that call answers 1/1 while the kernel
 * counters stay in 24 MHz ticks (htop's darwin/Platform.c and psutil's
 * psutil/arch/osx/proc.c work around the same), so a translated
 * process derives it from hw.tbfrequency (tb_hz; 0 when unknown) and, failing
 * that, assumes Apple Silicon's 125/3. MW_EINVAL when nothing usable is given.
 */
int mw_darwin_timebase_choose(uint32_t mach_numer, uint32_t mach_denom, int translated,
                              uint64_t tb_hz, mw_darwin_timebase *out);

/* Mach ticks to ns, saturating at INT64_MAX. */
int64_t mw_darwin_mach_to_ns(const mw_darwin_timebase *tb, uint64_t ticks);

/* ---- one process ------------------------------------------------------------ */

/* A raw call result: not attempted, or 0, or the errno it failed with. */
#define MW_DARWIN_UNREAD (-1)

typedef struct mw_darwin_raw {
    int32_t pid;
    int short_err; /* PROC_PIDT_SHORTBSDINFO */
    struct proc_bsdshortinfo sbi;
    int bsd_err; /* PROC_PIDTBSDINFO */
    struct proc_bsdinfo bi;
    int uniq_err; /* PROC_PIDUNIQIDENTIFIERINFO */
    struct proc_uniqidentifierinfo uniq;
    int task_err; /* PROC_PIDTASKINFO */
    struct proc_taskinfo ti;
    int rusage_err;    /* proc_pid_rusage */
    int rusage_flavor; /* RUSAGE_INFO_Vn the kernel accepted; fields past it are junk */
    struct rusage_info_v6 ru;
    int path_err;  /* proc_pidpath */
    char *path;    /* heap; moved into the record */
    int args_err;  /* sysctl KERN_PROCARGS2 */
    char *cmdline; /* heap; moved into the record */
} mw_darwin_raw;

/* All results MW_DARWIN_UNREAD, all buffers zero. */
void mw_darwin_raw_init(mw_darwin_raw *raw, int32_t pid);
/* Free the strings the raw row still owns. */
void mw_darwin_raw_release(mw_darwin_raw *raw);

/*
 * Fill out (initialised by the caller) from raw for the sources in want.
 * Moves raw->path and raw->cmdline into out. Returns 0, -ESRCH when the
 * process is gone (or was gone for one of the calls and is not a zombie),
 * -EPERM when the system refused even its identity, or -errno when the one
 * call that must work failed some other way.
 */
int mw_darwin_proc_from_raw(mw_darwin_raw *raw, const mw_darwin_timebase *tb, unsigned want,
                            mw_proc *out);

/* One-letter state for a p_stat value, as BSD ps(1) shows it; 0 if unknown. */
char mw_darwin_state_letter(uint32_t p_stat);

/*
 * Is a p_comm (a buffer of cap bytes, MAXCOMLEN in proc_info) as long as
 * the kernel keeps it (cap - 1 bytes), so that it may be the start of a
 * longer name? Only then is proc_name's pbi_name worth a call.
 */
int mw_darwin_comm_at_limit(const char *comm, size_t cap);

/*
 * The KERN_PROCARGS2 buffer (int argc, exec path, NUL padding, argv[], envp[])
 * as argv joined by spaces in *cmdline (heap; NULL when argc is 0). MW_EPARSE
 * when the buffer does not hold what argc promises.
 */
int mw_darwin_procargs2_cmdline(const char *buf, size_t len, char **cmdline);

/* ---- the system -------------------------------------------------------------- */

typedef struct mw_darwin_sys_raw {
    int have_memsize;
    uint64_t memsize; /* hw.memsize */
    int have_vm;
    vm_statistics64_data_t vm; /* host_statistics64 HOST_VM_INFO64 */
    uint64_t page_size;        /* host_page_size: the unit of vm's counts */
    int have_swap;
    struct xsw_usage swap; /* vm.swapusage */
    int have_pressure;
    int pressure; /* kern.memorystatus_vm_pressure_level */
} mw_darwin_sys_raw;

/*
 * available = (free - speculative) + external + purgeable pages: memory that
 * is free or can be had back without compressing or swapping anything, which
 * is what Activity Monitor leaves out of "Memory Used" (app, wired,
 * compressed). speculative pages are counted once: xnu includes them both in
 * free_count and in external_page_count. free follows vm_stat(1)'s "Pages
 * free", which also leaves speculative pages out.
 */
void mw_darwin_system_from_raw(const mw_darwin_sys_raw *raw, mw_system *out);

/* ---- ledgers ------------------------------------------------------------------ */

/*
 * Whether the ledger entry called name counts mach ticks. The template says
 * "ns" for cpu_time and the two cpu_time_billed_* entries, but the scheduler
 * credits them with abstime quanta (sched_prim.c, bank.c).
 */
int mw_darwin_ledger_is_mach(const char *name);

/*
 * Pair template entry i with entry i (the kernel's contract) and append one
 * row per pair to out, in template order, converting mach rows to ns (unit
 * stays "ns"). Only min(ntmpl, nent) rows are made.
 */
int mw_darwin_ledger_build(const struct ledger_template_info *tmpl, size_t ntmpl,
                           const struct ledger_entry_info *ent, size_t nent,
                           const mw_darwin_timebase *tb, mw_ledger *out);

/* One term of the kernel's phys_footprint formula. */
typedef struct mw_darwin_term {
    const char *name; /* ledger entry, group physmem or mappings */
    int sign;         /* +1 or -1 */
} mw_darwin_term;

/*
 * phys_footprint as the comment on it in xnu's osfmk/kern/task.c defines it:
 *   (internal - alternate_accounting)
 * + (internal_compressed - alternate_accounting_compressed)
 * + iokit_mapped + purgeable_nonvolatile + purgeable_nonvolatile_compress
 * + page_table
 */
extern const mw_darwin_term mw_darwin_footprint_formula[];
extern const size_t mw_darwin_footprint_formula_len;

/*
 * The formula evaluated over the rows of l, found by name. -ENOENT when a
 * term is missing. Comparing the result with the "phys_footprint" row shows
 * how much of the footprint the formula explains; memory charged through
 * ledger-tagged objects (the *_footprint entries) is outside the kernel's
 * comment and shows up as the difference.
 */
int mw_darwin_footprint_from_ledger(const mw_ledger *l, int64_t *footprint);

/* ---- coalitions ---------------------------------------------------------------- */

/* "coalition:<id>" for a resource coalition id; -ENOENT for id 0, -ERANGE when
 * buf is too small. */
int mw_darwin_app_key_format(uint64_t coalition_id, char *buf, size_t len);

/* The coalition id in an app key made by mw_darwin_app_key_format; -ENOENT
 * for a key that is not one. */
int mw_darwin_app_key_parse(const char *key, uint64_t *coalition_id);

/* A process leading a resource coalition, as kern.coalition_roles said. */
typedef struct mw_darwin_leader {
    int32_t pid;
    uint64_t coalition_id;
} mw_darwin_leader;

/*
 * The apps (out, set here) from the kernel's list of resource coalitions,
 * the usage of each (cru[i] for list[i]; NULL: it went away meanwhile, and
 * is left out) and the leaders found among the processes. A coalition with
 * no leader among them (its leader has exited) has leader 0.
 */
int mw_darwin_apps_build(const struct procinfo_coalinfo *list, size_t n,
                         const struct coalition_resource_usage *const *cru,
                         const mw_darwin_leader *leaders, size_t nleaders,
                         const mw_darwin_timebase *tb, mw_app_list *out);

/*
 * A coalition's totals as ledger rows (group "coalition"), times in ns. Rows
 * the running kernel may not fill (xnu < 11215, or a changed layout) are
 * still listed; phys_footprint (bsd/sys/coalition.h since xnu-11215) is among
 * them.
 */
int mw_darwin_coalition_ledger(const struct coalition_resource_usage *cru,
                               const mw_darwin_timebase *tb, mw_ledger *out);

#endif
