/* mw_parse_meminfo (/proc/meminfo) on arbitrary bytes. */
#include "fuzz.h"

#include "backend/linux/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mw_meminfo mi;
    uint64_t known = (1u << MW_SYS_TOTAL) | (1u << MW_SYS_FREE) | (1u << MW_SYS_AVAILABLE) |
                     (1u << MW_SYS_SWAP_TOTAL) | (1u << MW_SYS_SWAP_FREE);
    int rc = mw_parse_meminfo((const char *)data, size, &mi);

    FUZZ_CHECK(rc == MW_OK || rc == MW_EPARSE);
    FUZZ_CHECK((mi.present & ~known) == 0);
    FUZZ_CHECK((rc == MW_OK) == !!(mi.present & (1u << MW_SYS_TOTAL)));
    FUZZ_CHECK(mi.total >= 0 && mi.free >= 0 && mi.available >= 0 && mi.swap_total >= 0 &&
               mi.swap_free >= 0);
    return 0;
}
