/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "container-spec.h"
#include "log.h"
#include "mount-util.h"

/* json_decrefp() comes with jansson (it is what json_auto_t uses). */
#define _cleanup_json_ _cleanup_(json_decrefp)

const char *const container_default_capabilities[] = {
        "CAP_CHOWN",       "CAP_DAC_OVERRIDE",     "CAP_FSETID",     "CAP_FOWNER", "CAP_MKNOD",
        "CAP_NET_RAW",     "CAP_SETGID",           "CAP_SETUID",     "CAP_SETFCAP", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",       "CAP_AUDIT_WRITE", NULL,
};

static const struct {
        ContainerNamespace ns;
        const char *name;
} namespace_table[] = {
        { CONTAINER_NS_PID, "pid" },   { CONTAINER_NS_MOUNT, "mount" },     { CONTAINER_NS_UTS, "uts" },
        { CONTAINER_NS_IPC, "ipc" },   { CONTAINER_NS_NET, "network" },     { CONTAINER_NS_CGROUP, "cgroup" },
        { CONTAINER_NS_NET, "net" }, /* accepted on input only: the table's first match wins */
};

const char *container_namespace_to_string(ContainerNamespace ns) {
        for (size_t i = 0; i < ELEMENTSOF(namespace_table); i++)
                if (namespace_table[i].ns == ns)
                        return namespace_table[i].name;
        return NULL;
}

ContainerNamespace container_namespace_from_string(const char *s) {
        if (!s)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(namespace_table); i++)
                if (streq(s, namespace_table[i].name))
                        return namespace_table[i].ns;
        return 0;
}

/* Resource limits travel by name (as in the OCI spec), so the file does not depend on the
 * numbering of one architecture. */
static const struct {
        int resource;
        const char *name;
} rlimit_table[] = {
        { RLIMIT_CPU, "RLIMIT_CPU" },         { RLIMIT_FSIZE, "RLIMIT_FSIZE" },
        { RLIMIT_DATA, "RLIMIT_DATA" },       { RLIMIT_STACK, "RLIMIT_STACK" },
        { RLIMIT_CORE, "RLIMIT_CORE" },       { RLIMIT_RSS, "RLIMIT_RSS" },
        { RLIMIT_NPROC, "RLIMIT_NPROC" },     { RLIMIT_NOFILE, "RLIMIT_NOFILE" },
        { RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK" }, { RLIMIT_AS, "RLIMIT_AS" },
        { RLIMIT_LOCKS, "RLIMIT_LOCKS" },     { RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING" },
        { RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE" }, { RLIMIT_NICE, "RLIMIT_NICE" },
        { RLIMIT_RTPRIO, "RLIMIT_RTPRIO" },   { RLIMIT_RTTIME, "RLIMIT_RTTIME" },
};

static const char *rlimit_to_string(int resource) {
        for (size_t i = 0; i < ELEMENTSOF(rlimit_table); i++)
                if (rlimit_table[i].resource == resource)
                        return rlimit_table[i].name;
        return NULL;
}

static int rlimit_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(rlimit_table); i++)
                if (streq(s, rlimit_table[i].name))
                        return rlimit_table[i].resource;
        return -EINVAL;
}

static const char *const mount_type_table[_CONTAINER_MOUNT_TYPE_MAX] = {
        [CONTAINER_MOUNT_BIND] = "bind",
        [CONTAINER_MOUNT_VOLUME] = "volume",
        [CONTAINER_MOUNT_TMPFS] = "tmpfs",
};

const char *container_mount_type_to_string(ContainerMountType t) {
        if (t < 0 || t >= _CONTAINER_MOUNT_TYPE_MAX)
                return NULL;
        return mount_type_table[t];
}

ContainerMountType container_mount_type_from_string(const char *s) {
        for (ContainerMountType t = 0; t < _CONTAINER_MOUNT_TYPE_MAX; t++)
                if (s && streq(s, mount_type_table[t]))
                        return t;
        return _CONTAINER_MOUNT_TYPE_INVALID;
}

void container_mount_done(ContainerMount *m) {
        if (!m)
                return;
        free(m->source);
        free(m->subpath);
        free(m->target);
        *m = (ContainerMount) {};
}

void container_mount_array_free(ContainerMount *a, size_t n) {
        for (size_t i = 0; i < n; i++)
                container_mount_done(a + i);
        free(a);
}

int container_mount_copy(const ContainerMount *from, ContainerMount *to) {
        ContainerMount m = *from;

        m.source = from->source ? strdup(from->source) : NULL;
        m.subpath = from->subpath ? strdup(from->subpath) : NULL;
        m.target = from->target ? strdup(from->target) : NULL;
        if ((from->source && !m.source) || (from->subpath && !m.subpath) || (from->target && !m.target)) {
                container_mount_done(&m);
                return -ENOMEM;
        }
        *to = m;
        return 0;
}

static const char *const log_driver_table[_CONTAINER_LOG_DRIVER_MAX] = {
        [CONTAINER_LOG_FILE] = "file",
        [CONTAINER_LOG_JOURNAL] = "journal",
};

const char *container_log_driver_to_string(ContainerLogDriver d) {
        if (d < 0 || d >= _CONTAINER_LOG_DRIVER_MAX)
                return NULL;
        return log_driver_table[d];
}

ContainerLogDriver container_log_driver_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(log_driver_table); i++)
                if (s && streq(s, log_driver_table[i]))
                        return (ContainerLogDriver) i;
        return _CONTAINER_LOG_DRIVER_INVALID;
}

ContainerSpec *container_spec_free(ContainerSpec *spec) {
        if (!spec)
                return NULL;

        free(spec->id);
        free(spec->name);
        free(spec->run_dir);
        free(spec->state_dir);
        free(spec->cgroup_leaf);
        free(spec->rootfs_lower);
        free(spec->rootfs_upper);
        free(spec->rootfs_work);
        free(spec->rootfs_target);
        strv_free(spec->argv);
        strv_free(spec->env);
        free(spec->working_directory);
        free(spec->user);
        strv_free(spec->capabilities);
        free(spec->rlimits);
        container_mount_array_free(spec->mounts, spec->n_mounts);
        free(spec->log_path);
        strv_free(spec->etc_files);
        return mfree(spec);
}

void container_exit_done(ContainerExit *e) {
        if (!e)
                return;
        e->error = mfree(e->error);
}

/* Writes root to path through a temporary file in the same directory, so that a reader sees
 * either the old file or the complete new one, never a partial write. */
static int json_save_atomic(json_t *root, const char *path) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return log_oom();

        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create temporary file for %s: %m", path);

        if (fchmod(fd, 0600) < 0) {
                r = log_error_errno(errno, "Failed to set mode of %s: %m", tmp);
                goto fail;
        }
        if (json_dumpfd(root, fd, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 || write(fd, "\n", 1) != 1) {
                r = log_error_errno(errno ?: EIO, "Failed to write %s: %m", tmp);
                goto fail;
        }
        if (fsync(fd) < 0) {
                r = log_error_errno(errno, "Failed to sync %s: %m", tmp);
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = log_error_errno(errno, "Failed to rename %s to %s: %m", tmp, path);
                goto fail;
        }
        return 0;

fail:
        (void) unlink(tmp);
        return r;
}

static json_t *json_strv(char *const *l) {
        _cleanup_json_ json_t *a = json_array();

        if (!a)
                return NULL;
        for (char *const *i = l; i && *i; i++)
                if (json_array_append_new(a, json_string(*i)) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

/* RLIM_INFINITY does not fit in a JSON integer (jansson's are signed 64-bit). */
static json_t *json_rlim(uint64_t v) {
        return v == (uint64_t) RLIM_INFINITY ? json_string("infinity") : json_integer((json_int_t) v);
}

static json_t *json_string_or_null(const char *s) {
        return s ? json_string(s) : json_null();
}

static json_t *json_mounts(const ContainerMount *mounts, size_t n) {
        _cleanup_json_ json_t *a = json_array();

        if (!a)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const ContainerMount *m = mounts + i;
                const char *type = container_mount_type_to_string(m->type);

                if (!type || !m->target)
                        return NULL;
                if (json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:s, s:b, s:b, s:I, s:i}",
                                                       "type", type,
                                                       "source", json_string_or_null(m->source),
                                                       "subpath", json_string_or_null(m->subpath),
                                                       "target", m->target,
                                                       "readonly", m->readonly,
                                                       "exec", m->exec,
                                                       "size", (json_int_t) m->size,
                                                       "mode", (int) m->mode)) < 0)
                        return NULL;
        }
        return TAKE_PTR(a);
}

int container_spec_save(const ContainerSpec *spec, const char *path) {
        _cleanup_json_ json_t *root = NULL, *namespaces = NULL, *rlimits = NULL, *mounts = NULL;

        namespaces = json_array();
        rlimits = json_array();
        mounts = json_mounts(spec->mounts, spec->n_mounts);
        if (!namespaces || !rlimits)
                return log_oom();
        if (!mounts)
                return log_error_errno(EINVAL, "Failed to build %s: a mount is incomplete.", path);

        for (unsigned bit = 1; bit & CONTAINER_NS_ALL; bit <<= 1)
                if ((spec->namespaces & bit) &&
                    json_array_append_new(namespaces, json_string(container_namespace_to_string(bit))) < 0)
                        return log_oom();

        for (size_t i = 0; i < spec->n_rlimits; i++) {
                const char *name = rlimit_to_string(spec->rlimits[i].resource);

                if (!name)
                        return log_error_errno(EINVAL, "Unknown resource limit %i.", spec->rlimits[i].resource);
                if (json_array_append_new(rlimits,
                                          json_pack("{s:s, s:o, s:o}", "type", name, "soft",
                                                    json_rlim(spec->rlimits[i].soft), "hard",
                                                    json_rlim(spec->rlimits[i].hard))) < 0)
                        return log_oom();
        }

        root = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:O, s:o,"
                         " s:b, s:b, s:O, s:O, s:{s:s, s:s?, s:I, s:b}}",
                         "id", spec->id,
                         "name", spec->name,
                         "run_dir", spec->run_dir,
                         "state_dir", spec->state_dir,
                         "cgroup_leaf", spec->cgroup_leaf,
                         "rootfs_lower", spec->rootfs_lower,
                         "rootfs_upper", spec->rootfs_upper,
                         "rootfs_work", spec->rootfs_work,
                         "rootfs_target", spec->rootfs_target,
                         "argv", json_strv(spec->argv),
                         "env", json_strv(spec->env),
                         "working_directory", spec->working_directory,
                         "user", spec->user ? json_string(spec->user) : json_null(),
                         "namespaces", namespaces,
                         "capabilities", json_strv(spec->capabilities),
                         "no_new_privileges", spec->no_new_privileges,
                         "seccomp", spec->seccomp,
                         "rlimits", rlimits,
                         "mounts", mounts,
                         "log",
                         "driver", log_driver_table[spec->log_driver],
                         "path", spec->log_path,
                         "max_bytes", (json_int_t) spec->log_max_bytes,
                         "created", spec->log_created);
        if (!root)
                return log_error_errno(EINVAL, "Failed to build %s: a required field is missing.", path);

        /* The network's fields, kept out of the big format above so that each area's fields
         * can change on their own. */
        {
                json_t *files = json_object();

                if (!files || json_object_set_new(root, "etc_files", files) < 0 ||
                    json_object_set_new(root, "wait_network", json_boolean(spec->wait_network)) < 0)
                        return log_oom();
                for (char **f = spec->etc_files; f && f[0] && f[1]; f += 2) {
                        if (!container_etc_file_is_valid(f[0]))
                                return log_error_errno(EINVAL, "Unknown /etc file \"%s\".", f[0]);
                        if (json_object_set_new(files, f[0], json_string(f[1])) < 0)
                                return log_oom();
                }
        }

        return json_save_atomic(root, path);
}

bool container_etc_file_is_valid(const char *name) {
        return streq_ptr(name, "hostname") || streq_ptr(name, "hosts") || streq_ptr(name, "resolv.conf");
}

/* Takes the network's fields out of root (so that the strict unpack of the rest does not
 * see them) into spec. Both are optional: a config.json without them has no network. */
static int load_network(const char *path, json_t *root, ContainerSpec *spec) {
        json_t *wait = json_object_get(root, "wait_network"), *files = json_object_get(root, "etc_files");
        const char *name;
        size_t n = 0;
        json_t *v;

        if (wait) {
                if (!json_is_boolean(wait))
                        return log_error_errno(EINVAL, "%s: \"wait_network\" must be a boolean.", path);
                spec->wait_network = json_is_true(wait);
        }
        if (files) {
                if (!json_is_object(files))
                        return log_error_errno(EINVAL, "%s: \"etc_files\" must be an object.", path);
                spec->etc_files = calloc(2 * json_object_size(files) + 1, sizeof(char *));
                if (!spec->etc_files)
                        return log_oom();
                json_object_foreach(files, name, v) {
                        if (!container_etc_file_is_valid(name))
                                return log_error_errno(EINVAL, "%s: unknown /etc file \"%s\".", path, name);
                        if (!json_is_string(v))
                                return log_error_errno(EINVAL, "%s: \"etc_files\".\"%s\" must be a string.", path,
                                                       name);
                        if (!(spec->etc_files[n++] = strdup(name)) ||
                            !(spec->etc_files[n++] = strdup(json_string_value(v))))
                                return log_oom();
                }
        }
        (void) json_object_del(root, "wait_network");
        (void) json_object_del(root, "etc_files");
        return 0;
}

static int load_strv(const char *path, const char *key, json_t *a, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t i;
        json_t *v;

        if (!json_is_array(a))
                return log_error_errno(EINVAL, "%s: \"%s\" must be an array of strings.", path, key);

        l = calloc(json_array_size(a) + 1, sizeof(char *));
        if (!l)
                return log_oom();

        json_array_foreach(a, i, v) {
                if (!json_is_string(v))
                        return log_error_errno(EINVAL, "%s: \"%s\"[%zu] is not a string.", path, key, i);
                l[i] = strdup(json_string_value(v));
                if (!l[i])
                        return log_oom();
        }

        *ret = TAKE_PTR(l);
        return 0;
}

static int load_rlim(const char *path, json_t *v, uint64_t *ret) {
        if (json_is_string(v) && (streq(json_string_value(v), "infinity") || streq(json_string_value(v), "unlimited"))) {
                *ret = (uint64_t) RLIM_INFINITY;
                return 0;
        }
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
                *ret = (uint64_t) json_integer_value(v);
                return 0;
        }
        return log_error_errno(EINVAL, "%s: a resource limit must be a non-negative integer or \"infinity\".", path);
}

static int load_rlimits(const char *path, json_t *a, ContainerSpec *spec) {
        size_t i;
        json_t *v;

        if (!json_is_array(a))
                return log_error_errno(EINVAL, "%s: \"rlimits\" must be an array.", path);

        spec->rlimits = calloc(json_array_size(a) ?: 1, sizeof(ContainerRlimit));
        if (!spec->rlimits)
                return log_oom();

        json_array_foreach(a, i, v) {
                ContainerRlimit *rl = &spec->rlimits[i];
                json_t *soft, *hard;
                const char *type;
                json_error_t err;
                int r;

                if (json_unpack_ex(v, &err, JSON_STRICT, "{s:s, s:o, s:o}", "type", &type, "soft", &soft,
                                   "hard", &hard) < 0)
                        return log_error_errno(EINVAL, "%s: \"rlimits\"[%zu]: %s", path, i, err.text);

                rl->resource = rlimit_from_string(type);
                if (rl->resource < 0)
                        return log_error_errno(EINVAL, "%s: unknown resource limit \"%s\".", path, type);
                r = load_rlim(path, soft, &rl->soft);
                if (r < 0)
                        return r;
                r = load_rlim(path, hard, &rl->hard);
                if (r < 0)
                        return r;
                if (rl->soft > rl->hard)
                        return log_error_errno(EINVAL, "%s: %s: the soft limit exceeds the hard limit.", path, type);
                spec->n_rlimits++;
        }
        return 0;
}

static int load_optional_string(const char *path, const char *key, json_t *v, char **ret) {
        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return log_error_errno(EINVAL, "%s: \"%s\" must be a string or null.", path, key);
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : log_oom();
}

static int load_mounts(const char *path, json_t *a, ContainerSpec *spec) {
        size_t i;
        json_t *v;

        if (!json_is_array(a))
                return log_error_errno(EINVAL, "%s: \"mounts\" must be an array.", path);

        spec->mounts = calloc(json_array_size(a) ?: 1, sizeof(ContainerMount));
        if (!spec->mounts)
                return log_oom();

        json_array_foreach(a, i, v) {
                ContainerMount *m = &spec->mounts[i];
                json_t *source = NULL, *subpath = NULL;
                const char *type, *target;
                json_int_t size = 0;
                int readonly = 0, exec = 0, mode = 0;
                json_error_t err;
                int r;

                if (json_unpack_ex(v, &err, JSON_STRICT, "{s:s, s?o, s?o, s:s, s?b, s?b, s?I, s?i}",
                                   "type", &type,
                                   "source", &source,
                                   "subpath", &subpath,
                                   "target", &target,
                                   "readonly", &readonly,
                                   "exec", &exec,
                                   "size", &size,
                                   "mode", &mode) < 0)
                        return log_error_errno(EINVAL, "%s: \"mounts\"[%zu]: %s", path, i, err.text);

                spec->n_mounts++;
                m->type = container_mount_type_from_string(type);
                if (m->type < 0)
                        return log_error_errno(EINVAL, "%s: unknown mount type \"%s\".", path, type);
                if (size < 0 || mode < 0 || mode > 07777)
                        return log_error_errno(EINVAL, "%s: \"mounts\"[%zu]: size or mode out of range.", path, i);
                m->readonly = readonly;
                m->exec = exec;
                m->size = (uint64_t) size;
                m->mode = (mode_t) mode;
                m->target = strdup(target);
                if (!m->target)
                        return log_oom();
                r = load_optional_string(path, "source", source, &m->source);
                if (r < 0)
                        return r;
                r = load_optional_string(path, "subpath", subpath, &m->subpath);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int dup_string(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : log_oom();
}

static bool path_is_absolute(const char *p) {
        return p && p[0] == '/';
}


static int validate_spec(const char *path, const ContainerSpec *spec) {
        const struct {
                const char *key;
                const char *value;
        } paths[] = {
                { "run_dir", spec->run_dir },
                { "state_dir", spec->state_dir },
                { "rootfs_lower", spec->rootfs_lower },
                { "rootfs_upper", spec->rootfs_upper },
                { "rootfs_work", spec->rootfs_work },
                { "rootfs_target", spec->rootfs_target },
                { "working_directory", spec->working_directory },
        };

        if (isempty(spec->id))
                return log_error_errno(EINVAL, "%s: \"id\" is empty.", path);
        /* The name becomes the hostname. */
        if (isempty(spec->name) || strlen(spec->name) > HOST_NAME_MAX)
                return log_error_errno(EINVAL, "%s: \"name\" must have 1 to %d characters.", path, HOST_NAME_MAX);
        if (isempty(spec->cgroup_leaf) || strchr(spec->cgroup_leaf, '/') || streq(spec->cgroup_leaf, ".") ||
            streq(spec->cgroup_leaf, ".."))
                return log_error_errno(EINVAL, "%s: \"cgroup_leaf\" must be a single path component.", path);
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (!path_is_absolute(paths[i].value))
                        return log_error_errno(EINVAL, "%s: \"%s\" must be an absolute path.", path, paths[i].key);
        for (char **e = spec->env; *e; e++)
                if (!strchr(*e, '=') || **e == '=')
                        return log_error_errno(EINVAL, "%s: environment entry \"%s\" is not KEY=VALUE.", path, *e);
        for (char **c = spec->capabilities; *c; c++)
                if (!startswith(*c, "CAP_") || strlen(*c) <= 4)
                        return log_error_errno(EINVAL, "%s: \"%s\" is not a capability name.", path, *c);
        if (spec->user && isempty(spec->user))
                return log_error_errno(EINVAL, "%s: \"user\" is empty.", path);
        for (size_t i = 0; i < spec->n_mounts; i++) {
                const ContainerMount *m = spec->mounts + i;

                if (!path_is_absolute(m->target) || path_has_dotdot(m->target))
                        return log_error_errno(EINVAL, "%s: mount target \"%s\" must be an absolute path without \"..\".",
                                               path, m->target);
                if (m->type == CONTAINER_MOUNT_TMPFS ? m->source != NULL : !path_is_absolute(m->source))
                        return log_error_errno(EINVAL, "%s: mount %s: a %s mount %s.", path, m->target,
                                               container_mount_type_to_string(m->type),
                                               m->type == CONTAINER_MOUNT_TMPFS ? "has no source"
                                                                                : "needs an absolute source");
                if (m->source && path_has_dotdot(m->source))
                        return log_error_errno(EINVAL, "%s: mount source \"%s\" contains \"..\".", path, m->source);
                if (m->subpath && (m->type != CONTAINER_MOUNT_VOLUME || m->subpath[0] == '/' ||
                                   path_has_dotdot(m->subpath)))
                        return log_error_errno(EINVAL, "%s: mount %s: a subpath is relative and for volumes only.",
                                               path, m->target);
                if (m->type == CONTAINER_MOUNT_TMPFS && m->size == 0)
                        return log_error_errno(EINVAL, "%s: mount %s: a tmpfs needs a size.", path, m->target);
        }
        if (spec->log_driver == CONTAINER_LOG_FILE && !path_is_absolute(spec->log_path))
                return log_error_errno(EINVAL, "%s: the file log driver needs an absolute \"log\".\"path\".", path);
        if (spec->wait_network && !(spec->namespaces & CONTAINER_NS_NET))
                return log_error_errno(EINVAL, "%s: \"wait_network\" needs the network namespace.", path);
        return 0;
}

int container_spec_load(const char *path, ContainerSpec **ret) {
        _cleanup_(container_spec_freep) ContainerSpec *spec = NULL;
        _cleanup_json_ json_t *root = NULL;
        const char *id, *name, *run_dir, *state_dir, *leaf, *lower, *upper, *work, *target, *wd, *driver;
        json_t *argv, *env, *user = NULL, *namespaces, *caps, *rlimits = NULL, *mounts = NULL, *log_path = NULL;
        json_int_t max_bytes = 0;
        int nnp, seccomp, log_created = 0;
        json_error_t err;
        size_t i;
        json_t *v;
        int r;

        /* Without JSON_ALLOW_NUL jansson refuses "\u0000", so no string here can be cut short
         * by execve() or a path lookup. */
        root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
        if (!root) {
                if (json_error_code(&err) == json_error_cannot_open_file)
                        return log_error_errno(errno ?: ENOENT, "Failed to open %s: %m", path);
                return log_error_errno(EINVAL, "%s:%d: %s", path, err.line, err.text);
        }

        spec = calloc(1, sizeof(ContainerSpec));
        if (!spec)
                return log_oom();
        if (!json_is_object(root))
                return log_error_errno(EINVAL, "%s: not a JSON object.", path);
        r = load_network(path, root, spec);
        if (r < 0)
                return r;

        if (json_unpack_ex(root, &err, JSON_STRICT,
                           "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s?o, s:o, s:o,"
                           " s:b, s:b, s?o, s?o, s:{s:s, s?o, s?I, s?b}}",
                           "id", &id,
                           "name", &name,
                           "run_dir", &run_dir,
                           "state_dir", &state_dir,
                           "cgroup_leaf", &leaf,
                           "rootfs_lower", &lower,
                           "rootfs_upper", &upper,
                           "rootfs_work", &work,
                           "rootfs_target", &target,
                           "argv", &argv,
                           "env", &env,
                           "working_directory", &wd,
                           "user", &user,
                           "namespaces", &namespaces,
                           "capabilities", &caps,
                           "no_new_privileges", &nnp,
                           "seccomp", &seccomp,
                           "rlimits", &rlimits,
                           "mounts", &mounts,
                           "log",
                           "driver", &driver,
                           "path", &log_path,
                           "max_bytes", &max_bytes,
                           "created", &log_created) < 0)
                return log_error_errno(EINVAL, "%s: %s", path, err.text);

        if (dup_string(id, &spec->id) < 0 || dup_string(name, &spec->name) < 0 ||
            dup_string(run_dir, &spec->run_dir) < 0 || dup_string(state_dir, &spec->state_dir) < 0 ||
            dup_string(leaf, &spec->cgroup_leaf) < 0 || dup_string(lower, &spec->rootfs_lower) < 0 ||
            dup_string(upper, &spec->rootfs_upper) < 0 || dup_string(work, &spec->rootfs_work) < 0 ||
            dup_string(target, &spec->rootfs_target) < 0 || dup_string(wd, &spec->working_directory) < 0)
                return -ENOMEM;

        if (log_path && !json_is_null(log_path)) {
                if (!json_is_string(log_path))
                        return log_error_errno(EINVAL, "%s: \"log\".\"path\" must be a string or null.", path);
                if (dup_string(json_string_value(log_path), &spec->log_path) < 0)
                        return -ENOMEM;
        }

        if (user && !json_is_null(user)) {
                if (!json_is_string(user))
                        return log_error_errno(EINVAL, "%s: \"user\" must be a string or null.", path);
                if (dup_string(json_string_value(user), &spec->user) < 0)
                        return -ENOMEM;
        }

        r = load_strv(path, "argv", argv, &spec->argv);
        if (r < 0)
                return r;
        r = load_strv(path, "env", env, &spec->env);
        if (r < 0)
                return r;
        r = load_strv(path, "capabilities", caps, &spec->capabilities);
        if (r < 0)
                return r;

        if (!json_is_array(namespaces))
                return log_error_errno(EINVAL, "%s: \"namespaces\" must be an array of strings.", path);
        json_array_foreach(namespaces, i, v) {
                ContainerNamespace ns = container_namespace_from_string(json_string_value(v));

                if (ns == 0)
                        return log_error_errno(EINVAL, "%s: unknown namespace \"%s\".", path,
                                               strempty(json_string_value(v)));
                spec->namespaces |= ns;
        }

        spec->no_new_privileges = nnp;
        spec->seccomp = seccomp;

        if (rlimits) {
                r = load_rlimits(path, rlimits, spec);
                if (r < 0)
                        return r;
        }

        if (mounts) {
                r = load_mounts(path, mounts, spec);
                if (r < 0)
                        return r;
        }

        spec->log_driver = container_log_driver_from_string(driver);
        if (spec->log_driver < 0)
                return log_error_errno(EINVAL, "%s: unknown log driver \"%s\".", path, driver);
        spec->log_created = log_created;
        if (max_bytes < 0)
                return log_error_errno(EINVAL, "%s: \"log\".\"max_bytes\" is negative.", path);
        spec->log_max_bytes = (uint64_t) max_bytes;

        r = validate_spec(path, spec);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(spec);
        return 0;
}

int container_exit_save(const ContainerExit *e, const char *path) {
        _cleanup_json_ json_t *root = NULL;

        root = json_pack("{s:b, s:i, s:i, s:b, s:I, s:I, s:o}",
                         "started", e->started,
                         "exit_code", e->exit_code,
                         "exit_signal", e->exit_signal,
                         "oom_killed", e->oom_killed,
                         "started_usec", (json_int_t) e->started_usec,
                         "exited_usec", (json_int_t) e->exited_usec,
                         "error", e->error ? json_string(e->error) : json_null());
        if (!root)
                return log_error_errno(EINVAL, "Failed to build %s.", path);

        return json_save_atomic(root, path);
}

int container_exit_load(const char *path, ContainerExit *ret) {
        _cleanup_json_ json_t *root = NULL;
        json_int_t started_usec, exited_usec;
        int started, exit_code, exit_signal, oom_killed;
        json_t *error = NULL;
        json_error_t err;

        root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
        if (!root) {
                if (json_error_code(&err) == json_error_cannot_open_file)
                        return errno == ENOENT ? -ENOENT : log_error_errno(errno ?: EIO, "Failed to open %s: %m", path);
                return log_error_errno(EINVAL, "%s:%d: %s", path, err.line, err.text);
        }

        if (json_unpack_ex(root, &err, JSON_STRICT, "{s:b, s:i, s:i, s:b, s:I, s:I, s?o}",
                           "started", &started,
                           "exit_code", &exit_code,
                           "exit_signal", &exit_signal,
                           "oom_killed", &oom_killed,
                           "started_usec", &started_usec,
                           "exited_usec", &exited_usec,
                           "error", &error) < 0)
                return log_error_errno(EINVAL, "%s: %s", path, err.text);

        if (exit_code < 0 || exit_code > 255 || exit_signal < 0 || exit_signal > 64)
                return log_error_errno(EINVAL, "%s: exit_code or exit_signal out of range.", path);
        if (started_usec < 0 || exited_usec < 0)
                return log_error_errno(EINVAL, "%s: negative timestamp.", path);
        if (error && !json_is_null(error) && !json_is_string(error))
                return log_error_errno(EINVAL, "%s: \"error\" must be a string or null.", path);

        *ret = (ContainerExit) {
                .started = started,
                .exit_code = exit_code,
                .exit_signal = exit_signal,
                .oom_killed = oom_killed,
                .started_usec = (uint64_t) started_usec,
                .exited_usec = (uint64_t) exited_usec,
        };
        if (json_is_string(error)) {
                ret->error = strdup(json_string_value(error));
                if (!ret->error)
                        return log_oom();
        }
        return 0;
}
