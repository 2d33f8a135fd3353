/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the host offers, detected once at start-up: whether systemd is PID 1 (and so
 * which backend "auto" picks), the cgroup layout, and the namespaces the kernel has. */

#include <stdbool.h>

#include "config.h"
#include "container-spec.h"

typedef enum CgroupLayout {
        CGROUP_LAYOUT_UNKNOWN,
        CGROUP_LAYOUT_LEGACY,  /* v1 only */
        CGROUP_LAYOUT_HYBRID,  /* v1 controllers, cgroup2 on /sys/fs/cgroup/unified */
        CGROUP_LAYOUT_UNIFIED, /* v2 only */
} CgroupLayout;

typedef struct HostInfo {
        bool systemd_booted;
        QuiltBackend backend; /* resolved: never AUTO */
        CgroupLayout cgroup_layout;
        ContainerLogDriver log_driver; /* resolved by host_detect_log_driver() */
} HostInfo;

int host_detect(QuiltBackend requested, HostInfo *ret);

/* Resolves Logs.Driver=: auto is the journal on the systemd backend when journald's socket
 * is there, the file otherwise; journal refuses a host without journald. */
int host_detect_log_driver(HostInfo *h, QuiltLogDriver requested);

const char *cgroup_layout_to_string(CgroupLayout l); /* "v1", "hybrid", "v2" */

/* The cgroup version containers are limited with: 2 on unified hosts, 1 otherwise. */
int cgroup_layout_version(CgroupLayout l);

/* Health checks with a human message in *ret_message (malloc()ed). 0 when healthy. */
int host_check_cgroups(const HostInfo *h, char **ret_message);
int host_check_namespaces(char **ret_message);
