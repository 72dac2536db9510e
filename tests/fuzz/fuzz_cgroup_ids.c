/* mw_parse_cgroup_ids (/proc/PID/cgroup: unit, container, pod) on arbitrary bytes. */
#include "fuzz.h"

#include <string.h>

#include "backend/linux/cgroup_ids.h"

static int hex_only(const char *s)
{
    for (; *s; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: a read past the end is an ASan error. */
    char *buf = malloc(size ? size : 1);
    mw_cgroup_ids ids;
    int rc;

    FUZZ_CHECK(buf != NULL);
    if (size)
        memcpy(buf, data, size);
    memset(&ids, 'x', sizeof ids);
    rc = mw_parse_cgroup_ids(buf, size, &ids);
    FUZZ_CHECK(rc == MW_OK || rc == MW_EPARSE);
    if (rc == MW_OK) {
        FUZZ_CHECK(fuzz_terminated(ids.unit, sizeof ids.unit));
        FUZZ_CHECK(fuzz_terminated(ids.container, sizeof ids.container));
        FUZZ_CHECK(fuzz_terminated(ids.runtime, sizeof ids.runtime));
        FUZZ_CHECK(fuzz_terminated(ids.pod, sizeof ids.pod));
        FUZZ_CHECK(strchr(ids.unit, '/') == NULL && strchr(ids.unit, '\n') == NULL);
        FUZZ_CHECK(hex_only(ids.container));
        FUZZ_CHECK(strchr(ids.pod, '\n') == NULL && strchr(ids.pod, '/') == NULL);
    }
    free(buf);
    return 0;
}
