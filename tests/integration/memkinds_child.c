/*
 * memkinds_child: makes one kind of memory at a time, on command, so that a
 * parent can read this process's /proc counters before and after each step
 * (tests/integration/test_memkinds.c; the kinds are the rows of the memory
 * table in the article "Activity Monitor Anatomy", D. Bazhenov,
 * https://www.bazhenov.me/posts/activity-monitor-anatomy).
 *
 * Protocol: the parent writes one step name per line on stdin; the child
 * performs the step (touching every page it makes, one byte per page) and
 * answers on stdout with one line:
 *     ok [detail]       done
 *     skip <reason>     this machine cannot make that kind of memory
 *     err <reason>      the step failed
 * "quit" (or end of input) exits with status 0.
 *
 *     memkinds_child [DIR[:DIR...]]
 *
 * The directories are candidates for the temporary file behind the file
 * mappings; the first one on a disk file system is used. A tmpfs or ramfs
 * directory would make the "file" pages shmem (RssShmem, counted in the
 * footprint) and test nothing about file mappings.
 *
 * This program is built without sanitizers and does not use stdio for its
 * protocol: ASan's shadow memory and quarantine, or a stdio buffer allocated
 * mid-step, would show up in the very counters the parent measures.
 */
#include <errno.h>
#include <alloca.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
/* Size of every kind but the stack: large, so that a few MiB of noise (proc.rst
 * warns that the status counters may be imprecise on SMP) stay small against
 * the signal. */
#define KIND_SIZE (64 * MIB)
/* The stack row: 4 MiB in a thread whose stack is 8 MiB, the usual
 * `ulimit -s`; 8 MiB of alloca crashed the main thread (observed, Debian 12). */
#define STACK_SIZE        (4 * MIB)
#define THREAD_STACK_SIZE (8 * MIB)

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC 0x858458f6
#endif

static size_t page_size;
static volatile unsigned char sink; /* keeps page reads from being optimized away */

/* ---- replies ------------------------------------------------------------ */

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void reply(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;
    size_t off = 0;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof line - 2)
        n = (int)(sizeof line - 2);
    line[n++] = '\n';
    while (off < (size_t)n) {
        ssize_t w = write(STDOUT_FILENO, line + off, (size_t)n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(3);
        off += (size_t)w;
    }
}

/* ---- touching pages ------------------------------------------------------ */

static void touch_write(void *mem, size_t len, unsigned char value)
{
    volatile unsigned char *p = mem;
    size_t i;

    for (i = 0; i < len; i += page_size)
        p[i] = value;
}

static void touch_read(const void *mem, size_t len)
{
    const volatile unsigned char *p = mem;
    unsigned char acc = 0;
    size_t i;

    for (i = 0; i < len; i += page_size)
        acc ^= p[i];
    sink = acc;
}

static void *map_anon(size_t len, int flags)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* ---- heap -------------------------------------------------------------- */

static unsigned char *heap;

static void heap_alloc(void)
{
    /* glibc serves requests above M_MMAP_THRESHOLD (at most 32 MiB on 64-bit)
     * with their own mmap, and free() gives them back with munmap. */
    heap = malloc(KIND_SIZE);
    if (!heap) {
        reply("err malloc: %s", strerror(errno));
        return;
    }
    touch_write(heap, KIND_SIZE, 1);
    reply("ok");
}

static void heap_free(void)
{
    free(heap);
    heap = NULL;
    reply("ok");
}

/* ---- the brk heap and the main thread's stack (the [heap] and [stack]
 * regions of smaps, for tests/integration/test_memkinds_regions.lua) ------- */

static char *brk_start;

/* sbrk directly: malloc only uses brk for small requests, and the [heap]
 * region is where a program's many small allocations end up. */
static void brk_grow(void)
{
    void *p = sbrk((intptr_t)KIND_SIZE);
    if (p == (void *)-1) {
        reply("err sbrk: %s", strerror(errno));
        return;
    }
    brk_start = p;
    touch_write(brk_start, KIND_SIZE, 1);
    reply("ok");
}

static void brk_shrink(void)
{
    if (!brk_start || sbrk(-(intptr_t)KIND_SIZE) == (void *)-1) {
        reply("err sbrk: %s", brk_start ? strerror(errno) : "nothing to shrink");
        return;
    }
    brk_start = NULL;
    reply("ok");
}

/* 1 MiB of the main thread's stack touched; the pages stay after return. */
static __attribute__((noinline)) void main_stack_touch(void)
{
    size_t n = MIB;
    unsigned char *p = alloca(n);
    touch_write(p, n, 1);
    sink = p[n / 2];
    reply("ok");
}

/* ---- stack: a thread that grows its stack, then parks ---------------------- */

enum stack_phase { STACK_NONE, STACK_GROWN, STACK_RETURNED, STACK_DONE };

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum stack_phase phase;   /* where the thread is */
    enum stack_phase release; /* how far the main thread lets it go */
    int running;
} stk = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* Tell the main thread we reached phase, then wait until it lets us past. */
static void stack_park(enum stack_phase phase)
{
    pthread_mutex_lock(&stk.lock);
    stk.phase = phase;
    pthread_cond_broadcast(&stk.cond);
    while (stk.release < phase + 1)
        pthread_cond_wait(&stk.cond, &stk.lock);
    pthread_mutex_unlock(&stk.lock);
}

static void stack_wait(enum stack_phase phase)
{
    pthread_mutex_lock(&stk.lock);
    while (stk.phase < phase)
        pthread_cond_wait(&stk.cond, &stk.lock);
    pthread_mutex_unlock(&stk.lock);
}

static void stack_let_go(enum stack_phase upto)
{
    pthread_mutex_lock(&stk.lock);
    stk.release = upto;
    pthread_cond_broadcast(&stk.cond);
    pthread_mutex_unlock(&stk.lock);
}

/* Not inlined: its frame, alloca block included, must really be popped when
 * it returns, so the parent can see that the pages stay resident anyway. */
static __attribute__((noinline)) void stack_deep(void)
{
    unsigned char *block = alloca(STACK_SIZE);

    touch_write(block, STACK_SIZE, 1);
    stack_park(STACK_GROWN);
    touch_read(block, page_size);
}

static void *stack_thread(void *arg)
{
    (void)arg;
    stack_deep();
    stack_park(STACK_RETURNED);
    return NULL;
}

static void stack_grow(void)
{
    pthread_attr_t attr;
    int rc;

    if (stk.running) {
        reply("err the stack thread is already running");
        return;
    }
    pthread_attr_init(&attr);
    /* A stack given by size (not by address) is mmap'd by glibc; only the
     * pages the thread touches become resident. */
    pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
    stk.phase = STACK_NONE;
    stk.release = STACK_NONE;
    rc = pthread_create(&stk.thread, &attr, stack_thread, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        reply("err pthread_create: %s", strerror(rc));
        return;
    }
    stk.running = 1;
    stack_wait(STACK_GROWN);
    reply("ok");
}

static void stack_return(void)
{
    if (!stk.running) {
        reply("err no stack thread");
        return;
    }
    stack_let_go(STACK_RETURNED);
    stack_wait(STACK_RETURNED);
    reply("ok");
}

static void stack_exit(void)
{
    if (!stk.running) {
        reply("err no stack thread");
        return;
    }
    stack_let_go(STACK_DONE);
    pthread_join(stk.thread, NULL);
    stk.running = 0;
    reply("ok");
}

/* ---- the file behind the file mappings --------------------------------------- */

static const char *file_dirs = "/var/tmp";
static int file_fd = -1;
static unsigned char *file_map;

/* The first candidate directory that exists, is writable and is not memory
 * backed, copied into dir. Returns 0, or -1 with the reasons in why. */
static int pick_dir(char *dir, size_t dirlen, char *why, size_t whylen)
{
    const char *p = file_dirs;
    size_t used = 0;

    why[0] = '\0';
    while (*p) {
        size_t len = strcspn(p, ":");
        struct statfs sfs;
        char cand[PATH_MAX];
        const char *reason = NULL;

        if (len > 0 && len < sizeof cand) {
            memcpy(cand, p, len);
            cand[len] = '\0';
            if (statfs(cand, &sfs) != 0)
                reason = strerror(errno);
            else if ((long)sfs.f_type == TMPFS_MAGIC || (long)sfs.f_type == RAMFS_MAGIC)
                reason = (long)sfs.f_type == TMPFS_MAGIC ? "tmpfs" : "ramfs";
            else if (access(cand, W_OK) != 0)
                reason = "not writable";
            if (!reason) {
                snprintf(dir, dirlen, "%s", cand);
                return 0;
            }
            if (used < whylen) {
                int n =
                    snprintf(why + used, whylen - used, "%s%s: %s", used ? ", " : "", cand, reason);
                if (n > 0)
                    used += (size_t)n;
            }
        }
        p += len;
        if (*p == ':')
            p++;
    }
    return -1;
}

static int open_tmpfile(const char *dir)
{
    char path[PATH_MAX];
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    /* No O_TMPFILE on this file system: a named file, unlinked at once. */
    snprintf(path, sizeof path, "%s/memkinds.XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static void file_create(void)
{
    /* The data is written with write(2): the page cache then holds the file,
     * but nothing of it is mapped, so it is charged to no process's RSS. */
    static unsigned char chunk[64 * 1024];
    char dir[PATH_MAX], why[400];
    size_t off;

    if (file_fd >= 0) {
        reply("err the file exists already");
        return;
    }
    if (pick_dir(dir, sizeof dir, why, sizeof why) < 0) {
        reply("skip no disk-backed directory for the file mappings (%s): pages of a tmpfs "
              "file are shmem and would count in the footprint",
              why);
        return;
    }
    file_fd = open_tmpfile(dir);
    if (file_fd < 0) {
        reply("err temporary file in %s: %s", dir, strerror(errno));
        return;
    }
    memset(chunk, 0x5a, sizeof chunk);
    for (off = 0; off < KIND_SIZE; off += sizeof chunk) {
        if (pwrite(file_fd, chunk, sizeof chunk, (off_t)off) != (ssize_t)sizeof chunk) {
            reply("err writing the temporary file in %s: %s", dir, strerror(errno));
            close(file_fd);
            file_fd = -1;
            return;
        }
    }
    reply("ok %s", dir);
}

static void file_map_read(int flags)
{
    void *p;

    if (file_fd < 0 || file_map) {
        reply("err file_create must come first, and one file mapping at a time");
        return;
    }
    p = mmap(NULL, KIND_SIZE, PROT_READ | PROT_WRITE, flags, file_fd, 0);
    if (p == MAP_FAILED) {
        reply("err mmap of the file: %s", strerror(errno));
        return;
    }
    file_map = p;
    touch_read(file_map, KIND_SIZE);
    reply("ok");
}

static void shared_file_read(void)
{
    file_map_read(MAP_SHARED);
}

static void private_file_read(void)
{
    file_map_read(MAP_PRIVATE);
}

static void file_map_write(void)
{
    if (!file_map) {
        reply("err no file mapping");
        return;
    }
    touch_write(file_map, KIND_SIZE, 0xa5);
    reply("ok");
}

static void file_unmap(void)
{
    if (!file_map) {
        reply("err no file mapping");
        return;
    }
    munmap(file_map, KIND_SIZE);
    file_map = NULL;
    reply("ok");
}

static void file_close(void)
{
    if (file_fd >= 0)
        close(file_fd);
    file_fd = -1;
    reply("ok");
}

/* ---- shared anonymous memory and memfd ------------------------------------------ */

static unsigned char *shared_anon;
static int memfd = -1;
static unsigned char *memfd_map;

static void shared_anon_touch(void)
{
    shared_anon = map_anon(KIND_SIZE, MAP_SHARED);
    if (!shared_anon) {
        reply("err mmap MAP_SHARED|MAP_ANONYMOUS: %s", strerror(errno));
        return;
    }
    touch_write(shared_anon, KIND_SIZE, 1);
    reply("ok");
}

static void shared_anon_unmap(void)
{
    munmap(shared_anon, KIND_SIZE);
    shared_anon = NULL;
    reply("ok");
}

static void memfd_touch(void)
{
    void *p;

    memfd = memfd_create("memkinds", MFD_CLOEXEC);
    if (memfd < 0) {
        reply("err memfd_create: %s", strerror(errno));
        return;
    }
    if (ftruncate(memfd, (off_t)KIND_SIZE) != 0) {
        reply("err ftruncate memfd: %s", strerror(errno));
        return;
    }
    p = mmap(NULL, KIND_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (p == MAP_FAILED) {
        reply("err mmap memfd: %s", strerror(errno));
        return;
    }
    memfd_map = p;
    touch_write(memfd_map, KIND_SIZE, 1);
    reply("ok");
}

static void memfd_unmap(void)
{
    /* The descriptor stays open: the pages live on in the memfd. */
    munmap(memfd_map, KIND_SIZE);
    memfd_map = NULL;
    reply("ok");
}

static void memfd_close(void)
{
    close(memfd);
    memfd = -1;
    reply("ok");
}

/* ---- private anonymous regions: MADV_FREE, MADV_DONTNEED, mlock, swap --------- */

static unsigned char *anon;

static void anon_touch(void)
{
    if (anon) {
        reply("err an anonymous region exists already");
        return;
    }
    anon = map_anon(KIND_SIZE, MAP_PRIVATE);
    if (!anon) {
        reply("err mmap MAP_PRIVATE|MAP_ANONYMOUS: %s", strerror(errno));
        return;
    }
    touch_write(anon, KIND_SIZE, 1);
    reply("ok");
}

static void anon_advise(int advice, const char *name)
{
    if (!anon) {
        reply("err no anonymous region");
        return;
    }
    if (madvise(anon, KIND_SIZE, advice) != 0) {
        if (errno == EINVAL)
            reply("skip madvise(%s) is not supported here: %s", name, strerror(errno));
        else
            reply("err madvise(%s): %s", name, strerror(errno));
        return;
    }
    reply("ok");
}

static void anon_redirty_half(void)
{
    if (!anon) {
        reply("err no anonymous region");
        return;
    }
    touch_write(anon, KIND_SIZE / 2, 2);
    reply("ok");
}

static void anon_unmap(void)
{
    if (!anon) {
        reply("err no anonymous region");
        return;
    }
    munmap(anon, KIND_SIZE); /* also unlocks */
    anon = NULL;
    reply("ok");
}

static void mlock_touch(void)
{
    struct rlimit rl;

    /* mlock needs RLIMIT_MEMLOCK above the size (8 MiB by default), or
     * CAP_IPC_LOCK. Raise the limit where we may (root may raise the hard
     * limit too); otherwise the mlock below says no and we skip. */
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < 2 * KIND_SIZE) {
        struct rlimit want = rl;
        want.rlim_cur = 2 * KIND_SIZE;
        if (want.rlim_max != RLIM_INFINITY && want.rlim_max < want.rlim_cur)
            want.rlim_max = want.rlim_cur;
        if (setrlimit(RLIMIT_MEMLOCK, &want) != 0 && rl.rlim_max > rl.rlim_cur) {
            want.rlim_max = rl.rlim_max;
            want.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_MEMLOCK, &want);
        }
    }
    if (anon) {
        reply("err an anonymous region exists already");
        return;
    }
    anon = map_anon(KIND_SIZE, MAP_PRIVATE);
    if (!anon) {
        reply("err mmap MAP_PRIVATE|MAP_ANONYMOUS: %s", strerror(errno));
        return;
    }
    if (mlock(anon, KIND_SIZE) != 0) {
        int e = errno;
        getrlimit(RLIMIT_MEMLOCK, &rl);
        munmap(anon, KIND_SIZE);
        anon = NULL;
        reply("skip mlock of %zu MiB: %s (RLIMIT_MEMLOCK %llu bytes; needs a higher limit or "
              "CAP_IPC_LOCK)",
              KIND_SIZE / MIB, strerror(e), (unsigned long long)rl.rlim_cur);
        return;
    }
    touch_write(anon, KIND_SIZE, 1);
    reply("ok");
}

static void swap_pageout(void)
{
#ifdef MADV_PAGEOUT
    anon_advise(MADV_PAGEOUT, "MADV_PAGEOUT");
#else
    reply("skip MADV_PAGEOUT is not defined by this C library");
#endif
}

static void lazy_free(void)
{
    anon_advise(MADV_FREE, "MADV_FREE");
}

static void dontneed(void)
{
    anon_advise(MADV_DONTNEED, "MADV_DONTNEED");
}

/* ---- the command loop --------------------------------------------------------- */

/* A round trip that changes nothing: the parent's sign that exec is done. */
static void ping(void)
{
    reply("ok");
}

static const struct step {
    const char *name;
    void (*run)(void);
} steps[] = {
    {"ping", ping},
    {"heap_alloc", heap_alloc},
    {"heap_free", heap_free},
    {"brk_grow", brk_grow},
    {"brk_shrink", brk_shrink},
    {"main_stack_touch", main_stack_touch},
    {"stack_grow", stack_grow},
    {"stack_return", stack_return},
    {"stack_exit", stack_exit},
    {"file_create", file_create},
    {"shared_file_read", shared_file_read},
    {"shared_file_write", file_map_write},
    {"shared_file_unmap", file_unmap},
    {"private_file_read", private_file_read},
    {"private_file_write", file_map_write},
    {"private_file_unmap", file_unmap},
    {"file_close", file_close},
    {"shared_anon_touch", shared_anon_touch},
    {"shared_anon_unmap", shared_anon_unmap},
    {"memfd_touch", memfd_touch},
    {"memfd_unmap", memfd_unmap},
    {"memfd_close", memfd_close},
    {"anon_touch", anon_touch},
    {"anon_madv_free", lazy_free},
    {"anon_redirty_half", anon_redirty_half},
    {"anon_madv_dontneed", dontneed},
    {"anon_madv_pageout", swap_pageout},
    {"anon_unmap", anon_unmap},
    {"mlock_touch", mlock_touch},
    {"mlock_unmap", anon_unmap},
};

static void run_step(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (strcmp(name, steps[i].name) == 0) {
            steps[i].run();
            return;
        }
    }
    reply("err unknown step '%s'", name);
}

/* One line from stdin, a byte at a time (no stdio buffer). 0 at end of input. */
static int read_line(char *buf, size_t len)
{
    size_t n = 0;

    for (;;) {
        char c;
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return n > 0;
        if (c == '\n')
            break;
        if (n + 1 < len)
            buf[n++] = c;
    }
    buf[n] = '\0';
    return 1;
}

int main(int argc, char **argv)
{
    char line[128];

    if (argc > 1 && argv[1][0] != '\0')
        file_dirs = argv[1];
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    while (read_line(line, sizeof line)) {
        if (strcmp(line, "quit") == 0)
            break;
        run_step(line);
    }
    return 0;
}
