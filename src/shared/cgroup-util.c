/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "cgroup-util.h"
#include "fs-util.h"
#include "strv.h"

/* ------------------------------------------------------------------------- small helpers */

static bool strv_contains(char *const *l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

/* Same elements, any order (controller lists: "cpu,cpuacct" in one file, super options in
 * another). */
static bool strv_set_equal(char *const *a, char *const *b) {
        if (strv_length(a) != strv_length(b))
                return false;
        for (; a && *a; a++)
                if (!strv_contains(b, *a))
                        return false;
        return true;
}

static int strv_push(char ***l, char *s) {
        size_t n = strv_length(*l);
        char **c;

        c = realloc(*l, (n + 2) * sizeof(char *));
        if (!c)
                return -ENOMEM;
        c[n] = s;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. In place. */
static void unescape_octal(char *s) {
        char *w = s;

        for (const char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = 0;
}

static void msleep(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static char *path_join(const char *a, const char *b) {
        char *p;

        if (asprintf(&p, "%s/%s", a, b) < 0)
                return NULL;
        return p;
}

/* ------------------------------------------------------------------------------- mounts */

static void cg_mount_done(CgroupMount *m) {
        free(m->path);
        free(m->root);
        strv_free(m->controllers);
}

void cg_mounts_done(CgroupMounts *m) {
        for (size_t i = 0; i < m->n; i++)
                cg_mount_done(m->mounts + i);
        m->mounts = mfree(m->mounts);
        m->n = 0;
}

/* v1 super options that are not controllers. */
static bool is_v1_option(const char *o) {
        static const char *const options[] = {
                "rw",           "ro", "none", "all", "noprefix", "xattr", "clone_children", "cpuset_v2_mode",
                "favordynmods",
        };

        if (startswith(o, "release_agent="))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(options); i++)
                if (streq(o, options[i]))
                        return true;
        return false;
}

static int parse_v1_controllers(const char *superopts, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;
        int r;

        copy = strdup(superopts);
        if (!copy)
                return -ENOMEM;

        for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
                char *c;

                if (is_v1_option(o) || (strchr(o, '=') && !startswith(o, "name=")))
                        continue;
                c = strdup(o);
                if (!c)
                        return -ENOMEM;
                r = strv_push(&l, c);
                if (r < 0) {
                        free(c);
                        return r;
                }
        }

        *ret = TAKE_PTR(l);
        return 0;
}

/* One line: "id parent maj:min root mountpoint opts [optional...] - fstype source superopts". */
static int parse_mountinfo_line(char *line, CgroupMount *ret, bool *ret_is_cgroup) {
        char *fields[6], *fstype, *superopts, *save = NULL, *t;
        unsigned maj, min;
        size_t n = 0;
        int r;

        *ret_is_cgroup = false;

        for (t = strtok_r(line, " ", &save); t && n < ELEMENTSOF(fields); t = strtok_r(NULL, " ", &save))
                fields[n++] = t;
        if (n < ELEMENTSOF(fields))
                return -EINVAL;

        /* skip the optional fields up to the separator */
        while (t && !streq(t, "-"))
                t = strtok_r(NULL, " ", &save);
        if (!t)
                return -EINVAL;
        fstype = strtok_r(NULL, " ", &save);
        if (!fstype || !strtok_r(NULL, " ", &save)) /* source */
                return -EINVAL;
        superopts = strtok_r(NULL, " ", &save);
        if (!superopts)
                return -EINVAL;

        if (!streq(fstype, "cgroup") && !streq(fstype, "cgroup2"))
                return 0;

        if (sscanf(fields[2], "%u:%u", &maj, &min) != 2)
                return -EINVAL;

        unescape_octal(fields[3]);
        unescape_octal(fields[4]);

        *ret = (CgroupMount){
                .version = streq(fstype, "cgroup2") ? 2 : 1,
                .dev_major = maj,
                .dev_minor = min,
        };
        ret->path = strdup(fields[4]);
        ret->root = strdup(fields[3]);
        if (!ret->path || !ret->root) {
                cg_mount_done(ret);
                return -ENOMEM;
        }
        if (ret->version == 1) {
                r = parse_v1_controllers(superopts, &ret->controllers);
                if (r < 0) {
                        cg_mount_done(ret);
                        return r;
                }
        }

        *ret_is_cgroup = true;
        return 0;
}

int cg_mounts_parse(const char *mountinfo, CgroupMounts *ret) {
        _cleanup_free_ char *copy = NULL;
        CgroupMounts m = {};
        char *save = NULL;
        int r = 0;

        copy = strdup(mountinfo);
        if (!copy)
                return -ENOMEM;

        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                CgroupMount c;
                bool is_cgroup;
                size_t i;

                r = parse_mountinfo_line(line, &c, &is_cgroup);
                if (r < 0)
                        break;
                if (!is_cgroup)
                        continue;

                for (i = 0; i < m.n; i++)
                        if (m.mounts[i].dev_major == c.dev_major && m.mounts[i].dev_minor == c.dev_minor)
                                break;
                if (i < m.n) {
                        /* The same hierarchy again: keep the first mount, unless this one
                         * shows the whole hierarchy and the first only a subtree. */
                        if (streq(c.root, "/") && !streq(m.mounts[i].root, "/")) {
                                cg_mount_done(m.mounts + i);
                                m.mounts[i] = c;
                        } else
                                cg_mount_done(&c);
                        continue;
                }

                CgroupMount *a = realloc(m.mounts, (m.n + 1) * sizeof(CgroupMount));
                if (!a) {
                        cg_mount_done(&c);
                        r = -ENOMEM;
                        break;
                }
                m.mounts = a;
                m.mounts[m.n++] = c;
        }
        if (r < 0) {
                cg_mounts_done(&m);
                return r;
        }

        *ret = m;
        return 0;
}

int cg_mounts_read(CgroupMounts *ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_full_file("/proc/self/mountinfo", &text, NULL);
        if (r < 0)
                return r;
        return cg_mounts_parse(text, ret);
}

const CgroupMount *cg_mounts_find_controller(const CgroupMounts *m, const char *controller) {
        for (size_t i = 0; i < m->n; i++)
                if (m->mounts[i].version == 1 && strv_contains(m->mounts[i].controllers, controller))
                        return m->mounts + i;
        return NULL;
}

const CgroupMount *cg_mounts_find_unified(const CgroupMounts *m) {
        for (size_t i = 0; i < m->n; i++)
                if (m->mounts[i].version == 2)
                        return m->mounts + i;
        return NULL;
}

int cg_mount_dir(const CgroupMount *m, const char *cgroup_path, char **ret) {
        const char *rest = cgroup_path;
        char *p;

        if (!cgroup_path || cgroup_path[0] != '/')
                return -EINVAL;

        if (!streq(m->root, "/")) {
                rest = startswith(cgroup_path, m->root);
                if (!rest || (*rest != '/' && *rest != 0))
                        return -EXDEV;
        }
        /* /proc/<pid>/cgroup shows "/.." paths for cgroups outside our cgroup namespace */
        if (strstr(rest, "/../") || (strlen(rest) >= 3 && streq(rest + strlen(rest) - 3, "/..")))
                return -EXDEV;

        while (*rest == '/')
                rest++;
        if (*rest == 0)
                p = strdup(m->path);
        else
                p = path_join(m->path, rest);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

/* --------------------------------------------------------------------------- membership */

static void cg_member_done(CgroupMember *c) {
        strv_free(c->controllers);
        free(c->path);
}

void cg_membership_done(CgroupMembership *m) {
        for (size_t i = 0; i < m->n; i++)
                cg_member_done(m->members + i);
        m->members = mfree(m->members);
        m->n = 0;
}

static int parse_member_line(const char *line, CgroupMember *ret) {
        _cleanup_strv_free_ char **controllers = NULL;
        const char *c1, *c2;
        unsigned id;
        char *path;
        int r;

        c1 = strchr(line, ':');
        if (!c1)
                return -EINVAL;
        c2 = strchr(c1 + 1, ':');
        if (!c2 || c2[1] != '/')
                return -EINVAL;
        if (sscanf(line, "%u:", &id) != 1)
                return -EINVAL;

        if (c2 > c1 + 1) {
                _cleanup_free_ char *list = strndup(c1 + 1, (size_t) (c2 - c1 - 1));

                if (!list)
                        return -ENOMEM;
                /* the same syntax as the super options ("cpu,cpuacct", "name=systemd") */
                r = parse_v1_controllers(list, &controllers);
                if (r < 0)
                        return r;
        }

        path = strdup(c2 + 1);
        if (!path)
                return -ENOMEM;

        *ret = (CgroupMember){
                .hierarchy_id = id,
                .controllers = TAKE_PTR(controllers),
                .path = path,
        };
        return 0;
}

int cg_membership_parse(const char *text, CgroupMembership *ret) {
        _cleanup_free_ char *copy = NULL;
        CgroupMembership m = {};
        char *save = NULL;
        int r = 0;

        copy = strdup(text);
        if (!copy)
                return -ENOMEM;

        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                CgroupMember c;
                CgroupMember *a;

                r = parse_member_line(line, &c);
                if (r < 0)
                        break;

                a = realloc(m.members, (m.n + 1) * sizeof(CgroupMember));
                if (!a) {
                        cg_member_done(&c);
                        r = -ENOMEM;
                        break;
                }
                m.members = a;
                m.members[m.n++] = c;
        }
        if (r < 0) {
                cg_membership_done(&m);
                return r;
        }

        *ret = m;
        return 0;
}

int cg_membership_read(pid_t pid, CgroupMembership *ret) {
        _cleanup_free_ char *text = NULL;
        char path[64];
        int r;

        if (pid == 0)
                snprintf(path, sizeof path, "/proc/self/cgroup");
        else
                snprintf(path, sizeof path, "/proc/%ji/cgroup", (intmax_t) pid);

        r = read_full_file(path, &text, NULL);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        return cg_membership_parse(text, ret);
}

const CgroupMount *cg_mounts_find_member(const CgroupMounts *m, const CgroupMember *member) {
        if (member->hierarchy_id == 0)
                return cg_mounts_find_unified(m);

        for (size_t i = 0; i < m->n; i++)
                if (m->mounts[i].version == 1 &&
                    strv_set_equal(m->mounts[i].controllers, member->controllers))
                        return m->mounts + i;
        return NULL;
}

void cg_dirs_free(CgroupDir *dirs, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(dirs[i].path);
        free(dirs);
}

int cg_membership_dirs(const CgroupMounts *mounts, const CgroupMembership *membership, CgroupDir **ret,
                       size_t *ret_n) {
        CgroupDir *dirs;
        size_t n = 0;

        dirs = calloc(membership->n ?: 1, sizeof(CgroupDir));
        if (!dirs)
                return -ENOMEM;

        for (size_t i = 0; i < membership->n; i++) {
                const CgroupMount *m = cg_mounts_find_member(mounts, membership->members + i);
                char *p;
                int r;

                if (!m)
                        continue;
                r = cg_mount_dir(m, membership->members[i].path, &p);
                if (r == -EXDEV)
                        continue;
                if (r < 0) {
                        cg_dirs_free(dirs, n);
                        return r;
                }
                dirs[n++] = (CgroupDir){ .mount = m, .path = p };
        }

        *ret = dirs;
        *ret_n = n;
        return 0;
}

int cg_pid_dirs(pid_t pid, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        CgroupMembership membership = {};
        CgroupMounts mounts = {};
        CgroupDir *dirs = NULL;
        size_t n = 0;
        int r;

        r = cg_membership_read(pid, &membership);
        if (r < 0)
                return r;
        r = cg_mounts_read(&mounts);
        if (r < 0)
                goto finish;
        r = cg_membership_dirs(&mounts, &membership, &dirs, &n);
        if (r < 0)
                goto finish;

        l = calloc(n + 1, sizeof(char *));
        if (!l) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < n; i++)
                l[i] = TAKE_PTR(dirs[i].path);
        *ret = TAKE_PTR(l);
        r = 0;

finish:
        cg_dirs_free(dirs, n);
        cg_mounts_done(&mounts);
        cg_membership_done(&membership);
        return r;
}

/* ---------------------------------------------------------------------------- attributes */

int cg_read_attr(const char *dir, const char *attr, char **ret) {
        _cleanup_free_ char *p = NULL, *text = NULL;
        size_t l;
        int r;

        p = path_join(dir, attr);
        if (!p)
                return -ENOMEM;
        r = read_full_file(p, &text, NULL);
        if (r < 0)
                return r;

        l = strlen(text);
        if (l > 0 && text[l - 1] == '\n')
                text[l - 1] = 0;
        *ret = TAKE_PTR(text);
        return 0;
}

int cg_write_attr(const char *dir, const char *attr, const char *value) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t l = strlen(value);
        ssize_t k;

        p = path_join(dir, attr);
        if (!p)
                return -ENOMEM;

        fd = open(p, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        /* one write(): cgroup files take a value per write call */
        k = write(fd, value, l);
        if (k < 0)
                return -errno;
        if ((size_t) k != l)
                return -EIO;
        return 0;
}

bool cg_has_attr(const char *dir, const char *attr) {
        _cleanup_free_ char *p = path_join(dir, attr);

        return p && access(p, F_OK) == 0;
}

static int parse_u64(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (streq(s, "max")) {
                *ret = UINT64_MAX;
                return 0;
        }
        if (!*s || *s == '-')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0)
                return -errno;
        if (*end != 0 && *end != '\n')
                return -EINVAL;
        *ret = v;
        return 0;
}

int cg_read_u64(const char *dir, const char *attr, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = cg_read_attr(dir, attr, &s);
        if (r < 0)
                return r;
        return parse_u64(s, ret);
}

int cg_read_key_u64(const char *dir, const char *attr, const char *key, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        char *save = NULL;
        int r;

        r = cg_read_attr(dir, attr, &text);
        if (r < 0)
                return r;

        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *v = startswith(line, key);

                if (v && *v == ' ')
                        return parse_u64(v + 1, ret);
        }
        return -ENXIO;
}

int cg_attach(const char *dir, pid_t pid) {
        char buf[32];

        snprintf(buf, sizeof buf, "%ji\n", (intmax_t) pid);
        return cg_write_attr(dir, "cgroup.procs", buf);
}

int cg_read_pids(const char *dir, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0, allocated = 0;
        char *save = NULL;
        int r;

        r = cg_read_attr(dir, "cgroup.procs", &text);
        if (r < 0)
                return r;

        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                uint64_t v;

                r = parse_u64(line, &v);
                if (r < 0 || v == 0 || v > INT32_MAX)
                        return -EINVAL;
                if (n == allocated) {
                        size_t a = MAX(allocated * 2, (size_t) 16);
                        pid_t *p = realloc(pids, a * sizeof(pid_t));

                        if (!p)
                                return -ENOMEM;
                        pids = p;
                        allocated = a;
                }
                pids[n++] = (pid_t) v;
        }

        *ret = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

/* --------------------------------------------------------------------------- tree walks */

typedef int (*cg_visit_t)(const char *dir, void *userdata);

/* Calls visit for dir and every cgroup below it, parents first. A subtree that vanishes
 * meanwhile is skipped; a visit returning != 0 stops the walk with that value. */
static int cg_walk(const char *dir, cg_visit_t visit, void *userdata) {
        DIR *d;
        int r;

        r = visit(dir, userdata);
        if (r != 0)
                return r;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *child = NULL;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                child = path_join(dir, de->d_name);
                if (!child) {
                        r = -ENOMEM;
                        break;
                }
                r = cg_walk(child, visit, userdata);
                if (r != 0)
                        break;
        }

        closedir(d);
        return r;
}

static int visit_populated(const char *dir, void *userdata) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r;

        r = cg_read_pids(dir, &pids, &n);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return n > 0;
}

int cg_is_populated(const char *dir) {
        uint64_t v;
        int r;

        if (access(dir, F_OK) < 0)
                return -errno;

        r = cg_read_key_u64(dir, "cgroup.events", "populated", &v);
        if (r >= 0)
                return v > 0;
        if (r != -ENOENT && r != -ENXIO)
                return r;

        /* v1: no cgroup.events, look at every process list of the tree */
        r = cg_walk(dir, visit_populated, NULL);
        if (r == 0 && access(dir, F_OK) < 0) /* removed under our feet */
                return -errno;
        return r;
}

typedef struct KillContext {
        int sig;
        pid_t self;
        unsigned n_signalled;
        unsigned n_seen;
} KillContext;

static int visit_kill(const char *dir, void *userdata) {
        KillContext *c = userdata;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r;

        r = cg_read_pids(dir, &pids, &n);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                if (pids[i] == c->self)
                        continue;
                c->n_seen++;
                if (kill(pids[i], c->sig) >= 0)
                        c->n_signalled++;
                else if (errno != ESRCH)
                        return -errno;
        }
        return 0;
}

#define CG_KILL_ROUNDS 30

int cg_kill_tree(const char *dir, int sig) {
        KillContext c = { .sig = sig, .self = getpid() };
        bool any = false;
        int r;

        if (sig == SIGKILL && cg_has_attr(dir, "cgroup.kill")) {
                r = cg_is_populated(dir);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return r;
                if (r == 0)
                        return 0;
                r = cg_write_attr(dir, "cgroup.kill", "1");
                if (r == -ENOENT)
                        return 0;
                return r < 0 ? r : 1;
        }

        if (sig != SIGKILL) {
                r = cg_walk(dir, visit_kill, &c);
                return r < 0 ? r : c.n_signalled > 0;
        }

        /* Without cgroup.kill a process can fork between our reading cgroup.procs and the
         * kill: repeat until a pass finds nobody. Killed tasks leave cgroup.procs when they
         * exit, which takes a moment, so back off a little between passes. */
        for (unsigned round = 0; round < CG_KILL_ROUNDS; round++) {
                c.n_seen = 0;
                r = cg_walk(dir, visit_kill, &c);
                if (r < 0)
                        return r;
                if (c.n_seen == 0)
                        return any;
                any = any || c.n_signalled > 0;
                msleep(MIN(round + 1, 10u));
        }
        return -EBUSY;
}

static int remove_tree_once(const char *dir) {
        DIR *d;
        int r = 0;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *child = NULL;
                int q;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                child = path_join(dir, de->d_name);
                if (!child) {
                        r = -ENOMEM;
                        break;
                }
                q = remove_tree_once(child);
                if (q < 0 && r == 0)
                        r = q;
        }
        closedir(d);
        if (r < 0)
                return r;

        if (rmdir(dir) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

#define CG_REMOVE_ATTEMPTS 25

int cg_remove_tree(const char *dir) {
        int r = 0;

        /* EBUSY: tasks that were just killed are still exiting; give them up to ~200 ms. */
        for (unsigned attempt = 0; attempt < CG_REMOVE_ATTEMPTS; attempt++) {
                r = remove_tree_once(dir);
                if (r != -EBUSY)
                        return r;
                msleep(MIN(attempt + 1, 10u));
        }
        return r;
}
