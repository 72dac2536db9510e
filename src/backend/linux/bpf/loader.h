/*
 * The BPF program's life: checked, loaded and attached once (with a
 * sentence saying why when it cannot be), then run once a pass. Of the two
 * programs (task_walk.bpf.c, task_iter.bpf.c) the walker is loaded where the
 * kernel has what it needs (Linux 6.7 on), else the task iterator; the
 * environment variable MEMWATCH_BPF_PROGRAM=walker|iterator asks for one.
 * libbpf does the loading, from the skeletons bpftool generates at build time.
 */
#ifndef MEMWATCH_BPF_LOADER_H
#define MEMWATCH_BPF_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "memwatch/sys.h"

#include "backend/linux/bpf/record.h"

typedef struct mw_bpf_loader mw_bpf_loader;

/*
 * Load and attach the iterator. Refused before trying (with why) when the
 * process lacks the privilege (root, or CAP_BPF with CAP_PERFMON), the
 * kernel has no BTF (/sys/kernel/btf/vmlinux) or is older than 5.8; then
 * the kernel's verdict (the verifier's last words). Returns 0, -EPERM,
 * -ENOENT, -ENOSYS, the load's -errno, or -ENOMEM; on failure nothing is left
 * open and why (whylen bytes) says why.
 */
int mw_bpf_load(const mw_sys *sys, mw_bpf_loader **out, char *why, size_t whylen);

/* The same, the walker's array first made with room for capacity records
 * (0: as mw_bpf_load makes it, from the number of tasks there are). */
int mw_bpf_load_sized(const mw_sys *sys, uint32_t capacity, mw_bpf_loader **out, char *why,
                      size_t whylen);

/*
 * What a pass may leave out: tasks whose group leader's comm is not comm
 * (MW_BPF_WANT_COMM; NUL-padded) or whose effective uid is not uid
 * (MW_BPF_WANT_UID). Flags 0 keeps every task.
 */
typedef struct mw_bpf_filter {
    unsigned flags;
    uint32_t uid;
    char comm[MW_BPF_COMM];
} mw_bpf_filter;

/*
 * One pass (filter may be NULL): *recs points at *len bytes of records
 * (struct mw_bpf_rec), the loader's own, good until the next pass or the
 * unload. -errno on failure.
 */
int mw_bpf_pass(mw_bpf_loader *l, const mw_bpf_filter *filter, const void **recs, size_t *len);

/* How the rss counters are read on this kernel and which program reads
 * them, for memwatch.sampler(). */
const char *mw_bpf_counters(const mw_bpf_loader *l);

/* 1 when the walker was loaded, 0 for the task iterator. */
int mw_bpf_is_walker(const mw_bpf_loader *l);

void mw_bpf_unload(mw_bpf_loader *l);

#endif
