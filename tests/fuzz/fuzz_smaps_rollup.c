/* mw_parse_smaps_rollup on arbitrary bytes, and the record normalize.c makes
 * of it. */
#include "fuzz.h"

#include "backend/linux/normalize.h"
#include "backend/linux/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mw_smaps_info sm;
    mw_proc p;
    int rc = mw_parse_smaps_rollup((const char *)data, size, &sm);

    FUZZ_CHECK(rc == MW_OK || rc == MW_EPARSE);
    FUZZ_CHECK((sm.present >> MW_SMAPS_COUNT) == 0);
    FUZZ_CHECK(rc != MW_OK || (mw_smaps_has(&sm, MW_SMAPS_RSS) && mw_smaps_has(&sm, MW_SMAPS_PSS)));
    for (int i = 0; i < MW_SMAPS_COUNT; i++) {
        FUZZ_CHECK(sm.v[i] >= 0);
        if (!mw_smaps_has(&sm, (enum mw_smaps_field)i))
            FUZZ_CHECK(sm.v[i] == 0);
    }
    if (rc != MW_OK)
        return 0;
    mw_proc_init(&p);
    mw_linux_from_smaps(&sm, &p);
    for (int f = 0; f < MW_F_COUNT; f++) {
        if (mw_proc_has(&p, (enum mw_field)f))
            FUZZ_CHECK(mw_field_get((enum mw_field)f)->sources & MW_SRC_SMAPS);
    }
    FUZZ_CHECK(mw_proc_has(&p, MW_F_PSS) && p.v[MW_F_PSS] == sm.v[MW_SMAPS_PSS]);
    /* uss = Private_Clean + Private_Dirty, both or none, never wrapped. */
    if (mw_proc_has(&p, MW_F_USS))
        FUZZ_CHECK((__int128)sm.v[MW_SMAPS_PRIVATE_CLEAN] + sm.v[MW_SMAPS_PRIVATE_DIRTY] ==
                   p.v[MW_F_USS]);
    else
        FUZZ_CHECK(!mw_smaps_has(&sm, MW_SMAPS_PRIVATE_CLEAN) ||
                   !mw_smaps_has(&sm, MW_SMAPS_PRIVATE_DIRTY) ||
                   (__int128)sm.v[MW_SMAPS_PRIVATE_CLEAN] + sm.v[MW_SMAPS_PRIVATE_DIRTY] >
                       INT64_MAX);
    mw_proc_release(&p);
    return 0;
}
