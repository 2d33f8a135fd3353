/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* From a container row to a quilt-monitor process: the directories, config.json, and a
 * posix_spawn() with a clean environment and exactly the fds of container-spec.h. quiltd
 * is multi-threaded, so nothing but exec happens in the child (posix_spawn uses
 * CLONE_VFORK). */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-backend.h"
#include "container-log.h"
#include "container-spec.h"
#include "fs-util.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "rm-rf.h"
#include "store-volumes.h"
#include "store.h"
#include "strv.h"
#include "volume-store.h"
#include "runtime-internal.h"

/* Open files in the container: what most distributions give a login session. */
#define CONTAINER_NOFILE 1024U

static const char *const container_default_env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "container=quilt",
        NULL,
};

int runtime_state_dir(Runtime *r, const char *id, char **ret) {
        return asprintf(ret, "%s/containers/%s", r->manager->config->state_dir, id) < 0 ? -ENOMEM : 0;
}

int runtime_run_dir(Runtime *r, const char *id, char **ret) {
        return asprintf(ret, "%s/containers/%s", r->manager->config->runtime_dir, id) < 0 ? -ENOMEM : 0;
}

static bool env_has_key(char **env, const char *entry) {
        size_t k = strcspn(entry, "=");

        for (char **i = env; i && *i; i++)
                if (strncmp(*i, entry, k) == 0 && (*i)[k] == '=')
                        return true;
        return false;
}

/* The defaults, HOSTNAME and HOME, then the user's variables, which win. */
static int build_env(const ContainerRecord *c, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;
        size_t n = 0, max = 4 + ELEMENTSOF(container_default_env);

        for (char **i = c->environment; i && *i; i++)
                max++;
        env = calloc(max, sizeof(char *));
        if (!env)
                return -ENOMEM;

        for (const char *const *i = container_default_env; *i; i++)
                if (!env_has_key(c->environment, *i) && !(env[n++] = strdup(*i)))
                        return -ENOMEM;
        if (!env_has_key(c->environment, "HOSTNAME=") && asprintf(&env[n++], "HOSTNAME=%s", c->name) < 0) {
                env[--n] = NULL;
                return -ENOMEM;
        }
        /* For a non-root --user, init would have to read the image's passwd to know HOME;
         * "/" is what Docker uses when it does not know better. */
        if (!env_has_key(c->environment, "HOME=") && !(env[n++] = strdup(isempty(c->user) ? "HOME=/root" : "HOME=/")))
                return -ENOMEM;
        for (char **i = c->environment; i && *i; i++)
                if (!(env[n++] = strdup(*i)))
                        return -ENOMEM;

        *ret = TAKE_PTR(env);
        return 0;
}

/* The container's mounts as init applies them: volume names become the volume's data
 * directory, and a volume removed (by force) since is created again, empty. */
static int build_mounts(Runtime *r, const char *id, ContainerSpec *spec) {
        int k;

        k = store_container_mounts_get(r->manager->store, id, &spec->mounts, &spec->n_mounts);
        if (k < 0)
                return log_error_errno(k, "Failed to read the mounts of container %s: %s", id,
                                       store_errmsg(r->manager->store));

        for (size_t i = 0; i < spec->n_mounts; i++) {
                ContainerMount *m = spec->mounts + i;
                _cleanup_free_ char *name = NULL;
                bool created;

                if (m->type != CONTAINER_MOUNT_VOLUME)
                        continue;
                name = TAKE_PTR(m->source);
                k = volume_store_ensure(r->manager->volumes, name, &created);
                if (k < 0)
                        return log_error_errno(k, "Failed to prepare volume %s for container %s: %m", name, id);
                k = volume_store_data_path(r->manager->volumes, name, &m->source);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int build_spec(Runtime *r, const ContainerRecord *c, bool first_run, const char *run_dir,
                      const char *state_dir, ContainerSpec **ret) {
        _cleanup_(container_spec_freep) ContainerSpec *spec = NULL;
        int k;

        spec = calloc(1, sizeof *spec);
        if (!spec)
                return -ENOMEM;

        spec->namespaces = CONTAINER_NS_ALL;
        for (char **i = c->host_namespaces; i && *i; i++)
                spec->namespaces &= ~(unsigned) container_namespace_from_string(*i);
        /* network decides, also for rows older than it (where host_namespaces did). */
        if (c->network == CONTAINER_NETWORK_HOST)
                spec->namespaces &= ~(unsigned) CONTAINER_NS_NET;
        else
                spec->namespaces |= CONTAINER_NS_NET;

        spec->no_new_privileges = true;
        spec->seccomp = true;
        spec->log_driver = c->log_driver;
        spec->log_max_bytes = r->manager->config->log_max_file_size;
        spec->log_created = first_run;

        spec->rlimits = calloc(1, sizeof(ContainerRlimit));
        if (!spec->rlimits)
                return -ENOMEM;
        spec->rlimits[0] = (ContainerRlimit) { RLIMIT_NOFILE, CONTAINER_NOFILE, CONTAINER_NOFILE };
        spec->n_rlimits = 1;

        if (!(spec->id = strdup(c->id)) || !(spec->name = strdup(c->name)) || !(spec->run_dir = strdup(run_dir)) ||
            !(spec->state_dir = strdup(state_dir)) || !(spec->rootfs_lower = strdup(c->image_rootfs)) ||
            !(spec->working_directory = strdup(isempty(c->working_directory) ? "/" : c->working_directory)) ||
            (c->user && !(spec->user = strdup(c->user))) || !(spec->argv = strv_copy(c->command)) ||
            !(spec->capabilities = strv_copy((char *const *) container_default_capabilities)))
                return -ENOMEM;

        if (asprintf(&spec->rootfs_upper, "%s/upper", state_dir) < 0 ||
            asprintf(&spec->rootfs_work, "%s/work", state_dir) < 0 ||
            asprintf(&spec->rootfs_target, "%s/rootfs", state_dir) < 0 ||
            asprintf(&spec->log_path, "%s/" CONTAINER_LOG_FILE_NAME, state_dir) < 0)
                return -ENOMEM;

        k = cgroup_backend_leaf_name(r->manager->cgroups, c->id, &spec->cgroup_leaf);
        if (k < 0)
                return k;
        k = build_env(c, &spec->env);
        if (k < 0)
                return k;
        k = network_fill_spec(r->manager->network, c, spec);
        if (k < 0)
                return k;
        k = build_mounts(r, c->id, spec);
        if (k < 0)
                return k;

        *ret = TAKE_PTR(spec);
        return 0;
}

static int make_directories(const char *run_dir, const char *state_dir) {
        static const struct {
                const char *sub;
                mode_t mode;
        } dirs[] = {
                { "", 0700 },
                { "/upper", 0755 }, /* becomes the container's "/": its mode is what the container sees */
                { "/work", 0700 },
                { "/rootfs", 0755 },
        };
        int r;

        r = mkdir_p(run_dir, 0700);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s%s", state_dir, dirs[i].sub) < 0)
                        return -ENOMEM;
                r = mkdir_p(p, dirs[i].mode);
                if (r < 0)
                        return r;
        }
        return 0;
}

int runtime_spawn(const char *path, char *const argv[], const int *fds, size_t n_fds, pid_t *ret_pid) {
        /* Nothing of quiltd's environment reaches containers: not NOTIFY_SOCKET, LISTEN_*,
         * INVOCATION_ID, WATCHDOG_* or JOURNAL_STREAM. */
        static char *const envp[] = { (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                      NULL };
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attr;
        int copies[16];
        size_t n_copies = 0;
        sigset_t mask, all;
        int r;

        if (n_fds > ELEMENTSOF(copies))
                return -E2BIG;

        /* A source fd below n_fds could be overwritten by an earlier dup2() before its own
         * turn, and dup2() onto the same number would keep O_CLOEXEC: use copies from n_fds
         * up (close-on-exec, so only the dup2()ed numbers survive). */
        for (size_t i = 0; i < n_fds; i++) {
                if (fds[i] < 0)
                        continue;
                copies[n_copies] = fcntl(fds[i], F_DUPFD_CLOEXEC, (int) n_fds);
                if (copies[n_copies] < 0) {
                        r = -errno;
                        goto close_copies;
                }
                n_copies++;
        }

        r = -posix_spawn_file_actions_init(&actions);
        if (r < 0)
                goto close_copies;
        r = -posix_spawnattr_init(&attr);
        if (r < 0) {
                posix_spawn_file_actions_destroy(&actions);
                goto close_copies;
        }

        (void) sigemptyset(&mask);
        (void) sigfillset(&all);

        /* Its own session: a Ctrl-C meant for a foreground quiltd must not reach the
         * containers. Signals unblocked and at their defaults, whatever quiltd did with them. */
        if ((r = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                                           POSIX_SPAWN_SETSIGDEF)) < 0 ||
            (r = -posix_spawnattr_setsigmask(&attr, &mask)) < 0 ||
            (r = -posix_spawnattr_setsigdefault(&attr, &all)) < 0)
                goto finish;

        for (size_t i = 0, j = 0; i < n_fds; i++) {
                if (fds[i] >= 0)
                        r = -posix_spawn_file_actions_adddup2(&actions, copies[j++], (int) i);
                else if (i <= STDERR_FILENO)
                        r = -posix_spawn_file_actions_addopen(&actions, (int) i, "/dev/null",
                                                              i == STDIN_FILENO ? O_RDONLY : O_WRONLY, 0);
                else
                        r = -posix_spawn_file_actions_addclose(&actions, (int) i);
                if (r < 0)
                        goto finish;
        }
        r = -posix_spawn_file_actions_addclosefrom_np(&actions, (int) n_fds);
        if (r < 0)
                goto finish;

        r = -posix_spawn(ret_pid, path, &actions, &attr, argv, envp);

finish:
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&actions);
close_copies:
        for (size_t i = 0; i < n_copies; i++)
                safe_close(copies[i]);
        return r;
}

int runtime_spawn_monitor(Runtime *r, const ContainerRecord *record, bool first_run, pid_t *ret_pid,
                          int *ret_control_fd, int *ret_report_fd) {
        _cleanup_free_ char *run_dir = NULL, *state_dir = NULL, *config_path = NULL, *exit_path = NULL,
                            *log_path = NULL;
        _cleanup_(container_spec_freep) ContainerSpec *spec = NULL;
        _cleanup_close_ int control_read = -EBADF, control_write = -EBADF, report_read = -EBADF,
                            report_write = -EBADF, log_fd = -EBADF;
        int control[2], report[2];
        pid_t pid;
        int k;

        if (runtime_run_dir(r, record->id, &run_dir) < 0 || runtime_state_dir(r, record->id, &state_dir) < 0 ||
            asprintf(&config_path, "%s/config.json", run_dir) < 0 || asprintf(&exit_path, "%s/exit.json", run_dir) < 0 ||
            asprintf(&log_path, "%s/monitor.log", run_dir) < 0)
                return log_oom();

        k = make_directories(run_dir, state_dir);
        if (k < 0)
                return log_error_errno(k, "Failed to create the directories of container %s: %m", record->id);

        k = build_spec(r, record, first_run, run_dir, state_dir, &spec);
        if (k < 0)
                return log_error_errno(k, "Failed to build the configuration of container %s: %m", record->id);
        k = container_spec_save(spec, config_path);
        if (k < 0)
                return log_error_errno(k, "Failed to write %s: %m", config_path);

        /* The record of an earlier run would pass for this one's. */
        if (unlink(exit_path) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Failed to remove %s: %m", exit_path);

        if (pipe2(control, O_CLOEXEC) < 0)
                return log_error_errno(errno, "Failed to create a pipe: %m");
        control_read = control[0];
        control_write = control[1];
        if (pipe2(report, O_CLOEXEC) < 0)
                return log_error_errno(errno, "Failed to create a pipe: %m");
        report_read = report[0];
        report_write = report[1];

        if (fcntl(report_read, F_SETFL, O_NONBLOCK) < 0)
                return log_error_errno(errno, "Failed to make the report pipe non-blocking: %m");

        log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
        if (log_fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", log_path);

        /* fd 0 /dev/null, 1 and 2 monitor.log, 3 control, 4 report (container-spec.h). */
        k = runtime_spawn(r->monitor_path, (char *const[]) { (char *) "quilt-monitor", run_dir, NULL },
                          (const int[]) { -EBADF, log_fd, log_fd, control_read, report_write }, 5, &pid);
        if (k < 0)
                return log_error_errno(k, "Failed to spawn %s: %m", r->monitor_path);

        *ret_pid = pid;
        *ret_control_fd = TAKE_FD(control_write);
        *ret_report_fd = TAKE_FD(report_read);
        return 0;
}

int runtime_remove_directories(Runtime *r, const char *id) {
        _cleanup_free_ char *run_dir = NULL, *state_dir = NULL;
        int k, ret = 0;

        if (runtime_run_dir(r, id, &run_dir) < 0 || runtime_state_dir(r, id, &state_dir) < 0)
                return -ENOMEM;

        k = rm_rf(state_dir);
        if (k < 0)
                ret = log_error_errno(k, "Failed to remove %s: %m", state_dir);
        k = rm_rf(run_dir);
        if (k < 0 && ret == 0)
                ret = log_error_errno(k, "Failed to remove %s: %m", run_dir);
        return ret;
}
