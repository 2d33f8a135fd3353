/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where a container's processes live and what limits them: one interface, two
 * implementations, chosen once at start-up (HostInfo.backend).
 *
 *   systemd   a transient scope quilt-<id>.scope in quilt.slice, created over sd-bus
 *             (StartTransientUnit, asynchronous on the event loop, JobRemoved matched
 *             before the call), Delegate=yes, MemoryMax, CPUQuotaPerSecUSec, TasksMax,
 *             CollectMode=inactive-or-failed; registered with systemd-machined when that
 *             runs. cgroup v1, hybrid and v2.
 *   cgroupfs  <mount>/quilt.slice/quilt-<id>/ under every controller hierarchy it uses
 *             (memory, cpu, pids on v1; the one cgroup2 tree on v2, with the controllers
 *             enabled in quilt.slice's cgroup.subtree_control).
 *
 * The monitor is attached to the container's cgroup (its "leaf"): in there it creates
 * supervisor/ (itself) and payload/ (init and the command), see container-spec.h. Limits
 * are set on the leaf, so they cover both.
 *
 * Everything runs on the sd-event thread. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "host.h"
#include "macro.h"

typedef struct CgroupBackend CgroupBackend;
typedef struct CgroupAttach CgroupAttach;

typedef struct CgroupLimits {
        uint64_t memory_max_bytes; /* 0 = no limit */
        uint64_t cpu_quota_usec;   /* CPU time per second of wall clock; 0 = no limit */
        uint64_t pids_max;         /* 0 = no limit */
} CgroupLimits;

/* error is 0 on success, or a negative errno with a human message. */
typedef void (*CgroupAttachCallback)(int error, const char *message, void *userdata);

int cgroup_backend_new(sd_event *event, const HostInfo *host, CgroupBackend **ret);
CgroupBackend *cgroup_backend_free(CgroupBackend *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(CgroupBackend *, cgroup_backend_free);

/* "quilt-<id>.scope" or "quilt-<id>": the leaf name passed to the monitor
 * (ContainerSpec.cgroup_leaf). malloc()ed. */
int cgroup_backend_leaf_name(CgroupBackend *b, const char *id, char **ret);

/* Creates the container's cgroup with limits and moves pid into it. Answers through
 * callback exactly once, possibly before returning (cgroupfs) or later from the event loop
 * (systemd), unless the returned handle is freed first, which cancels the callback (the
 * unit or directory, if created, is left for cgroup_backend_destroy()). On error the
 * function returns < 0 and never calls the callback. description is for humans
 * (systemctl status). */
int cgroup_backend_attach(CgroupBackend *b, const char *id, const char *description, pid_t pid,
                          const CgroupLimits *limits, CgroupAttachCallback callback, void *userdata,
                          CgroupAttach **ret);
CgroupAttach *cgroup_attach_free(CgroupAttach *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(CgroupAttach *, cgroup_attach_free);

/* Sends sig to every process of the container (all of the leaf's cgroup tree). SIGKILL
 * uses cgroup.kill where the kernel has it. 0 when there was nothing to signal. */
int cgroup_backend_kill(CgroupBackend *b, const char *id, int sig);

/* Whether any process is still in the container's cgroup tree. */
int cgroup_backend_populated(CgroupBackend *b, const char *id);

/* Current memory use of the container's cgroup, for status and metrics. */
int cgroup_backend_memory_usage(CgroupBackend *b, const char *id, uint64_t *ret);

/* The path shown to users: "quilt.slice/quilt-<id>.scope" or "/quilt.slice/quilt-<id>". */
int cgroup_backend_display_path(CgroupBackend *b, const char *id, char **ret);

/* The directories of the container's leaf cgroup that exist now, one per hierarchy,
 * NULL-terminated, malloc()ed. For diagnostics and tests. */
int cgroup_backend_leaf_dirs(CgroupBackend *b, const char *id, char ***ret);

/* Removes what is left of the container's cgroup: the directories in every hierarchy
 * (cgroupfs), or the unit (systemd: stops it if still there, resets a failed one). Only
 * called when no process of the container remains; a cgroup that is gone already is not an
 * error. Synchronous; quick. */
int cgroup_backend_destroy(CgroupBackend *b, const char *id);

/* systemd-machined registration, best effort: a host without machined, or the cgroupfs
 * backend, is not an error (returns 0 and does nothing). leader is the container's init;
 * it must already be in the container's cgroup. root is the rootfs path shown by
 * machinectl. Asynchronous; failures are logged. */
int cgroup_backend_register_machine(CgroupBackend *b, const char *id, const char *name, pid_t leader,
                                    const char *root);
