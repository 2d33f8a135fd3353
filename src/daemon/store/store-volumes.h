/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The volumes and container_mounts tables (schema version 3). volume-store.c owns the
 * directories; this file only reads and writes rows. */

#include <stdbool.h>
#include <stdint.h>

#include "container-spec.h"
#include "macro.h"
#include "store.h"

typedef struct VolumeRow {
        char *name;
        char *driver;
        char **labels;  /* key, value, key, value, ... */
        char **options; /* key, value, ... */
        uint64_t created_usec;
} VolumeRow;

void volume_row_done(VolumeRow *row);
void volume_row_array_free(VolumeRow *rows, size_t n);

/* -EEXIST when the name is taken. */
int store_volume_insert(Store *s, const VolumeRow *row);
/* -ENOENT when there is no such row; ret may be NULL to test for existence. */
int store_volume_get(Store *s, const char *name, VolumeRow *ret);
/* The rows whose labels match every filter (key, value, ... pairs; an empty value
 * matches any value of the key), by name. When unused_only, only volumes that no
 * container mounts. */
int store_volume_list(Store *s, char *const *label_filters, bool unused_only, VolumeRow **ret, size_t *ret_n);
/* -ENOENT when there is no such row. */
int store_volume_delete(Store *s, const char *name);
/* The names of the containers that mount the volume (NULL-terminated, sorted, possibly
 * empty). */
int store_volume_users(Store *s, const char *name, char ***ret);

/* A container's mounts, in order (source of a volume mount: its name). Inserting is
 * part of creating the container: call it in the same transaction. */
int store_container_mounts_insert(Store *s, const char *container_id, const ContainerMount *mounts, size_t n);
int store_container_mounts_get(Store *s, const char *container_id, ContainerMount **ret, size_t *ret_n);
