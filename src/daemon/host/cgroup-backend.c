/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The backend-independent half: choosing the implementation, validating ids, and the
 * operations that only need the leaf's directories (kill, populated, memory, removal).
 * Both backends put the leaf at <hierarchy>/.../quilt.slice/<leaf>; they differ in how it
 * is created and which hierarchies hold it. */

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>

#include "cgroup-backend-internal.h"
#include "log.h"

/* Ids become part of unit names and paths: no "/", "..", spaces or escapes. */
static bool id_is_valid(const char *id) {
        size_t l;

        if (isempty(id))
                return false;
        l = strlen(id);
        if (l > 128)
                return false;
        for (size_t i = 0; i < l; i++) {
                char c = id[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_'))
                        return false;
        }
        return true;
}

static int make_leaf_name(CgroupBackend *b, const char *id, char **ret) {
        if (!id_is_valid(id))
                return log_debug_errno(EINVAL, "Invalid container id for a cgroup name: \"%s\"",
                                       strempty(id));
        if (asprintf(ret, "quilt-%s%s", id, b->ops->leaf_suffix) < 0)
                return -ENOMEM;
        return 0;
}

bool cgroup_mount_has_controller(const CgroupMount *m, const char *controller) {
        if (m->version == 2)
                return true;
        for (char **c = m->controllers; c && *c; c++)
                if (streq(*c, controller))
                        return true;
        return false;
}

int cgroup_backend_add_hierarchy(CgroupBackend *b, const CgroupMount *m, char *slice_dir) {
        const CgroupMount **h;
        char **d;

        for (size_t i = 0; i < b->n_hierarchies; i++)
                if (b->hierarchies[i] == m) {
                        free(slice_dir);
                        return 0;
                }

        h = realloc(b->hierarchies, (b->n_hierarchies + 1) * sizeof(*h));
        if (!h)
                goto oom;
        b->hierarchies = h;
        d = realloc(b->slice_dirs, (b->n_hierarchies + 1) * sizeof(*d));
        if (!d)
                goto oom;
        b->slice_dirs = d;

        b->hierarchies[b->n_hierarchies] = m;
        b->slice_dirs[b->n_hierarchies] = slice_dir;
        b->n_hierarchies++;
        return 0;

oom:
        free(slice_dir);
        return -ENOMEM;
}

int cgroup_backend_leaf_dir(CgroupBackend *b, size_t i, const char *leaf, char **ret) {
        if (asprintf(ret, "%s/%s", b->slice_dirs[i], leaf) < 0)
                return -ENOMEM;
        return 0;
}

int cgroup_backend_new(sd_event *event, const HostInfo *host, CgroupBackend **ret) {
        _cleanup_(cgroup_backend_freep) CgroupBackend *b = NULL;
        int r;

        b = calloc(1, sizeof(CgroupBackend));
        if (!b)
                return log_oom();

        b->ops = host->backend == QUILT_BACKEND_SYSTEMD ? &cgroup_systemd_ops : &cgroup_fs_ops;
        b->event = sd_event_ref(event);
        b->host = *host;

        r = cg_mounts_read(&b->mounts);
        if (r < 0)
                return log_error_errno(r, "Failed to read the cgroup mounts from /proc/self/mountinfo: %m");

        r = b->ops->init(b);
        if (r < 0)
                return r;

        if (b->n_hierarchies == 0)
                log_warning("No usable cgroup hierarchy found: containers cannot be placed in cgroups.");

        *ret = TAKE_PTR(b);
        return 0;
}

CgroupBackend *cgroup_backend_free(CgroupBackend *b) {
        if (!b)
                return NULL;

        /* Attaches still pending keep a pointer to us: their owners must free them first. */
        if (b->pending)
                log_warning("cgroup backend freed with attach operations still pending.");

        if (b->ops)
                b->ops->done(b);
        for (size_t i = 0; i < b->n_hierarchies; i++)
                free(b->slice_dirs[i]);
        free(b->slice_dirs);
        free(b->hierarchies);
        cg_mounts_done(&b->mounts);
        sd_event_unref(b->event);
        return mfree(b);
}

int cgroup_backend_leaf_name(CgroupBackend *b, const char *id, char **ret) {
        return make_leaf_name(b, id, ret);
}

int cgroup_backend_attach(CgroupBackend *b, const char *id, const char *description, pid_t pid,
                          const CgroupLimits *limits, CgroupAttachCallback callback, void *userdata,
                          CgroupAttach **ret) {
        _cleanup_(cgroup_attach_freep) CgroupAttach *a = NULL;
        static const CgroupLimits no_limits = {};
        int r;

        if (pid <= 0)
                return log_debug_errno(EINVAL, "Invalid pid %ji for a container cgroup.", (intmax_t) pid);
        if (!callback)
                return -EINVAL;
        if (b->n_hierarchies == 0)
                return log_error_errno(EOPNOTSUPP, "No cgroup hierarchy to place containers in.");

        a = calloc(1, sizeof(CgroupAttach));
        if (!a)
                return log_oom();
        a->backend = b;
        a->callback = callback;
        a->userdata = userdata;
        a->id = strdup(id ?: "");
        if (!a->id)
                return log_oom();
        r = make_leaf_name(b, id, &a->leaf);
        if (r < 0)
                return r;

        r = b->ops->attach(a, pid, description, limits ?: &no_limits);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(a);
        return 0;
}

CgroupAttach *cgroup_attach_free(CgroupAttach *a) {
        if (!a)
                return NULL;

        a->backend->ops->attach_done(a);
        free(a->id);
        free(a->leaf);
        return mfree(a);
}

/* The leaf's directories, existing or not (existing_only: only those that exist now). */
static int leaf_dirs(CgroupBackend *b, const char *id, bool existing_only, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *leaf = NULL;
        size_t n = 0;
        int r;

        r = make_leaf_name(b, id, &leaf);
        if (r < 0)
                return r;

        l = calloc(b->n_hierarchies + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        for (size_t i = 0; i < b->n_hierarchies; i++) {
                char *d;

                r = cgroup_backend_leaf_dir(b, i, leaf, &d);
                if (r < 0)
                        return r;
                if (existing_only && access(d, F_OK) < 0) {
                        free(d);
                        continue;
                }
                l[n++] = d;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

int cgroup_backend_leaf_dirs(CgroupBackend *b, const char *id, char ***ret) {
        return leaf_dirs(b, id, true, ret);
}

int cgroup_backend_kill(CgroupBackend *b, const char *id, int sig) {
        _cleanup_strv_free_ char **dirs = NULL;
        bool any = false;
        int r, ret = 0;

        r = leaf_dirs(b, id, true, &dirs);
        if (r < 0)
                return r;

        /* Every hierarchy: on v1 a process could be in the leaf of one and not of another
         * (the monitor moves itself hierarchy by hierarchy). Where cgroup.kill exists the
         * first tree usually takes everything, and the others then find nobody. */
        for (char **d = dirs; *d; d++) {
                r = cg_kill_tree(*d, sig);
                if (r < 0) {
                        log_warning_errno(r, "Failed to send signal %d to the processes of %s: %m", sig, *d);
                        if (ret == 0)
                                ret = r;
                } else if (r > 0)
                        any = true;
        }

        return ret < 0 ? ret : any;
}

int cgroup_backend_populated(CgroupBackend *b, const char *id) {
        _cleanup_strv_free_ char **dirs = NULL;
        int r;

        r = leaf_dirs(b, id, true, &dirs);
        if (r < 0)
                return r;

        for (char **d = dirs; *d; d++) {
                r = cg_is_populated(*d);
                if (r > 0)
                        return 1;
                if (r < 0 && r != -ENOENT)
                        return log_debug_errno(r, "Failed to check whether %s is populated: %m", *d);
        }
        return 0;
}

int cgroup_backend_memory_usage(CgroupBackend *b, const char *id, uint64_t *ret) {
        _cleanup_free_ char *leaf = NULL;
        int r;

        r = make_leaf_name(b, id, &leaf);
        if (r < 0)
                return r;

        /* The v1 memory hierarchy where there is one (on hybrid hosts the cgroup2 tree has
         * no memory controller), else the cgroup2 tree. */
        for (int pass = 1; pass <= 2; pass++)
                for (size_t i = 0; i < b->n_hierarchies; i++) {
                        const CgroupMount *m = b->hierarchies[i];
                        _cleanup_free_ char *d = NULL;

                        if (m->version != pass || !cgroup_mount_has_controller(m, "memory"))
                                continue;
                        r = cgroup_backend_leaf_dir(b, i, leaf, &d);
                        if (r < 0)
                                return r;
                        if (!cg_has_attr(d, m->version == 1 ? "memory.usage_in_bytes" : "memory.current"))
                                continue;
                        return cg_read_u64(d, m->version == 1 ? "memory.usage_in_bytes" : "memory.current",
                                           ret);
                }

        return -ENODATA;
}

int cgroup_backend_display_path(CgroupBackend *b, const char *id, char **ret) {
        _cleanup_free_ char *leaf = NULL;
        int r;

        r = make_leaf_name(b, id, &leaf);
        if (r < 0)
                return r;
        if (asprintf(ret, "%s%s", b->ops->display_prefix, leaf) < 0)
                return -ENOMEM;
        return 0;
}

int cgroup_backend_destroy(CgroupBackend *b, const char *id) {
        _cleanup_strv_free_ char **dirs = NULL;
        _cleanup_free_ char *leaf = NULL;
        int r, ret = 0;

        r = make_leaf_name(b, id, &leaf);
        if (r < 0)
                return r;

        if (b->ops->destroy) {
                r = b->ops->destroy(b, leaf);
                if (r < 0)
                        ret = r;
        }

        /* What the backend left (cgroupfs: everything; systemd: what it did not prune, e.g.
         * the monitor's supervisor/ and payload/ on v1). */
        r = leaf_dirs(b, id, false, &dirs);
        if (r < 0)
                return r;
        for (char **d = dirs; *d; d++) {
                r = cg_remove_tree(*d);
                if (r < 0) {
                        log_warning_errno(r, "Failed to remove cgroup %s: %m", *d);
                        if (ret == 0)
                                ret = r;
                }
        }
        return ret;
}

int cgroup_backend_register_machine(CgroupBackend *b, const char *id, const char *name, pid_t leader,
                                    const char *root) {
        if (!b->ops->register_machine)
                return 0;
        if (!id_is_valid(id) || isempty(name) || leader <= 0)
                return -EINVAL;
        return b->ops->register_machine(b, id, name, leader, root);
}
