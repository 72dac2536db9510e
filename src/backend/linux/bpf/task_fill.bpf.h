/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What memwatch's two BPF programs share (task_iter.bpf.c, the task
 * iterator; task_walk.bpf.c, the task walker): the settings the loader
 * fills in, the filter a pass is given, and fill(), which turns one task
 * into the record /proc/PID/status and stat would print (struct mw_bpf_rec).
 * CO-RE: field offsets are relocated to the running kernel at load time, and
 * the layouts that changed across kernels are told apart there (the rss
 * counters: atomic before 6.2, per-cpu counters after).
 *
 * GPL: the helpers a tracing program needs (bpf_probe_read_kernel,
 * bpf_map_lookup_percpu_elem) are GPL-only.
 */
#ifndef MEMWATCH_TASK_FILL_BPF_H
#define MEMWATCH_TASK_FILL_BPF_H

#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "record.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load (loader.c). */
/* Sum the per-cpu parts of the rss counters, as /proc does from 6.16. */
const volatile __u32 sum_percpu = 0;
/* CPUs whose per-cpu parts to add (the possible CPUs, 0..nr_cpus-1). */
const volatile __u32 nr_cpus = 1;

#define MAX_CPUS   1024
#define PF_KTHREAD 0x00200000

/*
 * Each CPU's per-cpu offset, found once: the address of a per-cpu array
 * map's copy on that CPU less the map's own per-cpu pointer. The rss
 * counters' per-cpu parts are read at their pointer plus that offset with
 * bpf_probe_read_kernel: a GCC-built kernel's BTF does not mark the pointer
 * per-cpu (bpf_per_cpu_ptr cannot take it), and without CONFIG_KALLSYMS_ALL
 * no per-cpu variable can be named (__per_cpu_offset, typed ksyms).
 */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} pcpu_probe SEC(".maps");

__u64 cpu_off[MAX_CPUS];
__u32 have_offsets;

/* The reader's pid namespace and its level, for the pass (session) it was
 * found in. */
__u64 ns_session = ~0ULL;
__u32 ns_level;
void *my_ns;

/* A pointer's value as a plain number (the verifier keeps pointer types
 * through a stack slot, not through a helper's copy). */
static __always_inline __u64 address_of(void *p)
{
    void *volatile slot = p;
    __u64 a = 0;

    bpf_probe_read_kernel(&a, sizeof a, (void *)&slot);
    return a;
}

static __always_inline void find_offsets(void)
{
    __u64 base = 0, map = address_of(&pcpu_probe);
    __u32 zero = 0;

    bpf_probe_read_kernel(&base, sizeof base,
                          (void *)(map + bpf_core_field_offset(struct bpf_array, pptrs)));
    for (__u32 cpu = 0; cpu < MAX_CPUS && cpu < nr_cpus; cpu++) {
        void *copy = bpf_map_lookup_percpu_elem(&pcpu_probe, &zero, cpu);
        if (copy)
            cpu_off[cpu] = address_of(copy) - base;
    }
    have_offsets = 1;
}

/* The rss counters before 6.2: atomic counts in a struct of their own. */
struct mm_rss_stat___atomic {
    atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___atomic {
    struct mm_rss_stat___atomic rss_stat;
} __attribute__((preserve_access_index));

/* task_struct's state field before 5.14. */
struct task_struct___long_state {
    long state;
} __attribute__((preserve_access_index));

/* The start time before 5.5. */
struct task_struct___real_start {
    u64 real_start_time;
} __attribute__((preserve_access_index));

/*
 * The four rss counters, each summed over CPUs where the kernel keeps
 * per-cpu parts and /proc adds them (sum_percpu). The kernel allocates the
 * four counters' parts together (percpu_counter_init_many), four s32 side
 * by side on each CPU: when the pointers say so, one read a CPU fetches all
 * four; else one read a counter a CPU.
 */
static __always_inline void percpu_sums(struct mm_struct *mm, __s64 sum[4])
{
    __s32 *parts[4];
    int together;

#pragma unroll
    for (int i = 0; i < 4; i++) {
        sum[i] = mm->rss_stat[i].count;
        parts[i] = mm->rss_stat[i].counters;
    }
    if (!sum_percpu || !parts[0])
        return;
    if (!have_offsets)
        find_offsets();
    together = parts[1] == parts[0] + 1 && parts[2] == parts[0] + 2 && parts[3] == parts[0] + 3;
    for (__u32 cpu = 0; cpu < MAX_CPUS && cpu < nr_cpus; cpu++) {
        __s32 four[4] = {};
        if (together) {
            bpf_probe_read_kernel(four, sizeof four, (char *)parts[0] + cpu_off[cpu]);
        } else {
#pragma unroll
            for (int i = 0; i < 4; i++) {
                if (parts[i])
                    bpf_probe_read_kernel(&four[i], sizeof four[i],
                                          (char *)parts[i] + cpu_off[cpu]);
            }
        }
#pragma unroll
        for (int i = 0; i < 4; i++)
            sum[i] += four[i];
    }
}

/* get_mm_counter / get_mm_counter_sum of the four counters (enum
 * mm_counter's order, the same from 4.5 on), clamped at zero. */
static __always_inline void mm_counters(struct mm_struct *mm, __u64 out[4])
{
    __s64 v[4] = {};

    if (bpf_core_type_exists(struct mm_rss_stat___atomic) &&
        bpf_core_field_exists(((struct mm_struct___atomic *)0)->rss_stat.count)) {
        /* atomic_long_t is a long on every kernel */
        char *counts = (char *)mm + bpf_core_field_offset(struct mm_struct___atomic, rss_stat);
        bpf_probe_read_kernel(v, sizeof v, counts);
    } else {
        percpu_sums(mm, v);
    }
#pragma unroll
    for (int i = 0; i < 4; i++)
        out[i] = v[i] > 0 ? (__u64)v[i] : 0;
}

/* The pid number of a struct pid at namespace level `level`, when that
 * level's namespace is `ns`; else 0 (outside it). */
static __always_inline __s32 pid_in(struct pid *pid, unsigned int level, void *ns)
{
    struct upid up = {};
    char *numbers;

    if (!pid || pid->level < level)
        return 0;
    numbers = (char *)pid + bpf_core_field_offset(struct pid, numbers);
    bpf_probe_read_kernel(&up, sizeof up, numbers + (__u64)level * bpf_core_type_size(struct upid));
    return up.ns == ns ? up.nr : 0;
}

/* The letter of fs/proc/array.c's task_state_array for a task: the index
 * of the highest state bit reported, in "RSDTtXZPI". (A switch, not a
 * string: a static array would share .rodata with the loader's settings.) */
static __always_inline char state_letter(struct task_struct *t)
{
    unsigned int st, exit = t->exit_state, s;

    if (bpf_core_field_exists(t->__state)) {
        st = t->__state;
    } else {
        struct task_struct___long_state *o = (void *)t;
        st = (unsigned int)BPF_CORE_READ(o, state);
    }
    s = (st | exit) & 0x7f;    /* TASK_REPORT */
    if ((st & 0x402) == 0x402) /* TASK_IDLE: uninterruptible, no load */
        s = 0x80;
    if (st & 0x1000) /* TASK_RTLOCK_WAIT shows as uninterruptible */
        s = 0x2;
    if (s & 0x80)
        return 'I';
    if (s & 0x40)
        return 'P';
    if (s & 0x20)
        return 'Z';
    if (s & 0x10)
        return 'X';
    if (s & 0x8)
        return 't';
    if (s & 0x4)
        return 'T';
    if (s & 0x2)
        return 'D';
    if (s & 0x1)
        return 'S';
    return 'R';
}

/*
 * The pass's filter, set by the loader before each pass (struct
 * mw_bpf_filter's fields): the scan's own filters, tried here so that a
 * task that cannot match costs no more than its comm. A necessary test
 * only: the scan still applies its exact one (the full-name rule).
 */
__u32 want_flags;
__u32 want_uid;
char want_comm[MW_BPF_COMM];

static __always_inline int wanted(struct task_struct *leader)
{
    if (want_flags & MW_BPF_WANT_COMM) {
#pragma unroll
        for (int i = 0; i < MW_BPF_COMM; i++) {
            char c = leader->comm[i];
            if (c != want_comm[i])
                return 0;
            if (!c)
                break;
        }
    }
    if ((want_flags & MW_BPF_WANT_UID) && leader->real_cred->euid.val != want_uid)
        return 0;
    return 1;
}

/* memwatch's own pid namespace (the reader's) and its level. */
static __always_inline void find_namespace(void)
{
    struct task_struct *me = bpf_get_current_task_btf();
    struct pid *mypid = me->thread_pid;
    struct upid up = {};
    char *numbers = (char *)mypid + bpf_core_field_offset(struct pid, numbers);

    ns_level = mypid->level;
    bpf_probe_read_kernel(&up, sizeof up,
                          numbers + (__u64)ns_level * bpf_core_type_size(struct upid));
    my_ns = up.ns;
}

/*
 * t's record in *out: 1 when it has one, 0 when it is outside memwatch's
 * namespace, on its way out, or filtered out (*out then holds no record).
 * The fields go straight into *out: the walker's out is an array's element,
 * whose contents the verifier does not follow, so a loop over tasks checks
 * in one state what would be many on the stack. Fields are read directly
 * (the verifier makes each load fault-safe), never through a helper call,
 * but where the offset is not a constant.
 */
static __always_inline int fill(struct task_struct *t, struct mw_bpf_rec *out)
{
    struct signal_struct *sig;
    struct mm_struct *mm;
    __s32 pid;

    if (want_flags && !wanted(t->group_leader))
        return 0;
    sig = t->signal;
    /* In the initial pid namespace (the only one at level 0) a task's own
     * numbers are memwatch's: no struct pid to read. */
    if (!sig->pids[PIDTYPE_TGID])
        return 0; /* on its way out */
    pid = ns_level == 0 ? t->tgid : pid_in(sig->pids[PIDTYPE_TGID], ns_level, my_ns);
    if (pid <= 0)
        return 0;
    __builtin_memset(out, 0, sizeof *out);
    out->pid = pid;
    out->runtime = t->se.sum_exec_runtime;
    if (t->pid != t->tgid) {
        out->kind = MW_BPF_THREAD;
        return 1;
    }
    out->kind = MW_BPF_PROC;
    out->runtime += sig->sum_sched_runtime;
    out->ppid = ns_level == 0 ? t->real_parent->tgid
                              : pid_in(t->real_parent->signal->pids[PIDTYPE_TGID], ns_level, my_ns);
    out->euid = t->real_cred->euid.val;
    out->threads = sig->nr_threads;
    out->state = state_letter(t);
    /* comm in two loads, not a helper call: the kernel pads it with NULs
     * (and the reader stops at the first). */
    ((__u64 *)out->comm)[0] = *(__u64 *)&t->comm[0];
    ((__u64 *)out->comm)[1] = *(__u64 *)&t->comm[8];
    if (bpf_core_field_exists(t->start_boottime)) {
        out->start_boottime = t->start_boottime;
    } else {
        struct task_struct___real_start *o = (void *)t;
        out->start_boottime = BPF_CORE_READ(o, real_start_time);
    }
    if (t->flags & PF_KTHREAD) {
        out->flags = MW_BPF_KTHREAD;
        return 1;
    }
    mm = t->mm;
    if (mm) {
        __u64 counts[4];
        mm_counters(mm, counts);
        out->anon = counts[MM_ANONPAGES];
        out->file = counts[MM_FILEPAGES];
        out->shmem = counts[MM_SHMEMPAGES];
        out->swapents = counts[MM_SWAPENTS];
        out->hiwater_rss = mm->hiwater_rss;
        out->total_vm = mm->total_vm;
        out->locked_vm = mm->locked_vm;
        out->pgtables_bytes = mm->pgtables_bytes.counter;
        /* The address space was let go while we read it (exit_mm clears
         * task->mm before dropping it): its numbers may be torn, so the
         * record carries none, as status shows none past that point. */
        if (t->mm == mm)
            out->flags = MW_BPF_HAS_MM;
    }
    return 1;
}

#endif
