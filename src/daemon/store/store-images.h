/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The images table (schema version 2): one row per unpacked image. image-store.c owns the
 * trees on disk; this file only reads and writes rows. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "store.h"

typedef struct ImageRow {
        char *name;
        char *source;
        char *rootfs_path;
        uint64_t size_bytes;
        bool builtin;
        /* What the imported file looked like (stat), so that importing the same unchanged
         * file again finds this row. mtime in ns since the epoch, for exactness. */
        bool has_source_stamp;
        int64_t source_mtime_nsec;
        uint64_t source_size;
        uint64_t created_usec;
} ImageRow;

void image_row_done(ImageRow *row);
void image_row_array_free(ImageRow *rows, size_t n);

/* -EEXIST when the name is taken. */
int store_image_insert(Store *s, const ImageRow *row);
/* -ENOENT when there is no such row. ret may be NULL to test for existence. */
int store_image_get(Store *s, const char *name, ImageRow *ret);
/* The image imported from source while it had this mtime and size; -ENOENT if none. */
int store_image_find_by_source(Store *s, const char *source, int64_t mtime_nsec, uint64_t size, ImageRow *ret);
/* All rows, by name. */
int store_image_list(Store *s, ImageRow **ret, size_t *ret_n);
/* -ENOENT when there is no such row. */
int store_image_delete(Store *s, const char *name);
/* The names of the containers whose image is name (NULL-terminated, sorted; empty when
 * none use it). */
int store_image_users(Store *s, const char *name, char ***ret);
