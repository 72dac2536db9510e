/*
 * What the darwin backend offers beyond mw_backend_ops. Only darwin builds
 * (and the Linux test harness that fakes darwin) have these symbols.
 */
#ifndef MEMWATCH_DARWIN_H
#define MEMWATCH_DARWIN_H

#include <stdint.h>

#include "memwatch/memwatch.h"

/* The id of pid's resource coalition (what mw_app_key names), or -errno;
 * -ENOENT when it has none. */
int mw_darwin_coalition_id(int32_t pid, uint64_t *id);

/*
 * The totals of pid's resource coalition (every process of one app, the
 * grouping Activity Monitor uses), appended to out (initialised by the
 * caller) as rows of group "coalition", times in ns. -ESRCH for a coalition
 * or pid that is gone.
 */
int mw_darwin_coalition_usage(int32_t pid, mw_ledger *out);

/*
 * Every region of pid's address space into out (initialised by the caller),
 * page counts in pages of page_size bytes (darwin_regions.c says how they
 * map to mw_region's sizes). -ESRCH: gone; -EPERM: another user's process.
 * A zombie has none.
 */
int mw_darwin_read_regions(int32_t pid, uint64_t page_size, mw_regions *out);

#endif
