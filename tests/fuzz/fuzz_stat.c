/* mw_parse_stat (/proc/PID/stat) on arbitrary bytes. */
#include "fuzz.h"

#include <string.h>

#include "backend/linux/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    mw_stat_info si;
    int rc = mw_parse_stat(buf, size, &si);

    FUZZ_CHECK(rc == MW_OK || rc == MW_EPARSE);
    FUZZ_CHECK(fuzz_terminated(si.comm, sizeof si.comm));
    if (rc == MW_OK) {
        /* The name runs from the first '(' to the last ')': whatever a
         * hostile comm holds, the state is the byte after the last ')'. */
        const char *open = memchr(buf, '(', size), *close = NULL;
        size_t n;
        FUZZ_CHECK(open != NULL);
        for (const char *q = buf + size; q > open; q--) {
            if (q[-1] == ')') {
                close = q - 1;
                break;
            }
        }
        FUZZ_CHECK(close != NULL);
        n = (size_t)(close - open - 1);
        if (n < sizeof si.comm && !memchr(open + 1, '\0', n))
            FUZZ_CHECK(strlen(si.comm) == n && memcmp(si.comm, open + 1, n) == 0);
        {
            const char *s = close + 1;
            while (*s == ' ' || *s == '\t')
                s++;
            FUZZ_CHECK(si.state == *s);
        }
    }
    return 0;
}
