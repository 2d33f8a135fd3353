/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Named volumes: directories that outlive containers and can be shared between them.
 * Rows in the volumes table (store-volumes.c) say what exists; the data lives in
 *
 *   <StateDirectory>/volumes/<name>/_data/    the mount point reported, bind-mounted into
 *                                             containers (mode 0755 root unless the uid,
 *                                             gid and mode options say otherwise)
 *   <StateDirectory>/volumes/.trash/          removed volumes on their way out
 *
 * The only driver is "local". A volume is created explicitly (CreateVolume) or the first
 * time a container names it, and removed only explicitly (RemoveVolume, PruneVolumes):
 * never because its containers went away, never at start-up. Removing renames the
 * directory into .trash/ at once (so the name is free and the data out of reach) and
 * deletes it on a thread of its own, so that a big volume never holds up the event loop;
 * what a crash leaves in .trash/ is deleted at the next start.
 *
 * A volume is in use while a container (in any state) mounts it. Removing one in use is
 * refused unless forced. With force, the data is deleted all the same: a running
 * container keeps its mount, which then shows an empty, deleted directory in which
 * nothing can be created (ENOENT); when a container that named the volume starts again,
 * the volume is created anew, empty. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

typedef struct Store Store;
typedef struct VolumeStore VolumeStore;

#define VOLUME_DRIVER_LOCAL "local"

typedef struct Volume {
        char *name;
        char *driver;
        char *mount_point;  /* <volumes>/<name>/_data */
        char **labels;      /* key, value, ... */
        char **options;     /* key, value, ... */
        char **containers;  /* names of the containers that mount it */
        uint64_t created_usec;
} Volume;

void volume_done(Volume *v);
void volume_array_free(Volume *v, size_t n);

/* volumes_dir must exist. Starts deleting what an earlier run left in .trash/. */
int volume_store_new(Store *store, const char *volumes_dir, VolumeStore **ret);
VolumeStore *volume_store_free(VolumeStore *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(VolumeStore *, volume_store_free);

/* driver NULL or "" means "local"; labels and options are key, value, ... lists. The
 * local driver's options: uid, gid (of the data directory), mode (octal). Errors: -EINVAL
 * (bad name, driver or option), -EEXIST; *ret_error says what, for the user. */
int volume_store_create(VolumeStore *v, const char *name, const char *driver, char *const *labels,
                        char *const *options, Volume *ret, char **ret_error);

/* -ENOENT when there is no such volume. */
int volume_store_get(VolumeStore *v, const char *name, Volume *ret);

/* filters: label key, value, ... (an empty value matches any value), all must match. */
int volume_store_list(VolumeStore *v, char *const *filters, Volume **ret, size_t *ret_n);

/* -ENOENT unknown, -EBUSY in use (without force); *ret_error says which containers. */
int volume_store_remove(VolumeStore *v, const char *name, bool force, char **ret_error);

/* Removes every volume no container mounts (and that matches the label filters); the
 * names removed in *ret (NULL-terminated, possibly empty). */
int volume_store_prune(VolumeStore *v, char *const *filters, char ***ret);

/* Makes sure the volume exists, creating it (row and directory) if not: "created on first
 * use". Runs inside the caller's transaction; *ret_created says whether this call created
 * the row, so that volume_store_forget_created() can remove the directory again if the
 * caller rolls back. */
int volume_store_ensure(VolumeStore *v, const char *name, bool *ret_created);
void volume_store_forget_created(VolumeStore *v, const char *name);

/* <volumes>/<name>/_data, whether or not it exists. */
int volume_store_data_path(VolumeStore *v, const char *name, char **ret);

/* Whether subpath (relative) exists inside the volume, resolved inside the volume's data
 * directory (a symbolic link in it cannot lead out). 0 if so; -ENOENT; other errors. */
int volume_store_check_subpath(VolumeStore *v, const char *name, const char *subpath);
