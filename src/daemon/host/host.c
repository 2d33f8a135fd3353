/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>

#include "host.h"
#include "log.h"

static bool is_fs_type(const char *path, long magic) {
        struct statfs sfs;

        if (statfs(path, &sfs) < 0)
                return false;
        return sfs.f_type == magic;
}

static CgroupLayout cgroup_layout_detect(void) {
        if (is_fs_type("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
                return CGROUP_LAYOUT_UNIFIED;
        if (!is_fs_type("/sys/fs/cgroup", TMPFS_MAGIC))
                return CGROUP_LAYOUT_UNKNOWN;
        if (is_fs_type("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
                return CGROUP_LAYOUT_HYBRID;
        return CGROUP_LAYOUT_LEGACY;
}

int host_detect(QuiltBackend requested, HostInfo *ret) {
        HostInfo h = {
                .systemd_booted = sd_booted() > 0,
                .cgroup_layout = cgroup_layout_detect(),
        };

        switch (requested) {
        case QUILT_BACKEND_AUTO:
                h.backend = h.systemd_booted ? QUILT_BACKEND_SYSTEMD : QUILT_BACKEND_STANDALONE;
                break;
        case QUILT_BACKEND_SYSTEMD:
                if (!h.systemd_booted)
                        return log_error_errno(EOPNOTSUPP,
                                               "Backend=systemd, but systemd is not PID 1 on this host; "
                                               "use Backend=standalone or auto.");
                h.backend = QUILT_BACKEND_SYSTEMD;
                break;
        default:
                h.backend = QUILT_BACKEND_STANDALONE;
        }

        if (h.cgroup_layout == CGROUP_LAYOUT_UNKNOWN)
                log_warning("No cgroup hierarchy found on /sys/fs/cgroup; containers cannot be limited.");

        *ret = h;
        return 0;
}

/* Where sd_journal_sendv() sends entries. */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static bool journald_reachable(void) {
        struct stat st;

        return stat(JOURNAL_SOCKET, &st) >= 0 && S_ISSOCK(st.st_mode);
}

int host_detect_log_driver(HostInfo *h, QuiltLogDriver requested) {
        switch (requested) {
        case QUILT_LOG_DRIVER_JOURNAL:
                if (!journald_reachable())
                        return log_error_errno(EOPNOTSUPP,
                                               "Logs.Driver=journal, but journald is not running here (no %s); "
                                               "use Driver=file or auto.", JOURNAL_SOCKET);
                h->log_driver = CONTAINER_LOG_JOURNAL;
                break;
        case QUILT_LOG_DRIVER_FILE:
                h->log_driver = CONTAINER_LOG_FILE;
                break;
        default:
                h->log_driver = h->backend == QUILT_BACKEND_SYSTEMD && journald_reachable() ? CONTAINER_LOG_JOURNAL
                                                                                            : CONTAINER_LOG_FILE;
        }
        return 0;
}

const char *cgroup_layout_to_string(CgroupLayout l) {
        switch (l) {
        case CGROUP_LAYOUT_LEGACY:
                return "v1";
        case CGROUP_LAYOUT_HYBRID:
                return "hybrid";
        case CGROUP_LAYOUT_UNIFIED:
                return "v2";
        default:
                return "unknown";
        }
}

int cgroup_layout_version(CgroupLayout l) {
        switch (l) {
        case CGROUP_LAYOUT_UNIFIED:
                return 2;
        case CGROUP_LAYOUT_LEGACY:
        case CGROUP_LAYOUT_HYBRID:
                return 1;
        default:
                return 0;
        }
}

/* The controllers containers are limited with. On v2 they must be enabled in the root's
 * cgroup.controllers; on v1 each is its own writable hierarchy. */
static const char *const needed_controllers[] = { "memory", "cpu", "pids" };

static int check_controllers_v2(char **ret_missing) {
        _cleanup_free_ char *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t n = 0;

        f = fopen("/sys/fs/cgroup/cgroup.controllers", "re");
        if (!f)
                return -errno;
        if (getline(&line, &n, f) < 0)
                return -EIO;

        for (size_t i = 0; i < ELEMENTSOF(needed_controllers); i++) {
                const char *c = needed_controllers[i];
                size_t l = strlen(c);
                bool found = false;

                for (const char *p = line; (p = strstr(p, c)); p += l)
                        if ((p == line || p[-1] == ' ') && (p[l] == ' ' || p[l] == '\n' || p[l] == 0)) {
                                found = true;
                                break;
                        }
                if (!found) {
                        *ret_missing = strdup(c);
                        return -ENOENT;
                }
        }
        return 0;
}

static int check_controllers_v1(char **ret_missing) {
        for (size_t i = 0; i < ELEMENTSOF(needed_controllers); i++) {
                char path[64];

                snprintf(path, sizeof path, "/sys/fs/cgroup/%s", needed_controllers[i]);
                if (!is_fs_type(path, CGROUP_SUPER_MAGIC) || access(path, W_OK) < 0) {
                        *ret_missing = strdup(needed_controllers[i]);
                        return -ENOENT;
                }
        }
        return 0;
}

int host_check_cgroups(const HostInfo *h, char **ret_message) {
        _cleanup_free_ char *missing = NULL;
        int version = cgroup_layout_version(h->cgroup_layout);
        int r;

        if (version == 0) {
                *ret_message = strdup("no cgroup hierarchy on /sys/fs/cgroup");
                return -ENOENT;
        }

        r = version == 2 ? check_controllers_v2(&missing) : check_controllers_v1(&missing);
        if (r < 0) {
                if (asprintf(ret_message, "cgroup %s: controller %s is not available%s",
                             cgroup_layout_to_string(h->cgroup_layout), missing ?: "list",
                             version == 1 ? " (or not writable)" : "") < 0)
                        *ret_message = NULL;
                return r;
        }

        if (asprintf(ret_message, "cgroup %s (%s backend): memory, cpu and pids controllers available",
                     cgroup_layout_to_string(h->cgroup_layout), quilt_backend_to_string(h->backend)) < 0)
                *ret_message = NULL;
        return 0;
}

static int namespace_probe_child(void *arg) {
        _exit(0);
}

int host_check_namespaces(char **ret_message) {
        static const int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
                                 CLONE_NEWCGROUP;
        static char stack[16384] __attribute__((aligned(16)));
        int status;
        pid_t pid;

        /* Really create the namespaces a container gets: a sandboxed quiltd (a unit with
         * RestrictNamespaces=, a container without CAP_SYS_ADMIN) fails here, not at the
         * first create. CLONE_VM|CLONE_VFORK: we are multi-threaded, so the child shares
         * our memory, does nothing but _exit(), and we are suspended until it has. */
        pid = clone(namespace_probe_child, stack + sizeof stack, flags | CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
        if (pid < 0) {
                int r = -errno;
                if (asprintf(ret_message, "cannot create pid, mount, uts, ipc, net and cgroup namespaces: %s",
                             strerror(-r)) < 0)
                        *ret_message = NULL;
                return r;
        }

        (void) waitpid(pid, &status, __WALL);
        *ret_message = strdup("pid, mount, uts, ipc, net and cgroup namespaces can be created");
        return 0;
}
