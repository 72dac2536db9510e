/*
 * The task-iterator program's life: checked, loaded and attached once
 * (with a sentence saying why when it cannot be), then read to its end once
 * a pass. libbpf does the loading; the program is the skeleton that
 * bpftool generates from task_iter.bpf.c at build time.
 */
#ifndef MEMWATCH_BPF_LOADER_H
#define MEMWATCH_BPF_LOADER_H

#include <stddef.h>

#include "memwatch/sys.h"

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

/*
 * One pass: every record of one read of the iterator to its end, in *buf
 * (grown as needed; *cap its size), *len bytes. -errno on failure.
 */
int mw_bpf_pass(mw_bpf_loader *l, char **buf, size_t *cap, size_t *len);

/* How the rss counters are read on this kernel, for memwatch.sampler(). */
const char *mw_bpf_counters(const mw_bpf_loader *l);

void mw_bpf_unload(mw_bpf_loader *l);

#endif
