/* Status codes to text. */
#include "memwatch/memwatch.h"

#include <string.h>

const char *mw_strerror(int code)
{
    switch (code) {
    case MW_OK:
        return "success";
    case MW_EPARSE:
        return "unexpected data from the operating system";
    case MW_ENOTSUP:
        return "not supported on this platform";
    case MW_EINVAL:
        return "invalid argument";
    default:
        return code < 0 ? strerror(-code) : "unknown status";
    }
}
