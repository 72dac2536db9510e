/* mw_parse_btime (the btime line of /proc/stat) on arbitrary bytes. */
#include "fuzz.h"

#include <string.h>

#include "backend/linux/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t btime = -12345;
    int rc = mw_parse_btime((const char *)data, size, &btime);

    FUZZ_CHECK(rc == MW_OK || rc == MW_EPARSE);
    if (rc == MW_OK) {
        /* Only ever from a line that starts with "btime ". */
        FUZZ_CHECK(size > 6);
        FUZZ_CHECK(memmem(data, size, "btime ", 6) != NULL);
    }
    return 0;
}
