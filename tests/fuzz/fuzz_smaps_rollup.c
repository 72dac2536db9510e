/* mw_parse_smaps_rollup on arbitrary bytes. */
#include "fuzz.h"

#include "backend/linux/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mw_smaps_info sm;
    const int64_t *v = &sm.rss; /* the 18 counters, in key order */
    int rc = mw_parse_smaps_rollup((const char *)data, size, &sm);

    FUZZ_CHECK(rc == MW_OK || rc == MW_EPARSE);
    FUZZ_CHECK((sm.present >> 18) == 0);
    FUZZ_CHECK(rc != MW_OK || (sm.present & 3u) == 3u);
    for (int i = 0; i < 18; i++) {
        FUZZ_CHECK(v[i] >= 0);
        if (!(sm.present & (1u << i)))
            FUZZ_CHECK(v[i] == 0);
    }
    return 0;
}
