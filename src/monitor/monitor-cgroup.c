/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

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

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unoctal(char *s) {
        char *w = s;

        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
                    p[3] <= '7') {
                        *w++ = (char) ((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
                        p += 3;
                } else
                        *w++ = *p;
        }
        *w = '\0';
}

static bool comma_list_contains(const char *list, const char *word, size_t n) {
        for (const char *p = list; p && *p;) {
                const char *e = strchrnul(p, ',');

                if ((size_t) (e - p) == n && strncmp(p, word, n) == 0)
                        return true;
                p = *e ? e + 1 : NULL;
        }
        return false;
}

/* A v1 hierarchy is mounted with its controllers (or name=) in the super options. */
static bool superopts_match(const char *superopts, const char *controllers) {
        for (const char *p = controllers; *p;) {
                const char *e = strchrnul(p, ',');

                if (!comma_list_contains(superopts, p, (size_t) (e - p)))
                        return false;
                p = *e ? e + 1 : e;
        }
        return true;
}

/* Finds where the hierarchy (controllers, or "" for cgroup2) is mounted and returns the
 * directory of cgroup path in it. */
static int find_cgroup_dir(const char *controllers, const char *path, char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        bool unified = isempty(controllers);
        size_t size = 0;

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return log_error_errno(errno, "Failed to open /proc/self/mountinfo: %m");

        while (getline(&line, &size, f) > 0) {
                char *fields[5], *sep, *fstype, *superopts, *saveptr = NULL, *p = line;
                const char *rel;

                line[strcspn(line, "\n")] = '\0';
                sep = strstr(line, " - ");
                if (!sep)
                        continue;
                *sep = '\0';
                for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                        fields[i] = strtok_r(p, " ", &saveptr);
                        p = NULL;
                        if (!fields[i])
                                goto next;
                }
                saveptr = NULL;
                fstype = strtok_r(sep + 3, " ", &saveptr);
                (void) strtok_r(NULL, " ", &saveptr); /* source */
                superopts = strtok_r(NULL, " ", &saveptr);
                if (!fstype || !superopts)
                        continue;

                if (unified ? !streq(fstype, "cgroup2")
                            : !streq(fstype, "cgroup") || !superopts_match(superopts, controllers))
                        continue;

                /* fields[3] is the root of the mount inside the hierarchy, fields[4] where it is. */
                unoctal(fields[3]);
                unoctal(fields[4]);
                if (streq(fields[3], "/"))
                        rel = path;
                else {
                        rel = startswith(path, fields[3]);
                        if (!rel || (*rel != '/' && *rel != '\0'))
                                continue;
                }
                if (asprintf(ret, "%s%s", fields[4], rel) < 0)
                        return log_oom();
                return 0;
        next:;
        }
        return -ENOENT;
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

int cgroup_set_discover(CgroupSet *s, const char *leaf) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        int r;

        f = fopen("/proc/self/cgroup", "re");
        if (!f)
                return log_error_errno(errno, "Failed to open /proc/self/cgroup: %m");

        /* "<id>:<controllers>:<path>", cgroup2 being "0::<path>". */
        while (getline(&line, &size, f) > 0) {
                char *controllers, *path, *last;
                _cleanup_free_ char *dir = NULL;

                line[strcspn(line, "\n")] = '\0';
                controllers = strchr(line, ':');
                if (!controllers)
                        continue;
                controllers++;
                path = strchr(controllers, ':');
                if (!path)
                        continue;
                *path++ = '\0';

                last = strrchr(path, '/');
                if (!last || !streq(last + 1, leaf))
                        continue;

                r = find_cgroup_dir(controllers, path, &dir);
                if (r == -ENOENT) {
                        log_warning("cgroup hierarchy \"%s\" of %s is not mounted, ignoring.",
                                    isempty(controllers) ? "cgroup2" : controllers, path);
                        continue;
                }
                if (r < 0)
                        return r;

                r = add_hierarchy(s, dir, isempty(controllers));
                if (r < 0)
                        return r;
                TAKE_PTR(dir);
        }

        if (s->n_hierarchies == 0)
                return log_error_errno(ENOENT, "The monitor is in no cgroup named %s.", leaf);
        return 0;
}

static char *child_path(const CgroupHierarchy *h, const char *child, const char *file) {
        char *p;

        if (asprintf(&p, "%s/%s%s%s", h->leaf, child, file ? "/" : "", strempty(file)) < 0)
                return NULL;
        return p;
}

/* A new v1 cpuset starts with no CPUs and no memory nodes, and a task cannot join it
 * until they are set: inherit the parent's. */
static int cpuset_inherit(const CgroupHierarchy *h, const char *child) {
        static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
        char buf[4096];
        int r;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *parent = NULL, *mine = child_path(h, child, files[i]);

                if (!mine || asprintf(&parent, "%s/%s", h->leaf, files[i]) < 0)
                        return log_oom();
                r = read_small_file(mine, buf, sizeof buf);
                if (r == -ENOENT)
                        return 0; /* not a cpuset hierarchy */
                if (r < 0)
                        return log_error_errno(r, "Failed to read %s: %m", mine);
                if (!isempty(buf) && !streq(buf, "\n"))
                        continue;
                r = read_small_file(parent, buf, sizeof buf);
                if (r < 0)
                        return log_error_errno(r, "Failed to read %s: %m", parent);
                r = write_string_file(mine, buf);
                if (r < 0)
                        return log_error_errno(r, "Failed to write %s: %m", mine);
        }
        return 0;
}

static int attach(const CgroupHierarchy *h, const char *child, pid_t pid) {
        _cleanup_free_ char *procs = child_path(h, child, "cgroup.procs");
        char buf[32];
        int r;

        if (!procs)
                return log_oom();
        (void) snprintf(buf, sizeof buf, "%i", (int) pid);
        r = write_string_file(procs, buf);
        if (r < 0)
                return log_error_errno(r, "Failed to move process %i into %s: %m", (int) pid, procs);
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
                        r = cpuset_inherit(h, children[j]);
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
        for (size_t i = 0; i < s->n_hierarchies && !s->oom_file; i++) {
                static const char *const files[] = { "memory.events", "memory.oom_control" };

                for (size_t j = 0; j < ELEMENTSOF(files); j++) {
                        _cleanup_free_ char *p = child_path(&s->hierarchies[i], "payload", files[j]);

                        if (!p)
                                return log_oom();
                        if (access(p, R_OK) == 0) {
                                s->oom_file = TAKE_PTR(p);
                                break;
                        }
                }
        }
        if (!s->oom_file)
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

int cgroup_set_oom_kills(CgroupSet *s, uint64_t *ret) {
        char buf[1024];
        const char *p;
        int r;

        if (!s->oom_file)
                return -ENODATA;
        r = read_small_file(s->oom_file, buf, sizeof buf);
        if (r < 0)
                return log_warning_errno(r, "Failed to read %s: %m", s->oom_file);

        /* Both files are "key value" lines; the counter is "oom_kill <n>". */
        for (p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
                const char *v = startswith(p, "oom_kill ");

                if (v && sscanf(v, "%" SCNu64, ret) == 1)
                        return 0;
        }
        return -ENODATA;
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

                deadline = now_usec(CLOCK_MONOTONIC) + RMDIR_TIMEOUT_USEC;
                while (rmdir(payload) < 0) {
                        if (errno == ENOENT)
                                break;
                        if (errno != EBUSY || now_usec(CLOCK_MONOTONIC) > deadline) {
                                ret = log_warning_errno(errno, "Failed to remove %s: %m", payload);
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
        s->oom_file = mfree(s->oom_file);
}
