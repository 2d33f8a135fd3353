/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The container's own mounts (binds, volumes, tmpfs), in two halves around pivot_root:
 *
 *   before   each source is opened on the host side and cloned into a detached mount
 *            (open_tree(OPEN_TREE_CLONE), or fsopen()/fsmount() for a tmpfs) with its
 *            flags set (mount_setattr: nosuid, nodev, read-only). A bind source is opened
 *            with RESOLVE_NO_SYMLINKS: quiltd canonicalised and checked it, and a link
 *            swapped in since makes the mount fail instead of leading elsewhere. A path
 *            inside a volume is resolved with RESOLVE_IN_ROOT from the volume's directory,
 *            so that a symbolic link a container planted in the volume ("sub" → /etc)
 *            resolves inside the volume, never to the host's /etc.
 *   after    pivot_root has left nothing of the host reachable; each target is resolved
 *            from the new root with RESOLVE_IN_ROOT (missing directories, or an empty file
 *            for a file source, created on the way) and the detached mount is attached
 *            with move_mount() onto that fd. A symbolic link in the image can therefore
 *            only point inside the container; where it points is checked again against
 *            the protected paths.
 *
 * The detached mounts are private copies: nothing mounted here propagates to the host. */

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fs-util.h"
#include "init.h"
#include "mount-util.h"

static int open_source(const ContainerMount *m, int *ret) {
        _cleanup_close_ int fd = -EBADF, root = -EBADF, tree = -EBADF;
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m->readonly ? MOUNT_ATTR_RDONLY : 0),
                .propagation = MS_PRIVATE,
        };

        if (m->type == CONTAINER_MOUNT_VOLUME) {
                root = openat2_fd(AT_FDCWD, m->source, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                                  RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
                if (root < 0)
                        return init_fail(root, "open volume %s", m->source);
                if (m->subpath) {
                        fd = openat2_fd(root, m->subpath, O_PATH | O_CLOEXEC, 0,
                                        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
                        if (fd < 0)
                                return init_fail(fd, "open %s inside volume %s", m->subpath, m->source);
                } else
                        fd = TAKE_FD(root);
        } else {
                fd = openat2_fd(AT_FDCWD, m->source, O_PATH | O_CLOEXEC, 0, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
                if (fd < 0)
                        return init_fail(fd, "open mount source %s", m->source);
        }

        tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
        if (tree < 0)
                return init_fail(errno, "clone mount source %s", m->source);
        if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
                return init_fail(errno, "set the flags of mount %s", m->target);

        *ret = TAKE_FD(tree);
        return 0;
}

static int open_tmpfs(const ContainerMount *m, int *ret) {
        _cleanup_close_ int fs = -EBADF;
        char size[32], mode[16];
        int tree;

        (void) snprintf(size, sizeof size, "%" PRIu64, m->size);
        (void) snprintf(mode, sizeof mode, "%o", (unsigned) m->mode);

        fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0)
                return init_fail(errno, "fsopen tmpfs");
        if (fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "mode", mode, 0) < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return init_fail(errno, "configure tmpfs for %s", m->target);

        /* As podman: no devices, no setuid, and no executables unless asked for. */
        tree = fsmount(fs, FSMOUNT_CLOEXEC,
                       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m->exec ? 0 : MOUNT_ATTR_NOEXEC) |
                               (m->readonly ? MOUNT_ATTR_RDONLY : 0));
        if (tree < 0)
                return init_fail(errno, "fsmount tmpfs for %s", m->target);
        *ret = tree;
        return 0;
}

int init_user_mounts_open(const ContainerSpec *spec, int *fds) {
        int r;

        for (size_t i = 0; i < spec->n_mounts; i++) {
                const ContainerMount *m = spec->mounts + i;

                r = m->type == CONTAINER_MOUNT_TMPFS ? open_tmpfs(m, &fds[i]) : open_source(m, &fds[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int target_fail(int error, const char *target) {
        if (error == -EEXIST)
                /* Not found, yet there: a symbolic link that leads nowhere. */
                return init_fail(ENOENT, "mount target %s: a symbolic link on the way leads to a path that does not "
                                 "exist in the container", target);
        return init_fail(error, "mount target %s", target);
}

/* Opens target (absolute, without "..") from root, resolving every symbolic link inside
 * root and creating what is missing: directories, and for a non-directory source an empty
 * file at the end. */
static int open_target(int root, const char *target, bool directory, int *ret) {
        _cleanup_close_ int parent = -EBADF, fd = -EBADF;
        _cleanup_free_ char *dir = NULL;
        const char *base;
        struct stat st;

        if (directory) {
                fd = open_mkdir_p_in_root(root, target, 0755);
                if (fd < 0)
                        return target_fail(fd, target);
                *ret = TAKE_FD(fd);
                return 0;
        }

        base = strrchr(target, '/');
        dir = strndup(target, (size_t) (base - target));
        if (!dir)
                return init_fail(ENOMEM, "mount target %s", target);
        base++;
        parent = open_mkdir_p_in_root(root, dir, 0755);
        if (parent < 0)
                return target_fail(parent, target);

        fd = openat2_fd(root, target, O_PATH | O_CLOEXEC, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (fd == -ENOENT) {
                /* In the directory already open, by name, never through a link. */
                int k = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

                if (k < 0)
                        return target_fail(errno == EEXIST ? -EEXIST : -errno, target);
                (void) close(k);
                fd = openat2_fd(root, target, O_PATH | O_CLOEXEC, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        }
        if (fd < 0)
                return target_fail(fd, target);
        if (fstat(fd, &st) < 0)
                return init_fail(errno, "stat mount target %s", target);
        if (S_ISDIR(st.st_mode))
                return init_fail(EISDIR, "mount target %s (the source is a file)", target);

        *ret = TAKE_FD(fd);
        return 0;
}

/* Where fd really is, as the container sees it. */
static int fd_path(int fd, char *buf, size_t size) {
        char link[64];
        ssize_t n;

        (void) snprintf(link, sizeof link, "/proc/self/fd/%i", fd);
        n = readlink(link, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return 0;
}

int init_user_mounts_attach(const ContainerSpec *spec, int *fds) {
        _cleanup_close_ int root = -EBADF;
        int r;

        root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return init_fail(errno, "open /");

        for (size_t i = 0; i < spec->n_mounts; i++) {
                const ContainerMount *m = spec->mounts + i;
                _cleanup_close_ int target = -EBADF;
                char where[PATH_MAX];
                struct stat st;

                if (fstat(fds[i], &st) < 0)
                        return init_fail(errno, "stat mount source %s", strempty(m->source));

                r = open_target(root, m->target, S_ISDIR(st.st_mode), &target);
                if (r < 0)
                        return r;

                r = fd_path(target, where, sizeof where);
                if (r < 0)
                        return init_fail(r, "find mount target %s", m->target);
                if (mount_target_is_protected(where))
                        return init_fail(EPERM, "%s: %s (%s leads there)", MOUNT_MSG_PROTECTED, where, m->target);

                if (move_mount(fds[i], "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        return init_fail(errno, "mount %s on %s", m->type == CONTAINER_MOUNT_TMPFS ? "tmpfs" : m->source,
                                         m->target);
                fds[i] = safe_close(fds[i]);
        }
        return 0;
}

void init_user_mounts_close(int *fds, size_t n) {
        for (size_t i = 0; fds && i < n; i++)
                fds[i] = safe_close(fds[i]);
}
