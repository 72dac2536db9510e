/*
 * Sizes and durations: mw_parse_bytes and mw_parse_duration on arbitrary
 * text, and mw_format_bytes -> mw_parse_bytes round trips.
 */
#include "fuzz.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "memwatch/memwatch.h"

/* The largest error formatting may make: K prints whole (half a KiB), bigger
 * units one decimal (0.05 of the unit), plus the double rounding. */
static double max_error(uint64_t mag)
{
    double unit = 1024.0 * 1024.0;
    if (mag < 1024)
        return 0;
    if ((double)mag / 1024.0 < 1023.5)
        return 512.0 + 1.0;
    while ((double)mag / unit >= 1023.95 && unit < 1152921504606846976.0)
        unit *= 1024.0;
    /* Half a tenth of the unit from printing, one byte from llround. */
    return unit * 0.05 + 1.0 + (double)mag * 1e-12;
}

static void round_trip(int64_t v)
{
    char buf[32];
    const char *text = mw_format_bytes(v, buf, sizeof buf), *why = NULL;
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int64_t back;
    int rc;

    FUZZ_CHECK(text == buf && fuzz_terminated(buf, sizeof buf));
    FUZZ_CHECK(strlen(buf) <= 8); /* "-1023.9E" is the longest form */
    if (v < 0) {
        FUZZ_CHECK(buf[0] == '-');
        text++; /* sizes are parsed without a sign */
    }
    rc = mw_parse_bytes(text, &back, &why);
    if (rc != MW_OK) {
        /* Only magnitudes that print in exbibytes ("1.0E" from 1023.95P
         * up) may fail: the parser's largest unit is P. */
        FUZZ_CHECK((double)mag >= 1023.9 * 1125899906842624.0);
        FUZZ_CHECK(why != NULL);
        return;
    }
    FUZZ_CHECK(why == NULL);
    FUZZ_CHECK(back >= 0);
    FUZZ_CHECK(fabs((double)back - (double)mag) <= max_error(mag));
    /* Formatting what was parsed prints the same text again. */
    {
        char again[32];
        mw_format_bytes(back, again, sizeof again);
        FUZZ_CHECK(strcmp(again, text) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    const char *why = NULL;
    int64_t bytes = -1, v;
    double seconds = -1;
    int rc;

    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';

    rc = mw_parse_bytes(text, &bytes, &why);
    FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL);
    FUZZ_CHECK((rc == MW_OK) == (why == NULL));
    if (rc == MW_OK) {
        FUZZ_CHECK(bytes >= 0);
        round_trip(bytes);
    }

    rc = mw_parse_duration(text, &seconds, &why);
    FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL);
    FUZZ_CHECK((rc == MW_OK) == (why == NULL));
    if (rc == MW_OK)
        FUZZ_CHECK(isfinite(seconds) && seconds >= 0);

    /* The first eight bytes as a size to format and parse back. */
    if (size >= 8) {
        memcpy(&v, data, sizeof v);
        round_trip(v);
        round_trip(v >> (data[0] & 63));
    }
    free(text);
    return 0;
}
