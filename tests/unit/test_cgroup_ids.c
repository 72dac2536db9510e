/*
 * Units, containers and pods from /proc/PID/cgroup
 * (src/backend/linux/cgroup_ids.c), on the path shapes of systemd, docker,
 * podman, containerd, CRI-O and Kubernetes, v1 and v2.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "backend/linux/cgroup_ids.h"
#include "memwatch/memwatch.h"

#define ID64 "3f5c2a1b9d8e7f60123456789abcdef0123456789abcdef0123456789abcdef0"

static int parse(const char *text, mw_cgroup_ids *ids)
{
    size_t n = strlen(text);
    char *copy = malloc(n ? n : 1); /* exact length: ASan sees any over-read */
    int rc;
    assert_non_null(copy);
    memcpy(copy, text, n);
    rc = mw_parse_cgroup_ids(copy, n, ids);
    free(copy);
    return rc;
}

static void test_service_and_user_scope(void **state)
{
    mw_cgroup_ids ids;
    (void)state;
    assert_int_equal(parse("0::/system.slice/nginx.service\n", &ids), 0);
    assert_string_equal(ids.unit, "nginx.service");
    assert_string_equal(ids.container, "");
    assert_int_equal(parse("0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
                           "app-gnome-firefox\\x2desr-4242.scope\n",
                           &ids),
                     0);
    assert_string_equal(ids.unit, "app-gnome-firefox\\x2desr-4242.scope");
    /* A process in a sub-cgroup of its service still belongs to it. */
    assert_int_equal(parse("0::/system.slice/postgresql@15-main.service/workers\n", &ids), 0);
    assert_string_equal(ids.unit, "postgresql@15-main.service");
}

static void test_docker(void **state)
{
    mw_cgroup_ids ids;
    (void)state;
    assert_int_equal(parse("0::/system.slice/docker-" ID64 ".scope\n", &ids), 0);
    assert_string_equal(ids.container, ID64);
    assert_string_equal(ids.runtime, "docker");
    assert_string_equal(ids.unit, ""); /* the container's scope is not a host unit */
    /* cgroupfs driver, v1: every controller line names it. */
    assert_int_equal(parse("12:memory:/docker/" ID64 "\n1:name=systemd:/docker/" ID64 "\n", &ids),
                     0);
    assert_string_equal(ids.container, ID64);
    assert_string_equal(ids.runtime, "docker");
}

static void test_podman_and_conmon(void **state)
{
    mw_cgroup_ids ids;
    (void)state;
    assert_int_equal(parse("0::/machine.slice/libpod-" ID64 ".scope/container\n", &ids), 0);
    assert_string_equal(ids.container, ID64);
    assert_string_equal(ids.runtime, "podman");
    /* conmon, the monitor beside the container, is not the container. */
    assert_int_equal(parse("0::/machine.slice/libpod-conmon-" ID64 ".scope\n", &ids), 0);
    assert_string_equal(ids.container, "");
    assert_string_equal(ids.unit, "");
}

static void test_kubernetes(void **state)
{
    mw_cgroup_ids ids;
    (void)state;
    assert_int_equal(parse("0::/kubepods.slice/kubepods-burstable.slice/"
                           "kubepods-burstable-pod1a2b3c4d_5e6f_7081_92a3_b4c5d6e7f809.slice/"
                           "cri-containerd-" ID64 ".scope\n",
                           &ids),
                     0);
    assert_string_equal(ids.pod, "1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809");
    assert_string_equal(ids.container, ID64);
    assert_string_equal(ids.runtime, "containerd");
    assert_int_equal(
        parse("0::/kubepods/besteffort/pod1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809/" ID64 "\n", &ids),
        0);
    assert_string_equal(ids.pod, "1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809");
    assert_string_equal(ids.container, ID64);
    assert_string_equal(ids.runtime, "kubernetes");
    assert_int_equal(parse("0::/kubepods.slice/kubepods-pod1a2b3c4d_5e6f_7081_92a3_b4c5d6e7f809."
                           "slice/crio-" ID64 ".scope\n",
                           &ids),
                     0);
    assert_string_equal(ids.runtime, "cri-o");
}

static void test_hybrid_and_empty(void **state)
{
    mw_cgroup_ids ids;
    (void)state;
    /* A hybrid host: the v2 line is "/", systemd's v1 tree has the unit. */
    assert_int_equal(parse("0::/\n1:name=systemd:/system.slice/cron.service\n", &ids), 0);
    assert_string_equal(ids.unit, "cron.service");
    assert_int_equal(parse("0::/\n", &ids), 0);
    assert_string_equal(ids.unit, "");
    assert_int_equal(parse("", &ids), MW_EPARSE);
    assert_int_equal(parse("garbage without colons", &ids), MW_EPARSE);
    /* Short hex components are not container ids. */
    assert_int_equal(parse("0::/deadbeef/cafe\n", &ids), 0);
    assert_string_equal(ids.container, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_and_user_scope), cmocka_unit_test(test_docker),
        cmocka_unit_test(test_podman_and_conmon),      cmocka_unit_test(test_kubernetes),
        cmocka_unit_test(test_hybrid_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
