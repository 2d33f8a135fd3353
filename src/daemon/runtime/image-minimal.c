/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "image-minimal.h"
#include "log.h"

/* What `busybox --list` prints is a few kB; anything near this is not busybox. */
#define APPLET_LIST_MAX (1024U * 1024U)

_printf_(3, 4) static int build_fail(char **ret_error, int error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -abs(error);
}

/* A dynamically linked busybox would need the host's libc inside the image. ELF64 only:
 * busybox-static is built for the host's (64-bit) architecture. */
static int elf_is_static(int fd) {
        Elf64_Ehdr eh;

        if (pread(fd, &eh, sizeof eh, 0) != (ssize_t) sizeof eh)
                return -ENOEXEC;
        if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
            eh.e_phentsize != sizeof(Elf64_Phdr))
                return -ENOEXEC;

        for (unsigned i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;

                if (pread(fd, &ph, sizeof ph, (off_t) (eh.e_phoff + (uint64_t) i * sizeof ph)) != (ssize_t) sizeof ph)
                        return -ENOEXEC;
                if (ph.p_type == PT_INTERP)
                        return 0;
        }
        return 1;
}

static int copy_fd(int from, int to) {
        char buf[64 * 1024];

        /* copy_file_range() shares extents where the file system can; read/write elsewhere. */
        for (;;) {
                ssize_t n = copy_file_range(from, NULL, to, NULL, SIZE_MAX >> 1, 0);

                if (n == 0)
                        return 0;
                if (n < 0) {
                        if (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS)
                                break;
                        return -errno;
                }
        }

        for (;;) {
                ssize_t n = read(from, buf, sizeof buf);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                for (ssize_t done = 0; done < n;) {
                        ssize_t w = write(to, buf + done, (size_t) (n - done));

                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return -errno;
                        done += w;
                }
        }
}

static int write_file_at(int dir_fd, const char *name, const char *content, mode_t mode) {
        _cleanup_close_ int fd = -EBADF;
        size_t n = strlen(content);

        fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        for (size_t done = 0; done < n;) {
                ssize_t w = write(fd, content + done, n - done);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                done += (size_t) w;
        }
        if (fchmod(fd, mode) < 0) /* the umask must not decide the image's modes */
                return -errno;
        return 0;
}

/* Runs `busybox --list`. quiltd is multi-threaded, so this is posix_spawn() (vfork-style in
 * glibc), with a clean signal mask and environment, never fork() and code. */
static int busybox_list_applets(const char *busybox, char **ret_output) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attr;
        char *const argv[] = { (char *) busybox, (char *) "--list", NULL };
        char *const envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "LC_ALL=C", NULL };
        sigset_t none, all;
        size_t n = 0;
        int fds[2], status, r;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        rfd = fds[0];
        wfd = fds[1];

        buf = malloc(APPLET_LIST_MAX + 1);
        if (!buf)
                return -ENOMEM;

        sigemptyset(&none);
        sigfillset(&all);
        r = posix_spawn_file_actions_init(&actions);
        if (r != 0)
                return -r;
        r = posix_spawnattr_init(&attr);
        if (r != 0) {
                posix_spawn_file_actions_destroy(&actions);
                return -r;
        }
        r = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&actions, wfd, STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        if (r == 0)
                r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &all);
        if (r == 0)
                r = posix_spawn(&pid, busybox, &actions, &attr, argv, envp);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                return -r;

        wfd = safe_close(wfd);
        for (;;) {
                ssize_t k = read(rfd, buf + n, APPLET_LIST_MAX - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0 || (n += (size_t) k) >= APPLET_LIST_MAX)
                        break;
        }
        rfd = safe_close(rfd);

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == 0 || n >= APPLET_LIST_MAX)
                return -EBADMSG;

        buf[n] = 0;
        *ret_output = TAKE_PTR(buf);
        return 0;
}

static bool applet_name_is_valid(const char *s) {
        if (isempty(s) || streq(s, ".") || streq(s, "..") || streq(s, "busybox"))
                return false;
        for (; *s; s++)
                if (*s == '/' || *s <= ' ' || *s == 0x7f)
                        return false;
        return true;
}

int image_minimal_build(const char *busybox, const char *root, uint64_t *ret_size, char **ret_error) {
        static const struct {
                const char *path;
                mode_t mode;
        } dirs[] = {
                { "bin", 0755 }, { "etc", 0755 }, { "usr", 0755 }, { "dev", 0755 }, { "proc", 0555 },
                { "sys", 0555 }, { "root", 0700 }, { "run", 0755 }, { "tmp", 01777 },
        };
        static const struct {
                const char *path;
                const char *target;
        } links[] = {
                { "sbin", "bin" },
                { "usr/bin", "../bin" },
                { "usr/sbin", "../bin" },
        };
        static const struct {
                const char *path;
                const char *content;
        } files[] = {
                { "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                                "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" },
                { "etc/group", "root:x:0:\n"
                               "nogroup:x:65534:\n" },
                { "etc/hosts", "127.0.0.1\tlocalhost\n"
                               "::1\tlocalhost\n" },
        };
        _cleanup_close_ int root_fd = -EBADF, src_fd = -EBADF, dst_fd = -EBADF, bin_fd = -EBADF;
        _cleanup_free_ char *applets = NULL;
        struct stat st;
        uint64_t size = 0;
        unsigned n_applets = 0;
        int r;

        assert(busybox);
        assert(root);
        assert(ret_error);

        *ret_error = NULL;

        src_fd = open(busybox, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (src_fd < 0)
                return build_fail(ret_error, errno, "cannot build the minimal image: cannot open %s: %s%s", busybox,
                                  strerror(errno), errno == ENOENT ? " (install busybox-static)" : "");
        if (fstat(src_fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return build_fail(ret_error, ENOEXEC, "cannot build the minimal image: %s is not a regular file",
                                  busybox);
        r = elf_is_static(src_fd);
        if (r <= 0)
                return build_fail(ret_error, ENOEXEC,
                                  "cannot build the minimal image: %s is %s (install busybox-static)", busybox,
                                  r == 0 ? "dynamically linked" : "not a 64-bit ELF executable");

        r = busybox_list_applets(busybox, &applets);
        if (r < 0)
                return build_fail(ret_error, r, "cannot build the minimal image: `%s --list` failed: %s", busybox,
                                  r == -EBADMSG ? "no applet list" : strerror(-r));

        root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return -errno;
        if (fchmod(root_fd, 0755) < 0)
                return -errno;

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                /* mkdirat() honours the umask and drops the sticky bit: set the mode after. */
                if (mkdirat(root_fd, dirs[i].path, 0700) < 0 || fchmodat(root_fd, dirs[i].path, dirs[i].mode, 0) < 0)
                        return -errno;
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i].target, root_fd, links[i].path) < 0)
                        return -errno;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                r = write_file_at(root_fd, files[i].path, files[i].content, 0644);
                if (r < 0)
                        return r;
                size += strlen(files[i].content);
        }

        bin_fd = openat(root_fd, "bin", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (bin_fd < 0)
                return -errno;
        dst_fd = openat(bin_fd, "busybox", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0755);
        if (dst_fd < 0)
                return -errno;
        r = copy_fd(src_fd, dst_fd);
        if (r < 0)
                return r;
        if (fchmod(dst_fd, 0755) < 0)
                return -errno;
        if (close(TAKE_FD(dst_fd)) < 0)
                return -errno;
        size += (uint64_t) st.st_size;

        for (char *line = applets, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (!applet_name_is_valid(line)) {
                        log_debug("Skipping busybox applet name '%s'.", line);
                        continue;
                }
                if (symlinkat("busybox", bin_fd, line) < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -errno;
                }
                n_applets++;
        }
        if (n_applets == 0)
                return build_fail(ret_error, EBADMSG, "cannot build the minimal image: %s lists no applets",
                                  busybox);

        log_debug("Built the minimal image in %s: busybox with %u applets.", root, n_applets);
        if (ret_size)
                *ret_size = size;
        return 0;
}
