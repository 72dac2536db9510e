/*
 * The full-name chooser of the Linux backend (src/backend/linux/fullname.c):
 * comm at the 15-byte limit, recovered from the executable, argv[0] or an
 * interpreter's script; kept when nothing starts with it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "backend/linux/fullname.h"

/* cmdline as the kernel gives it: NUL-separated, with a trailing NUL. */
#define ARGV(lit) lit, sizeof(lit) - 1

static const char *choose(const char *comm, const char *exe, const char *argv, size_t len)
{
    static char out[64];
    /* An exact heap copy, so ASan sees any read past len. */
    char *copy = len ? malloc(len) : NULL;
    if (len) {
        assert_non_null(copy);
        memcpy(copy, argv, len);
    }
    memset(out, 'x', sizeof out);
    mw_full_name(comm, exe, copy, len, out, sizeof out);
    free(copy);
    return out;
}

static void test_short_comm_is_the_name(void **state)
{
    (void)state;
    assert_false(mw_comm_truncated("sshd"));
    assert_string_equal(choose("sshd", "/usr/sbin/sshd-other", ARGV("/usr/sbin/sshdX\0")), "sshd");
    assert_int_equal(mw_full_name("bash", NULL, NULL, 0, (char[16]){0}, 16), 0);
}

static void test_from_executable(void **state)
{
    (void)state;
    assert_true(mw_comm_truncated("my-leaky-servic"));
    assert_string_equal(choose("my-leaky-servic", "/opt/app/my-leaky-service-long", NULL, 0),
                        "my-leaky-service-long");
    /* An executable replaced on disk since exec keeps its name. */
    assert_string_equal(
        choose("my-leaky-servic", "/opt/app/my-leaky-service-long (deleted)", ARGV("x\0")),
        "my-leaky-service-long");
}

static void test_from_argv0_when_exe_unreadable(void **state)
{
    (void)state;
    assert_string_equal(choose("my-leaky-servic", NULL,
                               ARGV("/opt/app/my-leaky-service-long\0--port\0"
                                    "80\0")),
                        "my-leaky-service-long");
    /* Not NUL-terminated: the last argument ends at len. */
    assert_string_equal(choose("my-leaky-servic", NULL, "./my-leaky-service-long", 23),
                        "my-leaky-service-long");
}

static void test_interpreter_script(void **state)
{
    (void)state;
    /* A script run through its #! line: comm is the script's name. */
    assert_string_equal(choose("my-long-worker-", "/usr/bin/python3.11",
                               ARGV("/usr/bin/python3\0-u\0/srv/my-long-worker-job.py\0-v\0")),
                        "my-long-worker-job.py");
    assert_string_equal(choose("nightly-backup-", "/usr/bin/bash",
                               ARGV("/bin/bash\0/usr/local/bin/nightly-backup-all\0")),
                        "nightly-backup-all");
    assert_string_equal(choose("inventory-servi", "/usr/bin/node",
                               ARGV("node\0--max-old-space-size=512\0inventory-service.js\0")),
                        "inventory-service.js");
    /* Not an interpreter: its first argument is never taken. */
    assert_string_equal(
        choose("data-processor-", "/usr/bin/env", ARGV("env\0data-processor-long\0")),
        "data-processor-");
}

static void test_renamed_thread_keeps_comm(void **state)
{
    (void)state;
    /* Firefox names its content processes; nothing starts with that name. */
    assert_string_equal(choose("Isolated Web Co", "/usr/lib/firefox-esr/firefox-esr",
                               ARGV("/usr/lib/firefox-esr/firefox-esr\0-contentproc\0-childID\0")),
                        "Isolated Web Co");
    assert_string_equal(choose("Isolated Web Co", NULL, NULL, 0), "Isolated Web Co");
}

static void test_first_candidate_wins(void **state)
{
    (void)state;
    assert_string_equal(
        choose("abcdefghijklmno", "/bin/abcdefghijklmnop-exe", ARGV("abcdefghijklmnop-argv0\0")),
        "abcdefghijklmnop-exe");
    /* An empty argv[0] or cmdline is no candidate. */
    assert_string_equal(choose("abcdefghijklmno", NULL, ARGV("\0")), "abcdefghijklmno");
}

static void test_long_name_cut_at_character(void **state)
{
    char out[20];
    (void)state;
    /* 15 bytes of comm, then two-byte characters: the cut never splits one. */
    mw_full_name("abcdefghijklmno", "/x/abcdefghijklmno\xc3\xa9\xc3\xa9\xc3\xa9", NULL, 0, out,
                 sizeof out);
    assert_string_equal(out, "abcdefghijklmno\xc3\xa9\xc3\xa9");
    mw_full_name("abcdefghijklmno", "/x/abcdefghijklmnopqr\xc3\xa9", NULL, 0, out, sizeof out);
    assert_string_equal(out, "abcdefghijklmnopqr");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_comm_is_the_name),
        cmocka_unit_test(test_from_executable),
        cmocka_unit_test(test_from_argv0_when_exe_unreadable),
        cmocka_unit_test(test_interpreter_script),
        cmocka_unit_test(test_renamed_thread_keeps_comm),
        cmocka_unit_test(test_first_candidate_wins),
        cmocka_unit_test(test_long_name_cut_at_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
