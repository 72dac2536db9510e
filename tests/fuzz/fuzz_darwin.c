/*
 * The darwin normaliser (darwin_norm.c) on kernel rows made of arbitrary
 * bytes: one process (every call result, every flavor), KERN_PROCARGS2, the
 * system counters, a ledger template with its entries, a coalition, the
 * timebase. On Linux it builds against the shim of Apple's headers
 * (tests/darwin/shim), as the darwin unit tests do.
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>

#include "backend/darwin/darwin_norm.h"

struct input {
    const uint8_t *p;
    size_t n;
};

/* The next len bytes into dst (zeros once the input runs out). */
static void take(struct input *in, void *dst, size_t len)
{
    size_t k = len < in->n ? len : in->n;
    memcpy(dst, in->p, k);
    memset((char *)dst + k, 0, len - k);
    in->p += k;
    in->n -= k;
}

static uint8_t byte(struct input *in)
{
    uint8_t b;
    take(in, &b, 1);
    return b;
}

/* A call result: mostly success, else one of the errors the kernel gives. */
static int call_result(struct input *in)
{
    static const int results[] = {0, 0, 0, MW_DARWIN_UNREAD, ESRCH, EPERM, EACCES, EINVAL};
    return results[byte(in) % 8];
}

static void check_proc(struct input *in)
{
    mw_darwin_timebase tb;
    mw_darwin_raw raw;
    mw_proc out;
    uint32_t numer, denom;
    uint64_t tb_hz;
    unsigned want;
    int translated, rc;

    take(in, &numer, sizeof numer);
    take(in, &denom, sizeof denom);
    translated = byte(in) & 1;
    take(in, &tb_hz, sizeof tb_hz);
    if (mw_darwin_timebase_choose(numer, denom, translated, tb_hz, &tb) != 0) {
        tb.numer = 1;
        tb.denom = 1;
    }
    FUZZ_CHECK(tb.numer > 0 && tb.denom > 0);
    want = byte(in) & MW_SRC_ALL;

    mw_darwin_raw_init(&raw, 0);
    take(in, &raw.pid, sizeof raw.pid);
    raw.short_err = call_result(in);
    take(in, &raw.sbi, sizeof raw.sbi);
    raw.bsd_err = call_result(in);
    take(in, &raw.bi, sizeof raw.bi);
    raw.uniq_err = call_result(in);
    take(in, &raw.uniq, sizeof raw.uniq);
    raw.task_err = call_result(in);
    take(in, &raw.ti, sizeof raw.ti);
    raw.rusage_err = call_result(in);
    raw.rusage_flavor = byte(in) % 8;
    take(in, &raw.ru, sizeof raw.ru);
    raw.path_err = call_result(in);
    if (raw.path_err == 0) {
        char path[33];
        take(in, path, 32);
        path[32] = '\0';
        raw.path = strdup(path);
        FUZZ_CHECK(raw.path != NULL);
    }
    raw.args_err = call_result(in);
    if (raw.args_err == 0) {
        /* The rest of the input is the KERN_PROCARGS2 buffer, copied to
         * the heap at its exact size. */
        char *args = malloc(in->n ? in->n : 1);
        char *cmdline = NULL;
        FUZZ_CHECK(args != NULL);
        memcpy(args, in->p, in->n);
        rc = mw_darwin_procargs2_cmdline(args, in->n, &cmdline);
        FUZZ_CHECK(rc == 0 || rc == MW_EPARSE);
        if (rc != 0)
            FUZZ_CHECK(cmdline == NULL);
        if (cmdline) {
            /* argv joined by spaces: no NUL before the terminating one. */
            size_t len = strlen(cmdline);
            FUZZ_CHECK(len + 1 <= in->n);
        }
        raw.cmdline = cmdline;
        free(args);
    }

    mw_proc_init(&out);
    rc = mw_darwin_proc_from_raw(&raw, &tb, want, &out);
    FUZZ_CHECK(rc <= 0);
    if (rc == 0) {
        FUZZ_CHECK(out.pid == raw.pid);
        FUZZ_CHECK(fuzz_terminated(out.name, sizeof out.name));
        FUZZ_CHECK(!(out.flags & MW_PROC_ZOMBIE) || out.state == 'Z');
        FUZZ_CHECK((out.read & ~(unsigned)MW_SRC_ALL) == 0);
        for (int f = 0; f < MW_F_COUNT; f++) {
            const mw_field_info *fi = mw_field_get((enum mw_field)f);
            if (!mw_proc_has(&out, (enum mw_field)f) || f == MW_F_START_TIME)
                continue;
            if (fi->kind == MW_KIND_BYTES || fi->kind == MW_KIND_SECONDS)
                FUZZ_CHECK(out.v[f] >= 0);
        }
        if (out.path)
            FUZZ_CHECK(raw.path == NULL);
    }
    mw_proc_release(&out);
    mw_darwin_raw_release(&raw);
}

static void check_system(struct input *in)
{
    mw_darwin_sys_raw raw;
    mw_system out;
    const int64_t *v = &out.total;

    memset(&raw, 0, sizeof raw);
    raw.have_memsize = byte(in) & 1;
    take(in, &raw.memsize, sizeof raw.memsize);
    raw.have_vm = byte(in) & 1;
    take(in, &raw.vm, sizeof raw.vm);
    take(in, &raw.page_size, sizeof raw.page_size);
    raw.page_size %= 1u << 20;
    raw.have_swap = byte(in) & 1;
    take(in, &raw.swap, sizeof raw.swap);
    raw.have_pressure = byte(in) & 1;
    take(in, &raw.pressure, sizeof raw.pressure);
    memset(&out, 0, sizeof out);
    mw_darwin_system_from_raw(&raw, &out);
    for (int i = 0; i < 9; i++) /* total .. compressed */
        FUZZ_CHECK(v[i] >= 0);
}

static void check_ledger(struct input *in)
{
    struct ledger_template_info tmpl[8];
    struct ledger_entry_info ent[8];
    struct coalition_resource_usage cru;
    mw_darwin_timebase tb = {125, 3};
    size_t ntmpl = byte(in) % 9, nent = byte(in) % 9;
    mw_ledger l;
    int64_t fp;
    char key[32];
    uint64_t cid;

    take(in, tmpl, ntmpl * sizeof tmpl[0]);
    take(in, ent, nent * sizeof ent[0]);
    mw_ledger_init(&l);
    FUZZ_CHECK(mw_darwin_ledger_build(tmpl, ntmpl, ent, nent, &tb, &l) == 0);
    FUZZ_CHECK(l.count == (ntmpl < nent ? ntmpl : nent));
    for (size_t i = 0; i < l.count; i++) {
        FUZZ_CHECK(fuzz_terminated(l.rows[i].name, sizeof l.rows[i].name));
        FUZZ_CHECK(fuzz_terminated(l.rows[i].group, sizeof l.rows[i].group));
        FUZZ_CHECK(fuzz_terminated(l.rows[i].unit, sizeof l.rows[i].unit));
    }
    (void)mw_darwin_footprint_from_ledger(&l, &fp);
    mw_ledger_release(&l);

    take(in, &cru, sizeof cru);
    mw_ledger_init(&l);
    FUZZ_CHECK(mw_darwin_coalition_ledger(&cru, &tb, &l) == 0);
    for (size_t i = 0; i < l.count; i++)
        FUZZ_CHECK(l.rows[i].balance >= 0);
    mw_ledger_release(&l);

    take(in, &cid, sizeof cid);
    for (size_t len = 1; len <= sizeof key; len += 15) {
        int rc = mw_darwin_app_key_format(cid, key, len);
        FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -ERANGE);
        if (rc == 0)
            FUZZ_CHECK(strncmp(key, "coalition:", 10) == 0 && strlen(key) < len);
    }
}

static void check_time(struct input *in)
{
    mw_darwin_timebase tb;
    uint64_t a, b;

    take(in, &tb.numer, sizeof tb.numer);
    take(in, &tb.denom, sizeof tb.denom);
    take(in, &a, sizeof a);
    take(in, &b, sizeof b);
    if (tb.numer == 0 || tb.denom == 0)
        return;
    if (a > b) {
        uint64_t t = a;
        a = b;
        b = t;
    }
    /* Never negative, and monotonic: more ticks are never fewer ns. */
    FUZZ_CHECK(mw_darwin_mach_to_ns(&tb, a) >= 0);
    FUZZ_CHECK(mw_darwin_mach_to_ns(&tb, a) <= mw_darwin_mach_to_ns(&tb, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    uint8_t which = byte(&in);

    switch (which % 4) {
    case 0:
        check_proc(&in);
        break;
    case 1:
        check_system(&in);
        break;
    case 2:
        check_ledger(&in);
        break;
    default:
        check_time(&in);
        break;
    }
    return 0;
}
