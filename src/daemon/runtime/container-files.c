/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "container-files.h"
#include "fs-util.h"
#include "mount-util.h"

/* POSIX message queues (ipc/mqueue.c); not in every linux/magic.h. */
#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

#define RESOLVE_CONTAINER (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
/* Directory nesting a listing follows; deeper trees are cut (and reported truncated). */
#define LIST_DEPTH_MAX 128

void container_file_info_done(ContainerFileInfo *i) {
        if (!i)
                return;
        free(i->path);
        free(i->link_target);
        *i = (ContainerFileInfo) {};
}

void container_file_info_array_free(ContainerFileInfo *a, size_t n) {
        for (size_t i = 0; i < n; i++)
                container_file_info_done(a + i);
        free(a);
}

int container_file_check_path(const char *path, const char **ret_error) {
        if (isempty(path)) {
                *ret_error = "a path is required";
                return -EINVAL;
        }
        if (path[0] != '/') {
                *ret_error = "the path must be absolute";
                return -EINVAL;
        }
        if (path_has_dotdot(path)) {
                *ret_error = MOUNT_MSG_PATH_TRAVERSAL;
                return -EINVAL;
        }
        if (strlen(path) >= PATH_MAX) {
                *ret_error = "the path is too long";
                return -EINVAL;
        }
        return 0;
}

static ContainerFileType type_of(mode_t m) {
        if (S_ISREG(m))
                return CONTAINER_FILE_REGULAR;
        if (S_ISDIR(m))
                return CONTAINER_FILE_DIRECTORY;
        if (S_ISLNK(m))
                return CONTAINER_FILE_SYMLINK;
        return CONTAINER_FILE_OTHER;
}

static void info_from_stat(const struct stat *st, ContainerFileInfo *i) {
        i->type = type_of(st->st_mode);
        i->size = S_ISREG(st->st_mode) || S_ISLNK(st->st_mode) ? (uint64_t) st->st_size : 0;
        i->mode = st->st_mode & 07777;
        i->uid = st->st_uid;
        i->gid = st->st_gid;
        i->mtime_sec = (uint64_t) MAX(st->st_mtim.tv_sec, (time_t) 0);
}

/* procfs and sysfs as the container sees them (and the kernel's other interfaces, should
 * one ever be mounted there): quiltd must not act on them with the host's privileges. */
static int refuse_kernel_fs(int fd) {
        static const unsigned long refused[] = {
                PROC_SUPER_MAGIC, SYSFS_MAGIC,    CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, DEBUGFS_MAGIC,
                TRACEFS_MAGIC,    SECURITYFS_MAGIC, BPF_FS_MAGIC,     MQUEUE_MAGIC,
        };
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(refused); i++)
                if ((unsigned long) sfs.f_type == refused[i])
                        return -EPERM;
        return 0;
}

static int read_link_at(int dirfd, const char *name, char **ret) {
        _cleanup_free_ char *buf = NULL;

        for (size_t size = 256;; size *= 2) {
                ssize_t n;

                free(buf);
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                n = readlinkat(dirfd, name, buf, size);
                if (n < 0)
                        return -errno;
                if ((size_t) n < size) {
                        buf[n] = '\0';
                        *ret = TAKE_PTR(buf);
                        return 0;
                }
                if (size >= PATH_MAX * 4)
                        return -ENAMETOOLONG;
        }
}

/* Splits an absolute path into its directory and last component ("/a/b" → "/a", "b";
 * "/a" → "/", "a"; "/" → "/", ""). */
static int split_path(const char *path, char **ret_dir, char **ret_base) {
        _cleanup_free_ char *copy = strdup(path), *dir = NULL, *base = NULL;
        char *slash;

        if (!copy)
                return -ENOMEM;
        path_simplify(copy);
        slash = strrchr(copy, '/');
        base = strdup(slash + 1);
        dir = slash == copy ? strdup("/") : strndup(copy, (size_t) (slash - copy));
        if (!base || !dir)
                return -ENOMEM;
        *ret_dir = TAKE_PTR(dir);
        *ret_base = TAKE_PTR(base);
        return 0;
}

/* ---- read ------------------------------------------------------------------------------ */

int container_file_read(int root, const char *path, uint64_t offset, size_t length, void **ret_data,
                        size_t *ret_size, bool *ret_eof, ContainerFileInfo *ret_info) {
        _cleanup_close_ int pfd = -EBADF, fd = -EBADF;
        _cleanup_free_ void *data = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        pfd = openat2_fd(root, path, O_PATH | O_CLOEXEC, 0, RESOLVE_CONTAINER);
        if (pfd < 0)
                return pfd;
        if (fstat(pfd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        r = refuse_kernel_fs(pfd);
        if (r < 0)
                return r;

        fd = fd_reopen(pfd, O_RDONLY | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return fd;

        if (length == 0 || length > CONTAINER_FILE_CHUNK_MAX)
                length = CONTAINER_FILE_CHUNK_MAX;
        /* No bigger buffer than the file needs (it may grow meanwhile: then the next call
         * reads the rest). */
        if (fstat(fd, &st) < 0)
                return -errno;
        length = (uint64_t) st.st_size <= offset ? 0 : MIN(length, (size_t) ((uint64_t) st.st_size - offset));
        data = malloc(MAX(length, (size_t) 1));
        if (!data)
                return -ENOMEM;

        while (n < length) {
                ssize_t k = pread(fd, (char *) data + n, length - n, (off_t) (offset + n));

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (fstat(fd, &st) < 0)
                return -errno;

        *ret_eof = offset + n >= (uint64_t) st.st_size;
        info_from_stat(&st, ret_info);
        ret_info->path = strdup(path);
        if (!ret_info->path)
                return -ENOMEM;
        *ret_data = TAKE_PTR(data);
        *ret_size = n;
        return 0;
}

/* ---- write ----------------------------------------------------------------------------- */

static int open_parent(int root, const char *dir, bool create) {
        if (create)
                return open_mkdir_p_in_root(root, dir, 0755);
        return openat2_fd(root, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_CONTAINER);
}

static int apply_owner_mode(int fd, const ContainerFileWrite *w, bool created, mode_t default_mode) {
        /* Owner first: chown clears setuid and setgid bits. */
        if ((w->has_uid || w->has_gid) &&
            fchown(fd, w->has_uid ? w->uid : (uid_t) -1, w->has_gid ? w->gid : (gid_t) -1) < 0)
                return -errno;
        if ((w->has_mode || created) && fchmod(fd, w->has_mode ? w->mode & 07777 : default_mode) < 0)
                return -errno;
        return 0;
}

static int write_all(int fd, const void *data, size_t size, uint64_t offset) {
        for (size_t done = 0; done < size;) {
                ssize_t k = pwrite(fd, (const char *) data + done, size - done, (off_t) (offset + done));

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) k;
        }
        return 0;
}

static int write_regular(int root, int parent, const char *base, const ContainerFileWrite *w, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF, pfd = -EBADF;
        bool created = false;
        struct stat st;
        int r;

        if (w->size > CONTAINER_FILE_CHUNK_MAX)
                return -EFBIG;

        if (w->offset == 0) {
                /* By name in the open parent: O_EXCL|O_NOFOLLOW never follows a link. */
                fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
                if (fd >= 0)
                        created = true;
                else if (errno != EEXIST)
                        return -errno;
        }

        if (fd < 0) {
                /* It exists: follow it (inside the root) and write only to a regular file. */
                pfd = openat2_fd(root, w->path, O_PATH | O_CLOEXEC, 0, RESOLVE_CONTAINER);
                if (pfd < 0)
                        return pfd == -ENOENT && w->offset == 0 ? -ELOOP : pfd; /* a dangling link */
                if (fstat(pfd, &st) < 0)
                        return -errno;
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
                if (!S_ISREG(st.st_mode))
                        return -EINVAL;
                r = refuse_kernel_fs(pfd);
                if (r < 0)
                        return r;
                if (w->offset > (uint64_t) st.st_size)
                        return -ERANGE;
                fd = fd_reopen(pfd, O_WRONLY | O_NOCTTY | O_NONBLOCK | (w->offset == 0 ? O_TRUNC : 0));
                if (fd < 0)
                        return fd;
        }

        r = apply_owner_mode(fd, w, created, 0644);
        if (r < 0)
                return r;
        r = write_all(fd, w->data, w->size, w->offset);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int write_directory(int root, int parent, const char *base, const ContainerFileWrite *w, int *ret_fd) {
        _cleanup_close_ int pfd = -EBADF;
        bool created = false;
        int fd, r;

        if (isempty(base)) /* "/" */
                pfd = openat2_fd(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_IN_ROOT);
        else {
                if (mkdirat(parent, base, 0700) >= 0)
                        created = true;
                else if (errno != EEXIST)
                        return -errno;
                pfd = openat2_fd(root, w->path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_CONTAINER);
        }
        if (pfd < 0)
                return pfd == -ENOENT ? -ELOOP : pfd;

        fd = fd_reopen(pfd, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return fd;
        r = apply_owner_mode(fd, w, created, 0755);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static int write_symlink(int parent, const char *base, const ContainerFileWrite *w) {
        struct stat st;

        if (isempty(w->link_target))
                return -EINVAL;
        if (isempty(base))
                return -EEXIST;

        /* An existing non-directory is replaced (cp over an earlier copy); all by name in
         * the open parent, so nothing is followed. */
        if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
                if (unlinkat(parent, base, 0) < 0)
                        return -errno;
        }
        if (symlinkat(w->link_target, parent, base) < 0)
                return -errno;
        if ((w->has_uid || w->has_gid) &&
            fchownat(parent, base, w->has_uid ? w->uid : (uid_t) -1, w->has_gid ? w->gid : (gid_t) -1,
                     AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return 0;
}

int container_file_write(int root, const ContainerFileWrite *w, ContainerFileInfo *ret_info) {
        _cleanup_free_ char *dir = NULL, *base = NULL;
        _cleanup_close_ int parent = -EBADF, fd = -EBADF;
        struct stat st;
        int r;

        r = split_path(w->path, &dir, &base);
        if (r < 0)
                return r;
        parent = open_parent(root, dir, w->create_parents);
        if (parent < 0)
                return parent;
        r = refuse_kernel_fs(parent);
        if (r < 0)
                return r;

        switch (w->type) {
        case CONTAINER_FILE_UNSPECIFIED:
        case CONTAINER_FILE_REGULAR:
                if (isempty(base))
                        return -EISDIR;
                r = write_regular(root, parent, base, w, &fd);
                break;
        case CONTAINER_FILE_DIRECTORY:
                r = write_directory(root, parent, base, w, &fd);
                break;
        case CONTAINER_FILE_SYMLINK:
                r = write_symlink(parent, base, w);
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;

        if (fd >= 0 ? fstat(fd, &st) < 0 : fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        info_from_stat(&st, ret_info);
        if (!(ret_info->path = strdup(w->path)))
                return -ENOMEM;
        if (w->type == CONTAINER_FILE_SYMLINK && !(ret_info->link_target = strdup(w->link_target)))
                return -ENOMEM;
        return 0;
}

/* ---- list ------------------------------------------------------------------------------ */

typedef struct Lister {
        uint64_t skip;
        size_t max;
        size_t bytes;     /* of names and link targets so far */
        ContainerFileInfo *entries;
        size_t n;
        bool truncated;
} Lister;

static int name_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names in a directory (an fd of its own is consumed), sorted. */
static int read_names(int dirfd, char ***ret, size_t *ret_n) {
        _cleanup_strv_free_ char **names = NULL;
        DIR *d;
        size_t n = 0;
        int r = 0;

        d = fdopendir(dirfd);
        if (!d) {
                r = -errno;
                safe_close(dirfd);
                return r;
        }
        names = new0(char *, 1);
        if (!names) {
                closedir(d);
                return -ENOMEM;
        }
        for (;;) {
                struct dirent *de;
                char **p;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        r = -errno;
                        break;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                p = reallocarray(names, n + 2, sizeof(char *));
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                names = p;
                names[n + 1] = NULL;
                if (!(names[n] = strdup(de->d_name))) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        closedir(d);
        if (r < 0)
                return r;
        qsort(names, n, sizeof(char *), name_compare);
        *ret = TAKE_PTR(names);
        *ret_n = n;
        return 0;
}

/* Adds an entry unless it is skipped; false once the listing is full. */
static int lister_add(Lister *l, const char *prefix, const char *name, const struct stat *st, int dirfd,
                      bool *ret_full) {
        ContainerFileInfo *e;

        *ret_full = false;
        if (l->skip > 0) {
                l->skip--;
                return 0;
        }
        if (l->n >= l->max || l->bytes > QUILT_FILE_LIST_BYTES_MAX) {
                l->truncated = true;
                *ret_full = true;
                return 0;
        }

        e = l->entries + l->n;
        *e = (ContainerFileInfo) {};
        info_from_stat(st, e);
        if (asprintf(&e->path, "%s%s%s", prefix, isempty(prefix) ? "" : "/", name) < 0) {
                e->path = NULL;
                return -ENOMEM;
        }
        l->n++;
        l->bytes += strlen(e->path);
        if (S_ISLNK(st->st_mode)) {
                int r = read_link_at(dirfd, name, &e->link_target);
                if (r < 0)
                        return r;
                l->bytes += strlen(e->link_target);
        }
        return 0;
}

/* A directory that is a mount point of a kernel file system (/proc, /sys) is listed as
 * OTHER: it is not served, so a copy of the tree leaves it out instead of failing there. */
static bool is_kernel_mount_point(int dirfd, const char *name, const struct stat *st, dev_t parent_dev) {
        _cleanup_close_ int fd = -EBADF;

        if (!S_ISDIR(st->st_mode) || st->st_dev == parent_dev)
                return false;
        fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd >= 0 && refuse_kernel_fs(fd) < 0;
}

/* dirfd: an O_RDONLY directory fd (consumed). */
static int list_directory(Lister *l, int dirfd, const char *prefix, bool recursive, unsigned depth) {
        _cleanup_close_ int fd = dirfd;
        _cleanup_strv_free_ char **names = NULL;
        struct stat self;
        size_t n = 0;
        int dup_fd, r;

        if (fstat(fd, &self) < 0)
                return -errno;
        dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0)
                return -errno;
        r = read_names(dup_fd, &names, &n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *sub = NULL;
                struct stat st;
                bool full;
                int child;

                if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT) /* gone meanwhile */
                                continue;
                        return -errno;
                }
                if (is_kernel_mount_point(fd, names[i], &st, self.st_dev))
                        st.st_mode = (st.st_mode & 07777) | S_IFSOCK; /* shown as OTHER, never entered */
                r = lister_add(l, prefix, names[i], &st, fd, &full);
                if (r < 0)
                        return r;
                if (full)
                        return 0;
                if (!recursive || !S_ISDIR(st.st_mode))
                        continue;
                if (depth >= LIST_DEPTH_MAX) {
                        l->truncated = true;
                        continue;
                }

                /* One name in an open directory, O_NOFOLLOW: the entry itself, whatever a
                 * rename put there meanwhile, never a link. */
                child = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (child < 0) {
                        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
                                continue;
                        return -errno;
                }
                if (asprintf(&sub, "%s%s%s", prefix, isempty(prefix) ? "" : "/", names[i]) < 0) {
                        safe_close(child);
                        return -ENOMEM;
                }
                r = list_directory(l, child, sub, recursive, depth + 1);
                if (r < 0)
                        return r;
                if (l->truncated)
                        return 0;
        }
        return 0;
}

int container_file_list(int root, const char *path, bool recursive, bool follow, uint64_t skip, size_t max,
                        ContainerFileInfo *ret_info, ContainerFileInfo **ret_entries, size_t *ret_n,
                        bool *ret_truncated) {
        _cleanup_free_ char *dir = NULL, *base = NULL;
        _cleanup_close_ int parent = -EBADF, pfd = -EBADF;
        ContainerFileInfo info = {};
        Lister l = {};
        struct stat st;
        int r;

        r = split_path(path, &dir, &base);
        if (r < 0)
                return r;

        if (follow || isempty(base)) {
                pfd = openat2_fd(root, isempty(base) ? "." : path, O_PATH | O_CLOEXEC, 0, RESOLVE_CONTAINER);
                if (pfd < 0)
                        return pfd;
                if (fstat(pfd, &st) < 0)
                        return -errno;
        } else {
                parent = openat2_fd(root, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_CONTAINER);
                if (parent < 0)
                        return parent;
                if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                if (S_ISDIR(st.st_mode)) {
                        pfd = openat(parent, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (pfd < 0)
                                return -errno;
                        if (fstat(pfd, &st) < 0)
                                return -errno;
                }
        }

        info_from_stat(&st, &info);
        if (!(info.path = strdup(path))) {
                container_file_info_done(&info);
                return -ENOMEM;
        }
        if (S_ISLNK(st.st_mode) && (r = read_link_at(parent, base, &info.link_target)) < 0) {
                container_file_info_done(&info);
                return r;
        }

        l.skip = skip;
        l.max = max == 0 || max > CONTAINER_FILE_LIST_MAX ? CONTAINER_FILE_LIST_MAX : max;
        l.entries = new0(ContainerFileInfo, l.max);
        if (!l.entries) {
                container_file_info_done(&info);
                return -ENOMEM;
        }

        if (S_ISDIR(st.st_mode)) {
                int fd;

                r = refuse_kernel_fs(pfd);
                if (r >= 0) {
                        fd = fd_reopen(pfd, O_RDONLY | O_DIRECTORY);
                        r = fd < 0 ? fd : list_directory(&l, fd, "", recursive, 0);
                }
                if (r < 0) {
                        container_file_info_done(&info);
                        container_file_info_array_free(l.entries, l.n);
                        return r;
                }
        }

        *ret_info = info;
        *ret_entries = l.entries;
        *ret_n = l.n;
        *ret_truncated = l.truncated;
        return 0;
}
