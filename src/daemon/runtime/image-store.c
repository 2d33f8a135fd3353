/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "image-check.h"
#include "image-minimal.h"
#include "image-store.h"
#include "image-unpack.h"
#include "log.h"
#include "rm-rf.h"
#include "store-images.h"
#include "time-util.h"

#define TMP_PREFIX ".tmp-"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

struct ImageStore {
        Store *store;
        char *dir; /* realpath()ed: libarchive's symlink checks walk every component */
};

void image_done(Image *image) {
        if (!image)
                return;
        free(image->name);
        free(image->source);
        free(image->rootfs_path);
        *image = (Image) {};
}

void image_array_free(Image *images, size_t n) {
        for (size_t i = 0; i < n; i++)
                image_done(&images[i]);
        free(images);
}

_printf_(3, 4) static int image_fail(char **ret_error, int error, const char *format, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, format);
                if (vasprintf(ret_error, format, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return -abs(error);
}

/* Moves the row's strings into an Image. */
static void image_from_row(ImageRow *row, Image *ret) {
        *ret = (Image) {
                .name = TAKE_PTR(row->name),
                .source = TAKE_PTR(row->source),
                .rootfs_path = TAKE_PTR(row->rootfs_path),
                .size_bytes = row->size_bytes,
                .created_usec = row->created_usec,
                .builtin = row->builtin,
        };
        image_row_done(row);
}

static int image_path(ImageStore *s, const char *name, const char *suffix, char **ret) {
        return asprintf(ret, "%s/%s%s", s->dir, name, strempty(suffix)) < 0 ? -ENOMEM : 0;
}

static bool directory_exists(const char *path) {
        struct stat st;

        return stat(path, &st) >= 0 && S_ISDIR(st.st_mode);
}

/* A work directory <images>/.tmp-XXXXXX with an empty rootfs/ in it. Names of images never
 * start with '.', so this cannot collide with one. */
static int make_work_dir(ImageStore *s, char **ret_dir, char **ret_rootfs) {
        _cleanup_free_ char *dir = NULL, *rootfs = NULL;

        if (asprintf(&dir, "%s/" TMP_PREFIX "XXXXXX", s->dir) < 0)
                return -ENOMEM;
        if (!mkdtemp(dir))
                return log_error_errno(errno, "Failed to create a work directory in %s: %m", s->dir);
        if (asprintf(&rootfs, "%s/rootfs", dir) < 0) {
                (void) rm_rf(dir);
                return -ENOMEM;
        }
        if (mkdir(rootfs, 0755) < 0 || chmod(dir, 0755) < 0) {
                int r = log_error_errno(errno, "Failed to create %s: %m", rootfs);
                (void) rm_rf(dir);
                return r;
        }

        *ret_dir = TAKE_PTR(dir);
        *ret_rootfs = TAKE_PTR(rootfs);
        return 0;
}

/* Renames a finished work directory to <images>/<name> and records the row; on any failure
 * nothing of it is left. */
static int install_image(ImageStore *s, const char *work_dir, ImageRow *row, char **ret_error) {
        _cleanup_free_ char *final = NULL;
        int r;

        r = image_path(s, row->name, NULL, &final);
        if (r < 0)
                goto fail;
        r = image_path(s, row->name, "/rootfs", &row->rootfs_path);
        if (r < 0)
                goto fail;

        if (renameat2(AT_FDCWD, work_dir, AT_FDCWD, final, RENAME_NOREPLACE) < 0) {
                r = -errno;
                if (r == -EEXIST)
                        (void) image_fail(ret_error, r, "image '%s' already exists", row->name);
                else
                        log_error_errno(r, "Failed to move %s to %s: %m", work_dir, final);
                goto fail;
        }

        r = store_image_insert(s->store, row);
        if (r < 0) {
                if (r == -EEXIST)
                        (void) image_fail(ret_error, r, "image '%s' already exists", row->name);
                else
                        log_error_errno(r, "Failed to record image %s: %s", row->name, store_errmsg(s->store));
                (void) rm_rf(final);
                return r;
        }
        return 0;

fail:
        (void) rm_rf(work_dir);
        return r;
}

/* "minimal" exists (row and tree), built now if it does not. */
static int ensure_minimal(ImageStore *s, char **ret_error) {
        _cleanup_free_ char *work_dir = NULL, *rootfs = NULL, *final = NULL;
        _cleanup_(image_row_done) ImageRow row = {};
        int r;

        r = store_image_get(s->store, IMAGE_DEFAULT, &row);
        if (r >= 0) {
                /* An imported image of that name stands in for it; a builtin one whose tree
                 * vanished is built again. */
                if (!row.builtin || directory_exists(row.rootfs_path))
                        return 0;
                log_warning("The tree of the built-in image is missing (%s), building it again.", row.rootfs_path);
                r = store_image_delete(s->store, IMAGE_DEFAULT);
                if (r < 0 && r != -ENOENT)
                        return log_error_errno(r, "Failed to remove the row of image %s: %m", IMAGE_DEFAULT);
                image_row_done(&row);
        } else if (r != -ENOENT)
                return log_error_errno(r, "Failed to look up image %s: %s", IMAGE_DEFAULT, store_errmsg(s->store));

        /* Without a row, a directory of that name is debris (see the header). */
        r = image_path(s, IMAGE_DEFAULT, NULL, &final);
        if (r < 0)
                return r;
        r = rm_rf(final);
        if (r < 0)
                return log_error_errno(r, "Failed to remove stale %s: %m", final);

        r = make_work_dir(s, &work_dir, &rootfs);
        if (r < 0)
                return r;

        r = image_minimal_build(IMAGE_MINIMAL_BUSYBOX, rootfs, &row.size_bytes, ret_error);
        if (r < 0) {
                if (ret_error && *ret_error)
                        log_error("%s", *ret_error);
                else
                        log_error_errno(r, "Failed to build the minimal image in %s: %m", rootfs);
                (void) rm_rf(work_dir);
                return r;
        }

        row.name = strdup(IMAGE_DEFAULT);
        row.source = strdup(IMAGE_MINIMAL_SOURCE);
        if (!row.name || !row.source) {
                (void) rm_rf(work_dir);
                return -ENOMEM;
        }
        row.builtin = true;
        row.created_usec = now_usec(CLOCK_REALTIME);

        r = install_image(s, work_dir, &row, ret_error);
        if (r < 0)
                return r;

        log_info("Built the %s image from %s (%" PRIu64 " bytes).", IMAGE_DEFAULT, IMAGE_MINIMAL_BUSYBOX,
                 row.size_bytes);
        return 0;
}

/* Start-up: work directories of interrupted imports and removals, and directories without
 * a row, are debris; builtin rows without a tree are forgotten (built again on use). */
static int image_store_clean(ImageStore *s) {
        _cleanup_(closedirp) DIR *d = NULL;
        ImageRow *rows = NULL;
        size_t n_rows = 0;
        int r;

        r = store_image_list(s->store, &rows, &n_rows);
        if (r < 0)
                return log_error_errno(r, "Failed to list images: %s", store_errmsg(s->store));

        for (size_t i = 0; i < n_rows; i++) {
                if (directory_exists(rows[i].rootfs_path))
                        continue;
                if (rows[i].builtin) {
                        log_info("Tree of built-in image %s is missing, it will be built again on use.",
                                 rows[i].name);
                        (void) store_image_delete(s->store, rows[i].name);
                } else
                        log_warning("Tree of image %s is missing (%s); containers cannot use it.", rows[i].name,
                                    rows[i].rootfs_path);
        }

        d = opendir(s->dir);
        if (!d) {
                r = log_error_errno(errno, "Failed to open %s: %m", s->dir);
                image_row_array_free(rows, n_rows);
                return r;
        }

        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *path = NULL;
                bool known = false;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                for (size_t i = 0; i < n_rows && !known; i++)
                        known = streq(rows[i].name, de->d_name);
                if (known)
                        continue;

                if (asprintf(&path, "%s/%s", s->dir, de->d_name) < 0) {
                        image_row_array_free(rows, n_rows);
                        return log_oom();
                }
                log_info("Removing %s: %s.", path,
                         startswith(de->d_name, TMP_PREFIX) ? "left over from an interrupted import or removal"
                                                            : "no image of that name");
                r = rm_rf(path);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove %s, ignoring: %m", path);
        }

        image_row_array_free(rows, n_rows);
        return 0;
}

int image_store_new(Store *store, const char *images_dir, ImageStore **ret) {
        _cleanup_(image_store_freep) ImageStore *s = NULL;
        int r;

        assert(store);
        assert(images_dir);
        assert(ret);

        if (mkdir(images_dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", images_dir);

        s = calloc(1, sizeof *s);
        if (!s)
                return log_oom();
        s->store = store;
        s->dir = realpath(images_dir, NULL);
        if (!s->dir)
                return log_error_errno(errno, "Failed to resolve %s: %m", images_dir);

        r = image_store_clean(s);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

ImageStore *image_store_free(ImageStore *s) {
        if (!s)
                return NULL;
        free(s->dir);
        return mfree(s);
}

static int image_store_get_row(ImageStore *s, const char *name, Image *ret, char **ret_error) {
        _cleanup_(image_row_done) ImageRow row = {};
        int r;

        if (!image_name_is_valid(name))
                return image_fail(ret_error, EINVAL, "invalid image name '%s'", name);

        if (streq(name, IMAGE_DEFAULT)) {
                r = ensure_minimal(s, ret_error);
                if (r < 0)
                        return r;
        }

        r = store_image_get(s->store, name, &row);
        if (r == -ENOENT)
                return image_fail(ret_error, r, "image '%s' not found (quilt image ls lists them)", name);
        if (r < 0)
                return log_error_errno(r, "Failed to look up image %s: %s", name, store_errmsg(s->store));

        if (ret)
                image_from_row(&row, ret);
        return 0;
}

int image_store_get(ImageStore *s, const char *name, Image *ret) {
        assert(s);

        return image_store_get_row(s, strempty(name), ret, NULL);
}

int image_store_list(ImageStore *s, Image **ret, size_t *ret_n) {
        _cleanup_free_ char *error = NULL;
        ImageRow *rows = NULL;
        Image *images;
        size_t n = 0;
        int r;

        assert(s);
        assert(ret);
        assert(ret_n);

        /* "minimal" is always there to use, so the list shows it; a host without busybox
         * lists what it has. */
        r = ensure_minimal(s, &error);
        if (r < 0)
                log_warning_errno(r, "Listing images without the built-in one: %s", error ?: strerror(-r));

        r = store_image_list(s->store, &rows, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to list images: %s", store_errmsg(s->store));

        images = calloc(MAX(n, (size_t) 1), sizeof(Image));
        if (!images) {
                image_row_array_free(rows, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                image_from_row(&rows[i], &images[i]);
        free(rows);

        *ret = images;
        *ret_n = n;
        return 0;
}

static int import_fd(ImageStore *s, const char *name, const char *source, int fd, const struct stat *st,
                     Image *ret, char **ret_error) {
        _cleanup_free_ char *work_dir = NULL, *rootfs = NULL, *error = NULL;
        _cleanup_(image_row_done) ImageRow row = {};
        int r;

        /* An imported "minimal" may only stand in for the built-in one where that cannot be
         * built. */
        if (streq(name, IMAGE_DEFAULT))
                (void) ensure_minimal(s, NULL);

        /* Before unpacking, for a quick answer; install_image() checks again. */
        r = store_image_get(s->store, name, NULL);
        if (r >= 0)
                return image_fail(ret_error, EEXIST, "image '%s' already exists (quilt image rm %s removes it)",
                                  name, name);
        if (r != -ENOENT)
                return log_error_errno(r, "Failed to look up image %s: %s", name, store_errmsg(s->store));

        r = make_work_dir(s, &work_dir, &rootfs);
        if (r < 0)
                return r;

        r = image_unpack(fd, rootfs, &row.size_bytes, &error);
        if (r < 0) {
                (void) rm_rf(work_dir);
                if (r == -ENOMEM)
                        return r;
                return image_fail(ret_error, r, "cannot import %s: %s", source, error ?: strerror(-r));
        }

        row.name = strdup(name);
        row.source = strdup(source);
        if (!row.name || !row.source) {
                (void) rm_rf(work_dir);
                return -ENOMEM;
        }
        row.has_source_stamp = true;
        row.source_mtime_nsec = (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
        row.source_size = (uint64_t) st->st_size;
        row.created_usec = now_usec(CLOCK_REALTIME);

        r = install_image(s, work_dir, &row, ret_error);
        if (r < 0)
                return r;

        log_info("Imported image %s from %s (%" PRIu64 " bytes).", row.name, source, row.size_bytes);
        if (ret)
                image_from_row(&row, ret);
        return 0;
}

/* The file to import: absolute, canonical (the key for reuse), a regular file. */
static int open_source(const char *path, char **ret_canonical, int *ret_fd, struct stat *ret_st,
                       char **ret_error) {
        _cleanup_free_ char *canonical = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (isempty(path))
                return image_fail(ret_error, EINVAL, "no file to import");
        if (path[0] != '/')
                return image_fail(ret_error, EINVAL, "'%s' is not an absolute path (quiltd opens the file itself)",
                                  path);

        canonical = realpath(path, NULL);
        if (!canonical)
                return image_fail(ret_error, errno, "cannot import %s: %s", path, strerror(errno));

        /* O_NONBLOCK: a fifo must not hang the daemon in open(); it is refused below. */
        fd = open(canonical, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return image_fail(ret_error, errno, "cannot import %s: %s", path, strerror(errno));
        if (fstat(fd, ret_st) < 0)
                return -errno;
        if (!S_ISREG(ret_st->st_mode))
                return image_fail(ret_error, EINVAL, "cannot import %s: not a regular file", path);

        *ret_canonical = TAKE_PTR(canonical);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int image_store_import(ImageStore *s, const char *name, const char *path, Image *ret, char **ret_error) {
        _cleanup_free_ char *canonical = NULL, *derived = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        assert(s);

        r = open_source(path, &canonical, &fd, &st, ret_error);
        if (r < 0)
                return r;

        if (isempty(name)) {
                r = image_name_from_file(canonical, &derived);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return image_fail(ret_error, r, "cannot derive an image name from '%s'; give one with --name",
                                          path);
                name = derived;
        } else if (!image_name_is_valid(name))
                return image_fail(ret_error, EINVAL,
                                  "invalid image name '%s': letters, digits, '_', '.' and '-', starting with a "
                                  "letter or digit, at most 128 characters",
                                  name);

        return import_fd(s, name, canonical, fd, &st, ret, ret_error);
}

static int resolve_path(ImageStore *s, const char *ref, char **ret_reference, char **ret_rootfs, char **ret_error) {
        _cleanup_free_ char *canonical = NULL, *derived = NULL;
        _cleanup_(image_row_done) ImageRow row = {};
        _cleanup_(image_done) Image image = {};
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int64_t mtime;
        int r;

        if (stat(ref, &st) < 0)
                return image_fail(ret_error, errno == ENOENT ? ENOENT : errno, "image '%s' not found: %s", ref,
                                  strerror(errno));

        if (S_ISDIR(st.st_mode)) {
                /* Used in place as the read-only lower layer. */
                canonical = realpath(ref, NULL);
                if (!canonical)
                        return image_fail(ret_error, errno, "image '%s': %s", ref, strerror(errno));
                *ret_rootfs = strdup(canonical);
                if (!*ret_rootfs)
                        return -ENOMEM;
                *ret_reference = TAKE_PTR(canonical);
                return 0;
        }

        r = open_source(ref, &canonical, &fd, &st, ret_error);
        if (r < 0)
                return r;

        mtime = (int64_t) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        r = store_image_find_by_source(s->store, canonical, mtime, (uint64_t) st.st_size, &row);
        if (r >= 0) {
                *ret_reference = TAKE_PTR(row.name);
                *ret_rootfs = TAKE_PTR(row.rootfs_path);
                return 0;
        }
        if (r != -ENOENT)
                return log_error_errno(r, "Failed to look up images of %s: %s", canonical, store_errmsg(s->store));

        r = image_name_from_file(canonical, &derived);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return image_fail(ret_error, r,
                                  "cannot derive an image name from '%s'; import it with quilt image import --name",
                                  ref);

        /* A different file (or this one, changed) under the same name stays what it is:
         * containers may use it. import_fd() says so with -EEXIST. */
        r = import_fd(s, derived, canonical, fd, &st, &image, ret_error);
        if (r < 0)
                return r;

        *ret_reference = TAKE_PTR(image.name);
        *ret_rootfs = TAKE_PTR(image.rootfs_path);
        return 0;
}

int image_store_resolve(ImageStore *s, const char *ref, char **ret_reference, char **ret_rootfs,
                        char **ret_error) {
        _cleanup_(image_done) Image image = {};
        int r;

        assert(s);
        assert(ret_reference);
        assert(ret_rootfs);

        if (ret_error)
                *ret_error = NULL;

        if (isempty(ref))
                ref = IMAGE_DEFAULT;

        if (ref[0] == '/')
                return resolve_path(s, ref, ret_reference, ret_rootfs, ret_error);
        if (strchr(ref, '/'))
                return image_fail(ret_error, EINVAL, "invalid image '%s': give a name or an absolute path", ref);

        r = image_store_get_row(s, ref, &image, ret_error);
        if (r < 0)
                return r;

        *ret_reference = TAKE_PTR(image.name);
        *ret_rootfs = TAKE_PTR(image.rootfs_path);
        return 0;
}

static int format_users(char **users, char **ret) {
        size_t l = 0;
        char *s;

        for (char **u = users; *u; u++)
                l += strlen(*u) + 2;
        s = malloc(l + 1);
        if (!s)
                return -ENOMEM;
        s[0] = 0;
        for (char **u = users; *u; u++) {
                if (u != users)
                        strcat(s, ", ");
                strcat(s, *u);
        }
        *ret = s;
        return 0;
}

int image_store_remove(ImageStore *s, const char *name, char **ret_error) {
        _cleanup_free_ char *final = NULL, *graveyard = NULL, *rootfs = NULL, *old = NULL, *list = NULL;
        _cleanup_strv_free_ char **users = NULL;
        int r;

        assert(s);

        if (ret_error)
                *ret_error = NULL;

        if (!image_name_is_valid(strempty(name)))
                return image_fail(ret_error, isempty(name) ? EINVAL : ENOENT, "image '%s' not found",
                                  strempty(name));

        r = store_image_get(s->store, name, NULL);
        if (r == -ENOENT)
                return image_fail(ret_error, r, "image '%s' not found (quilt image ls lists them)", name);
        if (r < 0)
                return log_error_errno(r, "Failed to look up image %s: %s", name, store_errmsg(s->store));

        r = store_image_users(s->store, name, &users);
        if (r < 0)
                return log_error_errno(r, "Failed to find the containers of image %s: %s", name,
                                       store_errmsg(s->store));
        if (users[0]) {
                r = format_users(users, &list);
                if (r < 0)
                        return r;
                return image_fail(ret_error, EBUSY, "image '%s' is used by container(s) %s; remove them first",
                                  name, list);
        }

        /* The tree leaves its name first, so that an interruption leaves debris that start-up
         * removes, never a row whose tree is half gone. */
        r = image_path(s, name, NULL, &final);
        if (r < 0)
                return r;
        r = make_work_dir(s, &graveyard, &rootfs);
        if (r < 0)
                return r;
        if (asprintf(&old, "%s/old", graveyard) < 0) {
                (void) rm_rf(graveyard);
                return -ENOMEM;
        }
        if (rename(final, old) < 0 && errno != ENOENT) {
                r = log_error_errno(errno, "Failed to move %s away: %m", final);
                (void) rm_rf(graveyard);
                return r;
        }

        r = store_image_delete(s->store, name);
        if (r < 0 && r != -ENOENT) {
                log_error_errno(r, "Failed to remove the row of image %s: %s", name, store_errmsg(s->store));
                (void) rename(old, final);
                (void) rm_rf(graveyard);
                return r;
        }

        r = rm_rf(graveyard);
        if (r < 0)
                log_warning_errno(r, "Failed to remove the tree of image %s in %s, start-up retries: %m", name,
                                  graveyard);

        log_info("Removed image %s.", name);
        return 0;
}
