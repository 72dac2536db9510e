/* Loading and reading the task iterator: see loader.h. */
#include "backend/linux/bpf/loader.h"

#include "memwatch/alloc.h"
#include "memwatch/memwatch.h"

#include "task_iter.skel.h"
#include "task_walk.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define CAP_BPF_BIT     39
#define CAP_PERFMON_BIT 38
#define BTF_PATH        "/sys/kernel/btf/vmlinux"

/* The walker's array holds records for at least this many tasks, and
 * half again as many as there are when it is made (it is made again,
 * bigger, when a pass finds more). */
#define WALK_MIN_CAPACITY 1024u

struct mw_bpf_loader {
    const mw_sys *sys;
    /* One of the two programs is loaded: the walker where the kernel has
     * the open-coded task iterator, else the task iterator. */
    struct mw_task_walk *walk;
    struct mw_task_iter *iter;
    struct bpf_link *link;
    /* The walker's records as mapped, room for capacity of them. */
    struct mw_bpf_rec *mapped;
    uint32_t capacity;
    /* The iterator's records as read. */
    char *buf;
    size_t cap;
    int sum_percpu;
    unsigned nr_cpus;
    char counters[160];
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

/* MEMWATCH_BPF_PROGRAM=iterator|walker picks one (for tests and for telling
 * the two apart); unset or anything else, the best that loads. */
static const char *program_asked(void)
{
    const char *p = getenv("MEMWATCH_BPF_PROGRAM");
    return p && (strcmp(p, "iterator") == 0 || strcmp(p, "walker") == 0) ? p : NULL;
}

/* Room for the tasks there are now and half as many again: their count
 * is /proc/loadavg's fourth field's second number (running/total). */
static uint32_t first_capacity(const mw_sys *sys)
{
    char buf[128];
    unsigned long total = 0;
    ssize_t n;
    const char *slash;
    int fd = mw_sys_openat(sys, AT_FDCWD, "/proc/loadavg", O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        n = sys->read(fd, buf, sizeof buf - 1);
        sys->close(fd);
        if (n > 0) {
            buf[n] = '\0';
            if ((slash = strchr(buf, '/')) != NULL)
                total = strtoul(slash + 1, NULL, 10);
        }
    }
    if (total > (1ul << 24))
        total = 1ul << 24;
    total += total / 2;
    return total > WALK_MIN_CAPACITY ? (uint32_t)total : WALK_MIN_CAPACITY;
}

static void drop_programs(mw_bpf_loader *l)
{
    bpf_link__destroy(l->link);
    l->link = NULL;
    if (l->mapped)
        munmap(l->mapped, (size_t)l->capacity * sizeof *l->mapped);
    l->mapped = NULL;
    l->capacity = 0;
    mw_task_walk__destroy(l->walk);
    l->walk = NULL;
    mw_task_iter__destroy(l->iter);
    l->iter = NULL;
}

/* What memwatch.sampler() says of the loaded program. */
static void set_counters(mw_bpf_loader *l)
{
    snprintf(l->counters, sizeof l->counters, "%s; %s",
             l->sum_percpu ? "rss counters summed over CPUs, as /proc does from 6.16"
                           : "rss counters' central counts, as /proc reads them before 6.16",
             l->walk ? "task walker" : "task iterator");
}

/* The step before a load that a test may make fail (mw_sys). */
static int may_load(mw_bpf_loader *l, struct bpf_object *obj)
{
    int rc = l->sys->bpf_object_load ? l->sys->bpf_object_load(obj) : 0;
    return rc < 0 ? rc : 0;
}

/* The walker with room for capacity records, attached to an iterator that
 * visits memwatch's own process only (Linux 6.1 on). */
static int load_walker(mw_bpf_loader *l, uint32_t capacity, char *why, size_t whylen)
{
    union bpf_iter_link_info info;
    LIBBPF_OPTS(bpf_iter_attach_opts, opts);
    void *m;
    int rc;

    if (!(l->walk = mw_task_walk__open())) {
        rc = -errno;
        return set_why(why, whylen, rc, "cannot open the BPF program: %s", strerror(-rc));
    }
    l->walk->rodata->sum_percpu = (unsigned)l->sum_percpu;
    l->walk->rodata->nr_cpus = l->nr_cpus;
    if ((rc = bpf_map__set_max_entries(l->walk->maps.records, capacity)) < 0 ||
        (rc = may_load(l, l->walk->obj)) < 0 || (rc = mw_task_walk__load(l->walk)) < 0)
        return set_why(why, whylen, rc, "the kernel refused the BPF program: %s",
                       last_message[0] ? last_message : strerror(-rc));
    memset(&info, 0, sizeof info);
    info.task.pid = (__u32)getpid();
    opts.link_info = &info;
    opts.link_info_len = sizeof info;
    if (!(l->link = bpf_program__attach_iter(l->walk->progs.memwatch_walk, &opts))) {
        rc = -errno;
        return set_why(why, whylen, rc, "cannot attach the task walker: %s", strerror(-rc));
    }
    m = mmap(NULL, (size_t)capacity * sizeof *l->mapped, PROT_READ, MAP_SHARED,
             bpf_map__fd(l->walk->maps.records), 0);
    if (m == MAP_FAILED) {
        rc = -errno;
        return set_why(why, whylen, rc, "cannot map the walker's records: %s", strerror(-rc));
    }
    l->mapped = m;
    l->capacity = capacity;
    return 0;
}

static int load_iterator(mw_bpf_loader *l, char *why, size_t whylen)
{
    int rc;

    if (!(l->iter = mw_task_iter__open())) {
        rc = -errno;
        return set_why(why, whylen, rc, "cannot open the BPF program: %s", strerror(-rc));
    }
    l->iter->rodata->sum_percpu = (unsigned)l->sum_percpu;
    l->iter->rodata->nr_cpus = l->nr_cpus;
    if ((rc = may_load(l, l->iter->obj)) < 0 || (rc = mw_task_iter__load(l->iter)) < 0)
        return set_why(why, whylen, rc, "the kernel refused the BPF program: %s",
                       last_message[0] ? last_message : strerror(-rc));
    if (!(l->link = bpf_program__attach_iter(l->iter->progs.memwatch_tasks, NULL))) {
        rc = -errno;
        return set_why(why, whylen, rc, "cannot attach the task iterator: %s", strerror(-rc));
    }
    return 0;
}

int mw_bpf_load(const mw_sys *sys, mw_bpf_loader **out, char *why, size_t whylen)
{
    return mw_bpf_load_sized(sys, 0, out, why, whylen);
}

int mw_bpf_load_sized(const mw_sys *sys, uint32_t capacity, mw_bpf_loader **out, char *why,
                      size_t whylen)
{
    const char *asked = program_asked();
    libbpf_print_fn_t old;
    char walker_why[160] = "";
    mw_bpf_loader *l;
    int rc, sum_percpu = 0;

    *out = NULL;
    if ((rc = checks(sys, &sum_percpu, why, whylen)) < 0)
        return rc;
    if (!(l = mw_calloc(1, sizeof *l)))
        return set_why(why, whylen, -ENOMEM, "out of memory");
    l->sys = sys;
    l->sum_percpu = sum_percpu;
    rc = libbpf_num_possible_cpus();
    l->nr_cpus = rc > 0 ? (unsigned)rc : 1;
    last_message[0] = '\0';
    old = libbpf_set_print(keep_message);
    rc = -ENOSYS;
    /* The walker first, unless the iterator was asked for: on a kernel
     * without the open-coded task iterator libbpf refuses it at once (its
     * kfuncs are not in the kernel's BTF), before the verifier runs. */
    if (!asked || strcmp(asked, "walker") == 0) {
        rc = load_walker(l, capacity ? capacity : first_capacity(sys), walker_why,
                         sizeof walker_why);
        if (rc < 0)
            drop_programs(l);
    }
    /* The task iterator where the walker cannot be, unless the walker was
     * asked for by name. */
    if (rc < 0 && !(asked && strcmp(asked, "walker") == 0)) {
        last_message[0] = '\0';
        rc = load_iterator(l, why, whylen);
    } else if (rc < 0) {
        snprintf(why, whylen, "%s", walker_why[0] ? walker_why : "the kernel has no task walker");
    }
    libbpf_set_print(old);
    if (rc < 0) {
        mw_bpf_unload(l);
        return rc;
    }
    set_counters(l);
    *out = l;
    return 0;
}

/* Hand the filter to the loaded program, before its pass. */
static void set_filter(mw_bpf_loader *l, const mw_bpf_filter *f)
{
    static const mw_bpf_filter none;
    if (!f)
        f = &none;
    if (l->walk) {
        l->walk->bss->want_flags = f->flags;
        l->walk->bss->want_uid = f->uid;
        memcpy(l->walk->bss->want_comm, f->comm, sizeof f->comm);
    } else {
        l->iter->bss->want_flags = f->flags;
        l->iter->bss->want_uid = f->uid;
        memcpy(l->iter->bss->want_comm, f->comm, sizeof f->comm);
    }
}

/* Run the program once: one iterator, read to its end into l->buf (the
 * walker writes nothing there). */
static int run_once(mw_bpf_loader *l, size_t *len)
{
    int fd = bpf_iter_create(bpf_link__fd(l->link)), rc = 0;
    size_t used = 0;

    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n;
        if (l->cap - used < 4096) {
            char *bigger = mw_grow(l->buf, &l->cap, l->cap + 4096, 1, (size_t)64 * 1024);
            if (!bigger) {
                rc = -ENOMEM;
                break;
            }
            l->buf = bigger;
        }
        /* Each read gives what the kernel's buffer holds (a few pages at
         * most), never a record cut in two; 0 is the end of the pass. */
        n = l->sys->read(fd, l->buf + used, l->cap - used);
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

int mw_bpf_pass(mw_bpf_loader *l, const mw_bpf_filter *f, const void **recs, size_t *len)
{
    int rc;

    *recs = NULL;
    *len = 0;
    if (!l->link)
        return -ENOTCONN; /* a walker that could not be made bigger */
    set_filter(l, f);
    if ((rc = run_once(l, len)) < 0)
        return rc;
    if (!l->walk) {
        *recs = l->buf;
        return 0;
    }
    if (l->walk->bss->lost) {
        /* More tasks than room: a bigger array, and the pass again; where
         * none can be made, the task iterator from now on. */
        uint64_t want = 2 * ((uint64_t)l->walk->bss->written + l->walk->bss->lost);
        char why[160];
        drop_programs(l);
        last_message[0] = '\0';
        rc = want > INT32_MAX / sizeof(struct mw_bpf_rec)
                 ? -E2BIG
                 : load_walker(l, (uint32_t)want, why, sizeof why);
        if (rc < 0) {
            drop_programs(l);
            if ((rc = load_iterator(l, why, sizeof why)) < 0) {
                drop_programs(l);
                return rc;
            }
            set_counters(l);
        }
        return mw_bpf_pass(l, f, recs, len);
    }
    *recs = l->mapped;
    *len = (size_t)l->walk->bss->written * sizeof *l->mapped;
    return 0;
}

const char *mw_bpf_counters(const mw_bpf_loader *l)
{
    return l->counters;
}

int mw_bpf_is_walker(const mw_bpf_loader *l)
{
    return l->walk != NULL;
}

void mw_bpf_unload(mw_bpf_loader *l)
{
    if (!l)
        return;
    drop_programs(l);
    mw_free(l->buf);
    mw_free(l);
}
