/*
 * Recovering a program's full name from comm, the executable and the command
 * line. No I/O: the caller reads /proc/PID/exe and /proc/PID/cmdline.
 */
#include "backend/linux/fullname.h"

#include <string.h>

/* A borrowed piece of a buffer: not NUL-terminated. */
typedef struct span {
    const char *s;
    size_t n;
} span;

int mw_comm_truncated(const char *comm)
{
    return strnlen(comm, MW_COMM_MAX + 1) == MW_COMM_MAX;
}

static span basename_of(span p)
{
    size_t i = p.n;
    while (i > 0 && p.s[i - 1] != '/')
        i--;
    return (span){p.s + i, p.n - i};
}

static int starts_with(span s, const char *prefix, size_t plen)
{
    return s.n >= plen && memcmp(s.s, prefix, plen) == 0;
}

static int equals(span s, const char *word)
{
    size_t n = strlen(word);
    return s.n == n && memcmp(s.s, word, n) == 0;
}

/*
 * Programs that run a script named by their first plain argument. A version
 * suffix is allowed where distributions add one (python3.11, perl5.36,
 * ruby3.1, lua5.4, php8.2, pypy3).
 */
static int is_interpreter(span base)
{
    static const char *const versioned[] = {"python", "pypy", "perl", "ruby",
                                            "lua",    "php",  "tclsh"};
    static const char *const exact[] = {"node",    "nodejs", "java", "sh",   "bash",
                                        "dash",    "zsh",    "ksh",  "mksh", "fish",
                                        "Rscript", "luajit", "julia"};
    size_t i;

    for (i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        if (equals(base, exact[i]))
            return 1;
    }
    for (i = 0; i < sizeof versioned / sizeof versioned[0]; i++) {
        size_t n = strlen(versioned[i]), j;
        if (!starts_with(base, versioned[i], n))
            continue;
        for (j = n; j < base.n; j++) {
            if (!((base.s[j] >= '0' && base.s[j] <= '9') || base.s[j] == '.'))
                break;
        }
        if (j == base.n)
            return 1;
    }
    return 0;
}

/* The argument at *pos in argv, advancing *pos past it and its NUL. */
static int next_arg(const char *argv, size_t len, size_t *pos, span *out)
{
    const char *end;
    if (!argv || *pos >= len)
        return 0;
    end = memchr(argv + *pos, '\0', len - *pos);
    out->s = argv + *pos;
    out->n = end ? (size_t)(end - out->s) : len - *pos;
    *pos += out->n + 1;
    return 1;
}

/* Copy s into out, cut at a UTF-8 character boundary when it does not fit. */
static void copy_name(span s, char *out, size_t cap)
{
    size_t n = s.n;
    if (cap == 0)
        return;
    if (n >= cap) {
        n = cap - 1;
        /* Step back over continuation bytes so no character is split. */
        while (n > 0 && ((unsigned char)s.s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, s.s, n);
    out[n] = '\0';
}

int mw_full_name(const char *comm, const char *exe, const char *argv, size_t argv_len, char *out,
                 size_t cap)
{
    static const char deleted[] = " (deleted)";
    size_t clen = strnlen(comm, MW_COMM_MAX + 1), pos = 0;
    span cand[3], arg0 = {NULL, 0}, exe_base = {NULL, 0}, a;
    int ncand = 0, i;

    if (clen == MW_COMM_MAX) {
        if (exe && *exe) {
            span e = {exe, strlen(exe)};
            /* The kernel marks an executable replaced or removed since exec. */
            if (e.n > sizeof deleted - 1 &&
                memcmp(e.s + e.n - (sizeof deleted - 1), deleted, sizeof deleted - 1) == 0)
                e.n -= sizeof deleted - 1;
            exe_base = basename_of(e);
            cand[ncand++] = exe_base;
        }
        if (next_arg(argv, argv_len, &pos, &a) && a.n > 0) {
            arg0 = basename_of(a);
            cand[ncand++] = arg0;
        }
        if ((exe_base.n && is_interpreter(exe_base)) || (arg0.n && is_interpreter(arg0))) {
            while (next_arg(argv, argv_len, &pos, &a)) {
                if (a.n > 0 && a.s[0] != '-') {
                    cand[ncand++] = basename_of(a);
                    break;
                }
            }
        }
        for (i = 0; i < ncand; i++) {
            if (cand[i].n > clen && starts_with(cand[i], comm, clen)) {
                copy_name(cand[i], out, cap);
                return 1;
            }
        }
    }
    copy_name((span){comm, strlen(comm)}, out, cap);
    return 0;
}
