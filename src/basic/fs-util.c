/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs-util.h"
#include "macro.h"

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0) {
                struct stat st;

                if (errno != EEXIST)
                        return -errno;
                if (stat(p, &st) < 0)
                        return -errno;
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
        }
        return 0;
}

int read_full_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, allocated = 0;

        f = fopen(path, "re");
        if (!f)
                return -errno;

        for (;;) {
                size_t k;

                if (allocated - n < 4096) {
                        char *p;

                        allocated = allocated ? allocated * 2 : 4096;
                        p = realloc(buf, allocated + 1);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                }
                k = fread(buf + n, 1, allocated - n, f);
                n += k;
                if (k == 0) {
                        if (ferror(f))
                                return -EIO;
                        break;
                }
        }

        if (!buf) {
                buf = strdup("");
                if (!buf)
                        return -ENOMEM;
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = n;
        return 0;
}

int write_file_atomic(const char *path, const char *contents, mode_t mode) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(contents);

        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, mode) < 0)
                goto fail;
        for (size_t done = 0; done < len;) {
                ssize_t k = write(fd, contents + done, len - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        goto fail;
                }
                done += (size_t) k;
        }
        if (rename(tmp, path) < 0)
                goto fail;
        return 0;

fail:;
        int r = -errno;
        (void) unlink(tmp);
        return r;
}

int openat2_fd(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve) {
        struct open_how how = {
                .flags = (uint64_t) flags,
                .mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0,
                .resolve = resolve,
        };
        long fd;

        /* A rename elsewhere on the file system during the lookup makes RESOLVE_IN_ROOT
         * refuse with EAGAIN rather than risk a wrong answer: try again. */
        for (int i = 0; i < 64; i++) {
                fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
                if (fd >= 0)
                        return (int) fd;
                if (errno != EAGAIN)
                        return -errno;
        }
        return -EAGAIN;
}

int fd_reopen(int fd, int flags) {
        char path[sizeof "/proc/self/fd/" + 12];
        int r;

        (void) snprintf(path, sizeof path, "/proc/self/fd/%i", fd);
        r = open(path, flags | O_CLOEXEC);
        return r < 0 ? -errno : r;
}

int open_mkdir_p_in_root(int root, const char *path, mode_t mode) {
        _cleanup_free_ char *prefix = NULL;
        _cleanup_close_ int parent = -EBADF;
        size_t len = 0;

        prefix = malloc(strlen(path) + 2);
        if (!prefix)
                return -ENOMEM;
        prefix[0] = '\0';

        parent = openat2_fd(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_IN_ROOT);
        if (parent < 0)
                return parent;

        for (const char *p = path;;) {
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *name = NULL;
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0)
                        break;
                if ((n == 2 && p[0] == '.' && p[1] == '.'))
                        return -EINVAL;
                prefix[len++] = '/';
                memcpy(prefix + len, p, n);
                len += n;
                prefix[len] = '\0';

                fd = openat2_fd(root, prefix, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                                RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
                if (fd == -ENOENT) {
                        name = strndup(p, n);
                        if (!name)
                                return -ENOMEM;
                        /* In the directory already open, by name: nothing is followed. */
                        if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
                                return -errno;
                        fd = openat2_fd(root, prefix, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                                        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
                        if (fd == -ENOENT)
                                return -EEXIST; /* not there, yet in the way: a dangling link */
                }
                if (fd < 0)
                        return fd;
                safe_close(parent);
                parent = TAKE_FD(fd);
                p += n;
        }
        return TAKE_FD(parent);
}

int loop_write(int fd, const void *buf, size_t n) {
        const char *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}
