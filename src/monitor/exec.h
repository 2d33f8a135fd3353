/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Running one command in a running container (exec-spec.h), two ways: */

#include "container-spec.h"
#include "monitor-cgroup.h"

/* "quilt-monitor exec <run_dir>", spawned by quiltd. */
int exec_main(int argc, char *argv[]);

/* In a fork of the container's monitor, for a connection accepted on <run_dir>/exec.sock:
 * the same, without a process to start, a spec to load or cgroups to find. */
_noreturn_ void exec_serve(const ContainerSpec *container, CgroupSet *cgroups, int init_pidfd, int conn);
