/*
 * A process's name as its users know it. Linux keeps only the first 15 bytes
 * of a program's name (TASK_COMM_LEN is 16 with the NUL; see
 * include/linux/sched.h and proc(5) on /proc/PID/comm), so "my-leaky-service"
 * shows as "my-leaky-servic". When comm is that long, the full name is
 * recovered from what else /proc says of the process: pure logic here, the
 * reads in backend.c.
 */
#ifndef MEMWATCH_LINUX_FULLNAME_H
#define MEMWATCH_LINUX_FULLNAME_H

#include <stddef.h>

/* The longest comm the kernel keeps, in bytes. */
#define MW_COMM_MAX 15

/*
 * Is comm at the kernel's limit, so that it may be the start of a longer name?
 * Only then is the full name worth the extra reads.
 */
int mw_comm_truncated(const char *comm);

/*
 * Choose the full name of a process whose comm is comm. Candidates, in order:
 * the basename of exe (the /proc/PID/exe target, " (deleted)" stripped; NULL
 * when unreadable), the basename of argv[0], and, when the executable or
 * argv[0] is an interpreter (python, perl, ruby, node, java, a shell, ...),
 * the basename of its script: the first argument that is not an option. The
 * first candidate that starts with comm wins; when none does (a program that
 * renamed itself, such as Firefox's "Isolated Web Co"), comm is kept.
 *
 * argv is /proc/PID/cmdline as read: arguments separated by NUL bytes, argv_len
 * bytes long, not necessarily NUL-terminated (NULL or 0 when unknown). The name
 * is written to out (cap bytes, always NUL-terminated, cut at a UTF-8 character
 * boundary when it does not fit). Returns 1 when a longer name was chosen, 0
 * when comm was kept.
 */
int mw_full_name(const char *comm, const char *exe, const char *argv, size_t argv_len, char *out,
                 size_t cap);

#endif
