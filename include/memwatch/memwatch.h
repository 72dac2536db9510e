/*
 * memwatch: the public C API of the sampler core.
 *
 * Conventions: functions return 0 (MW_OK) or a negative code, either -errno
 * for an operating-system failure or one of the MW_E* codes below. Results go
 * through out-parameters. Nothing here exits, aborts or prints.
 */
#ifndef MEMWATCH_MEMWATCH_H
#define MEMWATCH_MEMWATCH_H

#include <stddef.h>
#include <stdint.h>

#include "memwatch/fields.h"

enum mw_status {
    MW_OK = 0,
    MW_EPARSE = -5001,  /* the OS gave data we could not parse */
    MW_ENOTSUP = -5002, /* the backend cannot provide this */
    MW_EINVAL = -5003   /* bad argument from the caller (not an errno) */
};

/* Text for a status code: strerror() for -errno, our words for MW_E*. */
const char *mw_strerror(int code);

/* ---- process records ---------------------------------------------------- */

/* Room for a full name (Linux: recovered from the executable or the command
 * line when comm is at its 15-byte limit; darwin: proc_name, up to 32 bytes),
 * cut at a UTF-8 character boundary when longer. */
#define MW_NAME_MAX 128
/* Room for the kernel's own short name: 15 bytes on Linux, 16 on darwin. */
#define MW_COMM_SIZE 32
/* A comm at least this long may be the start of a longer name (Linux keeps
 * 15 bytes, darwin's p_comm 16). */
#define MW_COMM_LIMIT 15

enum mw_proc_flag {
    MW_PROC_KTHREAD = 1u << 0, /* a kernel thread: no user memory */
    MW_PROC_ZOMBIE = 1u << 1   /* exited, not yet reaped */
};

typedef struct mw_proc {
    int32_t pid;
    char state;              /* one-letter state as the OS shows it; 0 unknown */
    unsigned flags;          /* enum mw_proc_flag */
    unsigned read;           /* MW_SRC_* bits that were read successfully */
    unsigned denied;         /* MW_SRC_* bits the OS refused (EACCES/EPERM) */
    uint64_t present;        /* bit (1 << MW_F_x) set when v[MW_F_x] holds a value */
    int64_t v[MW_F_COUNT];   /* values, by enum mw_field */
    char name[MW_NAME_MAX];  /* the full name (see MW_NAME_MAX) */
    char comm[MW_COMM_SIZE]; /* the kernel's short name: comm, p_comm */
    char *path;              /* executable path, heap, NULL when unknown */
    char *cmdline;           /* arguments joined by spaces, heap, NULL when unknown */
} mw_proc;

/* Zero a record (a fresh one, or one already released). */
void mw_proc_init(mw_proc *p);
/* Free what the record owns and zero it. */
void mw_proc_release(mw_proc *p);

static inline int mw_proc_has(const mw_proc *p, enum mw_field f)
{
    return (int)((p->present >> f) & 1u);
}
static inline void mw_proc_set(mw_proc *p, enum mw_field f, int64_t value)
{
    p->v[f] = value;
    p->present |= (uint64_t)1 << f;
}
static inline void mw_proc_unset(mw_proc *p, enum mw_field f)
{
    p->present &= ~((uint64_t)1 << f);
}

/* ---- system-wide memory -------------------------------------------------- */

typedef struct mw_system {
    uint64_t present;  /* bit (1 << MW_SYS_x) when the value is known */
    int64_t total;     /* physical memory, bytes */
    int64_t available; /* linux MemAvailable; darwin (free - speculative) + external + purgeable */
    int64_t free;
    int64_t swap_total;
    int64_t swap_free;
    int64_t active, inactive, wired, compressed; /* darwin page counts, bytes */
    double some_avg10, some_avg60; /* PSI: share of time (percent) some task stalled */
    double full_avg10, full_avg60; /* PSI: share of time all tasks stalled */
    int pressure_level;            /* darwin kern.memorystatus_vm_pressure_level 1/2/4 */
} mw_system;

enum mw_sys_bit {
    MW_SYS_TOTAL,
    MW_SYS_AVAILABLE,
    MW_SYS_FREE,
    MW_SYS_SWAP_TOTAL,
    MW_SYS_SWAP_FREE,
    MW_SYS_ACTIVE,
    MW_SYS_INACTIVE,
    MW_SYS_WIRED,
    MW_SYS_COMPRESSED,
    MW_SYS_PSI,      /* some_avg10, some_avg60 */
    MW_SYS_PSI_FULL, /* full_avg10, full_avg60 */
    MW_SYS_PRESSURE_LEVEL
};

/* ---- ledgers: every counter of one process as a table --------------------- */

typedef struct mw_ledger_row {
    char group[32];
    char name[64];
    char unit[16];
    int64_t balance;
    int64_t credit;
    int64_t debit;
    unsigned has_credit : 1; /* 0 when the system keeps no such counter */
    unsigned has_debit : 1;
} mw_ledger_row;

/* A source of rows the system would not let us read (another user's
 * process): its rows are missing, and the ledger says which. */
typedef struct mw_ledger_refusal {
    char group[32];  /* the rows' group: "physmem", "res", "gpu" */
    char source[32]; /* what was refused: "smaps_rollup", "io", "fd" */
} mw_ledger_refusal;

#define MW_LEDGER_REFUSALS_MAX 8

typedef struct mw_ledger {
    mw_ledger_row *rows;
    size_t count;
    size_t capacity;
    mw_ledger_refusal refused[MW_LEDGER_REFUSALS_MAX];
    size_t nrefused;
} mw_ledger;

void mw_ledger_init(mw_ledger *l);
void mw_ledger_release(mw_ledger *l);
/* Append a row; credit/debit pointers may be NULL for "no such counter". */
int mw_ledger_add(mw_ledger *l, const char *group, const char *name, const char *unit,
                  int64_t balance, const int64_t *credit, const int64_t *debit);
/* Note that the rows of group from source were refused (kept once; past
 * MW_LEDGER_REFUSALS_MAX they are not noted). */
void mw_ledger_refuse(mw_ledger *l, const char *group, const char *source);
/* The row called name in group (group may be NULL for any), or NULL. */
const mw_ledger_row *mw_ledger_find(const mw_ledger *l, const char *group, const char *name);

/* ---- regions: a process's mappings (linux smaps, darwin PROC_PIDREGIONPATHINFO) */

/* The per-region sizes, in bytes: X(ID, smaps key, Lua name). */
#define MW_REGION_LIST(X)                                                                          \
    X(SIZE, "Size", "size")                                                                        \
    X(RSS, "Rss", "resident")                                                                      \
    X(PSS, "Pss", "pss")                                                                           \
    X(SHARED_CLEAN, "Shared_Clean", "shared_clean")                                                \
    X(SHARED_DIRTY, "Shared_Dirty", "shared_dirty")                                                \
    X(PRIVATE_CLEAN, "Private_Clean", "private_clean")                                             \
    X(PRIVATE_DIRTY, "Private_Dirty", "private_dirty")                                             \
    X(ANONYMOUS, "Anonymous", "anonymous")                                                         \
    X(LAZY_FREE, "LazyFree", "lazy_free")                                                          \
    X(ANON_HUGE, "AnonHugePages", "anon_huge")                                                     \
    X(SWAP, "Swap", "swap")                                                                        \
    X(LOCKED, "Locked", "locked")

#define MW_REGION_ENUM(id, key, name) MW_REGION_##id,
enum mw_region_field { MW_REGION_LIST(MW_REGION_ENUM) MW_REGION_COUNT };
#undef MW_REGION_ENUM

enum mw_region_flag {
    /* The pages are shared memory (shmem/tmpfs): MAP_SHARED anonymous memory,
     * memfd, SysV segments, /dev/shm files. smaps has no per-region Shmem
     * line, so this is decided from the mapping (see mw_smaps_is_shmem). */
    MW_REGION_SHMEM = 1u << 0,
    MW_REGION_DELETED = 1u << 1, /* the path ended in " (deleted)" (removed from there) */
    /* darwin: user_tag holds the region's VM_MEMORY_* tag (0: untagged). */
    MW_REGION_TAGGED = 1u << 2
};

typedef struct mw_region {
    uint64_t start, end, offset, inode;
    unsigned dev_major, dev_minor;
    char perms[5];    /* "r-xp": read, write, execute, shared (s) or private (p) */
    unsigned flags;   /* enum mw_region_flag */
    uint64_t present; /* bit (1 << MW_REGION_x) when v[MW_REGION_x] was read */
    int64_t v[MW_REGION_COUNT];
    char *path;        /* path or pseudo-path ("[heap]"), heap; NULL for none */
    int32_t stack_tid; /* an unnamed mapping holding this thread's stack pointer; 0 none */
    uint32_t user_tag; /* darwin: who allocated it (VM_MEMORY_*), with MW_REGION_TAGGED */
} mw_region;

typedef struct mw_regions {
    mw_region *rows;
    size_t count, capacity;
    int truncated; /* the listing ended inside a region (dropped): the process exited */
} mw_regions;

void mw_regions_init(mw_regions *r);
void mw_regions_release(mw_regions *r);
/* Room for one more row: a zeroed row past the last (count unchanged: the
 * caller counts it once filled), or NULL when out of memory. */
mw_region *mw_regions_next(mw_regions *r);

/* ---- the sampler context -------------------------------------------------- */

typedef struct mw_ctx mw_ctx;
struct mw_backend_ops;
struct mw_sys;

/*
 * Note: a zero-initialised cfg has max_cached_fds = 0, which keeps no
 * descriptors between scans; ask for the default with a negative value.
 */
typedef struct mw_ctx_cfg {
    const struct mw_backend_ops *backend; /* required: mw_backend_native (backend.h), a fake */
    const char *root;                     /* linux: the /proc directory; NULL = "/proc" */
    const struct mw_sys *sys;             /* syscall table; NULL = the real one */
    int max_cached_fds;                   /* descriptors kept between scans; <0: default */
    const char *kmsg;                     /* linux: the kernel log; NULL = "/dev/kmsg" */
    char *why; /* where a failed open says why (whylen bytes); may be NULL */
    size_t whylen;
} mw_ctx_cfg;

/* MW_EINVAL when cfg or its backend is NULL. */
int mw_ctx_open(const mw_ctx_cfg *cfg, mw_ctx **out);
void mw_ctx_close(mw_ctx *ctx);
/* The backend's platform name: "linux" or "darwin". */
const char *mw_ctx_platform(const mw_ctx *ctx);
/* The backend the context was opened with (backend.h), and its state. */
const struct mw_backend_ops *mw_ctx_backend(const mw_ctx *ctx);
void *mw_ctx_backend_state(const mw_ctx *ctx);
/* Details of the last failure (function, path, pid) or "" when none. */
const char *mw_ctx_errmsg(const mw_ctx *ctx);

/* Which processes a scan visits and what it reads from each. */
typedef struct mw_scan_opts {
    unsigned want;       /* MW_SRC_* bits */
    const int32_t *pids; /* visit only these (NULL: every process) */
    size_t npids;
    int64_t uid; /* only this uid; -1 for any */
    /* Only this name; NULL for any. It matches a process's full name, and a
     * name longer than its comm also matches a process whose comm is the
     * name's first bytes (at least MW_COMM_LIMIT of them) and whose
     * executable or argv[0] has that name (a full name cut or chosen from
     * another candidate). */
    const char *name;
} mw_scan_opts;

/*
 * Called once per process that exists and matches. Return 0 to go on, or a
 * nonzero value to stop the scan; mw_scan then returns that value. The
 * record is released by the scan after the callback returns.
 */
typedef int (*mw_scan_cb)(void *ud, const mw_proc *p);

/*
 * Visit processes. Vanished processes are skipped silently; processes whose
 * data the OS refuses are visited with the refused sources in p->denied
 * (a process refused entirely is visited with just its pid). Running out
 * of memory ends the scan with -ENOMEM.
 */
int mw_scan(mw_ctx *ctx, const mw_scan_opts *opts, mw_scan_cb cb, void *ud);

/*
 * Read one process. -ESRCH when there is no such process, -EACCES/-EPERM
 * when the OS refuses everything about it.
 */
int mw_proc_read(mw_ctx *ctx, int32_t pid, unsigned want, mw_proc *out);

int mw_system_read(mw_ctx *ctx, mw_system *out);
int mw_ledger_read(mw_ctx *ctx, int32_t pid, mw_ledger *out);

/*
 * Every mapping of one process, read on demand (linux: /proc/PID/smaps, which
 * holds the process's mmap_lock while it is read: never in scans; darwin: a
 * proc_pidinfo call per region). -ESRCH when
 * the process is gone; MW_ENOTSUP where the backend cannot list regions.
 * A kernel thread or a zombie has none (count 0).
 */
int mw_regions_read(mw_ctx *ctx, int32_t pid, mw_regions *out);

/*
 * The app a process belongs to (linux: its systemd app/service unit from
 * /proc/PID/cgroup; darwin: its resource coalition). -ENOENT when none.
 */
int mw_app_key(mw_ctx *ctx, int32_t pid, char *buf, size_t len);

/* ---- apps as the kernel keeps them (darwin: resource coalitions) ------------ */

/* One app with the kernel's own totals over all its processes, including
 * those this user may not read and those that have exited. */
typedef struct mw_app {
    char key[64];     /* what mw_app_key answers for its members: "coalition:<id>" */
    int32_t leader;   /* the process leading it; 0 when that has exited */
    uint32_t tasks;   /* processes in it now, by the kernel's count */
    mw_ledger totals; /* rows of group "coalition": phys_footprint, cpu_time, ... */
} mw_app;

typedef struct mw_app_list {
    mw_app *apps;
    size_t count;
} mw_app_list;

void mw_app_list_release(mw_app_list *l);

/* Every app the kernel keeps totals for (out is set here). MW_ENOTSUP where
 * the system keeps none (linux). */
int mw_apps_read(mw_ctx *ctx, mw_app_list *out);

/* The kernel's totals of the app called key (out is initialised here), as
 * in mw_app. MW_ENOTSUP where the system keeps none; -ESRCH when no such app
 * exists (any more). */
int mw_app_totals(mw_ctx *ctx, const char *key, mw_ledger *out);

/* Where a process runs, from its cgroup path (Linux): the innermost systemd
 * unit or scope, the container and its runtime, the Kubernetes pod. */
typedef struct mw_cgroup_ids {
    char unit[128];     /* innermost .service or .scope, "" when none */
    char container[72]; /* container id (hex), "" when none */
    char runtime[16];   /* "docker", "podman", "containerd", "cri-o" or "kubernetes" */
    char pod[48];       /* Kubernetes pod UID with dashes, "" when none */
} mw_cgroup_ids;

/* MW_ENOTSUP when the system has no cgroups (darwin); -ESRCH when gone. */
int mw_cgroup_ids_read(mw_ctx *ctx, int32_t pid, mw_cgroup_ids *out);

/* ---- OOM kills: telling "killed by the kernel" from "exited" --------------- */

/* One process the kernel's OOM killer killed, as its log reports it. */
typedef struct mw_oom_kill {
    uint64_t seq;  /* the log record's sequence number */
    uint64_t usec; /* its time stamp, microseconds since boot */
    int32_t pid;   /* the victim, numbered in the initial pid namespace */
    char comm[16]; /* its comm */
} mw_oom_kill;

/* Called once per kill; return 0 to go on, nonzero to stop (returned; *next
 * is then this kill's record, so a later read resumes with it). */
typedef int (*mw_oom_cb)(void *ud, const mw_oom_kill *kill);

/*
 * The kernel's count of OOM kills since boot (linux: oom_kill in
 * /proc/vmstat). MW_ENOTSUP where the system keeps none (darwin, kernels
 * before 4.13).
 */
int mw_oom_kill_count(mw_ctx *ctx, int64_t *count);

/*
 * The OOM kills the kernel log holds from record cursor on (0: the oldest it
 * keeps), oldest first; *next is the cursor to resume from. Reading the log
 * needs privilege on most systems: -EPERM/-EACCES then. MW_ENOTSUP on darwin.
 */
int mw_oom_kills_since(mw_ctx *ctx, uint64_t cursor, mw_oom_cb cb, void *ud, uint64_t *next);

/* The user name for uid (cached), or NULL when the system has none. */
const char *mw_user_name(mw_ctx *ctx, int64_t uid);
/* The uid for a user name, or -ENOENT. */
int mw_user_uid(mw_ctx *ctx, const char *name, int64_t *uid);

/* ---- units ------------------------------------------------------------- */

/*
 * "1.5G" -> 1610612736. Units are binary multiples: B, K, M, G, T, P, with an
 * optional "B" or "iB" (K, KB and KiB all mean 1024). A bare number is bytes.
 * On failure returns MW_EINVAL; *why (if not NULL) points to a static message.
 */
int mw_parse_bytes(const char *text, int64_t *out, const char **why);
/* "30s" -> 30.0. Units: ms, s, m, h (a bare number is seconds). */
int mw_parse_duration(const char *text, double *seconds, const char **why);
/* 15728640 -> "15.0M", 831488 -> "812K", 512 -> "512B". Returns buf. */
char *mw_format_bytes(int64_t bytes, char *buf, size_t len);
/* The texts the parse functions name in their errors. */
extern const char mw_bytes_units_help[];
extern const char mw_duration_units_help[];

/* Monotonic clock, seconds. */
double mw_now(void);

#endif
