/* mw_parse_psi (/proc/pressure/memory) on arbitrary bytes. */
#include "fuzz.h"

#include <math.h>

#include "backend/linux/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mw_psi psi;
    const double *avg = &psi.some_avg10; /* six averages */
    int rc = mw_parse_psi((const char *)data, size, &psi);

    FUZZ_CHECK(rc == MW_OK || rc == MW_EPARSE);
    FUZZ_CHECK((rc == MW_OK) == (psi.has_some != 0));
    for (int i = 0; i < 6; i++)
        FUZZ_CHECK(isfinite(avg[i]) && avg[i] >= 0);
    if (!psi.has_full)
        FUZZ_CHECK(psi.full_avg10 == 0 && psi.full_avg60 == 0 && psi.full_total_us == 0);
    return 0;
}
