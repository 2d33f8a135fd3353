/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mount-resolve.h"
#include "mount-util.h"
#include "strv.h"
#include "volume-store.h"

#define FAIL_PREFIX "Mount validation failed: "

_printf_(2, 3) static int fail(char **ret_error, const char *format, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&msg, format, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg || asprintf(ret_error, FAIL_PREFIX "%s", msg) < 0)
                return -ENOMEM;
        return -EINVAL;
}

void mount_request_done(MountRequest *r) {
        if (!r)
                return;
        free((char *) r->source);
        free((char *) r->target);
        *r = (MountRequest) {};
}

int mount_request_from_volume_string(const char *spec, MountRequest *ret, char **ret_error) {
        char *source = NULL, *target = NULL;
        const char *error = NULL;
        bool readonly;
        int r;

        r = volume_spec_parse(spec, &source, &target, &readonly, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(ret_error, "invalid volume '%s': %s", spec, error);

        *ret = (MountRequest) {
                .type = source[0] != '/' && mount_source_is_volume(source, NULL) ? CONTAINER_MOUNT_VOLUME
                                                                                  : CONTAINER_MOUNT_BIND,
                .source = source,
                .target = target,
                .readonly = readonly,
        };
        return 0;
}

/* ---- host sources ----------------------------------------------------------------------- */

typedef struct DeniedPath {
        const char *path;
        const char *why; /* NULL: the path itself is what matters */
} DeniedPath;

/* Whether canonical is, is below, or contains (is an ancestor of) denied. */
static bool path_overlaps(const char *canonical, const char *denied) {
        return path_startswith_dir(canonical, denied) || path_startswith_dir(denied, canonical);
}

static int check_host_source(const QuiltConfig *config, const char *requested, const char *canonical,
                             char **ret_error) {
        /* The original's list, plus what it forgot: gshadow and sudoers.d. */
        static const char *const sensitive[] = {
                "/etc/passwd", "/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d",
                "/proc",       "/sys",        "/dev",         "/boot",        "/root/.ssh",
        };
        /* quiltd's own files: a container with the database, another container's layers or
         * the API socket in reach could take over everything. */
        const char *own[] = {
                config->state_dir, config->runtime_dir, config->grpc_socket, config->http_socket,
        };

        for (size_t i = 0; i < ELEMENTSOF(sensitive) + ELEMENTSOF(own); i++) {
                const char *d = i < ELEMENTSOF(sensitive) ? sensitive[i] : own[i - ELEMENTSOF(sensitive)];

                if (isempty(d) || !path_overlaps(canonical, d))
                        continue;
                if (!streq(canonical, d) && path_startswith_dir(d, canonical))
                        return fail(ret_error, MOUNT_MSG_NOT_ALLOWED_FMT " (it contains %s)", requested, d);
                if (!streq(requested, canonical))
                        return fail(ret_error, MOUNT_MSG_NOT_ALLOWED_FMT " (it resolves to %s)", requested, canonical);
                return fail(ret_error, MOUNT_MSG_NOT_ALLOWED_FMT, requested);
        }
        return 0;
}

static int resolve_bind(const QuiltConfig *config, const MountRequest *req, ContainerMount *m, char **ret_error) {
        _cleanup_free_ char *canonical = NULL;

        if (isempty(req->source))
                return fail(ret_error, "a bind mount of %s needs a source path", req->target);
        if (path_has_dotdot(req->source))
                return fail(ret_error, MOUNT_MSG_PATH_TRAVERSAL " in mount source '%s'", req->source);
        if (req->source[0] != '/')
                return fail(ret_error, "Mount source path must be absolute: %s", req->source);

        /* Symbolic links are resolved here, once, and the deny list applies to where they
         * lead; init opens the canonical path with RESOLVE_NO_SYMLINKS, so a link swapped
         * in later makes the mount fail rather than go somewhere else. */
        canonical = realpath(req->source, NULL);
        if (!canonical) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return fail(ret_error, MOUNT_MSG_NO_SOURCE ": %s", req->source);
                return fail(ret_error, "cannot resolve mount source %s: %s", req->source, strerror(errno));
        }
        if (check_host_source(config, req->source, canonical, ret_error) < 0)
                return -EINVAL;

        m->source = TAKE_PTR(canonical);
        return 0;
}

static int resolve_volume(VolumeStore *volumes, const MountRequest *req, ContainerMount *m, char **ret_error) {
        size_t name_len = 0;
        const char *sub;
        int r;

        if (isempty(req->source) || !mount_source_is_volume(req->source, &name_len))
                return fail(ret_error,
                            "invalid volume name '%s': use 1-%d of A-Z a-z 0-9 _ . -, not starting with . or -",
                            strempty(req->source), VOLUME_NAME_MAX);
        if (path_has_dotdot(req->source))
                return fail(ret_error, MOUNT_MSG_PATH_TRAVERSAL " in mount source '%s'", req->source);

        m->source = strndup(req->source, name_len);
        if (!m->source)
                return -ENOMEM;

        sub = req->source + name_len;
        sub += strspn(sub, "/");
        if (*sub == '\0')
                return 0;

        m->subpath = strdup(sub);
        if (!m->subpath)
                return -ENOMEM;
        path_simplify(m->subpath);
        if (streq(m->subpath, ".")) {
                m->subpath = mfree(m->subpath);
                return 0;
        }

        /* A path inside a volume that does not exist yet cannot exist either. */
        r = volume_store_check_subpath(volumes, m->source, m->subpath);
        if (r == -ENOENT || r == -ENOTDIR || r == -ELOOP || r == -EXDEV)
                return fail(ret_error, MOUNT_MSG_NO_SOURCE ": %s", req->source);
        if (r < 0)
                return fail(ret_error, "cannot look up %s: %s", req->source, strerror(-r));
        return 0;
}

static int resolve_tmpfs(const MountRequest *req, ContainerMount *m, char **ret_error) {
        m->size = MOUNT_TMPFS_SIZE_DEFAULT;
        m->mode = MOUNT_TMPFS_MODE_DEFAULT;

        if (!isempty(req->source))
                return fail(ret_error, "a tmpfs mount takes no source (got '%s')", req->source);

        for (char *const *i = req->options; i && i[0] && i[1]; i += 2) {
                if (streq(i[0], "size")) {
                        if (mount_parse_size(i[1], &m->size) < 0)
                                return fail(ret_error, "invalid tmpfs size '%s': expected bytes or a number with k, m or g",
                                            i[1]);
                        if (m->size < MOUNT_TMPFS_SIZE_MIN || m->size > MOUNT_TMPFS_SIZE_MAX)
                                return fail(ret_error, "invalid tmpfs size '%s': it must be between 1m and 10g", i[1]);
                } else if (streq(i[0], "mode")) {
                        if (mount_parse_mode(i[1], &m->mode) < 0)
                                return fail(ret_error, "invalid tmpfs mode '%s': expected an octal mode such as 1777",
                                            i[1]);
                } else if (streq(i[0], "exec")) {
                        if (streq(i[1], "true") || streq(i[1], "") || streq(i[1], "1"))
                                m->exec = true;
                        else if (streq(i[1], "false") || streq(i[1], "0"))
                                m->exec = false;
                        else
                                return fail(ret_error, "invalid tmpfs option exec='%s': expected true or false", i[1]);
                } else
                        return fail(ret_error, "unknown tmpfs option '%s' (known: size, mode, exec)", i[0]);
        }
        return 0;
}

static int resolve_one(VolumeStore *volumes, const QuiltConfig *config, const MountRequest *req, ContainerMount *m,
                       char **ret_error) {
        int r;

        *m = (ContainerMount) { .type = req->type, .readonly = req->readonly };

        if (isempty(req->target))
                return fail(ret_error, "a mount needs a target");
        if (req->target[0] != '/')
                return fail(ret_error, MOUNT_MSG_TARGET_ABSOLUTE ": %s", req->target);
        if (path_has_dotdot(req->target))
                return fail(ret_error, MOUNT_MSG_PATH_TRAVERSAL " in mount target '%s'", req->target);
        m->target = strdup(req->target);
        if (!m->target)
                return -ENOMEM;
        path_simplify(m->target);
        if (strlen(m->target) >= PATH_MAX)
                return fail(ret_error, "mount target too long");
        if (mount_target_is_protected(m->target))
                return fail(ret_error, MOUNT_MSG_PROTECTED ": %s", m->target);

        if (req->type != CONTAINER_MOUNT_TMPFS && req->options && req->options[0])
                return fail(ret_error, "unknown option '%s' for a %s mount (options are for tmpfs)", req->options[0],
                            container_mount_type_to_string(req->type));

        switch (req->type) {
        case CONTAINER_MOUNT_BIND:
                r = resolve_bind(config, req, m, ret_error);
                break;
        case CONTAINER_MOUNT_VOLUME:
                r = resolve_volume(volumes, req, m, ret_error);
                break;
        case CONTAINER_MOUNT_TMPFS:
                r = resolve_tmpfs(req, m, ret_error);
                break;
        default:
                r = fail(ret_error, "unknown mount type %d", (int) req->type);
        }
        return r;
}

static size_t path_depth(const char *p) {
        size_t n = 0;

        for (; *p; p++)
                if (*p == '/' && p[1])
                        n++;
        return n;
}

int mounts_resolve(VolumeStore *volumes, const QuiltConfig *config, const MountRequest *reqs, size_t n,
                   ContainerMount **ret, size_t *ret_n, char **ret_error) {
        ContainerMount *a;
        size_t k = 0;
        int r = 0;

        a = new0(ContainerMount, MAX(n, (size_t) 1));
        if (!a)
                return -ENOMEM;

        for (; k < n; k++) {
                r = resolve_one(volumes, config, reqs + k, a + k, ret_error);
                if (r < 0) {
                        k++;
                        goto fail;
                }
                for (size_t j = 0; j < k; j++)
                        if (streq(a[j].target, a[k].target)) {
                                k++;
                                r = fail(ret_error, "Duplicate mount target: %s", a[j].target);
                                goto fail;
                        }
        }

        /* Insertion sort by depth keeps the given order among equals. */
        for (size_t i = 1; i < n; i++) {
                ContainerMount x = a[i];
                size_t j = i;

                for (; j > 0 && path_depth(a[j - 1].target) > path_depth(x.target); j--)
                        a[j] = a[j - 1];
                a[j] = x;
        }

        *ret = a;
        *ret_n = n;
        return 0;

fail:
        container_mount_array_free(a, k);
        return r;
}
