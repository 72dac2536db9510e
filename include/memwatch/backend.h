/*
 * The platform backend interface. A backend is a table of functions over an
 * opaque state; the core owns one per context. It is public so tests and
 * tools can supply their own.
 */
#ifndef MEMWATCH_BACKEND_H
#define MEMWATCH_BACKEND_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "memwatch/memwatch.h"

typedef struct mw_pid_list {
    int32_t *pids;
    size_t count;
    size_t capacity;
} mw_pid_list;

void mw_pid_list_release(mw_pid_list *l);
int mw_pid_list_push(mw_pid_list *l, int32_t pid);

typedef struct mw_backend_cfg {
    const char *root;         /* linux: /proc directory */
    const struct mw_sys *sys; /* never NULL: the core fills in the default */
    int max_cached_fds;       /* descriptors a backend may keep between scans */
    const char *kmsg;         /* linux: the kernel log device (never NULL) */
    char *why;                /* where open says why it failed (whylen bytes); may be NULL */
    size_t whylen;
} mw_backend_cfg;

typedef struct mw_backend_ops {
    const char *name;     /* "linux", "darwin", ... */
    const char *platform; /* what memwatch.platform shows */
    /* Create the state. On failure nothing is left allocated. */
    int (*open)(const mw_backend_cfg *cfg, void **state);
    /* Free the state and every descriptor it keeps. */
    void (*close)(void *state);
    /* Every process id now; the caller owns out and releases it. */
    int (*list_pids)(void *state, mw_pid_list *out);
    /*
     * Read the sources in want for pid into out (already initialised by the
     * caller). -ESRCH/-ENOENT: the process is gone. Refused sources are set
     * in out->denied and are not an error unless nothing at all could be read.
     */
    int (*read_proc)(void *state, int32_t pid, unsigned want, mw_proc *out);
    int (*read_system)(void *state, mw_system *out);
    /* Every counter of one process; the caller initialised out. */
    int (*read_ledger)(void *state, int32_t pid, mw_ledger *out);
    /* The process's app key (see mw_app_key), or -ENOENT. */
    int (*app_key)(void *state, int32_t pid, char *buf, size_t len);
    /* The kernel's own app totals (see mw_apps_read, mw_app_totals); NULL
     * where the system keeps none. */
    int (*apps)(void *state, mw_app_list *out);
    int (*app_totals)(void *state, const char *key, mw_ledger *out);
    /* Where the process runs (see mw_cgroup_ids_read); may be NULL. */
    int (*cgroup_ids)(void *state, int32_t pid, mw_cgroup_ids *out);
    /* A scan begins / ends: lets a backend drop cached state of processes the
     * scan did not see. Both may be NULL. scan_begin is told the scan's
     * filters (opts), which a backend may use to read less: the core still
     * applies them to every record. */
    void (*scan_begin)(void *state, const mw_scan_opts *opts);
    void (*scan_end)(void *state);
    /* Any scan is over, full or not (after scan_end): data taken for it
     * alone may go. May be NULL. */
    void (*scan_over)(void *state);
    /* OOM-kill evidence (see mw_oom_kill_count, mw_oom_kills_since); NULL
     * where the system keeps none. */
    int (*oom_kill_count)(void *state, int64_t *count);
    int (*oom_kills)(void *state, uint64_t cursor, mw_oom_cb cb, void *ud, uint64_t *next);
    /* Every mapping of one process (see mw_regions_read); the caller
     * initialised out. NULL where the system cannot list them. */
    int (*read_regions)(void *state, int32_t pid, mw_regions *out);
    /* How this backend reads, in a sentence (memwatch.sampler()); may be NULL. */
    const char *(*detail)(void *state);
} mw_backend_ops;

/*
 * Whether a status code (-errno) is the system refusing access, not the
 * process being gone or another failure: -EACCES (Linux: file modes, hidepid,
 * ptrace access checks) or -EPERM (macOS: another user's task). Backends and
 * the core mark a refused source in mw_proc.denied and go on reading.
 */
static inline int mw_refused(int rc)
{
    return rc == -EACCES || rc == -EPERM;
}

/* The backend this build uses natively (linux or darwin). */
extern const mw_backend_ops mw_backend_native;

/* Linux builds with the BPF sampler (-DMEMWATCH_BPF): scans from a BPF task
 * iterator, the rest from /proc (src/backend/linux/bpf). Its open fails,
 * saying why, where the program cannot load. Builds without it do not
 * define it. */
#ifdef __linux__
extern const mw_backend_ops mw_backend_bpf __attribute__((weak));
#endif

#endif
