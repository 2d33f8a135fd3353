/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Plain cgroup file system helpers, shared by quiltd and quilt-monitor (no sd-bus, no
 * daemon state): where the cgroup hierarchies are mounted (v1 controllers, named v1
 * hierarchies, the cgroup2 tree), which cgroup a process is in per hierarchy, and the few
 * operations on a cgroup directory that a container runtime needs: attributes, process
 * lists, kill everything, remove a tree.
 *
 * Works the same on v1, hybrid (v1 controllers plus cgroup2 on .../unified) and v2 hosts:
 * a "hierarchy" is one mounted cgroup super block, whatever its version. Paths inside a
 * hierarchy ("cgroup paths") start with "/" and are relative to the hierarchy's root as
 * seen from our cgroup namespace, as in /proc/<pid>/cgroup. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

typedef struct CgroupMount {
        char *path;         /* mount point, e.g. "/sys/fs/cgroup/memory" */
        char *root;         /* the cgroup path mounted there, "/" unless bind-mounted from below */
        int version;        /* 1 or 2 */
        char **controllers; /* v1: controllers and "name=..." from the super options; v2: empty */
        unsigned dev_major; /* the super block: one hierarchy mounted twice is listed once */
        unsigned dev_minor;
} CgroupMount;

typedef struct CgroupMounts {
        CgroupMount *mounts;
        size_t n;
} CgroupMounts;

/* Parses the text of /proc/<pid>/mountinfo; keeps the cgroup and cgroup2 mounts, one per
 * hierarchy (preferring a mount of the hierarchy's root). -EINVAL on a malformed line. */
int cg_mounts_parse(const char *mountinfo, CgroupMounts *ret);
int cg_mounts_read(CgroupMounts *ret); /* /proc/self/mountinfo */
void cg_mounts_done(CgroupMounts *m);

/* The v1 hierarchy holding controller ("memory", "cpu", "name=systemd"), or NULL. */
const CgroupMount *cg_mounts_find_controller(const CgroupMounts *m, const char *controller);
/* The cgroup2 hierarchy, or NULL. */
const CgroupMount *cg_mounts_find_unified(const CgroupMounts *m);

/* The directory of cgroup_path (as in /proc/<pid>/cgroup) below mount m. -EXDEV when the
 * path is not below what m shows (another cgroup namespace, or a bind mount of a subtree). */
int cg_mount_dir(const CgroupMount *m, const char *cgroup_path, char **ret);

/* One line of /proc/<pid>/cgroup: "<id>:<controllers>:<path>". */
typedef struct CgroupMember {
        unsigned hierarchy_id; /* 0 for cgroup2 */
        char **controllers;    /* empty for cgroup2 */
        char *path;
} CgroupMember;

typedef struct CgroupMembership {
        CgroupMember *members;
        size_t n;
} CgroupMembership;

int cg_membership_parse(const char *text, CgroupMembership *ret);
int cg_membership_read(pid_t pid, CgroupMembership *ret); /* pid 0: ourselves; -ESRCH if gone */
void cg_membership_done(CgroupMembership *m);

/* The mounted hierarchy a membership line refers to, or NULL if it is not mounted. */
const CgroupMount *cg_mounts_find_member(const CgroupMounts *m, const CgroupMember *member);

/* A process' cgroup directory in one hierarchy. */
typedef struct CgroupDir {
        const CgroupMount *mount; /* points into the CgroupMounts it was made from */
        char *path;
} CgroupDir;

/* The directories of a membership, one per mounted hierarchy (unmounted or unreachable
 * hierarchies are left out). Free with cg_dirs_free(). */
int cg_membership_dirs(const CgroupMounts *mounts, const CgroupMembership *membership, CgroupDir **ret,
                       size_t *ret_n);
void cg_dirs_free(CgroupDir *dirs, size_t n);

/* Attribute files of a cgroup directory. read strips the trailing newline. */
int cg_read_attr(const char *dir, const char *attr, char **ret);
int cg_write_attr(const char *dir, const char *attr, const char *value);
bool cg_has_attr(const char *dir, const char *attr);
/* A number ("max" reads as UINT64_MAX). */
int cg_read_u64(const char *dir, const char *attr, uint64_t *ret);
/* The value of "key value" in a flat keyed file (memory.events "oom_kill", memory.oom_control
 * "oom_kill", cgroup.events "populated"). -ENXIO if the file has no such key. */
int cg_read_key_u64(const char *dir, const char *attr, const char *key, uint64_t *ret);

/* Moves pid into the cgroup (cgroup.procs). */
int cg_attach(const char *dir, pid_t pid);

/* The processes in the cgroup itself (cgroup.procs, not the children). malloc()ed array. */
int cg_read_pids(const char *dir, pid_t **ret, size_t *ret_n);

/* > 0 if a process is in the cgroup or below (cgroup.events where the kernel has it, v2;
 * otherwise every cgroup.procs of the tree), 0 if not; -ENOENT if dir does not exist. */
int cg_is_populated(const char *dir);

/* Sends sig to every process in the tree, except the caller. SIGKILL uses cgroup.kill when
 * present; otherwise it repeats over the tree until it is empty (forks in between), for a
 * bounded number of rounds (-EBUSY if processes survive them). Other signals are sent once
 * per process. > 0 when something was signalled, 0 when the tree was empty or is gone. */
int cg_kill_tree(const char *dir, int sig);

/* Removes the cgroup and every cgroup below it, deepest first. Retries briefly on EBUSY,
 * because killed tasks can linger for a moment. 0 also when dir did not exist. */
int cg_remove_tree(const char *dir);

/* The cgroup directories of a process in every mounted hierarchy (reads mountinfo and
 * /proc/<pid>/cgroup). NULL-terminated, malloc()ed. */
int cg_pid_dirs(pid_t pid, char ***ret);
