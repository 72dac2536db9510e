/* What the Linux backend's files share with each other (not a public API). */
#ifndef MEMWATCH_LINUX_INTERNAL_H
#define MEMWATCH_LINUX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "memwatch/memwatch.h"
#include "memwatch/sys.h"

/* Read PID/<file> (relative to the /proc root) into the state's buffer; *data
 * stays valid until the next read through the same state. */
int mw_linux_read_rel(void *state, int32_t pid, const char *file, const char **data, size_t *len);
/* The syscall table and the /proc root descriptor of a state. */
const mw_sys *mw_linux_sys(void *state, int *rootfd);
/* backend_ops.read_ledger for Linux (ledger.c). */
int mw_linux_read_ledger(void *state, int32_t pid, mw_ledger *out);
/* The boot time of a state (epoch seconds), -1 when unknown. */
int64_t mw_linux_btime(void *state);
/* The full name of pid whose comm is at the kernel's limit (fullname.h),
 * from its exe and cmdline: 1 when a longer name was found (in out). */
int mw_linux_full_name(void *state, int32_t pid, const char *comm, char *out, size_t len);
/* The kernel log device path of a state. */
const char *mw_linux_kmsg(void *state);
/* backend_ops.oom_kill_count and .oom_kills for Linux (oomlog.c). */
int mw_linux_oom_kill_count(void *state, int64_t *count);
int mw_linux_oom_kills(void *state, uint64_t cursor, mw_oom_cb cb, void *ud, uint64_t *next);
/* backend_ops.read_regions for Linux (regions.c). */
int mw_linux_read_regions(void *state, int32_t pid, mw_regions *out);

#endif
