/*
 * OOM-kill evidence parsers (src/backend/linux/oom.c): flat keyed counters
 * (/proc/vmstat, memory.events) and /dev/kmsg records of the OOM killer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "backend/linux/oom.h"
#include "memwatch/memwatch.h"

/* An exact-length heap copy of text (no NUL after it), so ASan reports any
 * read past its length; *n is that length. */
static char *exact(const char *text, size_t *n)
{
    char *b;
    *n = strlen(text);
    b = malloc(*n ? *n : 1);
    assert_non_null(b);
    memcpy(b, text, *n);
    return b;
}

static int flat(const char *text, const char *key, int64_t *v)
{
    size_t n;
    char *b = exact(text, &n);
    int rc = mw_parse_flat_keyed(b, n, key, v);
    free(b);
    return rc;
}

static int kmsg(const char *text, mw_kmsg_oom *o)
{
    size_t n;
    char *b = exact(text, &n);
    int rc = mw_parse_kmsg_oom(b, n, o);
    free(b);
    return rc;
}

static void test_flat_keyed(void **state)
{
    int64_t v = -1;
    (void)state;
    assert_int_equal(flat("nr_free_pages 1234\noom_kill 3\npgfault 99\n", "oom_kill", &v), 0);
    assert_int_equal(v, 3);
    /* memory.events, last line without a newline */
    assert_int_equal(flat("low 0\nhigh 0\nmax 12\noom 2\noom_kill 1", "oom_kill", &v), 0);
    assert_int_equal(v, 1);
    /* "oom" is not "oom_kill", nor "oom_kill_disable" */
    assert_int_equal(flat("oom 2\noom_kill_disable 0\n", "oom_kill", &v), MW_EPARSE);
    assert_int_equal(flat("oom_kill x\n", "oom_kill", &v), MW_EPARSE);
    assert_int_equal(flat("oom_kill 99999999999999999999\n", "oom_kill", &v), MW_EPARSE);
    assert_int_equal(flat("", "oom_kill", &v), MW_EPARSE);
}

static void test_kmsg_global_and_memcg(void **state)
{
    mw_kmsg_oom o;
    (void)state;
    assert_int_equal(kmsg("3,1842,912345678,-;Out of memory: Killed process 4242 (leaky-service) "
                          "total-vm:2105432kB, anon-rss:1998000kB, file-rss:1024kB, "
                          "shmem-rss:0kB, UID:1000 pgtables:4032kB oom_score_adj:0\n",
                          &o),
                     0);
    assert_int_equal(o.pid, 4242);
    assert_int_equal(o.seq, 1842);
    assert_int_equal(o.usec, 912345678);
    assert_string_equal(o.comm, "leaky-service");
    assert_int_equal(kmsg("3,77,100,-,caller=T12;Memory cgroup out of memory: Killed process 99 "
                          "(a) b) total-vm:1kB\n SUBSYSTEM=x\n",
                          &o),
                     0);
    assert_int_equal(o.pid, 99);
    assert_string_equal(o.comm, "a) b");
}

static void test_kmsg_other_records(void **state)
{
    mw_kmsg_oom o;
    (void)state;
    assert_int_equal(
        kmsg("6,1,2,-;oom_reaper: reaped process 4242 (leaky), now anon-rss:0kB\n", &o), MW_EPARSE);
    assert_int_equal(kmsg("4,5,6,-;leaky invoked oom-killer: gfp_mask=0x140cca\n", &o), MW_EPARSE);
    assert_int_equal(kmsg("6,1,2,-;Killed process 12 (x)\n", &o),
                     MW_EPARSE); /* not the OOM killer */
    assert_int_equal(kmsg("3,1,2,-;Out of memory: Killed process 0 (x)\n", &o), MW_EPARSE);
    assert_int_equal(kmsg("3,1,2,-;Out of memory: Killed process x\n", &o), MW_EPARSE);
    assert_int_equal(kmsg("no prefix; Out of memory: Killed process 5 (x)", &o), MW_EPARSE);
    assert_int_equal(kmsg("3,1,2", &o), MW_EPARSE);
    assert_int_equal(kmsg("", &o), MW_EPARSE);
}

static int seq_of(const char *text, uint64_t *seq)
{
    size_t n;
    char *b = exact(text, &n);
    int rc = mw_parse_kmsg_seq(b, n, seq);
    free(b);
    return rc;
}

static void test_kmsg_seq(void **state)
{
    uint64_t seq = 0;
    (void)state;
    assert_int_equal(seq_of("6,418,2805389573,-;oom-kill:constraint=CONSTRAINT_MEMCG\n", &seq), 0);
    assert_int_equal(seq, 418);
    assert_int_equal(seq_of("5,0,0,-;Linux version", &seq), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(seq_of("4,12;short prefix", &seq), 0);
    assert_int_equal(seq, 12);
    assert_int_equal(seq_of("4,12", &seq), MW_EPARSE);
    assert_int_equal(seq_of("4,x,1,-;m", &seq), MW_EPARSE);
    assert_int_equal(seq_of(" SUBSYSTEM=x", &seq), MW_EPARSE);
    assert_int_equal(seq_of("", &seq), MW_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_keyed),
        cmocka_unit_test(test_kmsg_global_and_memcg),
        cmocka_unit_test(test_kmsg_other_records),
        cmocka_unit_test(test_kmsg_seq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
