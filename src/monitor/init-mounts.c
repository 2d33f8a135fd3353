/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "fileio.h"
#include "init.h"

/* As Docker: what would reveal or poke at the host is hidden (files behind /dev/null,
 * directories behind an empty read-only tmpfs) or made read-only. */
static const char *const masked_paths[] = {
        "/proc/kcore",       "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
        "/proc/latency_stats", "/proc/acpi", "/proc/scsi",       "/sys/firmware",
};

static const char *const readonly_paths[] = {
        "/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs",
};

static const struct {
        const char *name;
        unsigned major, minor;
} dev_nodes[] = {
        { "/dev/null", 1, 3 },    { "/dev/zero", 1, 5 },    { "/dev/full", 1, 7 },
        { "/dev/random", 1, 8 },  { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

static const struct {
        const char *target;
        const char *path;
} dev_links[] = {
        { "pts/ptmx", "/dev/ptmx" },          { "/proc/self/fd", "/dev/fd" },
        { "/proc/self/fd/0", "/dev/stdin" }, { "/proc/self/fd/1", "/dev/stdout" },
        { "/proc/self/fd/2", "/dev/stderr" },
};

static int mkdir_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
                       const char *options) {
        if (mkdir(target, 0755) < 0 && errno != EEXIST)
                return init_fail(errno, "mkdir %s", target);
        if (mount(source, target, fstype, flags, options) < 0)
                return init_fail(errno, "mount %s on %s", fstype ?: source, target);
        return 0;
}

/* overlayfs splits its options at ',' and lowerdir at ':'; both may be escaped with '\'. */
static int append_escaped(char *buf, size_t size, size_t *pos, const char *s) {
        for (; *s; s++) {
                if (strchr(",:\\", *s)) {
                        if (*pos + 1 >= size)
                                return -E2BIG;
                        buf[(*pos)++] = '\\';
                }
                if (*pos + 1 >= size)
                        return -E2BIG;
                buf[(*pos)++] = *s;
        }
        buf[*pos] = '\0';
        return 0;
}

static int mount_overlay(const ContainerSpec *spec) {
        const struct {
                const char *key;
                const char *value;
        } opts[] = {
                { "lowerdir=", spec->rootfs_lower },
                { ",upperdir=", spec->rootfs_upper },
                { ",workdir=", spec->rootfs_work },
        };
        char options[4096]; /* the kernel takes one page of mount data */
        size_t pos = 0;

        for (size_t i = 0; i < ELEMENTSOF(opts); i++) {
                size_t l = strlen(opts[i].key);

                if (pos + l >= sizeof options)
                        return init_fail(E2BIG, "overlay options");
                memcpy(options + pos, opts[i].key, l + 1);
                pos += l;
                if (append_escaped(options, sizeof options, &pos, opts[i].value) < 0)
                        return init_fail(E2BIG, "overlay options");
        }

        if (mount("overlay", spec->rootfs_target, "overlay", 0, options) < 0)
                return init_fail(errno, "mount overlay on %s", spec->rootfs_target);
        return 0;
}

/* pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves the
 * new root alone, with no path back to the host's tree (unlike chroot). */
static int pivot_into(const char *target) {
        if (chdir(target) < 0)
                return init_fail(errno, "chdir %s", target);
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return init_fail(errno, "pivot_root %s", target);
        if (umount2(".", MNT_DETACH) < 0)
                return init_fail(errno, "umount the host root");
        if (chdir("/") < 0)
                return init_fail(errno, "chdir /");
        return 0;
}

static int setup_dev(const ContainerSpec *spec) {
        int r;

        r = mkdir_mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++) {
                if (mknod(dev_nodes[i].name, S_IFCHR | 0666, makedev(dev_nodes[i].major, dev_nodes[i].minor)) < 0)
                        return init_fail(errno, "mknod %s", dev_nodes[i].name);
                /* mknod() applies the umask. */
                if (chmod(dev_nodes[i].name, 0666) < 0)
                        return init_fail(errno, "chmod %s", dev_nodes[i].name);
        }

        r = mkdir_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                        "newinstance,ptmxmode=0666,mode=0620,gid=5");
        if (r < 0)
                return r;
        r = mkdir_mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k");
        if (r < 0)
                return r;
        if (spec->namespaces & CONTAINER_NS_IPC) {
                r = mkdir_mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < ELEMENTSOF(dev_links); i++)
                if (symlink(dev_links[i].target, dev_links[i].path) < 0)
                        return init_fail(errno, "symlink %s", dev_links[i].path);
        return 0;
}

static int mask_path(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return errno == ENOENT ? 0 : init_fail(errno, "stat %s", path);
        if (S_ISDIR(st.st_mode)) {
                if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0)
                        return init_fail(errno, "mask %s", path);
        } else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
                return init_fail(errno, "mask %s", path);
        return 0;
}

/* A read-only bind mount takes two steps: bind, then remount the bind with MS_RDONLY,
 * carrying over the flags the mount already has (the kernel refuses to clear locked
 * ones, and proc's nosuid/nodev/noexec must stay). */
static int make_readonly(const char *path) {
        static const struct {
                unsigned long st, ms;
        } flag_map[] = {
                { ST_NOSUID, MS_NOSUID },     { ST_NODEV, MS_NODEV },
                { ST_NOEXEC, MS_NOEXEC },     { ST_NOATIME, MS_NOATIME },
                { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
        };
        unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
        struct statvfs sv;

        if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return errno == ENOENT ? 0 : init_fail(errno, "bind %s", path);
        if (statvfs(path, &sv) < 0)
                return init_fail(errno, "statvfs %s", path);
        for (size_t i = 0; i < ELEMENTSOF(flag_map); i++)
                if (sv.f_flag & flag_map[i].st)
                        flags |= flag_map[i].ms;
        if (mount(NULL, path, NULL, flags, NULL) < 0)
                return init_fail(errno, "remount %s read-only", path);
        return 0;
}

typedef struct UserMountFds {
        int *fds;
        size_t n;
} UserMountFds;

static void user_mount_fds_done(UserMountFds *u) {
        init_user_mounts_close(u->fds, u->n);
        free(u->fds);
}

int init_setup_mounts(const ContainerSpec *spec) {
        _cleanup_(user_mount_fds_done) UserMountFds user = {};
        int r;

        /* Nothing we mount may propagate back to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return init_fail(errno, "make / private");

        r = mount_overlay(spec);
        if (r < 0)
                return r;

        /* The sources of the container's own mounts are host paths: opened now, attached
         * once the container's root is all there is. */
        user.fds = malloc(MAX(spec->n_mounts, (size_t) 1) * sizeof(int));
        if (!user.fds)
                return init_fail(ENOMEM, "allocate mounts");
        for (; user.n < spec->n_mounts; user.n++)
                user.fds[user.n] = -EBADF;
        r = init_user_mounts_open(spec, user.fds);
        if (r < 0)
                return r;

        r = pivot_into(spec->rootfs_target);
        if (r < 0)
                return r;

        /* Everything else is mounted from inside the new root, so that a symlink in the
         * image (say /proc → /) can only ever point into the container. */
        r = mkdir_mount("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
        if (r < 0)
                return r;
        r = mkdir_mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
        if (r < 0)
                return r;
        r = setup_dev(spec);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(masked_paths); i++) {
                r = mask_path(masked_paths[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(readonly_paths); i++) {
                r = make_readonly(readonly_paths[i]);
                if (r < 0)
                        return r;
        }

        /* Into the image's /etc before the container's own mounts: a bind of a host
         * directory over /etc must never receive our hosts or resolv.conf. */
        r = init_write_etc_files(spec);
        if (r < 0)
                return r;

        /* Last, so that a mount below /dev (say /dev/shm) covers what setup_dev() made. */
        return init_user_mounts_attach(spec, user.fds);
}

int init_write_etc_files(const ContainerSpec *spec) {
        if (!spec->etc_files || !spec->etc_files[0])
                return 0;

        if (mkdir("/etc", 0755) < 0 && errno != EEXIST)
                return init_fail(errno, "mkdir /etc");

        for (char **f = spec->etc_files; f[0] && f[1]; f += 2) {
                char path[64], tmp[64];
                int fd, r;

                /* The names are checked when the spec is loaded (container_etc_file_is_valid()). */
                (void) snprintf(path, sizeof path, "/etc/%s", f[0]);
                (void) snprintf(tmp, sizeof tmp, "/etc/.%s.quilt", f[0]);

                (void) unlink(tmp);
                fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd < 0)
                        return init_fail(errno, "create %s", tmp);
                r = loop_write(fd, f[1], strlen(f[1]));
                if (r >= 0 && fchmod(fd, 0644) < 0)
                        r = -errno;
                (void) close(fd);
                if (r >= 0 && rename(tmp, path) < 0)
                        r = -errno;
                if (r < 0) {
                        (void) unlink(tmp);
                        return init_fail(r, "write %s", path);
                }
        }
        return 0;
}
