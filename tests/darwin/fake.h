/*
 * A stand-in for the darwin kernel interfaces the darwin backend calls
 * (libproc, sysctl, Mach host calls, ledger(), coalition_info), answering
 * from a fixture file. The fixture format is described in
 * tests/fixtures/darwin/README.
 *
 * The fixture is loaded on first use from $MEMWATCH_DARWIN_FIXTURE, or
 * explicitly by a test through the functions below.
 */
#ifndef MEMWATCH_DARWIN_FAKE_H
#define MEMWATCH_DARWIN_FAKE_H

#include <stddef.h>

/* Replace the current fixture with the file at path. 0, -errno, or
 * MW_EPARSE (the offending line is printed on stderr). */
int mw_darwin_fake_load(const char *path);
/* The same from a string. */
int mw_darwin_fake_load_string(const char *text);
/* Forget the fixture (the next call reloads from the environment). */
void mw_darwin_fake_reset(void);

/* What the backend asked for since the last load. */
typedef struct mw_darwin_fake_stats {
    int listallpids_calls; /* with a buffer, not counting the size query */
    int rusage_calls;
    int rusage_flavors[64]; /* the flavor of each of the first 64 calls */
    int pidinfo_calls[32];  /* by flavor */
    int pidpath_calls;
    int procargs_calls;
    int template_calls;
    int entry_calls;
    int host_self;     /* send rights handed out by mach_host_self */
    int host_released; /* ... and given back */
} mw_darwin_fake_stats;

const mw_darwin_fake_stats *mw_darwin_fake_stats_get(void);

#endif
