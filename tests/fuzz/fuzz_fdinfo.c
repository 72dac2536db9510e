/* mw_parse_fdinfo_drm (DRM fdinfo, the ledger's gpu rows) on arbitrary bytes. */
#include "fuzz.h"

#include <string.h>

#include "backend/linux/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mw_fdinfo_drm fi;
    int rc = mw_parse_fdinfo_drm((const char *)data, size, &fi);

    FUZZ_CHECK(rc == MW_OK || rc == MW_EPARSE);
    FUZZ_CHECK((rc == MW_OK) == (fi.is_drm != 0));
    FUZZ_CHECK(fuzz_terminated(fi.pdev, sizeof fi.pdev));
    FUZZ_CHECK(fuzz_terminated(fi.client, sizeof fi.client));
    FUZZ_CHECK(fi.nregions >= 0 && fi.nregions <= MW_DRM_REGIONS_MAX);
    if (rc != MW_OK)
        FUZZ_CHECK(fi.nregions == 0 && !fi.pdev[0] && !fi.client[0]);
    for (int i = 0; i < fi.nregions; i++) {
        const mw_drm_region *r = &fi.regions[i];
        FUZZ_CHECK(fuzz_terminated(r->key, sizeof r->key));
        FUZZ_CHECK(strncmp(r->key, "total-", 6) == 0 || strncmp(r->key, "resident-", 9) == 0 ||
                   strncmp(r->key, "memory-", 7) == 0);
        FUZZ_CHECK(r->bytes >= 0);
    }
    return 0;
}
