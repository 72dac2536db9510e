/*
 * Units and containers from a cgroup path. Ids are recognised by shape (a
 * long run of hex digits; a pod UID of 32 hex digits with dashes or, under
 * systemd, underscores), never by a list of every runtime's naming quirks.
 */
#include "backend/linux/cgroup_ids.h"
#include "backend/linux/parse.h"

#include "memwatch/memwatch.h"

#include <string.h>

/* The shortest container id we accept; runtimes use 64 hex digits. */
#define MIN_CONTAINER_ID 32

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static size_t hex_run(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_hex(s[i]))
        i++;
    return i;
}

static int has_suffix(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && memcmp(s + n - k, suf, k) == 0;
}

static int has_prefix(const char *s, size_t n, const char *pre)
{
    size_t k = strlen(pre);
    return n >= k && memcmp(s, pre, k) == 0;
}

static void copy_piece(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* A pod UID: 8-4-4-4-12 hex digits, separated by '-' or (systemd) '_'. */
static int pod_uid(const char *s, size_t n, char *out, size_t cap)
{
    static const size_t groups[] = {8, 4, 4, 4, 12};
    size_t i = 0, g, o = 0;
    char buf[40];

    for (g = 0; g < 5; g++) {
        size_t h = hex_run(s + i, n - i);
        if (h != groups[g])
            return 0;
        memcpy(buf + o, s + i, h);
        o += h;
        i += h;
        if (g < 4) {
            if (i >= n || (s[i] != '-' && s[i] != '_'))
                return 0;
            buf[o++] = '-';
            i++;
        }
    }
    if (i != n)
        return 0;
    copy_piece(out, cap, buf, o);
    return 1;
}

/* One path component: a unit, a container scope, a pod slice, or a bare id. */
static void component(const char *c, size_t n, mw_cgroup_ids *out)
{
    static const struct {
        const char *prefix, *runtime;
    } scopes[] = {
        {"docker-", "docker"},  {"libpod-conmon-", NULL},
        {"libpod-", "podman"},  {"cri-containerd-", "containerd"},
        {"crio-conmon-", NULL}, {"crio-", "cri-o"},
    };
    size_t i, h;

    if (has_suffix(c, n, ".scope") || has_suffix(c, n, ".service")) {
        size_t stem = n - (has_suffix(c, n, ".scope") ? 6 : 8);
        for (i = 0; i < sizeof scopes / sizeof scopes[0]; i++) {
            size_t k = strlen(scopes[i].prefix);
            if (!has_prefix(c, stem, scopes[i].prefix))
                continue;
            h = hex_run(c + k, stem - k);
            if (scopes[i].runtime && h >= MIN_CONTAINER_ID && k + h == stem) {
                copy_piece(out->container, sizeof out->container, c + k, h);
                copy_piece(out->runtime, sizeof out->runtime, scopes[i].runtime,
                           strlen(scopes[i].runtime));
            }
            /* A container's scope is the container, not a unit of the host. */
            return;
        }
        copy_piece(out->unit, sizeof out->unit, c, n);
        return;
    }
    if (has_suffix(c, n, ".slice")) {
        /* kubepods-burstable-pod<UID>.slice, kubepods-pod<UID>.slice */
        const char *p = c;
        size_t m = n - 6;
        for (i = 0; i + 3 < m; i++) {
            if (memcmp(p + i, "pod", 3) == 0 && (i == 0 || p[i - 1] == '-') &&
                pod_uid(p + i + 3, m - i - 3, out->pod, sizeof out->pod))
                break;
        }
        return;
    }
    if (has_prefix(c, n, "pod") && pod_uid(c + 3, n - 3, out->pod, sizeof out->pod))
        return;
    /* cgroupfs drivers name the container's cgroup by its bare id. */
    h = hex_run(c, n);
    if (h == n && h >= MIN_CONTAINER_ID)
        copy_piece(out->container, sizeof out->container, c, h);
}

static void walk_path(const char *p, size_t n, mw_cgroup_ids *out)
{
    size_t i = 0;
    int docker_parent = 0;

    while (i < n) {
        size_t j = i;
        while (j < n && p[j] != '/')
            j++;
        if (j > i) {
            int had = out->container[0] != '\0';
            component(p + i, j - i, out);
            if (!had && out->container[0] && !out->runtime[0] && docker_parent)
                copy_piece(out->runtime, sizeof out->runtime, "docker", 6);
            docker_parent = (j - i == 6 && memcmp(p + i, "docker", 6) == 0);
        }
        i = j + 1;
    }
    if (out->pod[0] && !out->runtime[0])
        copy_piece(out->runtime, sizeof out->runtime, "kubernetes", 10);
}

int mw_parse_cgroup_ids(const char *buf, size_t len, mw_cgroup_ids *out)
{
    mw_cgroup_paths cg;
    const char *best;
    size_t bestlen;

    memset(out, 0, sizeof *out);
    mw_parse_cgroup_paths(buf, len, &cg);
    best = cg.v2;
    bestlen = cg.v2len;
    /* A hybrid host's v2 line is "/": the tree is in the v1 hierarchies. */
    if (!best || (bestlen == 1 && best[0] == '/')) {
        if (cg.systemd) {
            best = cg.systemd;
            bestlen = cg.systemdlen;
        } else if (cg.other) {
            best = cg.other;
            bestlen = cg.otherlen;
        }
    }
    if (!best)
        return MW_EPARSE;
    walk_path(best, bestlen, out);
    return MW_OK;
}
