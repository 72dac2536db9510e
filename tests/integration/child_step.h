/*
 * The memory-kinds child's protocol, shared by the tests that drive it
 * (test_memkinds.c, test_bpf_equal.c): one step name per line to its stdin,
 * one answer line back. Fails the current cmocka test when the child does
 * not answer within 30 s or exits.
 */
#ifndef MW_TESTS_CHILD_STEP_H
#define MW_TESTS_CHILD_STEP_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline void child_step(int to, int from, const char *step, char *reply, size_t len)
{
    char line[128];
    size_t n = 0;
    int len_line = snprintf(line, sizeof line, "%s\n", step);

    if (write(to, line, (size_t)len_line) != len_line)
        fail_msg("%s: writing to the child: %s", step, strerror(errno));
    for (;;) {
        struct pollfd pfd = {from, POLLIN, 0};
        char c;
        ssize_t r;

        if (poll(&pfd, 1, 30000) == 0)
            fail_msg("%s: the child did not answer within 30 s", step);
        r = read(from, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            fail_msg("%s: the child exited", step);
        if (c == '\n')
            break;
        if (n + 1 < len)
            reply[n++] = c;
    }
    reply[n] = '\0';
}

#endif
