// SPDX-License-Identifier: GPL-2.0
/*
 * memwatch's task iterator (any kernel from 5.8): one read() of the iterator
 * visits every task, and this program writes each one's record
 * (task_fill.bpf.h) into the read's buffer; the reader reads to the end.
 * The kernel finds each task by its id, so a pass costs more per task than
 * the walker's (task_walk.bpf.c), which the loader prefers where it loads.
 */
#include "task_fill.bpf.h"

SEC("iter/task")
int memwatch_tasks(struct bpf_iter__task *ctx)
{
    struct seq_file *seq = ctx->meta->seq;
    struct task_struct *t = ctx->task;
    struct mw_bpf_rec r;

    if (!t)
        return 0;
    /* memwatch's own pid namespace, the reader's: found once a pass. */
    if (ctx->meta->session_id != ns_session) {
        find_namespace();
        ns_session = ctx->meta->session_id;
    }
    if (fill(t, &r))
        bpf_seq_write(seq, &r, sizeof r);
    return 0;
}
