/* Loading and reading the task iterator: see loader.h. */
#include "backend/linux/bpf/loader.h"

#include "memwatch/alloc.h"
#include "memwatch/memwatch.h"

#include "task_iter.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define CAP_BPF_BIT     39
#define CAP_PERFMON_BIT 38
#define BTF_PATH        "/sys/kernel/btf/vmlinux"

struct mw_bpf_loader {
    const mw_sys *sys;
    struct mw_task_iter *skel;
    struct bpf_link *link;
    int sum_percpu;
    char counters[96];
};

/* libbpf's last message line: the verifier's verdict when a load fails.
 * libbpf prints through one process-wide hook; it is ours while we load. */
static char last_message[256];

static int keep_message(enum libbpf_print_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static int keep_message(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    char line[sizeof last_message];
    size_t n;

    if (level == LIBBPF_DEBUG)
        return 0;
    vsnprintf(line, sizeof line, fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
        line[--n] = '\0';
    /* The verifier's log ends with its statistics; the line before says why. */
    if (n > 0 && strncmp(line, "processed ", 10) != 0 && strncmp(line, "-- END", 6) != 0)
        memcpy(last_message, line, n + 1);
    return 0;
}

static int set_why(char *why, size_t len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int set_why(char *why, size_t len, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return rc;
}

/* Root, or CAP_BPF with CAP_PERFMON (CAP_SYS_ADMIN stands for both). */
static int privileged(void)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    uint64_t eff;

    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &hdr, data) != 0)
        return geteuid() == 0;
    eff = (uint64_t)data[1].effective << 32 | data[0].effective;
    if (eff & ((uint64_t)1 << CAP_SYS_ADMIN))
        return 1;
    return (eff & ((uint64_t)1 << CAP_BPF_BIT)) && (eff & ((uint64_t)1 << CAP_PERFMON_BIT));
}

/* The running kernel's major.minor, or 0.0 when unknown. */
static void kernel_version(int *major, int *minor, char *release, size_t len)
{
    struct utsname u;
    char *end;
    long a, b;

    *major = *minor = 0;
    release[0] = '\0';
    if (uname(&u) != 0)
        return;
    snprintf(release, len, "%s", u.release);
    a = strtol(u.release, &end, 10);
    if (*end != '.')
        return;
    b = strtol(end + 1, &end, 10);
    if (a > 0 && a < 1000 && b >= 0 && b < 1000) {
        *major = (int)a;
        *minor = (int)b;
    }
}

static int checks(const mw_sys *sys, int *sum_percpu, char *why, size_t whylen)
{
    int major, minor, fd;
    char release[65];

    if (!privileged())
        return set_why(why, whylen, -EPERM, "not root, and without CAP_BPF and CAP_PERFMON");
    kernel_version(&major, &minor, release, sizeof release);
    if (major && (major < 5 || (major == 5 && minor < 8)))
        return set_why(why, whylen, -ENOSYS, "kernel %s is older than 5.8 (BPF task iterators)",
                       release);
    fd = mw_sys_openat(sys, AT_FDCWD, BTF_PATH, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        return set_why(why, whylen, rc, "no kernel BTF (%s: %s)", BTF_PATH, strerror(-rc));
    }
    sys->close(fd);
    /* /proc/PID/status sums the per-cpu parts of the rss counters from 6.16
     * (get_mm_counter_sum); before, it reads their central count. */
    *sum_percpu = major > 6 || (major == 6 && minor >= 16);
    return 0;
}

int mw_bpf_load(const mw_sys *sys, mw_bpf_loader **out, char *why, size_t whylen)
{
    libbpf_print_fn_t old;
    mw_bpf_loader *l;
    int rc, sum_percpu = 0;

    *out = NULL;
    if ((rc = checks(sys, &sum_percpu, why, whylen)) < 0)
        return rc;
    if (!(l = mw_calloc(1, sizeof *l)))
        return set_why(why, whylen, -ENOMEM, "out of memory");
    l->sys = sys;
    l->sum_percpu = sum_percpu;
    snprintf(l->counters, sizeof l->counters, "%s",
             sum_percpu ? "rss counters summed over CPUs, as /proc does from 6.16"
                        : "rss counters' central counts, as /proc reads them before 6.16");
    last_message[0] = '\0';
    old = libbpf_set_print(keep_message);
    l->skel = mw_task_iter__open();
    if (!l->skel) {
        rc = -errno;
        set_why(why, whylen, rc, "cannot open the BPF program: %s", strerror(-rc));
        goto fail;
    }
    l->skel->rodata->sum_percpu = (unsigned)sum_percpu;
    rc = libbpf_num_possible_cpus();
    l->skel->rodata->nr_cpus = rc > 0 ? (unsigned)rc : 1;
    rc = sys->bpf_object_load ? sys->bpf_object_load(l->skel->obj) : bpf_object__load(l->skel->obj);
    if (rc < 0) {
        set_why(why, whylen, rc, "the kernel refused the BPF program: %s",
                last_message[0] ? last_message : strerror(-rc));
        goto fail;
    }
    l->link = bpf_program__attach_iter(l->skel->progs.memwatch_tasks, NULL);
    if (!l->link) {
        rc = -errno;
        set_why(why, whylen, rc, "cannot attach the task iterator: %s", strerror(-rc));
        goto fail;
    }
    libbpf_set_print(old);
    *out = l;
    return 0;
fail:
    libbpf_set_print(old);
    mw_bpf_unload(l);
    return rc < 0 ? rc : -EINVAL;
}

int mw_bpf_pass(mw_bpf_loader *l, char **buf, size_t *cap, size_t *len)
{
    int fd = bpf_iter_create(bpf_link__fd(l->link)), rc = 0;
    size_t used = 0;

    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n;
        if (*cap - used < 4096) {
            size_t want = *cap ? *cap * 2 : (size_t)64 * 1024;
            char *bigger = mw_realloc(*buf, want);
            if (!bigger) {
                rc = -ENOMEM;
                break;
            }
            *buf = bigger;
            *cap = want;
        }
        /* Each read gives what the kernel's buffer holds (a few pages at
         * most), never a record cut in two; 0 is the end of the pass. */
        n = l->sys->read(fd, *buf + used, *cap - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    l->sys->close(fd);
    *len = used;
    return rc;
}

const char *mw_bpf_counters(const mw_bpf_loader *l)
{
    return l->counters;
}

void mw_bpf_unload(mw_bpf_loader *l)
{
    if (!l)
        return;
    bpf_link__destroy(l->link);
    mw_task_iter__destroy(l->skel);
    mw_free(l);
}
