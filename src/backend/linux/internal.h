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

#endif
