/*
 * The record memwatch's BPF programs (task_fill.bpf.h) write for each task
 * and the sampler (snapshot.c) reads back, and the filter a pass is given:
 * one layout, fixed size, shared by both sides. Only fixed-width types, so the BPF target and the
 * host agree.
 */
#ifndef MEMWATCH_BPF_RECORD_H
#define MEMWATCH_BPF_RECORD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum mw_bpf_kind {
    /* A thread-group leader: every field below. */
    MW_BPF_PROC = 1,
    /* Another thread of a group: pid (its group's) and runtime only, added
     * to the leader's, as stat sums the CPU time of the whole group. */
    MW_BPF_THREAD = 2
};

enum mw_bpf_flag {
    MW_BPF_KTHREAD = 1u << 0, /* PF_KTHREAD: no user memory */
    MW_BPF_HAS_MM = 1u << 1   /* the memory fields hold values */
};

/* comm's size in the kernel (TASK_COMM_LEN) */
#define MW_BPF_COMM 16

/* Which of a pass's filters are set (want_flags). */
enum mw_bpf_want {
    MW_BPF_WANT_COMM = 1u << 0, /* the group leader's comm is want_comm */
    MW_BPF_WANT_UID = 1u << 1   /* its effective uid is want_uid */
};

struct mw_bpf_rec {
    __u32 kind;    /* enum mw_bpf_kind */
    __s32 pid;     /* the thread group's id in memwatch's pid namespace */
    __s32 ppid;    /* its parent's, 0 when the parent is outside it */
    __u32 euid;    /* effective uid, as status's second Uid column */
    __u32 threads; /* signal->nr_threads, as status's Threads */
    __u32 flags;   /* enum mw_bpf_flag */
    char state;    /* the letter status and stat show */
    char comm[MW_BPF_COMM];
    char pad[7];
    __u64 start_boottime; /* ns since boot, the leader's start */
    __u64 runtime;        /* ns on CPU (leader: with the group's dead threads) */
    /* Pages, as the counters /proc reads (clamped at zero as it does). */
    __u64 anon, file, shmem, swapents;
    __u64 hiwater_rss, total_vm, locked_vm;
    __u64 pgtables_bytes;
};

#endif
