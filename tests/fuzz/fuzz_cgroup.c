/* mw_parse_cgroup_app (/proc/PID/cgroup) on arbitrary bytes and buffer sizes. */
#include "fuzz.h"

#include <string.h>

#include "backend/linux/parse.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[] = {1, 2, 9, 64, 256};

    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        /* Exactly cap bytes on the heap: a write past applen is an ASan error. */
        char *app = malloc(caps[i]);
        int rc;
        FUZZ_CHECK(app != NULL);
        memset(app, 'x', caps[i]);
        rc = mw_parse_cgroup_app((const char *)data, size, app, caps[i]);
        FUZZ_CHECK(rc == MW_OK || rc == MW_EPARSE);
        if (rc == MW_OK) {
            FUZZ_CHECK(fuzz_terminated(app, caps[i]));
            FUZZ_CHECK(ends_with(app, ".service") || ends_with(app, ".scope"));
            FUZZ_CHECK(strchr(app, '/') == NULL && strchr(app, '\n') == NULL);
            FUZZ_CHECK(strncmp(app, "user@", 5) != 0 && strncmp(app, "session-", 8) != 0);
        }
        free(app);
    }
    return 0;
}
