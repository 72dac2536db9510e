/*
 * Pure parsers for the Linux /proc files memwatch reads: a buffer in, a
 * struct out, no I/O. Each returns 0 or MW_EPARSE and never reads past len
 * (the buffers need not be NUL-terminated).
 */
#ifndef MEMWATCH_LINUX_PARSE_H
#define MEMWATCH_LINUX_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "memwatch/memwatch.h"

/*
 * The numeric lines of /proc/PID/status memwatch uses (written by
 * fs/proc/array.c and task_mem in fs/proc/task_mmu.c; described in proc(5)).
 * Sizes are in bytes.
 */
enum mw_status_field {
    MW_STATUS_PID,       /* Pid */
    MW_STATUS_PPID,      /* PPid */
    MW_STATUS_EUID,      /* Uid, second column: the effective uid */
    MW_STATUS_THREADS,   /* Threads */
    MW_STATUS_VM_SIZE,   /* VmSize */
    MW_STATUS_VM_LCK,    /* VmLck */
    MW_STATUS_VM_HWM,    /* VmHWM */
    MW_STATUS_VM_RSS,    /* VmRSS */
    MW_STATUS_RSS_ANON,  /* RssAnon */
    MW_STATUS_RSS_FILE,  /* RssFile */
    MW_STATUS_RSS_SHMEM, /* RssShmem */
    MW_STATUS_VM_PTE,    /* VmPTE */
    MW_STATUS_VM_SWAP,   /* VmSwap */
    MW_STATUS_COUNT
};

typedef struct mw_status_info {
    char name[MW_COMM_SIZE]; /* Name, with the kernel's escapes undone */
    char state;              /* State's letter; 0 when absent */
    int kthread;             /* "Kthread: 1" */
    uint64_t present;        /* bit (1 << MW_STATUS_x) when v[MW_STATUS_x] was read */
    int64_t v[MW_STATUS_COUNT];
} mw_status_info;

static inline int mw_status_has(const mw_status_info *si, enum mw_status_field f)
{
    return (int)((si->present >> f) & 1u);
}

/*
 * /proc/PID/status: the fields above as the kernel wrote them, nothing
 * derived. A line the file does not show, or one cut short, stays absent.
 * MW_EPARSE when there is no Name line.
 */
int mw_parse_status(const char *buf, size_t len, mw_status_info *out);

typedef struct mw_stat_info {
    int32_t pid;
    char comm[MW_COMM_SIZE];
    char state;
    int32_t ppid;
    uint64_t flags;
    uint64_t minflt, majflt;
    uint64_t utime, stime; /* clock ticks */
    int64_t num_threads;
    uint64_t starttime; /* clock ticks since boot */
    uint64_t vsize;     /* bytes */
    int64_t rss;        /* pages */
} mw_stat_info;

/* PF_KTHREAD in stat's flags field (include/linux/sched.h). */
#define MW_PF_KTHREAD 0x00200000u

/* /proc/PID/stat. comm may hold spaces, ')' and newlines: parsed from the last ')'. */
int mw_parse_stat(const char *buf, size_t len, mw_stat_info *out);

/* The keys of /proc/PID/smaps_rollup memwatch reads (Documentation/filesystems/
 * proc.rst, "smaps_rollup"; fs/proc/task_mmu.c). X(ID, key). */
#define MW_SMAPS_LIST(X)                                                                           \
    X(RSS, "Rss")                                                                                  \
    X(PSS, "Pss")                                                                                  \
    X(PSS_DIRTY, "Pss_Dirty")                                                                      \
    X(PSS_ANON, "Pss_Anon")                                                                        \
    X(PSS_FILE, "Pss_File")                                                                        \
    X(PSS_SHMEM, "Pss_Shmem")                                                                      \
    X(SHARED_CLEAN, "Shared_Clean")                                                                \
    X(SHARED_DIRTY, "Shared_Dirty")                                                                \
    X(PRIVATE_CLEAN, "Private_Clean")                                                              \
    X(PRIVATE_DIRTY, "Private_Dirty")                                                              \
    X(REFERENCED, "Referenced")                                                                    \
    X(ANONYMOUS, "Anonymous")                                                                      \
    X(KSM, "KSM")                                                                                  \
    X(LAZY_FREE, "LazyFree")                                                                       \
    X(ANON_HUGE, "AnonHugePages")                                                                  \
    X(SWAP, "Swap")                                                                                \
    X(SWAP_PSS, "SwapPss")                                                                         \
    X(LOCKED, "Locked")

#define MW_SMAPS_ENUM(id, key) MW_SMAPS_##id,
enum mw_smaps_field { MW_SMAPS_LIST(MW_SMAPS_ENUM) MW_SMAPS_COUNT };
#undef MW_SMAPS_ENUM

typedef struct mw_smaps_info {
    uint64_t present; /* bit (1 << MW_SMAPS_x) when v[MW_SMAPS_x] was read */
    int64_t v[MW_SMAPS_COUNT];
} mw_smaps_info;

static inline int mw_smaps_has(const mw_smaps_info *sm, enum mw_smaps_field f)
{
    return (int)((sm->present >> f) & 1u);
}

/* /proc/PID/smaps_rollup (values in bytes). MW_EPARSE without Rss and Pss. */
int mw_parse_smaps_rollup(const char *buf, size_t len, mw_smaps_info *out);

typedef struct mw_meminfo {
    uint64_t present; /* MW_SYS_* bits for the fields below */
    int64_t total, free, available, swap_total, swap_free;
} mw_meminfo;

/* /proc/meminfo (values in bytes). */
int mw_parse_meminfo(const char *buf, size_t len, mw_meminfo *out);

typedef struct mw_psi {
    int has_some, has_full;
    double some_avg10, some_avg60, some_avg300;
    double full_avg10, full_avg60, full_avg300;
    uint64_t some_total_us, full_total_us;
} mw_psi;

/* /proc/pressure/memory. */
int mw_parse_psi(const char *buf, size_t len, mw_psi *out);

typedef struct mw_io_info {
    int64_t rchar, wchar, syscr, syscw, read_bytes, write_bytes, cancelled_write_bytes;
} mw_io_info;

/* /proc/PID/io. */
int mw_parse_io(const char *buf, size_t len, mw_io_info *out);

/* The "btime" line of /proc/stat: boot time in epoch seconds. */
int mw_parse_btime(const char *buf, size_t len, int64_t *btime);

/*
 * /proc/PID/cgroup: the systemd unit the process runs in, when that unit is
 * an app scope or a service (e.g. "app-firefox-1234.scope", "nginx.service").
 * Session scopes and slices are not apps. MW_EPARSE when there is none.
 */
int mw_parse_cgroup_app(const char *buf, size_t len, char *app, size_t applen);

/* The paths of /proc/PID/cgroup's lines that say where a process runs: the
 * unified (v2) line, systemd's name=systemd line on v1 hosts, and the first
 * other controller line whose path is not "/". NULL (length 0) when absent;
 * the pointers point into buf. */
typedef struct mw_cgroup_paths {
    const char *v2, *systemd, *other;
    size_t v2len, systemdlen, otherlen;
} mw_cgroup_paths;
void mw_parse_cgroup_paths(const char *buf, size_t len, mw_cgroup_paths *out);

/*
 * Walk "Key: value" lines (status, smaps_rollup, meminfo, io, fdinfo). The
 * callback gets the key and the value text with surrounding space removed;
 * neither is NUL-terminated. A nonzero return stops the walk.
 */
typedef int (*mw_kv_cb)(void *ud, const char *key, size_t keylen, const char *val, size_t vallen);
int mw_kv_each(const char *buf, size_t len, mw_kv_cb cb, void *ud);

/*
 * A size as /proc prints it: "1234 kB" -> 1263616; DRM fdinfo's "12 KiB",
 * "3 MiB", or plain bytes. MW_EPARSE when it is not a size.
 */
int mw_parse_kv_size(const char *val, size_t vallen, int64_t *bytes);

/* ---- DRM fdinfo (/proc/PID/fdinfo/N of a /dev/dri descriptor) ----------------- */

#define MW_DRM_REGIONS_MAX 32

typedef struct mw_drm_region {
    char key[64]; /* the key without "drm-": "total-vram", "resident-memory", ... */
    int64_t bytes;
} mw_drm_region;

typedef struct mw_fdinfo_drm {
    int is_drm;                                /* some line starts with "drm-" */
    char pdev[48];                             /* drm-pdev, truncated; "" when absent */
    char client[32];                           /* drm-client-id, truncated; "" when absent */
    mw_drm_region regions[MW_DRM_REGIONS_MAX]; /* drm-total-*, drm-resident-*, drm-memory-* */
    int nregions; /* the first MW_DRM_REGIONS_MAX sizes that parse, in file order */
} mw_fdinfo_drm;

/*
 * The DRM usage stats of one fdinfo file (Documentation/gpu/drm-usage-stats):
 * the device, the client id and every memory region line whose value is a
 * size. MW_EPARSE when the file has no drm- key at all (not a DRM client).
 */
int mw_parse_fdinfo_drm(const char *buf, size_t len, mw_fdinfo_drm *out);

#endif
