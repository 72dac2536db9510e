/* mw_parse_smaps on arbitrary bytes: every row it hands out is a well-formed
 * mapping whose path lies inside the input, and the walk is the same whatever
 * the rows are used for. */
#include "fuzz.h"

#include "backend/linux/smaps.h"

#include <string.h>

struct seen {
    const char *buf;
    size_t len;
    size_t rows;
    uint64_t last_start;
};

static int check_row(void *ud, const mw_smaps_row *row)
{
    struct seen *s = ud;

    FUZZ_CHECK(row->start <= row->end);
    FUZZ_CHECK(row->path >= s->buf && row->path + row->pathlen <= s->buf + s->len);
    FUZZ_CHECK(row->complete == 0 || row->complete == 1);
    FUZZ_CHECK((row->present >> MW_REGION_COUNT) == 0);
    FUZZ_CHECK((row->flags & ~(unsigned)(MW_REGION_SHMEM | MW_REGION_DELETED)) == 0);
    FUZZ_CHECK(!(row->flags & MW_REGION_SHMEM) ==
               !mw_smaps_is_shmem(row->perms, row->path, row->pathlen));
    FUZZ_CHECK(row->perms[4] == '\0');
    for (int i = 0; i < MW_REGION_COUNT; i++) {
        FUZZ_CHECK(row->v[i] >= 0);
        if (!((row->present >> i) & 1u))
            FUZZ_CHECK(row->v[i] == 0);
    }
    s->rows++;
    s->last_start = row->start;
    return 0;
}

static int stop_second(void *ud, const mw_smaps_row *row)
{
    (void)row;
    return ++*(size_t *)ud == 2 ? 42 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen s = {(const char *)data, size, 0, 0};
    size_t calls = 0;
    int rc;

    FUZZ_CHECK(mw_parse_smaps((const char *)data, size, check_row, &s) == 0);
    /* A callback's nonzero return stops the walk and comes back. */
    rc = mw_parse_smaps((const char *)data, size, stop_second, &calls);
    FUZZ_CHECK(s.rows >= 2 ? (rc == 42 && calls == 2) : (rc == 0 && calls == s.rows));
    /* The task/TID/syscall parser on the same bytes: 0 or MW_EPARSE. */
    {
        uint64_t sp = 0;
        rc = mw_parse_syscall_sp((const char *)data, size, &sp);
        FUZZ_CHECK(rc == MW_OK || rc == MW_EPARSE);
    }
    return 0;
}
