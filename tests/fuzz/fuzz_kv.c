/*
 * mw_kv_each (the "Key: value" walker under status, smaps_rollup, meminfo, io
 * and fdinfo) and mw_parse_kv_size on every value it yields.
 */
#include "fuzz.h"

#include <inttypes.h>
#include <string.h>

#include "backend/linux/parse.h"

struct walk {
    const char *buf;
    size_t len;
    size_t lines;
};

static int on_line(void *ud, const char *key, size_t keylen, const char *val, size_t vallen)
{
    struct walk *w = ud;
    int64_t bytes;
    int rc;

    /* Key and value lie inside the buffer, on one line, value trimmed. */
    FUZZ_CHECK(key >= w->buf && key + keylen <= w->buf + w->len);
    FUZZ_CHECK(val >= key + keylen + 1 && val + vallen <= w->buf + w->len);
    FUZZ_CHECK(key[keylen] == ':');
    FUZZ_CHECK(!memchr(key, '\n', keylen) && !memchr(val, '\n', vallen));
    FUZZ_CHECK(!memchr(key, ':', keylen));
    if (vallen > 0) {
        FUZZ_CHECK(val[0] != ' ' && val[0] != '\t');
        FUZZ_CHECK(val[vallen - 1] != ' ' && val[vallen - 1] != '\t' && val[vallen - 1] != '\r');
    }
    rc = mw_parse_kv_size(val, vallen, &bytes);
    FUZZ_CHECK(rc == MW_OK || rc == MW_EPARSE);
    if (rc == MW_OK) {
        /* A size is digits and an optional unit; printing the kB form back
         * gives the same number of bytes when it is whole KiB. */
        FUZZ_CHECK(bytes >= 0);
        if (bytes % 1024 == 0) {
            char text[48];
            int64_t again;
            int n = snprintf(text, sizeof text, "%" PRId64 " kB", bytes / 1024);
            FUZZ_CHECK(mw_parse_kv_size(text, (size_t)n, &again) == MW_OK && again == bytes);
        }
    }
    w->lines++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct walk w = {(const char *)data, size, 0};
    size_t colons = 0;

    FUZZ_CHECK(mw_kv_each(w.buf, size, on_line, &w) == MW_OK);
    /* At most one callback per line with a colon. */
    for (size_t i = 0; i < size; i++)
        colons += data[i] == ':';
    FUZZ_CHECK(w.lines <= colons);
    return 0;
}
