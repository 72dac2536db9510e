/* mw_parse_status (/proc/PID/status) on arbitrary bytes, and what the
 * normalising step (normalize.c) makes of what it returns. */
#include "fuzz.h"

#include "backend/linux/normalize.h"
#include "backend/linux/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mw_status_info si;
    mw_proc p;
    __int128 sum;
    int rc;

    rc = mw_parse_status((const char *)data, size, &si);
    FUZZ_CHECK(rc == MW_OK || rc == MW_EPARSE);
    FUZZ_CHECK(fuzz_terminated(si.name, sizeof si.name));
    FUZZ_CHECK((si.present >> MW_STATUS_COUNT) == 0);
    /* Sizes come from " kB" lines: never negative, always whole KiB. */
    for (int f = MW_STATUS_VM_SIZE; f < MW_STATUS_COUNT; f++) {
        if (mw_status_has(&si, (enum mw_status_field)f)) {
            FUZZ_CHECK(si.v[f] >= 0);
            FUZZ_CHECK(si.v[f] % 1024 == 0);
        }
    }
    if (rc != MW_OK)
        return 0;
    mw_proc_init(&p);
    mw_linux_from_status(&si, &p);
    FUZZ_CHECK(fuzz_terminated(p.name, sizeof p.name));
    FUZZ_CHECK(p.path == NULL && p.cmdline == NULL);
    /* Only fields the status file can provide. */
    for (int f = 0; f < MW_F_COUNT; f++) {
        if (mw_proc_has(&p, (enum mw_field)f))
            FUZZ_CHECK(mw_field_get((enum mw_field)f)->sources & MW_SRC_STATUS);
    }
    FUZZ_CHECK((p.present >> MW_F_COUNT) == 0);
    FUZZ_CHECK(!(p.flags & MW_PROC_ZOMBIE) == (p.state != 'Z'));
    /* footprint = RssAnon + RssShmem + VmSwap + VmPTE, all four or none. */
    if (mw_proc_has(&p, MW_F_FOOTPRINT)) {
        FUZZ_CHECK(mw_proc_has(&p, MW_F_RSS_ANON) && mw_proc_has(&p, MW_F_RSS_SHMEM) &&
                   mw_proc_has(&p, MW_F_SWAP) && mw_proc_has(&p, MW_F_PAGE_TABLE));
        /* Summed without wrapping: each term is at most INT64_MAX. */
        sum = (__int128)p.v[MW_F_RSS_ANON] + p.v[MW_F_RSS_SHMEM] + p.v[MW_F_SWAP] +
              p.v[MW_F_PAGE_TABLE];
        FUZZ_CHECK(sum == p.v[MW_F_FOOTPRINT]);
    } else if (mw_proc_has(&p, MW_F_RSS_ANON) && mw_proc_has(&p, MW_F_RSS_SHMEM) &&
               mw_proc_has(&p, MW_F_SWAP) && mw_proc_has(&p, MW_F_PAGE_TABLE)) {
        /* All four terms and no footprint: only when the sum does not fit. */
        sum = (__int128)p.v[MW_F_RSS_ANON] + p.v[MW_F_RSS_SHMEM] + p.v[MW_F_SWAP] +
              p.v[MW_F_PAGE_TABLE];
        FUZZ_CHECK(sum > INT64_MAX);
    }
    mw_proc_release(&p);
    return 0;
}
