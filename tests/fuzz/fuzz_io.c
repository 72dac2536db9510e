/* mw_parse_io (/proc/PID/io) on arbitrary bytes. */
#include "fuzz.h"

#include "backend/linux/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mw_io_info io;
    int rc = mw_parse_io((const char *)data, size, &io);

    FUZZ_CHECK(rc == MW_OK || rc == MW_EPARSE);
    FUZZ_CHECK((rc == MW_OK) == (io.read_bytes >= 0));
    return 0;
}
