/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt cp: files and directory trees between the host and a running container, over the
 * file RPCs (ReadFile, WriteFile, ListFiles) in chunks of QUILT_FILE_CHUNK_MAX (4 MiB less
 * 64 KiB, so that every message fits in gRPC's default limit).
 *
 * What quiltd resolves, it resolves inside the container (a symbolic link there never
 * leads to a host file). On the host side this file does the same for the tree it
 * creates: every name it is given by quiltd is one component, checked, and created or
 * opened relative to an fd of its directory with O_NOFOLLOW, so that no entry, whatever
 * the container put in its listing, lands outside DEST. Symbolic links are copied as
 * links (never followed, except SRC itself with -L); devices, fifos and sockets are
 * skipped with a warning. Modes are kept (setuid and setgid only with -a); owners are
 * root inside the container and the caller on the host unless -a. */

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "file-api.h"
#include "mount-util.h"

#define CHUNK QUILT_FILE_CHUNK_MAX

typedef struct Copy {
        Cli *cli;
        const char *container;
        bool archive;
        bool follow;
        unsigned skipped;
} Copy;

static const char cp_usage[] =
        "Usage: quilt cp [OPTIONS] CONTAINER:SRC DEST\n"
        "       quilt cp [OPTIONS] SRC CONTAINER:DEST\n"
        "\n"
        "Copy a file or a directory tree out of or into a running container. When DEST is an\n"
        "existing directory, SRC is copied into it; otherwise DEST is the copy. SRC ending in\n"
        "\"/.\" copies the directory's contents. Symbolic links are copied as links, modes are\n"
        "kept; paths in the container are resolved inside it.\n"
        "\n"
        "Options:\n"
        "  -a, --archive       keep owners (uid, gid) and the setuid and setgid bits\n"
        "  -L, --follow-link   copy what SRC points to when it is a symbolic link\n"
        "  -h, --help          show this help\n";

/* "CONTAINER:PATH" has a colon before any slash; "./a:b" and "/x:y" are local paths. */
static bool is_container_path(const char *s) {
        const char *colon = strchr(s, ':');
        return colon && colon != s && !memchr(s, '/', (size_t) (colon - s));
}

static bool endswith_slash(const char *s) {
        size_t n = strlen(s);
        return n > 0 && s[n - 1] == '/';
}

static int write_all(int fd, const void *buf, size_t n) {
        for (size_t done = 0; done < n;) {
                ssize_t k = write(fd, (const char *) buf + done, n - done);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) k;
        }
        return 0;
}

/* One component that quiltd sent: not empty, no '/', not "." or "..". */
static bool name_is_safe(const char *s) {
        return !isempty(s) && !strchr(s, '/') && !streq(s, ".") && !streq(s, "..");
}

static char *path_join(const char *a, const char *b) {
        char *p;

        if (asprintf(&p, "%s%s%s", a, endswith_slash(a) ? "" : "/", b) < 0)
                return NULL;
        return p;
}

/* ---- RPC wrappers ---------------------------------------------------------------------- */

static int list_files(Copy *c, const char *path, bool follow, uint64_t skip, Quilt__ListFilesResponse **ret) {
        Quilt__ListFilesRequest req = QUILT__LIST_FILES_REQUEST__INIT;
        ProtobufCMessage *m = NULL;
        int r;

        req.container_id = (char *) c->container;
        req.path = (char *) path;
        req.follow_symlinks = follow;
        req.skip = skip;
        r = cli_call(c->cli, "ListFiles", &req.base, 0, &m);
        if (r != 0)
                return r;
        *ret = (Quilt__ListFilesResponse *) m;
        return 0;
}

/* ListFiles without printing anything: 1 when path exists (info filled), 0 when not. */
static int stat_remote(Copy *c, const char *path, Quilt__FileType *ret_type) {
        Quilt__ListFilesRequest req = QUILT__LIST_FILES_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        int r;

        req.container_id = (char *) c->container;
        req.path = (char *) path;
        req.follow_symlinks = true;
        req.max_entries = 1;
        r = cli_call(c->cli, "ListFiles", &req.base, CLI_CALL_QUIET, &m);
        if (r != 0 || !m)
                return 0;
        *ret_type = ((Quilt__ListFilesResponse *) m)->info->type;
        return 1;
}

static int write_remote(Copy *c, const char *path, Quilt__FileType type, const void *data, size_t size,
                        uint64_t offset, const struct stat *st, const char *link_target) {
        Quilt__WriteFileRequest req = QUILT__WRITE_FILE_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        mode_t keep = c->archive ? 07777 : 01777;

        req.container_id = (char *) c->container;
        req.path = (char *) path;
        req.type = type;
        req.data.data = (uint8_t *) data;
        req.data.len = size;
        req.offset = offset;
        req.link_target = (char *) (link_target ?: "");
        if (offset == 0 && type != QUILT__FILE_TYPE__FILE_TYPE_SYMLINK) {
                req.mode_present_case = QUILT__WRITE_FILE_REQUEST__MODE_PRESENT_MODE;
                req.mode = st->st_mode & keep;
        }
        if (c->archive && offset == 0) {
                req.uid_present_case = QUILT__WRITE_FILE_REQUEST__UID_PRESENT_UID;
                req.uid = st->st_uid;
                req.gid_present_case = QUILT__WRITE_FILE_REQUEST__GID_PRESENT_GID;
                req.gid = st->st_gid;
        }
        return cli_call(c->cli, "WriteFile", &req.base, 0, &m);
}

/* ---- host → container ---------------------------------------------------------------- */

static int copy_in(Copy *c, int dirfd, const char *name, const char *local, const char *remote, bool follow);

static int copy_in_file(Copy *c, int fd, const struct stat *st, const char *local, const char *remote) {
        _cleanup_free_ char *buf = malloc(CHUNK);
        uint64_t offset = 0;
        int r;

        if (!buf)
                return cli_fail(c->cli, "out of memory");
        do {
                ssize_t n = read(fd, buf, CHUNK);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return cli_fail(c->cli, "cannot read %s: %m", local);
                }
                if (n == 0 && offset > 0)
                        break;
                r = write_remote(c, remote, QUILT__FILE_TYPE__FILE_TYPE_REGULAR, buf, (size_t) n, offset, st, NULL);
                if (r != 0)
                        return r;
                offset += (uint64_t) n;
                if (n == 0)
                        break;
        } while (true);
        return 0;
}

static int copy_in_directory(Copy *c, int fd, const struct stat *st, const char *local, const char *remote) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0, allocated = 0;
        DIR *d;
        int dup_fd, r;

        r = write_remote(c, remote, QUILT__FILE_TYPE__FILE_TYPE_DIRECTORY, NULL, 0, 0, st, NULL);
        if (r != 0)
                return r;

        dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
                safe_close(dup_fd);
                return cli_fail(c->cli, "cannot read directory %s: %m", local);
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (n + 2 > allocated) {
                        char **p = reallocarray(names, allocated = MAX(allocated * 2, (size_t) 16), sizeof(char *));
                        if (!p) {
                                closedir(d);
                                return cli_fail(c->cli, "out of memory");
                        }
                        names = p;
                }
                names[n] = strdup(de->d_name);
                names[++n] = NULL;
                if (!names[n - 1]) {
                        closedir(d);
                        return cli_fail(c->cli, "out of memory");
                }
        }
        closedir(d);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *l = path_join(local, names[i]), *rp = path_join(remote, names[i]);

                if (!l || !rp)
                        return cli_fail(c->cli, "out of memory");
                r = copy_in(c, fd, names[i], l, rp, false);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* name inside dirfd (or local itself when dirfd is AT_FDCWD) to remote. */
static int copy_in(Copy *c, int dirfd, const char *name, const char *local, const char *remote, bool follow) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (fstatat(dirfd, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
                return cli_fail(c->cli, "cannot copy %s: %m", local);

        if (S_ISLNK(st.st_mode)) {
                _cleanup_free_ char *target = NULL;
                ssize_t k;

                target = malloc(PATH_MAX);
                if (!target)
                        return cli_fail(c->cli, "out of memory");
                k = readlinkat(dirfd, name, target, PATH_MAX - 1);
                if (k < 0)
                        return cli_fail(c->cli, "cannot read the link %s: %m", local);
                target[k] = '\0';
                return write_remote(c, remote, QUILT__FILE_TYPE__FILE_TYPE_SYMLINK, NULL, 0, 0, &st, target);
        }
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
                fprintf(stderr, "quilt: cp: skipping %s: not a regular file, directory or symbolic link\n", local);
                c->skipped++;
                return 0;
        }

        fd = openat(dirfd, name, (S_ISDIR(st.st_mode) ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC | O_NOCTTY |
                                         (follow ? 0 : O_NOFOLLOW));
        if (fd < 0)
                return cli_fail(c->cli, "cannot open %s: %m", local);
        if (S_ISDIR(st.st_mode))
                return copy_in_directory(c, fd, &st, local, remote);
        return copy_in_file(c, fd, &st, local, remote);
}

/* ---- container → host -------------------------------------------------------------- */

static void set_times(int fd, uint64_t mtime) {
        struct timespec ts[2] = { { .tv_sec = (time_t) mtime }, { .tv_sec = (time_t) mtime } };
        (void) futimens(fd, ts);
}

static int finish_local(Copy *c, int fd, const Quilt__FileInfo *info, bool directory, const char *local) {
        mode_t keep = c->archive ? 07777 : (directory ? 01777 : 0777);

        if (c->archive && fchown(fd, info->uid, info->gid) < 0)
                return cli_fail(c->cli, "cannot set the owner of %s: %m", local);
        if (fchmod(fd, info->mode & keep) < 0)
                return cli_fail(c->cli, "cannot set the mode of %s: %m", local);
        set_times(fd, info->mtime);
        return 0;
}

/* Removes what is at name in dirfd unless it is a directory and one is wanted (cp
 * overwrites). */
static int make_room(Copy *c, int dirfd, const char *name, bool want_directory, const char *local) {
        struct stat st;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : cli_fail(c->cli, "cannot stat %s: %m", local);
        if (S_ISDIR(st.st_mode)) {
                if (want_directory)
                        return 0;
                return cli_fail(c->cli, "cannot overwrite directory %s with a non-directory", local);
        }
        if (want_directory)
                return cli_fail(c->cli, "cannot overwrite non-directory %s with a directory", local);
        if (unlinkat(dirfd, name, 0) < 0)
                return cli_fail(c->cli, "cannot replace %s: %m", local);
        return 0;
}

static int copy_out(Copy *c, const Quilt__FileInfo *info, const char *remote, int dirfd, const char *name,
                    const char *local);

static int copy_out_file(Copy *c, const Quilt__FileInfo *info, const char *remote, int dirfd, const char *name,
                         const char *local) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t offset = 0;
        int r;

        r = make_room(c, dirfd, name, false, local);
        if (r != 0)
                return r;
        fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return cli_fail(c->cli, "cannot create %s: %m", local);

        for (bool eof = false; !eof;) {
                Quilt__ReadFileRequest req = QUILT__READ_FILE_REQUEST__INIT;
                _cleanup_reply_ ProtobufCMessage *m = NULL;
                const Quilt__ReadFileResponse *reply;

                req.container_id = (char *) c->container;
                req.path = (char *) remote;
                req.offset = offset;
                r = cli_call(c->cli, "ReadFile", &req.base, 0, &m);
                if (r != 0)
                        return r;
                reply = (const Quilt__ReadFileResponse *) m;
                if (reply->data.len > 0 && write_all(fd, reply->data.data, reply->data.len) < 0)
                        return cli_fail(c->cli, "cannot write %s: %m", local);
                offset += reply->data.len;
                eof = reply->eof || reply->data.len == 0;
        }
        return finish_local(c, fd, info, false, local);
}

static int copy_out_directory(Copy *c, const Quilt__FileInfo *info, const char *remote, int dirfd,
                              const char *name, const char *local) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t skip = 0;
        int r;

        r = make_room(c, dirfd, name, true, local);
        if (r != 0)
                return r;
        /* Writable while it is filled; its own mode comes last. */
        if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
                return cli_fail(c->cli, "cannot create %s: %m", local);
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return cli_fail(c->cli, "cannot open %s: %m", local);
        if (fchmod(fd, 0700) < 0)
                return cli_fail(c->cli, "cannot set the mode of %s: %m", local);

        for (bool more = true; more;) {
                Quilt__ListFilesResponse *list = NULL;

                r = list_files(c, remote, false, skip, &list);
                if (r != 0)
                        return r;
                for (size_t i = 0; i < list->n_entries && r == 0; i++) {
                        const Quilt__FileInfo *e = list->entries[i];
                        _cleanup_free_ char *rp = NULL, *lp = NULL;

                        if (!name_is_safe(e->path)) {
                                r = cli_fail(c->cli, "quiltd listed an unexpected name '%s' in %s", e->path, remote);
                                break;
                        }
                        rp = path_join(remote, e->path);
                        lp = path_join(local, e->path);
                        if (!rp || !lp) {
                                r = cli_fail(c->cli, "out of memory");
                                break;
                        }
                        r = copy_out(c, e, rp, fd, e->path, lp);
                }
                skip += list->n_entries;
                more = list->truncated && list->n_entries > 0;
                protobuf_c_message_free_unpacked(&list->base, NULL);
                if (r != 0)
                        return r;
        }
        return finish_local(c, fd, info, true, local);
}

static int copy_out(Copy *c, const Quilt__FileInfo *info, const char *remote, int dirfd, const char *name,
                    const char *local) {
        int r;

        switch (info->type) {
        case QUILT__FILE_TYPE__FILE_TYPE_REGULAR:
                return copy_out_file(c, info, remote, dirfd, name, local);
        case QUILT__FILE_TYPE__FILE_TYPE_DIRECTORY:
                return copy_out_directory(c, info, remote, dirfd, name, local);
        case QUILT__FILE_TYPE__FILE_TYPE_SYMLINK:
                r = make_room(c, dirfd, name, false, local);
                if (r != 0)
                        return r;
                if (symlinkat(info->link_target, dirfd, name) < 0)
                        return cli_fail(c->cli, "cannot create the link %s: %m", local);
                if (c->archive && fchownat(dirfd, name, info->uid, info->gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return cli_fail(c->cli, "cannot set the owner of %s: %m", local);
                return 0;
        default:
                fprintf(stderr, "quilt: cp: skipping %s: not a regular file, directory or symbolic link\n", remote);
                c->skipped++;
                return 0;
        }
}

/* ---- the verb ---------------------------------------------------------------------------- */

/* "/a/b/" → "b"; "/" → "". With a trailing "/." *ret_contents is set. */
static char *last_component(const char *path, bool *ret_contents) {
        _cleanup_free_ char *p = strdup(path);
        size_t n;
        char *slash;

        if (!p)
                return NULL;
        n = strlen(p);
        *ret_contents = n >= 2 && streq(p + n - 2, "/.");
        path_simplify(p);
        slash = strrchr(p, '/');
        return strdup(slash ? slash + 1 : p);
}

static int cp_from_container(Copy *c, const char *remote, const char *dest) {
        _cleanup_free_ char *base = NULL, *dir = NULL, *local = NULL, *dest_name = NULL;
        Quilt__ListFilesResponse *list = NULL;
        _cleanup_close_ int dirfd = -EBADF;
        bool contents;
        struct stat st;
        int r;

        base = last_component(remote, &contents);
        if (!base)
                return cli_fail(c->cli, "out of memory");

        r = list_files(c, remote, c->follow, 0, &list);
        if (r != 0)
                return r;

        if (stat(dest, &st) >= 0 && S_ISDIR(st.st_mode)) {
                /* Into the directory (or, for "SRC/.", its contents into it). */
                dirfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (contents || isempty(base)) {
                        if (list->info->type != QUILT__FILE_TYPE__FILE_TYPE_DIRECTORY) {
                                protobuf_c_message_free_unpacked(&list->base, NULL);
                                return cli_fail(c->cli, "%s is not a directory", remote);
                        }
                        dest_name = strdup(".");
                        local = strdup(dest);
                } else {
                        dest_name = strdup(base);
                        local = path_join(dest, base);
                }
        } else {
                /* DEST is the copy: its parent must exist. */
                _cleanup_free_ char *copy = strdup(dest);
                char *slash;

                if (!copy) {
                        protobuf_c_message_free_unpacked(&list->base, NULL);
                        return cli_fail(c->cli, "out of memory");
                }
                path_simplify(copy);
                slash = strrchr(copy, '/');
                dir = slash ? (slash == copy ? strdup("/") : strndup(copy, (size_t) (slash - copy))) : strdup(".");
                dest_name = strdup(slash ? slash + 1 : copy);
                local = strdup(dest);
                if (dir)
                        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (!dest_name || !local) {
                protobuf_c_message_free_unpacked(&list->base, NULL);
                return cli_fail(c->cli, "out of memory");
        }
        if (dirfd < 0) {
                protobuf_c_message_free_unpacked(&list->base, NULL);
                return cli_fail(c->cli, "cannot open the destination directory of %s: %m", dest);
        }

        if (streq(dest_name, ".")) {
                /* The contents of a directory into an existing one: fill it, keep its mode. */
                Quilt__FileInfo keep = *list->info;
                struct stat dst;

                if (fstat(dirfd, &dst) < 0)
                        r = cli_fail(c->cli, "cannot stat %s: %m", dest);
                else {
                        keep.mode = dst.st_mode & 07777;
                        keep.uid = dst.st_uid;
                        keep.gid = dst.st_gid;
                        r = copy_out_directory(c, &keep, remote, dirfd, ".", local);
                }
        } else
                r = copy_out(c, list->info, remote, dirfd, dest_name, local);
        protobuf_c_message_free_unpacked(&list->base, NULL);
        return r;
}

static int cp_into_container(Copy *c, const char *local, const char *remote) {
        _cleanup_free_ char *base = NULL, *target = NULL;
        Quilt__FileType type = QUILT__FILE_TYPE__FILE_TYPE_UNSPECIFIED;
        bool contents;
        struct stat st;

        base = last_component(local, &contents);
        if (!base)
                return cli_fail(c->cli, "out of memory");
        if ((c->follow ? stat(local, &st) : lstat(local, &st)) < 0)
                return cli_fail(c->cli, "cannot copy %s: %m", local);

        if (stat_remote(c, remote, &type) && type == QUILT__FILE_TYPE__FILE_TYPE_DIRECTORY) {
                if (contents && S_ISDIR(st.st_mode)) {
                        /* Each entry of SRC into DEST. */
                        _cleanup_close_ int fd = open(local, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        DIR *d;
                        int r = 0;

                        if (fd < 0 || !(d = fdopendir(fd)))
                                return cli_fail(c->cli, "cannot read directory %s: %m", local);
                        fd = -EBADF; /* owned by d now */
                        for (struct dirent *de; r == 0 && (de = readdir(d));) {
                                _cleanup_free_ char *l = NULL, *rp = NULL;

                                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                        continue;
                                l = path_join(local, de->d_name);
                                rp = path_join(remote, de->d_name);
                                if (!l || !rp)
                                        r = cli_fail(c->cli, "out of memory");
                                else
                                        r = copy_in(c, dirfd(d), de->d_name, l, rp, false);
                        }
                        closedir(d);
                        return r;
                }
                target = path_join(remote, base);
        } else {
                if (type != QUILT__FILE_TYPE__FILE_TYPE_UNSPECIFIED && S_ISDIR(st.st_mode))
                        return cli_fail(c->cli, "cannot copy directory %s onto %s, which is not a directory", local,
                                        remote);
                target = strdup(remote);
        }
        if (!target)
                return cli_fail(c->cli, "out of memory");
        return copy_in(c, AT_FDCWD, local, local, target, c->follow);
}

int verb_cp(Cli *cli, int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "archive", no_argument, NULL, 'a' },
                { "follow-link", no_argument, NULL, 'L' },
                {},
        };
        Copy c = { .cli = cli };
        _cleanup_free_ char *container = NULL, *remote = NULL;
        const char *src, *dest, *spec, *colon, *path;
        bool out;
        int opt, r;

        while ((opt = getopt_long(argc, argv, ":haL", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        fputs(cp_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'a':
                        c.archive = true;
                        break;
                case 'L':
                        c.follow = true;
                        break;
                default:
                        return cli_getopt_error(cli, opt, argv);
                }
        if (argc - optind != 2)
                return cli_usage(cli, "expected SRC and DEST (see 'quilt cp --help')");
        src = argv[optind];
        dest = argv[optind + 1];
        if (is_container_path(src) == is_container_path(dest))
                return cli_usage(cli, "exactly one of SRC and DEST must be CONTAINER:PATH");

        out = is_container_path(src);
        spec = out ? src : dest;
        colon = strchr(spec, ':');
        path = colon + 1;
        container = strndup(spec, (size_t) (colon - spec));
        /* A relative path in the container is relative to its "/". */
        if (!container || asprintf(&remote, "%s%s", path[0] == '/' ? "" : "/", path) < 0)
                return cli_fail(cli, "out of memory");
        if (path_has_dotdot(remote))
                return cli_usage(cli, "invalid path '%s': %s", path, MOUNT_MSG_PATH_TRAVERSAL);
        if (isempty(out ? dest : src))
                return cli_usage(cli, "the local path must not be empty");
        c.container = container;

        r = out ? cp_from_container(&c, remote, dest) : cp_into_container(&c, src, remote);
        if (r == 0 && c.skipped > 0)
                fprintf(stderr, "quilt: cp: %u special file(s) skipped\n", c.skipped);
        return r;
}
