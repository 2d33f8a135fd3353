/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The container's cgroups as the monitor sees them: every hierarchy (cgroup v2, or each v1
 * controller mount) in which quiltd put the monitor into a directory named
 * spec.cgroup_leaf. Below each leaf the monitor keeps itself in "supervisor/" and the
 * container in "payload/", so that killing the payload never kills the monitor and the
 * container's cgroup namespace root is payload/. */

typedef struct CgroupHierarchy {
        char *leaf;     /* e.g. /sys/fs/cgroup/memory/quilt-<id> */
        bool unified;   /* cgroup2 */
        bool payload_created;
} CgroupHierarchy;

typedef struct CgroupSet {
        CgroupHierarchy *hierarchies;
        size_t n_hierarchies;
        char *oom_dir;        /* payload/ in the hierarchy that counts its OOM kills */
        const char *oom_attr; /* "memory.events" (v2) or "memory.oom_control" (v1) */
} CgroupSet;

/* Finds the leaf directories from /proc/self/cgroup and /proc/self/mountinfo. -ENOENT
 * (logged) when no hierarchy's path ends in leaf. */
int cgroup_set_discover(CgroupSet *s, const char *leaf);

/* Creates supervisor/ and payload/ in every hierarchy, moves the calling process into
 * supervisor/ and, on cgroup v2, delegates the leaf's controllers to both children. */
int cgroup_set_enter_supervisor(CgroupSet *s);

int cgroup_set_attach_payload(CgroupSet *s, pid_t pid);

/* For "quilt-monitor exec": the hierarchies in which pid, the container's init, is in
 * <leaf>/payload. -ENOENT (logged) when there are none. */
int cgroup_set_discover_payload(CgroupSet *s, pid_t pid, const char *leaf);

/* How a child of the caller joins payload/<sub>, also after it left the host's mount
 * namespace. payload/<sub> exists in one hierarchy (cgroup2, else the v1 pids hierarchy),
 * which is enough to find and kill the sub's processes; in the others the child joins
 * payload/ itself. It writes "0" to each v1 task file (which moves the writing
 * thread; the child must have one), and on cgroup2 it is either created there with
 * clone3(CLONE_INTO_CGROUP, unified_dir_fd) or writes "0" to unified_procs_fd. */
typedef struct CgroupJoin {
        int *task_fds;        /* ends in -EBADF */
        int unified_dir_fd;   /* -EBADF without cgroup2 */
        int unified_procs_fd;
} CgroupJoin;

void cgroup_join_done(CgroupJoin *j);

/* Creates payload/<sub> (sub NULL: none, payload/ itself) and opens what a child needs to
 * join it. */
int cgroup_set_prepare_join(CgroupSet *s, const char *sub, CgroupJoin *ret);

/* SIGKILLs everything in payload/<sub> until it is empty. */
int cgroup_set_kill_sub(CgroupSet *s, const char *sub);

/* Moves what is left in payload/<sub> into payload/ and removes payload/<sub>. */
int cgroup_set_remove_sub(CgroupSet *s, const char *sub);

/* The payload's oom_kill counter (v2 memory.events, v1 memory.oom_control); -ENODATA
 * without a memory controller. */
int cgroup_set_oom_kills(CgroupSet *s, uint64_t *ret);

/* SIGKILLs everything in payload/ until it is empty (cgroup.kill where the kernel has it).
 * Children of the caller that die meanwhile are reaped through reap(), so that a subreaper
 * does not leave them as zombies that keep the cgroup busy. */
int cgroup_set_kill_payload(CgroupSet *s, void (*reap)(void *userdata), void *userdata);

/* Removes payload/ everywhere, retrying briefly while the kernel still counts dying tasks. */
int cgroup_set_remove_payload(CgroupSet *s);

void cgroup_set_done(CgroupSet *s);
