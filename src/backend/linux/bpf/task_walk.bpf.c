// SPDX-License-Identifier: GPL-2.0
/*
 * memwatch's task walker (kernels with the open-coded task iterator,
 * bpf_iter_task_new, from 6.7): the loader attaches this program to a task
 * iterator that visits memwatch's own process only, and the one call walks
 * the kernel's task list from there, writing each task's record
 * (task_fill.bpf.h) into an array the reader maps. Following the list costs
 * one pointer per task, where the task iterator (task_iter.bpf.c) looks every
 * task up by its id; and no record goes through the read's buffer.
 */
#include "task_fill.bpf.h"

extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task,
                             unsigned int flags) __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __ksym;

/* The records, mapped by the reader; sized by the loader (max_entries). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct mw_bpf_rec);
} records SEC(".maps");

/* The last walk: records written, and those that found no room. */
__u32 written;
__u32 lost;

SEC("iter/task")
int memwatch_walk(struct bpf_iter__task *ctx)
{
    struct bpf_iter_task it;
    struct task_struct *t;

    /* Once a pass, however many of memwatch's threads the iterator visits. */
    if (!ctx->task || ctx->meta->session_id == ns_session)
        return 0;
    ns_session = ctx->meta->session_id;
    find_namespace();
    written = lost = 0;
    bpf_iter_task_new(&it, NULL, BPF_TASK_ITER_ALL_THREADS);
    while ((t = bpf_iter_task_next(&it))) {
        /* The count is kept in a global, not a local: the verifier then
         * knows nothing of its value, and checks the loop's body once
         * rather than once for each value a local would take. */
        __u32 slot = written;
        struct mw_bpf_rec *r = bpf_map_lookup_elem(&records, &slot);

        if (!r) {
            lost++;
            continue;
        }
        written += fill(t, r);
    }
    bpf_iter_task_destroy(&it);
    return 0;
}
