/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>

#include "store-images.h"
#include "store-internal.h"

#define IMAGE_COLUMNS "name, source, rootfs_path, size_bytes, builtin, source_mtime, source_size, created_at"

void image_row_done(ImageRow *row) {
        if (!row)
                return;
        free(row->name);
        free(row->source);
        free(row->rootfs_path);
        *row = (ImageRow) {};
}

void image_row_array_free(ImageRow *rows, size_t n) {
        for (size_t i = 0; i < n; i++)
                image_row_done(&rows[i]);
        free(rows);
}

static int image_row_read(sqlite3_stmt *stmt, ImageRow *ret) {
        ImageRow row = {};
        int r;

        r = store_column_strdup(stmt, 0, &row.name);
        if (r >= 0)
                r = store_column_strdup(stmt, 1, &row.source);
        if (r >= 0)
                r = store_column_strdup(stmt, 2, &row.rootfs_path);
        if (r < 0) {
                image_row_done(&row);
                return r;
        }

        row.size_bytes = (uint64_t) MAX(sqlite3_column_int64(stmt, 3), 0);
        row.builtin = sqlite3_column_int(stmt, 4) != 0;
        row.has_source_stamp = !store_column_is_null(stmt, 5) && !store_column_is_null(stmt, 6);
        row.source_mtime_nsec = sqlite3_column_int64(stmt, 5);
        row.source_size = (uint64_t) MAX(sqlite3_column_int64(stmt, 6), 0);
        row.created_usec = (uint64_t) MAX(sqlite3_column_int64(stmt, 7), 0);

        *ret = row;
        return 0;
}

int store_image_insert(Store *s, const ImageRow *row) {
        int r;

        assert(s);
        assert(row);

        if (row->has_source_stamp)
                r = store_exec_bind(s,
                                    "INSERT INTO images (" IMAGE_COLUMNS ") "
                                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                    "tttibiii", row->name, row->source, row->rootfs_path,
                                    (int64_t) row->size_bytes, (int) row->builtin, row->source_mtime_nsec,
                                    (int64_t) row->source_size, (int64_t) row->created_usec);
        else
                r = store_exec_bind(s,
                                    "INSERT INTO images (" IMAGE_COLUMNS ") "
                                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                    "tttibnni", row->name, row->source, row->rootfs_path,
                                    (int64_t) row->size_bytes, (int) row->builtin, (int64_t) row->created_usec);
        return r < 0 ? r : 0;
}

static int image_row_query_one(Store *s, sqlite3_stmt *stmt, ImageRow *ret) {
        int r;

        r = store_step(s, stmt);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        if (!ret)
                return 0;
        return image_row_read(stmt, ret);
}

int store_image_get(Store *s, const char *name, ImageRow *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        int r;

        assert(s);
        assert(name);

        r = store_prepare_bind(s, &stmt, "SELECT " IMAGE_COLUMNS " FROM images WHERE name = ?1", "t", name);
        if (r < 0)
                return r;
        return image_row_query_one(s, stmt, ret);
}

int store_image_find_by_source(Store *s, const char *source, int64_t mtime_nsec, uint64_t size, ImageRow *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        int r;

        assert(s);
        assert(source);

        r = store_prepare_bind(s, &stmt,
                               "SELECT " IMAGE_COLUMNS " FROM images "
                               "WHERE source = ?1 AND source_mtime = ?2 AND source_size = ?3 AND builtin = 0 "
                               "ORDER BY created_at DESC LIMIT 1",
                               "tii", source, mtime_nsec, (int64_t) size);
        if (r < 0)
                return r;
        return image_row_query_one(s, stmt, ret);
}

int store_image_list(Store *s, ImageRow **ret, size_t *ret_n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        ImageRow *rows = NULL;
        size_t n = 0, allocated = 0;
        int r;

        assert(s);
        assert(ret);
        assert(ret_n);

        r = store_prepare(s, &stmt, "SELECT " IMAGE_COLUMNS " FROM images ORDER BY name");
        if (r < 0)
                return r;

        for (;;) {
                r = store_step(s, stmt);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;

                if (n == allocated) {
                        size_t a = MAX(allocated * 2, (size_t) 8);
                        ImageRow *p = reallocarray(rows, a, sizeof(ImageRow));

                        if (!p) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        rows = p;
                        allocated = a;
                }

                r = image_row_read(stmt, &rows[n]);
                if (r < 0)
                        goto fail;
                n++;
        }

        *ret = rows;
        *ret_n = n;
        return 0;

fail:
        image_row_array_free(rows, n);
        return r;
}

int store_image_delete(Store *s, const char *name) {
        assert(s);
        assert(name);

        return store_one_row(store_exec_bind(s, "DELETE FROM images WHERE name = ?1", "t", name));
}

int store_image_users(Store *s, const char *name, char ***ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        int r;

        assert(s);
        assert(name);
        assert(ret);

        r = store_prepare_bind(s, &stmt, "SELECT name FROM containers WHERE image = ?1 ORDER BY name", "t", name);
        if (r < 0)
                return r;

        names = calloc(1, sizeof(char *));
        if (!names)
                return -ENOMEM;

        for (;;) {
                char **p;

                r = store_step(s, stmt);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                p = reallocarray(names, n + 2, sizeof(char *));
                if (!p)
                        return -ENOMEM;
                names = p;
                names[n + 1] = NULL;
                r = store_column_strdup(stmt, 0, &names[n]);
                if (r < 0)
                        return r;
                if (!names[n])
                        continue; /* NOT NULL in the schema; never happens */
                n++;
        }

        *ret = TAKE_PTR(names);
        return 0;
}
