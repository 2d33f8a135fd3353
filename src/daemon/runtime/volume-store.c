/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-id128.h>

#include "fs-util.h"
#include "log.h"
#include "mount-util.h"
#include "rm-rf.h"
#include "store-volumes.h"
#include "store.h"
#include "strv.h"
#include "time-util.h"
#include "volume-store.h"

#define DATA_DIR "_data"
#define TRASH_DIR ".trash"

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

struct VolumeStore {
        Store *store;
        char *dir;
        char *trash;
};

void volume_done(Volume *v) {
        if (!v)
                return;
        free(v->name);
        free(v->driver);
        free(v->mount_point);
        strv_free(v->labels);
        strv_free(v->options);
        strv_free(v->containers);
        *v = (Volume) {};
}

void volume_array_free(Volume *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                volume_done(v + i);
        free(v);
}

static int volume_dir(VolumeStore *v, const char *name, char **ret) {
        return asprintf(ret, "%s/%s", v->dir, name) < 0 ? -ENOMEM : 0;
}

int volume_store_data_path(VolumeStore *v, const char *name, char **ret) {
        return asprintf(ret, "%s/%s/" DATA_DIR, v->dir, name) < 0 ? -ENOMEM : 0;
}

/* ---- deleting in the background ------------------------------------------------------ */

static void *trash_thread(void *userdata) {
        _cleanup_free_ char *path = userdata;
        int r;

        r = rm_rf(path);
        if (r < 0)
                log_warning_errno(r, "Failed to delete %s completely (quiltd retries at its next start): %m", path);
        return NULL;
}

/* rm -rf on a thread of its own: it touches nothing but a path that nothing else uses. */
static void trash_delete_async(const char *path) {
        pthread_attr_t attr;
        pthread_t thread;
        char *copy = strdup(path);
        int r;

        if (!copy) {
                log_oom();
                return;
        }
        r = -pthread_attr_init(&attr);
        if (r == 0)
                r = -pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (r == 0)
                r = -pthread_create(&thread, &attr, trash_thread, copy);
        (void) pthread_attr_destroy(&attr);
        if (r < 0) {
                log_warning_errno(r, "Failed to start deleting %s, it stays until the next start: %m", path);
                free(copy);
        }
}

/* Moves <volumes>/<name> into .trash/ under a unique name. -ENOENT if there is none. */
static int volume_move_to_trash(VolumeStore *v, const char *name, char **ret_trashed) {
        _cleanup_free_ char *from = NULL, *to = NULL;
        sd_id128_t rnd;
        int r;

        r = sd_id128_randomize(&rnd);
        if (r < 0)
                return r;
        if (volume_dir(v, name, &from) < 0 ||
            asprintf(&to, "%s/%s." SD_ID128_FORMAT_STR, v->trash, name, SD_ID128_FORMAT_VAL(rnd)) < 0)
                return -ENOMEM;
        if (rename(from, to) < 0)
                return -errno;
        *ret_trashed = TAKE_PTR(to);
        return 0;
}

static void volume_restore_from_trash(VolumeStore *v, const char *name, const char *trashed) {
        _cleanup_free_ char *to = NULL;

        if (volume_dir(v, name, &to) < 0 || rename(trashed, to) < 0)
                log_error_errno(errno, "Failed to move %s back to %s: %m", trashed, strempty(to));
}

static int trash_delete_leftovers(VolumeStore *v) {
        _cleanup_(closedirp) DIR *d = NULL;

        d = opendir(v->dir);
        if (!d)
                return log_error_errno(errno, "Failed to open %s: %m", v->dir);
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *p = NULL;

                if (!startswith(de->d_name, TRASH_DIR "."))
                        continue;
                if (asprintf(&p, "%s/%s", v->dir, de->d_name) < 0)
                        return -ENOMEM;
                trash_delete_async(p);
        }
        return 0;
}

/* ---- the object ------------------------------------------------------------------------ */

int volume_store_new(Store *store, const char *volumes_dir, VolumeStore **ret) {
        _cleanup_(volume_store_freep) VolumeStore *v = NULL;
        int r;

        v = new0(VolumeStore, 1);
        if (!v)
                return -ENOMEM;
        v->store = store;
        /* Canonical, so that init can open data directories with RESOLVE_NO_SYMLINKS even
         * when the state directory is reached through a symbolic link. */
        v->dir = realpath(volumes_dir, NULL);
        if (!v->dir)
                return log_error_errno(errno, "Failed to resolve %s: %m", volumes_dir);
        if (asprintf(&v->trash, "%s/" TRASH_DIR, v->dir) < 0)
                return -ENOMEM;

        /* What an earlier run was deleting when it stopped: .trash/ is moved aside whole and
         * deleted like the leftovers of earlier start-ups (".trash.*"); then a fresh one is
         * made. Volume names never start with a dot. */
        if (access(v->trash, F_OK) >= 0) {
                _cleanup_free_ char *old = NULL;

                if (asprintf(&old, "%s.%" PRIu64, v->trash, now_usec(CLOCK_REALTIME)) < 0)
                        return -ENOMEM;
                if (rename(v->trash, old) < 0)
                        return log_error_errno(errno, "Failed to move %s aside: %m", v->trash);
        }
        r = trash_delete_leftovers(v);
        if (r < 0)
                return r;
        r = mkdir_p(v->trash, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", v->trash);

        *ret = TAKE_PTR(v);
        return 0;
}

VolumeStore *volume_store_free(VolumeStore *v) {
        if (!v)
                return NULL;
        free(v->dir);
        free(v->trash);
        return mfree(v);
}

/* ---- options --------------------------------------------------------------------------- */

typedef struct VolumeOptions {
        uid_t uid;
        gid_t gid;
        mode_t mode;
} VolumeOptions;

static int parse_id(const char *s, uint32_t *ret) {
        char *end;
        unsigned long v;

        if (isempty(s) || s[0] == '-' || s[0] == '+')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v >= UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

_printf_(2, 3) static void set_error(char **ret_error, const char *format, ...) {
        va_list ap;

        if (!ret_error)
                return;
        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
}

static int parse_options(char *const *options, VolumeOptions *ret, char **ret_error) {
        VolumeOptions o = { .mode = 0755 };

        for (char *const *i = options; i && i[0] && i[1]; i += 2) {
                int r;

                if (streq(i[0], "uid"))
                        r = parse_id(i[1], &o.uid);
                else if (streq(i[0], "gid"))
                        r = parse_id(i[1], &o.gid);
                else if (streq(i[0], "mode"))
                        r = mount_parse_mode(i[1], &o.mode);
                else {
                        set_error(ret_error, "unknown option '%s' for the local volume driver (known: uid, gid, mode)",
                                  i[0]);
                        return -EINVAL;
                }
                if (r < 0) {
                        set_error(ret_error, "invalid value '%s' for volume option '%s'", i[1], i[0]);
                        return -EINVAL;
                }
        }
        *ret = o;
        return 0;
}

/* mkdir <volumes>/<name> and its _data, keeping what is there (a row whose directory
 * was removed meanwhile, or debris of an interrupted create, which is empty). */
static int volume_make_directory(VolumeStore *v, const char *name, const VolumeOptions *o) {
        _cleanup_free_ char *dir = NULL, *data = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (volume_dir(v, name, &dir) < 0 || volume_store_data_path(v, name, &data) < 0)
                return -ENOMEM;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(data, o->mode) < 0) {
                if (errno != EEXIST)
                        return -errno;
                return 0; /* an existing one keeps its owner and mode */
        }
        /* Set exactly, whatever the umask; never through a path (no symlink can be there,
         * but fchown on our own fd costs nothing). */
        fd = open(data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchown(fd, o->uid, o->gid) < 0 || fchmod(fd, o->mode) < 0)
                return -errno;
        return 0;
}

/* Removes a just-created, still empty volume directory after a failed create. */
static void volume_remove_empty_directory(VolumeStore *v, const char *name) {
        _cleanup_free_ char *dir = NULL, *data = NULL;

        if (volume_dir(v, name, &dir) < 0 || volume_store_data_path(v, name, &data) < 0)
                return;
        (void) rmdir(data);
        (void) rmdir(dir);
}

/* ---- rows to volumes ------------------------------------------------------------------ */

static int volume_from_row(VolumeStore *v, VolumeRow *row, Volume *ret) {
        _cleanup_(volume_done) Volume vol = {};
        int r;

        r = volume_store_data_path(v, row->name, &vol.mount_point);
        if (r < 0)
                return r;
        r = store_volume_users(v->store, row->name, &vol.containers);
        if (r < 0)
                return r;
        vol.name = TAKE_PTR(row->name);
        vol.driver = TAKE_PTR(row->driver);
        vol.labels = TAKE_PTR(row->labels);
        vol.options = TAKE_PTR(row->options);
        vol.created_usec = row->created_usec;
        if (!vol.labels && !(vol.labels = new0(char *, 1)))
                return -ENOMEM;
        if (!vol.options && !(vol.options = new0(char *, 1)))
                return -ENOMEM;

        *ret = vol;
        vol = (Volume) {};
        return 0;
}

int volume_store_get(VolumeStore *v, const char *name, Volume *ret) {
        _cleanup_(volume_row_done) VolumeRow row = {};
        int r;

        if (!volume_name_is_valid(name))
                return -ENOENT;
        r = store_volume_get(v->store, name, &row);
        if (r < 0)
                return r;
        return volume_from_row(v, &row, ret);
}

int volume_store_list(VolumeStore *v, char *const *filters, Volume **ret, size_t *ret_n) {
        VolumeRow *rows = NULL;
        Volume *vols;
        size_t n = 0;
        int r;

        r = store_volume_list(v->store, filters, false, &rows, &n);
        if (r < 0)
                return r;

        vols = new0(Volume, MAX(n, (size_t) 1));
        if (!vols) {
                volume_row_array_free(rows, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                r = volume_from_row(v, rows + i, vols + i);
                if (r < 0) {
                        volume_row_array_free(rows, n);
                        volume_array_free(vols, i);
                        return r;
                }
        }
        volume_row_array_free(rows, n);
        *ret = vols;
        *ret_n = n;
        return 0;
}

/* ---- create ----------------------------------------------------------------------------- */

static int volume_insert(VolumeStore *v, const char *name, const char *driver, char *const *labels,
                         char *const *options, const VolumeOptions *o) {
        VolumeRow row = {
                .name = (char *) name,
                .driver = (char *) driver,
                .labels = (char **) labels,
                .options = (char **) options,
                .created_usec = now_usec(CLOCK_REALTIME),
        };
        int r;

        r = volume_make_directory(v, name, o);
        if (r < 0)
                return log_error_errno(r, "Failed to create the directory of volume %s: %m", name);
        r = store_volume_insert(v->store, &row);
        if (r < 0) {
                volume_remove_empty_directory(v, name);
                return r;
        }
        return 0;
}

int volume_store_create(VolumeStore *v, const char *name, const char *driver, char *const *labels,
                        char *const *options, Volume *ret, char **ret_error) {
        VolumeOptions o;
        int r;

        if (!volume_name_is_valid(name)) {
                set_error(ret_error,
                                "invalid volume name '%s': use 1-%d of A-Z a-z 0-9 _ . -, not starting with . or -",
                                strempty(name), VOLUME_NAME_MAX);
                return -EINVAL;
        }
        driver = isempty(driver) ? VOLUME_DRIVER_LOCAL : driver;
        if (!streq(driver, VOLUME_DRIVER_LOCAL)) {
                set_error(ret_error, "unsupported volume driver '%s': only \"" VOLUME_DRIVER_LOCAL "\" is available",
                                driver);
                return -EINVAL;
        }
        for (char *const *i = labels; i && i[0] && i[1]; i += 2)
                if (isempty(i[0])) {
                        set_error(ret_error, "a label has an empty key");
                        return -EINVAL;
                }
        r = parse_options(options, &o, ret_error);
        if (r < 0)
                return r;

        r = store_volume_get(v->store, name, NULL);
        if (r >= 0) {
                set_error(ret_error, "Volume '%s' already exists", name);
                return -EEXIST;
        }
        if (r != -ENOENT)
                return r;

        r = volume_insert(v, name, driver, labels, options, &o);
        if (r == -EEXIST)
                set_error(ret_error, "Volume '%s' already exists", name);
        if (r < 0)
                return r;

        log_info("Volume %s created.", name);
        return ret ? volume_store_get(v, name, ret) : 0;
}

int volume_store_ensure(VolumeStore *v, const char *name, bool *ret_created) {
        static const VolumeOptions defaults = { .mode = 0755 };
        _cleanup_(volume_row_done) VolumeRow row = {};
        VolumeOptions o;
        int r;

        *ret_created = false;
        if (!volume_name_is_valid(name))
                return -EINVAL;

        r = store_volume_get(v->store, name, &row);
        if (r == -ENOENT) {
                r = volume_insert(v, name, VOLUME_DRIVER_LOCAL, NULL, NULL, &defaults);
                if (r < 0)
                        return r;
                log_info("Volume %s created on first use.", name);
                *ret_created = true;
                return 0;
        }
        if (r < 0)
                return r;

        /* The row exists; the directory might not (removed by hand, or a crash between
         * moving it to the trash and deleting the row). */
        if (parse_options(row.options, &o, NULL) < 0)
                o = defaults;
        return volume_make_directory(v, name, &o);
}

void volume_store_forget_created(VolumeStore *v, const char *name) {
        volume_remove_empty_directory(v, name);
}

/* ---- remove, prune ---------------------------------------------------------------------- */

static char *strv_join_comma(char **l) {
        _cleanup_free_ char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        if (!f)
                return NULL;
        for (char **i = l; i && *i; i++)
                fprintf(f, "%s%s", i == l ? "" : ", ", *i);
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(s);
}

/* The row goes in the same step as the directory leaves: the directory first (so that a
 * crash in between leaves a row without data, which is recreated on use, rather than data
 * that a later volume of the same name would inherit), put back if the row stays. */
static int volume_delete(VolumeStore *v, const char *name) {
        _cleanup_free_ char *trashed = NULL;
        int r;

        r = volume_move_to_trash(v, name, &trashed);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to move volume %s to %s: %m", name, v->trash);

        r = store_volume_delete(v->store, name);
        if (r < 0) {
                if (trashed)
                        volume_restore_from_trash(v, name, trashed);
                return r;
        }
        if (trashed)
                trash_delete_async(trashed);
        log_info("Volume %s removed.", name);
        return 0;
}

int volume_store_remove(VolumeStore *v, const char *name, bool force, char **ret_error) {
        _cleanup_strv_free_ char **users = NULL;
        int r;

        if (!volume_name_is_valid(name) || store_volume_get(v->store, name, NULL) == -ENOENT) {
                set_error(ret_error, "Volume '%s' not found", strempty(name));
                return -ENOENT;
        }

        r = store_volume_users(v->store, name, &users);
        if (r < 0)
                return r;
        if (users[0] && !force) {
                _cleanup_free_ char *list = strv_join_comma(users);

                set_error(ret_error, "Volume '%s' is in use by %zu container(s): %s (remove them first, or force)",
                                name, strv_length(users), strempty(list));
                return -EBUSY;
        }
        if (users[0])
                log_notice("Volume %s is removed by force while %zu container(s) use it.", name, strv_length(users));

        return volume_delete(v, name);
}

int volume_store_prune(VolumeStore *v, char *const *filters, char ***ret) {
        _cleanup_strv_free_ char **removed = NULL;
        VolumeRow *rows = NULL;
        size_t n = 0, k = 0;
        int r;

        r = store_volume_list(v->store, filters, true, &rows, &n);
        if (r < 0)
                return r;

        removed = new0(char *, n + 1);
        if (!removed) {
                volume_row_array_free(rows, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                /* Everything runs on the event loop: nothing can have started to use it
                 * since the query. */
                r = volume_delete(v, rows[i].name);
                if (r < 0) {
                        log_warning_errno(r, "Failed to prune volume %s, keeping it: %m", rows[i].name);
                        continue;
                }
                removed[k++] = TAKE_PTR(rows[i].name);
        }
        volume_row_array_free(rows, n);
        *ret = TAKE_PTR(removed);
        return 0;
}

int volume_store_check_subpath(VolumeStore *v, const char *name, const char *subpath) {
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int root = -EBADF, fd = -EBADF;

        if (volume_store_data_path(v, name, &data) < 0)
                return -ENOMEM;
        root = open(data, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root < 0)
                return -errno;
        /* As init will resolve it: inside the volume, never through a magic link or onto
         * another file system. */
        fd = openat2_fd(root, subpath, O_PATH | O_CLOEXEC, 0,
                        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
        return fd < 0 ? fd : 0;
}
