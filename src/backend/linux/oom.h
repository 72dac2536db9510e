/*
 * Telling an OOM kill from an exit: the kernel counts OOM kills in
 * /proc/vmstat and in a cgroup v2 group's memory.events (both "flat keyed"
 * files: one "key value" pair a line, see Documentation/admin-guide/cgroup-v2.rst),
 * and logs each kill with the victim's pid to /dev/kmsg (mm/oom_kill.c,
 * "Killed process PID (COMM)"; the record format is
 * Documentation/ABI/testing/dev-kmsg). Pure parsers here; buffers need not be
 * NUL-terminated.
 */
#ifndef MEMWATCH_LINUX_OOM_H
#define MEMWATCH_LINUX_OOM_H

#include <stddef.h>
#include <stdint.h>

/* The value of key in a flat keyed file. MW_EPARSE when absent or malformed. */
int mw_parse_flat_keyed(const char *buf, size_t len, const char *key, int64_t *value);

typedef struct mw_kmsg_oom {
    uint64_t seq;  /* the record's sequence number */
    uint64_t usec; /* its time stamp, microseconds since boot */
    int32_t pid;   /* the killed process, as the kernel numbers it (init namespace) */
    char comm[16]; /* its comm, as logged */
} mw_kmsg_oom;

/*
 * One /dev/kmsg record ("PRIO,SEQ,USEC,FLAGS[,...];MESSAGE", continuation
 * lines after it). 0 and *out filled when the message reports a process
 * killed by the OOM killer (system-wide or a memory cgroup's); MW_EPARSE for
 * any other record.
 */
int mw_parse_kmsg_oom(const char *rec, size_t len, mw_kmsg_oom *out);

/* The sequence number of any /dev/kmsg record; MW_EPARSE when the prefix is
 * malformed. Readers remember it to resume after the last record they saw. */
int mw_parse_kmsg_seq(const char *rec, size_t len, uint64_t *seq);

#endif
