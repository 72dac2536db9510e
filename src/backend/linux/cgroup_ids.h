/*
 * What a process's cgroup path says about where it runs: the systemd unit
 * (service or scope) and the container or Kubernetes pod. Pure: buffer in,
 * struct out. The paths follow systemd's unit naming (systemd.unit(5),
 * systemd.scope(5)) and the cgroup drivers of docker, podman, containerd
 * and CRI-O (cgroupfs: /docker/ID, /kubepods/QOS/podUID/ID; systemd:
 * docker-ID.scope, libpod-ID.scope, cri-containerd-ID.scope, crio-ID.scope
 * inside kubepods-QOS-podUID.slice).
 */
#ifndef MEMWATCH_LINUX_CGROUP_IDS_H
#define MEMWATCH_LINUX_CGROUP_IDS_H

#include <stddef.h>

#include "memwatch/memwatch.h" /* mw_cgroup_ids */

/*
 * /proc/PID/cgroup. The unified (v2) line is preferred, then systemd's
 * name=systemd hierarchy, then the first controller line with a path. Every
 * field is filled when found (empty otherwise). Returns 0, or MW_EPARSE when
 * no line has a path at all.
 */
int mw_parse_cgroup_ids(const char *buf, size_t len, mw_cgroup_ids *out);

#endif
