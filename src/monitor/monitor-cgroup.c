/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup-util.h"
#include "fileio.h"
#include "log.h"
#include "monitor-cgroup.h"
#include "time-util.h"

#define KILL_TIMEOUT_USEC (5 * USEC_PER_SEC)
#define RMDIR_TIMEOUT_USEC (2 * USEC_PER_SEC)

static void sleep_usec(uint64_t usec) {
        struct timespec ts = { .tv_sec = (time_t) (usec / USEC_PER_SEC),
                               .tv_nsec = (long) ((usec % USEC_PER_SEC) * NSEC_PER_USEC) };

        (void) nanosleep(&ts, NULL);
}

static int add_hierarchy(CgroupSet *s, char *leaf, bool unified) {
        CgroupHierarchy *n;

        n = reallocarray(s->hierarchies, s->n_hierarchies + 1, sizeof(CgroupHierarchy));
        if (!n)
                return log_oom();
        s->hierarchies = n;
        s->hierarchies[s->n_hierarchies++] = (CgroupHierarchy) { .leaf = leaf, .unified = unified };
        return 0;
}

/* Every hierarchy where pid's cgroup path ends in "/<leaf>" (suffix NULL) or in
 * "/<leaf>/<suffix>"; the leaf directories are recorded. */
static int discover(CgroupSet *s, pid_t pid, const char *leaf, const char *suffix) {
        _cleanup_(cg_membership_done) CgroupMembership membership = {};
        _cleanup_(cg_mounts_done) CgroupMounts mounts = {};
        int r;

        r = cg_mounts_read(&mounts);
        if (r < 0)
                return log_error_errno(r, "Failed to read /proc/self/mountinfo: %m");
        r = cg_membership_read(pid, &membership);
        if (r < 0)
                return log_error_errno(r, "Failed to read /proc/%i/cgroup: %m", (int) (pid ?: getpid()));

        for (size_t i = 0; i < membership.n; i++) {
                const CgroupMember *member = membership.members + i;
                _cleanup_free_ char *dir = NULL, *leaf_path = NULL;
                const CgroupMount *mount;
                char *last;

                leaf_path = strdup(member->path);
                if (!leaf_path)
                        return log_oom();
                if (suffix) {
                        last = strrchr(leaf_path, '/');
                        if (!last || !streq(last + 1, suffix))
                                continue;
                        *last = 0;
                }
                last = strrchr(leaf_path, '/');
                if (!last || !streq(last + 1, leaf))
                        continue;

                mount = cg_mounts_find_member(&mounts, member);
                r = mount ? cg_mount_dir(mount, leaf_path, &dir) : -EXDEV;
                if (r == -EXDEV) {
                        log_warning("A cgroup hierarchy of %s is not mounted here, ignoring.", member->path);
                        continue;
                }
                if (r < 0)
                        return log_error_errno(r, "Failed to find the directory of cgroup %s: %m", member->path);

                r = add_hierarchy(s, dir, mount->version == 2);
                if (r < 0)
                        return r;
                TAKE_PTR(dir);
        }
        return 0;
}

int cgroup_set_discover(CgroupSet *s, const char *leaf) {
        int r;

        r = discover(s, 0, leaf, NULL);
        if (r < 0)
                return r;
        if (s->n_hierarchies == 0)
                return log_error_errno(ENOENT, "The monitor is in no cgroup named %s.", leaf);
        return 0;
}

int cgroup_set_discover_payload(CgroupSet *s, pid_t pid, const char *leaf) {
        int r;

        r = discover(s, pid, leaf, "payload");
        if (r < 0)
                return r;
        if (s->n_hierarchies == 0)
                return log_error_errno(ENOENT, "Process %i is in no cgroup %s/payload.", (int) pid, leaf);
        return 0;
}

static char *child_path(const CgroupHierarchy *h, const char *child, const char *file) {
        char *p;

        if (asprintf(&p, "%s/%s%s%s", h->leaf, child, file ? "/" : "", strempty(file)) < 0)
                return NULL;
        return p;
}

/* A new v1 cpuset starts with no CPUs and no memory nodes, and a task cannot join it
 * until they are set: inherit the parent's. parent is "" for the leaf itself. */
static int cpuset_inherit(const CgroupHierarchy *h, const char *parent, const char *child) {
        static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
        char buf[4096];
        int r;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *parent_file = NULL, *mine = NULL;

                if (asprintf(&mine, "%s/%s%s%s/%s", h->leaf, parent, *parent ? "/" : "", child, files[i]) < 0 ||
                    asprintf(&parent_file, "%s/%s%s%s", h->leaf, parent, *parent ? "/" : "", files[i]) < 0)
                        return log_oom();
                r = read_small_file(mine, buf, sizeof buf);
                if (r == -ENOENT)
                        return 0; /* not a cpuset hierarchy */
                if (r < 0)
                        return log_error_errno(r, "Failed to read %s: %m", mine);
                if (!isempty(buf) && !streq(buf, "\n"))
                        continue;
                r = read_small_file(parent_file, buf, sizeof buf);
                if (r < 0)
                        return log_error_errno(r, "Failed to read %s: %m", parent_file);
                r = write_string_file(mine, buf);
                if (r < 0)
                        return log_error_errno(r, "Failed to write %s: %m", mine);
        }
        return 0;
}

static int attach(const CgroupHierarchy *h, const char *child, pid_t pid) {
        _cleanup_free_ char *dir = child_path(h, child, NULL);
        int r;

        if (!dir)
                return log_oom();
        r = cg_attach(dir, pid);
        if (r < 0)
                return log_error_errno(r, "Failed to move process %i into %s: %m", (int) pid, dir);
        return 0;
}

/* With no process left in the leaf, cgroup v2 lets it hand its controllers down, so that
 * payload/ gets its own memory.events and pids accounting. */
static void delegate_controllers(const CgroupHierarchy *h) {
        _cleanup_free_ char *controllers = NULL, *subtree = NULL;
        char buf[512], *saveptr = NULL;

        if (asprintf(&controllers, "%s/cgroup.controllers", h->leaf) < 0 ||
            asprintf(&subtree, "%s/cgroup.subtree_control", h->leaf) < 0) {
                log_oom();
                return;
        }
        if (read_small_file(controllers, buf, sizeof buf) < 0)
                return;
        for (char *c = strtok_r(buf, " \n", &saveptr); c; c = strtok_r(NULL, " \n", &saveptr)) {
                char op[64];
                int r;

                (void) snprintf(op, sizeof op, "+%s", c);
                r = write_string_file(subtree, op);
                if (r < 0)
                        log_warning_errno(r, "Failed to enable controller %s in %s, ignoring: %m", c, subtree);
        }
}

int cgroup_set_enter_supervisor(CgroupSet *s) {
        static const char *const children[] = { "supervisor", "payload" };
        int r;

        for (size_t i = 0; i < s->n_hierarchies; i++) {
                CgroupHierarchy *h = &s->hierarchies[i];

                for (size_t j = 0; j < ELEMENTSOF(children); j++) {
                        _cleanup_free_ char *dir = child_path(h, children[j], NULL);

                        if (!dir)
                                return log_oom();
                        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                                return log_error_errno(errno, "Failed to create %s: %m", dir);
                        if (j == 1)
                                h->payload_created = true;
                        r = cpuset_inherit(h, "", children[j]);
                        if (r < 0)
                                return r;
                }

                r = attach(h, "supervisor", getpid());
                if (r < 0)
                        return r;
                if (h->unified)
                        delegate_controllers(h);
        }

        /* Pick the OOM counter now, so that both readings come from the same file. */
        for (size_t i = 0; i < s->n_hierarchies && !s->oom_dir; i++) {
                static const char *const files[] = { "memory.events", "memory.oom_control" };
                _cleanup_free_ char *payload = child_path(&s->hierarchies[i], "payload", NULL);

                if (!payload)
                        return log_oom();
                for (size_t j = 0; j < ELEMENTSOF(files); j++)
                        if (cg_has_attr(payload, files[j])) {
                                s->oom_dir = TAKE_PTR(payload);
                                s->oom_attr = files[j];
                                break;
                        }
        }
        if (!s->oom_dir)
                log_debug("No memory controller for the payload: OOM kills will not be detected.");
        return 0;
}

int cgroup_set_attach_payload(CgroupSet *s, pid_t pid) {
        int r;

        for (size_t i = 0; i < s->n_hierarchies; i++) {
                r = attach(&s->hierarchies[i], "payload", pid);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* payload/ or payload/<sub>. */
static char *sub_path(const CgroupHierarchy *h, const char *sub) {
        char *p;

        if (asprintf(&p, "%s/payload%s%s", h->leaf, sub ? "/" : "", strempty(sub)) < 0)
                return NULL;
        return p;
}

/* The one hierarchy that gets payload/<sub>: it only has to find the sub's processes to
 * kill them, and every hierarchy holds all of them. cgroup2 has cgroup.kill; a v1 pids
 * cgroup is the cheapest to create (a memory cgroup costs far more). The rest of the
 * hierarchies keep the sub's processes in payload/, whose limits and accounting count. */
static CgroupHierarchy *sub_hierarchy(CgroupSet *s) {
        CgroupHierarchy *pick = NULL;

        for (size_t i = 0; i < s->n_hierarchies; i++) {
                CgroupHierarchy *h = &s->hierarchies[i];

                if (h->unified)
                        return h;
                if (!pick || cg_has_attr(h->leaf, "pids.max"))
                        pick = pick && cg_has_attr(pick->leaf, "pids.max") ? pick : h;
        }
        return pick;
}

void cgroup_join_done(CgroupJoin *j) {
        for (int *fd = j->task_fds; fd && *fd >= 0; fd++)
                safe_close(*fd);
        j->task_fds = mfree(j->task_fds);
        j->unified_dir_fd = safe_close(j->unified_dir_fd);
        j->unified_procs_fd = safe_close(j->unified_procs_fd);
}

int cgroup_set_prepare_join(CgroupSet *s, const char *sub, CgroupJoin *ret) {
        CgroupJoin j = { .unified_dir_fd = -EBADF, .unified_procs_fd = -EBADF };
        const CgroupHierarchy *sub_h = sub ? sub_hierarchy(s) : NULL;
        size_t n = 0;
        int r;

        j.task_fds = new0(int, s->n_hierarchies + 1);
        if (!j.task_fds)
                return log_oom();
        j.task_fds[0] = -EBADF;

        for (size_t i = 0; i < s->n_hierarchies; i++) {
                CgroupHierarchy *h = &s->hierarchies[i];
                _cleanup_free_ char *dir = sub_path(h, h == sub_h ? sub : NULL), *file = NULL;

                if (!dir) {
                        r = log_oom();
                        goto fail;
                }
                if (h == sub_h) {
                        if (mkdir(dir, 0755) < 0) {
                                r = log_error_errno(errno, "Failed to create %s: %m", dir);
                                goto fail;
                        }
                        r = cpuset_inherit(h, "payload", sub);
                        if (r < 0)
                                goto fail;
                }

                /* Moving a process through cgroup.procs takes the kernel's global threadgroup
                 * lock for writing, which waits for an RCU grace period (milliseconds). A
                 * single thread moving itself through v1's "tasks" does not; the joining
                 * child has one thread. On cgroup2 a child can be created in its cgroup. */
                if (asprintf(&file, "%s/%s", dir, h->unified ? "cgroup.procs" : "tasks") < 0) {
                        r = log_oom();
                        goto fail;
                }
                if (h->unified) {
                        j.unified_dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        j.unified_procs_fd = open(file, O_WRONLY | O_CLOEXEC | O_NOCTTY);
                        if (j.unified_dir_fd < 0 || j.unified_procs_fd < 0) {
                                r = log_error_errno(errno, "Failed to open %s: %m", dir);
                                goto fail;
                        }
                        continue;
                }
                j.task_fds[n] = open(file, O_WRONLY | O_CLOEXEC | O_NOCTTY);
                if (j.task_fds[n] < 0) {
                        r = log_error_errno(errno, "Failed to open %s: %m", file);
                        goto fail;
                }
                j.task_fds[++n] = -EBADF;
        }
        *ret = j;
        return 0;

fail:
        cgroup_join_done(&j);
        if (sub)
                (void) cgroup_set_remove_sub(s, sub);
        return r;
}

int cgroup_set_kill_sub(CgroupSet *s, const char *sub) {
        const CgroupHierarchy *h = sub_hierarchy(s);
        _cleanup_free_ char *dir = NULL;
        int r;

        if (!h)
                return 0;
        dir = sub_path(h, sub);
        if (!dir)
                return log_oom();
        r = cg_kill_tree(dir, SIGKILL);
        if (r < 0)
                return log_warning_errno(r, "Failed to kill the processes in %s: %m", dir);
        return 0;
}

int cgroup_set_remove_sub(CgroupSet *s, const char *sub) {
        const CgroupHierarchy *h = sub_hierarchy(s);
        _cleanup_free_ char *payload = NULL, *dir = NULL;
        int r;

        if (!h)
                return 0;
        payload = sub_path(h, NULL);
        dir = sub_path(h, sub);
        if (!payload || !dir)
                return log_oom();

        /* What the command left running in the background stays with the container. Moving
         * is per process: repeat while forks race with us. */
        for (unsigned round = 0; round < 10; round++) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;

                r = cg_read_pids(dir, &pids, &n);
                if (r < 0 || n == 0)
                        break;
                for (size_t j = 0; j < n; j++)
                        (void) cg_attach(payload, pids[j]);
        }

        r = cg_remove_tree(dir);
        if (r < 0)
                return log_warning_errno(r, "Failed to remove %s: %m", dir);
        return 0;
}

int cgroup_set_oom_kills(CgroupSet *s, uint64_t *ret) {
        int r;

        if (!s->oom_dir)
                return -ENODATA;
        /* Both files are "key value" lines; the counter is "oom_kill <n>". */
        r = cg_read_key_u64(s->oom_dir, s->oom_attr, "oom_kill", ret);
        if (r < 0 && r != -ENXIO)
                return log_warning_errno(r, "Failed to read %s/%s: %m", s->oom_dir, s->oom_attr);
        return r < 0 ? -ENODATA : 0;
}

/* Sends SIGKILL to every process listed in dir/cgroup.procs and below. Returns how many. */
static int kill_procs(const char *dir) {
        _cleanup_free_ char *procs = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        DIR *d;
        size_t size = 0;
        int n = 0;

        if (asprintf(&procs, "%s/cgroup.procs", dir) < 0)
                return log_oom();
        f = fopen(procs, "re");
        if (!f)
                return errno == ENOENT ? 0 : log_warning_errno(errno, "Failed to open %s: %m", procs);
        while (getline(&line, &size, f) > 0) {
                int pid = atoi(line);

                if (pid > 0 && kill(pid, SIGKILL) == 0)
                        n++;
        }

        /* The container cannot create cgroups (read-only /sys, no mount, no CAP_SYS_ADMIN),
         * but a hand-made subtree must not hide processes either. */
        d = opendir(dir);
        if (!d)
                return n;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *sub = NULL;

                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (asprintf(&sub, "%s/%s", dir, de->d_name) < 0)
                        break;
                n += MAX(kill_procs(sub), 0);
        }
        closedir(d);
        return n;
}

int cgroup_set_kill_payload(CgroupSet *s, void (*reap)(void *userdata), void *userdata) {
        _cleanup_free_ char *payload = NULL;
        const CgroupHierarchy *h = NULL;
        uint64_t deadline;
        bool killed = false;

        /* Every hierarchy holds all of the payload's processes: use cgroup2 when there is
         * one, for cgroup.kill. */
        for (size_t i = 0; i < s->n_hierarchies; i++)
                if (s->hierarchies[i].payload_created && (!h || s->hierarchies[i].unified))
                        h = &s->hierarchies[i];
        if (!h)
                return 0;
        payload = child_path(h, "payload", NULL);
        if (!payload)
                return log_oom();

        if (h->unified) {
                _cleanup_free_ char *kill_file = child_path(h, "payload", "cgroup.kill");

                if (kill_file && write_string_file(kill_file, "1") == 0)
                        killed = true;
        }

        /* Without cgroup.kill a fork can race with the loop: repeat until a pass finds no one. */
        deadline = now_usec(CLOCK_MONOTONIC) + KILL_TIMEOUT_USEC;
        for (;;) {
                int n = killed ? 0 : kill_procs(payload);
                char buf[64];

                if (reap)
                        reap(userdata);
                if (n == 0) {
                        if (!killed)
                                break;
                        /* cgroup.kill is asynchronous: wait until nothing is listed. */
                        _cleanup_free_ char *procs = child_path(h, "payload", "cgroup.procs");

                        if (!procs || read_small_file(procs, buf, sizeof buf) <= 0)
                                break;
                }
                if (now_usec(CLOCK_MONOTONIC) > deadline)
                        return log_warning_errno(EBUSY, "Processes remain in %s after SIGKILL.", payload);
                sleep_usec(10 * USEC_PER_MSEC);
        }
        return 0;
}

int cgroup_set_remove_payload(CgroupSet *s) {
        int ret = 0;

        for (size_t i = 0; i < s->n_hierarchies; i++) {
                CgroupHierarchy *h = &s->hierarchies[i];
                _cleanup_free_ char *payload = NULL;
                uint64_t deadline;

                if (!h->payload_created)
                        continue;
                payload = child_path(h, "payload", NULL);
                if (!payload)
                        return log_oom();

                /* With the exec cgroups below it that a killed exec helper left. */
                deadline = now_usec(CLOCK_MONOTONIC) + RMDIR_TIMEOUT_USEC;
                for (;;) {
                        int r = cg_remove_tree(payload);

                        if (r >= 0)
                                break;
                        if (r != -EBUSY || now_usec(CLOCK_MONOTONIC) > deadline) {
                                ret = log_warning_errno(r, "Failed to remove %s: %m", payload);
                                break;
                        }
                        sleep_usec(10 * USEC_PER_MSEC);
                }
                h->payload_created = false;
        }
        return ret;
}

void cgroup_set_done(CgroupSet *s) {
        for (size_t i = 0; i < s->n_hierarchies; i++)
                free(s->hierarchies[i].leaf);
        s->hierarchies = mfree(s->hierarchies);
        s->n_hierarchies = 0;
        s->oom_dir = mfree(s->oom_dir);
        s->oom_attr = NULL;
}
