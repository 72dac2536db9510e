/*
 * memwatch.ledger() on Linux: every counter the kernel keeps for one
 * process, as group/name/balance rows in the spirit of the xnu task ledgers.
 * physmem: footprint plus every memory line of status and smaps_rollup;
 * sched: CPU time, context switches, faults; res: /proc/PID/io;
 * gpu: DRM fdinfo memory per region.
 */
#include "memwatch/backend.h"
#include "memwatch/memwatch.h"

#include "backend/linux/internal.h"
#include "backend/linux/normalize.h"
#include "backend/linux/parse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct kv_rows {
    mw_ledger *out;
    const char *group;
    int rc;
    int sizes_only; /* keep only lines whose value is a size ("123 kB") */
};

static int add_kv_row(void *ud, const char *key, size_t keylen, const char *val, size_t vallen)
{
    struct kv_rows *kr = ud;
    char name[64];
    int64_t v;

    if (keylen == 0 || keylen >= sizeof name)
        return 0;
    memcpy(name, key, keylen);
    name[keylen] = '\0';
    if (kr->sizes_only) {
        if (vallen < 3 || memcmp(val + vallen - 2, "kB", 2) != 0 ||
            mw_parse_kv_size(val, vallen, &v) < 0)
            return 0;
        kr->rc = mw_ledger_add(kr->out, kr->group, name, "bytes", v, NULL, NULL);
    } else {
        char *end;
        char num[32];
        if (vallen == 0 || vallen >= sizeof num)
            return 0;
        memcpy(num, val, vallen);
        num[vallen] = '\0';
        v = strtoll(num, &end, 10);
        if (*end)
            return 0;
        kr->rc = mw_ledger_add(kr->out, kr->group, name,
                               strstr(name, "bytes") || strstr(name, "char") ? "bytes" : "count", v,
                               NULL, NULL);
    }
    return kr->rc < 0;
}

static int add_status_rows(void *state, int32_t pid, mw_ledger *out, int64_t *nvcsw,
                           int64_t *nivcsw)
{
    const char *data;
    size_t len;
    mw_status_info si;
    int64_t footprint;
    struct kv_rows kr = {out, "physmem", 0, 1};
    int rc = mw_linux_read_rel(state, pid, "status", &data, &len);
    const char *line;

    if (rc < 0)
        return rc;
    if (mw_parse_status(data, len, &si) < 0)
        return MW_EPARSE;
    if (mw_linux_footprint(&si, &footprint) == 0 &&
        (rc = mw_ledger_add(out, "physmem", "footprint", "bytes", footprint, NULL, NULL)) < 0)
        return rc;
    mw_kv_each(data, len, add_kv_row, &kr);
    if (kr.rc < 0)
        return kr.rc;
    /* Context switches live in status too; pick them up for the sched group. */
    if ((line = strstr(data, "\nvoluntary_ctxt_switches:")) != NULL)
        *nvcsw = strtoll(line + 25, NULL, 10);
    if ((line = strstr(data, "\nnonvoluntary_ctxt_switches:")) != NULL)
        *nivcsw = strtoll(line + 28, NULL, 10);
    return MW_OK;
}

static int add_sched_rows(void *state, int32_t pid, mw_ledger *out, int64_t nvcsw, int64_t nivcsw)
{
    const char *data;
    size_t len;
    mw_stat_info si;
    long tck = sysconf(_SC_CLK_TCK);
    int rc = mw_linux_read_rel(state, pid, "stat", &data, &len);

    if (rc < 0)
        return rc;
    if (mw_parse_stat(data, len, &si) < 0)
        return MW_EPARSE;
    if (tck <= 0)
        tck = 100;
    if ((rc = mw_ledger_add(out, "sched", "user_time", "ns",
                            (int64_t)(si.utime * (1000000000u / (uint64_t)tck)), NULL, NULL)) < 0 ||
        (rc = mw_ledger_add(out, "sched", "system_time", "ns",
                            (int64_t)(si.stime * (1000000000u / (uint64_t)tck)), NULL, NULL)) < 0)
        return rc;
    if (nvcsw >= 0 &&
        (rc = mw_ledger_add(out, "sched", "voluntary_switches", "count", nvcsw, NULL, NULL)) < 0)
        return rc;
    if (nivcsw >= 0 &&
        (rc = mw_ledger_add(out, "sched", "involuntary_switches", "count", nivcsw, NULL, NULL)) < 0)
        return rc;
    if ((rc = mw_ledger_add(out, "sched", "minor_faults", "count", (int64_t)si.minflt, NULL,
                            NULL)) < 0 ||
        (rc = mw_ledger_add(out, "sched", "major_faults", "count", (int64_t)si.majflt, NULL,
                            NULL)) < 0)
        return rc;
    return MW_OK;
}

static int add_file_rows(void *state, int32_t pid, mw_ledger *out, const char *file,
                         const char *group, int sizes_only)
{
    const char *data;
    size_t len;
    struct kv_rows kr = {out, group, 0, sizes_only};
    int rc = mw_linux_read_rel(state, pid, file, &data, &len);

    /* Absent (kernel thread, no CONFIG_TASK_IO_ACCOUNTING): those rows are
     * simply not there. Refused (another user's process): the ledger says
     * so, rather than silently shrinking. */
    if (mw_refused(rc))
        mw_ledger_refuse(out, group, file);
    if (rc < 0)
        return 0;
    /* smaps_rollup opens with an address-range header line; skip it. */
    if (len > 0 && strncmp(file, "smaps", 5) == 0) {
        const char *nl = memchr(data, '\n', len);
        if (!nl)
            return 0;
        len -= (size_t)(nl + 1 - data);
        data = nl + 1;
    }
    mw_kv_each(data, len, add_kv_row, &kr);
    return kr.rc;
}

/* ---- DRM fdinfo ---------------------------------------------------------------- */

typedef struct gpu_client {
    char id[96]; /* drm-pdev + drm-client-id */
} gpu_client;

static int add_gpu_rows(void *state, int32_t pid, mw_ledger *out)
{
    int rootfd;
    const mw_sys *sys = mw_linux_sys(state, &rootfd);
    char path[64];
    mw_drm_region sums[MW_DRM_REGIONS_MAX];
    gpu_client seen[64];
    int nsums = 0, nseen = 0, fd, rc = 0;
    struct dirent *de;
    DIR *dir;

    snprintf(path, sizeof path, "%d/fd", (int)pid);
    fd = mw_sys_openat(sys, rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        /* Not ours to read: no gpu rows, and the ledger says why. */
        if (mw_refused(-errno))
            mw_ledger_refuse(out, "gpu", "fd");
        return 0;
    }
    dir = sys->fdopendir(fd);
    if (!dir) {
        sys->close(fd);
        return 0;
    }
    while ((de = sys->readdir(dir)) != NULL) {
        char link[300], target[256], info[300];
        const char *data;
        size_t len;
        mw_fdinfo_drm fs;
        ssize_t n;
        int dup = 0;

        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(link, sizeof link, "%d/fd/%s", (int)pid, de->d_name);
        n = sys->readlinkat(rootfd, link, target, sizeof target - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, "/dev/dri/", 9) != 0)
            continue;
        snprintf(info, sizeof info, "fdinfo/%s", de->d_name);
        if (mw_linux_read_rel(state, pid, info, &data, &len) < 0)
            continue;
        if (mw_parse_fdinfo_drm(data, len, &fs) < 0)
            continue;
        /* One DRM client can sit behind several descriptors (dup, fork):
         * count each (pdev, client-id) once. */
        if (fs.client[0]) {
            char id[96];
            snprintf(id, sizeof id, "%s/%s", fs.pdev, fs.client);
            for (int i = 0; i < nseen; i++)
                dup |= strcmp(seen[i].id, id) == 0;
            if (dup)
                continue;
            if (nseen < 64)
                snprintf(seen[nseen++].id, sizeof seen[0].id, "%s", id);
        }
        for (int i = 0; i < fs.nregions; i++) {
            int j;
            for (j = 0; j < nsums; j++) {
                if (strcmp(sums[j].key, fs.regions[i].key) == 0)
                    break;
            }
            if (j == nsums) {
                if (nsums == MW_DRM_REGIONS_MAX)
                    continue;
                sums[nsums] = fs.regions[i];
                nsums++;
            } else {
                /* Saturate: fdinfo values are whatever the driver printed. */
                int64_t b = fs.regions[i].bytes;
                sums[j].bytes = sums[j].bytes > INT64_MAX - b ? INT64_MAX : sums[j].bytes + b;
            }
        }
    }
    sys->closedir(dir);
    for (int i = 0; i < nsums && rc == 0; i++)
        rc = mw_ledger_add(out, "gpu", sums[i].key, "bytes", sums[i].bytes, NULL, NULL);
    return rc;
}

int mw_linux_read_ledger(void *state, int32_t pid, mw_ledger *out)
{
    int64_t nvcsw = -1, nivcsw = -1;
    int rc = add_status_rows(state, pid, out, &nvcsw, &nivcsw);

    if (rc < 0)
        return rc;
    if ((rc = add_file_rows(state, pid, out, "smaps_rollup", "physmem", 1)) < 0 ||
        (rc = add_sched_rows(state, pid, out, nvcsw, nivcsw)) < 0 ||
        (rc = add_file_rows(state, pid, out, "io", "res", 0)) < 0 ||
        (rc = add_gpu_rows(state, pid, out)) < 0)
        return rc;
    return MW_OK;
}
