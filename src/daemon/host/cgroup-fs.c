/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The cgroupfs backend, for hosts without systemd as PID 1: quiltd owns
 * <mount>/quilt.slice/quilt-<id>/ itself.
 *
 *   v1 (and hybrid): the memory, cpu and pids hierarchies, each with its own limit files.
 *   v2: the one tree; memory, cpu and pids enabled in the root's and quilt.slice's
 *       cgroup.subtree_control so that the leaf has the limit files.
 *
 * Attaching is synchronous (a few mkdir() and write() calls), so the callback runs before
 * cgroup_backend_attach() returns. */

#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cgroup-backend-internal.h"
#include "log.h"

#define CPU_PERIOD_USEC 100000

/* cpuacct only accounts (CPU usage for status and metrics); on most hosts it shares the cpu
 * hierarchy, and a hierarchy is only added once. */
static const char *const fs_controllers[] = { "memory", "cpu", "cpuacct", "pids" };

static int fs_init(CgroupBackend *b) {
        const CgroupMount *m;
        int r;

        if (cgroup_layout_version(b->host.cgroup_layout) == 2) {
                m = cg_mounts_find_unified(&b->mounts);
                if (!m)
                        return 0;
                char *d;
                if (asprintf(&d, "%s/" QUILT_SLICE, m->path) < 0)
                        return log_oom();
                return cgroup_backend_add_hierarchy(b, m, d);
        }

        for (size_t i = 0; i < ELEMENTSOF(fs_controllers); i++) {
                char *d;

                m = cg_mounts_find_controller(&b->mounts, fs_controllers[i]);
                if (!m) {
                        log_warning("cgroup v1 controller %s is not mounted: containers get no %s limit.",
                                    fs_controllers[i], fs_controllers[i]);
                        continue;
                }
                if (asprintf(&d, "%s/" QUILT_SLICE, m->path) < 0)
                        return log_oom();
                r = cgroup_backend_add_hierarchy(b, m, d);
                if (r < 0)
                        return log_oom();
        }
        return 0;
}

static void fs_done(CgroupBackend *b) {
}

/* v2: "+memory +cpu +pids" in dir's cgroup.subtree_control, the missing ones only (writing
 * is cheap, but a controller that is already on should not cost an error path). */
static int enable_controllers(const char *dir) {
        _cleanup_free_ char *enabled = NULL;
        int r;

        r = cg_read_attr(dir, "cgroup.subtree_control", &enabled);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s/cgroup.subtree_control: %m", dir);

        for (size_t i = 0; i < ELEMENTSOF(fs_controllers); i++) {
                char buf[32];
                bool on = false;

                for (const char *p = enabled; (p = strstr(p, fs_controllers[i])); p++)
                        if ((p == enabled || p[-1] == ' ') &&
                            (p[strlen(fs_controllers[i])] == ' ' || p[strlen(fs_controllers[i])] == 0)) {
                                on = true;
                                break;
                        }
                if (on)
                        continue;

                snprintf(buf, sizeof buf, "+%s", fs_controllers[i]);
                r = cg_write_attr(dir, "cgroup.subtree_control", buf);
                if (r < 0)
                        return log_error_errno(
                                r, "Failed to enable the %s controller in %s/cgroup.subtree_control: %m%s",
                                fs_controllers[i], dir,
                                r == -EBUSY ? " (processes in an inner cgroup)" : "");
        }
        return 0;
}

/* quilt.slice in every hierarchy, with the controllers on (v2). Once per backend, unless
 * somebody removed it meanwhile. */
static int prepare_slice(CgroupBackend *b) {
        int r;

        for (size_t i = 0; i < b->n_hierarchies; i++) {
                const CgroupMount *m = b->hierarchies[i];

                if (m->version == 2) {
                        r = enable_controllers(m->path);
                        if (r < 0)
                                return r;
                }
                if (mkdir(b->slice_dirs[i], 0755) < 0 && errno != EEXIST)
                        return log_error_errno(errno, "Failed to create cgroup %s: %m", b->slice_dirs[i]);
                if (m->version == 2) {
                        r = enable_controllers(b->slice_dirs[i]);
                        if (r < 0)
                                return r;
                }
        }

        b->slice_ready = true;
        return 0;
}

static int write_u64(const char *dir, const char *attr, uint64_t v) {
        char buf[32];
        int r;

        snprintf(buf, sizeof buf, "%" PRIu64, v);
        r = cg_write_attr(dir, attr, buf);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s to %s/%s: %m", buf, dir, attr);
        return 0;
}

/* CPU time per second → per CPU_PERIOD_USEC period; the kernel refuses quotas < 1 ms. */
static uint64_t cpu_quota_per_period(uint64_t per_sec) {
        return MAX(per_sec * CPU_PERIOD_USEC / USEC_PER_SEC, (uint64_t) 1000);
}

static int set_limits_v1(const CgroupMount *m, const char *dir, const CgroupLimits *l) {
        int r;

        if (l->memory_max_bytes > 0 && cgroup_mount_has_controller(m, "memory")) {
                r = write_u64(dir, "memory.limit_in_bytes", l->memory_max_bytes);
                if (r < 0)
                        return r;
                /* No swapping past the limit either, where swap accounting exists. memsw must
                 * be >= limit_in_bytes; both start unlimited in a new cgroup, so this order
                 * works, and an EINVAL from ordering is not worth failing for. */
                if (cg_has_attr(dir, "memory.memsw.limit_in_bytes")) {
                        char buf[32];

                        snprintf(buf, sizeof buf, "%" PRIu64, l->memory_max_bytes);
                        r = cg_write_attr(dir, "memory.memsw.limit_in_bytes", buf);
                        if (r < 0 && r != -EINVAL)
                                return log_error_errno(
                                        r, "Failed to write %s/memory.memsw.limit_in_bytes: %m", dir);
                }
        }
        if (l->cpu_quota_usec > 0 && cgroup_mount_has_controller(m, "cpu")) {
                r = write_u64(dir, "cpu.cfs_period_us", CPU_PERIOD_USEC);
                if (r < 0)
                        return r;
                r = write_u64(dir, "cpu.cfs_quota_us", cpu_quota_per_period(l->cpu_quota_usec));
                if (r < 0)
                        return r;
        }
        if (l->pids_max > 0 && cgroup_mount_has_controller(m, "pids")) {
                r = write_u64(dir, "pids.max", l->pids_max);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int set_limits_v2(const char *dir, const CgroupLimits *l) {
        int r;

        if (l->memory_max_bytes > 0) {
                r = write_u64(dir, "memory.max", l->memory_max_bytes);
                if (r < 0)
                        return r;
                if (cg_has_attr(dir, "memory.swap.max")) {
                        r = write_u64(dir, "memory.swap.max", 0);
                        if (r < 0)
                                return r;
                }
        }
        if (l->cpu_quota_usec > 0) {
                char buf[64];

                snprintf(buf, sizeof buf, "%" PRIu64 " %d", cpu_quota_per_period(l->cpu_quota_usec),
                         CPU_PERIOD_USEC);
                r = cg_write_attr(dir, "cpu.max", buf);
                if (r < 0)
                        return log_error_errno(r, "Failed to write \"%s\" to %s/cpu.max: %m", buf, dir);
        }
        if (l->pids_max > 0) {
                r = write_u64(dir, "pids.max", l->pids_max);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A leaf left over from an earlier run (quiltd killed before destroy) is reused once it is
 * empty; one with processes belongs to a running container. */
static int make_leaf(const char *dir) {
        int r;

        if (mkdir(dir, 0755) >= 0)
                return 0;
        if (errno != EEXIST)
                return -errno;

        r = cg_is_populated(dir);
        if (r < 0)
                return r;
        if (r > 0)
                return -EEXIST;

        log_debug("Removing the stale, empty cgroup %s.", dir);
        r = cg_remove_tree(dir);
        if (r < 0)
                return r;
        return RET_NERRNO(mkdir(dir, 0755));
}

static int fs_attach(CgroupAttach *a, pid_t pid, const char *description, const CgroupLimits *limits) {
        CgroupBackend *b = a->backend;
        CgroupMembership membership = {};
        CgroupDir *origin = NULL;
        size_t n_origin = 0, n_created = 0, n_moved = 0;
        char **leaves = NULL;
        int r;

        /* Where the pid is now, so that a failure can put it back; also tells early that
         * the pid does not exist. */
        r = cg_membership_read(pid, &membership);
        if (r < 0)
                return log_debug_errno(r, "Cannot read the cgroups of pid %ji: %m", (intmax_t) pid);
        r = cg_membership_dirs(&b->mounts, &membership, &origin, &n_origin);
        cg_membership_done(&membership);
        if (r < 0)
                return r;

        leaves = calloc(b->n_hierarchies + 1, sizeof(char *));
        if (!leaves) {
                r = -ENOMEM;
                goto fail;
        }

        if (!b->slice_ready) {
                r = prepare_slice(b);
                if (r < 0)
                        goto fail;
        }

        for (size_t i = 0; i < b->n_hierarchies; i++) {
                r = cgroup_backend_leaf_dir(b, i, a->leaf, &leaves[i]);
                if (r < 0)
                        goto fail;

                r = make_leaf(leaves[i]);
                if (r == -ENOENT) {
                        /* quilt.slice went away since we made it */
                        r = prepare_slice(b);
                        if (r >= 0)
                                r = make_leaf(leaves[i]);
                }
                if (r < 0) {
                        log_error_errno(r, "Failed to create cgroup %s: %s", leaves[i],
                                        r == -EEXIST ? "it exists and has processes" : strerror(-r));
                        goto fail;
                }
                n_created = i + 1;

                r = b->hierarchies[i]->version == 2 ? set_limits_v2(leaves[i], limits)
                                                    : set_limits_v1(b->hierarchies[i], leaves[i], limits);
                if (r < 0)
                        goto fail;
        }

        for (size_t i = 0; i < b->n_hierarchies; i++) {
                r = cg_attach(leaves[i], pid);
                if (r < 0) {
                        log_full_errno(r == -ESRCH ? LOG_DEBUG : LOG_ERR, r,
                                       "Failed to move pid %ji into %s: %m", (intmax_t) pid, leaves[i]);
                        goto fail;
                }
                n_moved = i + 1;
        }

        cg_dirs_free(origin, n_origin);
        strv_free(leaves);
        a->callback(0, NULL, a->userdata);
        return 0;

fail:
        /* Put the pid back where it was, then remove what we created. */
        for (size_t i = 0; i < n_moved; i++)
                for (size_t j = 0; j < n_origin; j++)
                        if (origin[j].mount == b->hierarchies[i])
                                (void) cg_attach(origin[j].path, pid);
        for (size_t i = n_created; i > 0; i--)
                (void) cg_remove_tree(leaves[i - 1]);
        cg_dirs_free(origin, n_origin);
        strv_free(leaves);
        return r;
}

static void fs_attach_done(CgroupAttach *a) {
}

const CgroupBackendOps cgroup_fs_ops = {
        .leaf_suffix = "",
        .display_prefix = "/" QUILT_SLICE "/",
        .init = fs_init,
        .done = fs_done,
        .attach = fs_attach,
        .attach_done = fs_attach_done,
};
