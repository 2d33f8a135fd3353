/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <string.h>

#include "log.h"
#include "store-internal.h"
#include "store-volumes.h"
#include "strv.h"

void volume_row_done(VolumeRow *row) {
        if (!row)
                return;
        free(row->name);
        free(row->driver);
        strv_free(row->labels);
        strv_free(row->options);
        *row = (VolumeRow) {};
}

void volume_row_array_free(VolumeRow *rows, size_t n) {
        for (size_t i = 0; i < n; i++)
                volume_row_done(rows + i);
        free(rows);
}

#define VOLUME_COLUMNS "name, driver, labels, options, created_at"

static int read_volume_row(sqlite3_stmt *stmt, VolumeRow *ret) {
        _cleanup_(volume_row_done) VolumeRow row = {};
        int r;

        if ((r = store_column_strdup(stmt, 0, &row.name)) < 0 || (r = store_column_strdup(stmt, 1, &row.driver)) < 0 ||
            (r = store_column_strv(stmt, 2, STORE_JSON_PAIRS, &row.labels)) < 0 ||
            (r = store_column_strv(stmt, 3, STORE_JSON_PAIRS, &row.options)) < 0)
                return r;
        row.created_usec = (uint64_t) MAX(sqlite3_column_int64(stmt, 4), 0);

        *ret = row;
        row = (VolumeRow) {};
        return 0;
}

int store_volume_insert(Store *s, const VolumeRow *row) {
        _cleanup_free_ char *labels = NULL, *options = NULL;
        int r;

        assert(s);
        assert(row);

        labels = store_json_pairs(row->labels);
        options = store_json_pairs(row->options);
        if (!labels || !options)
                return -ENOMEM;

        r = store_exec_bind(s, "INSERT INTO volumes (" VOLUME_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5)", "tttti",
                            row->name, row->driver ?: "local", labels, options, (int64_t) row->created_usec);
        return r < 0 ? r : 0;
}

int store_volume_get(Store *s, const char *name, VolumeRow *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        int r;

        r = store_prepare_bind(s, &stmt, "SELECT " VOLUME_COLUMNS " FROM volumes WHERE name = ?1", "t", name);
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        return ret ? read_volume_row(stmt, ret) : 0;
}

int store_volume_list(Store *s, char *const *label_filters, bool unused_only, VolumeRow **ret, size_t *ret_n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        _cleanup_free_ char *sql = NULL;
        size_t n_filters = strv_length(label_filters) / 2, n = 0, len;
        VolumeRow *rows = NULL;
        FILE *f;
        int r;

        assert(s);
        assert(ret);
        assert(ret_n);

        /* One EXISTS clause per filter, each with its own numbered parameters: the keys and
         * values are bound, never spliced into the SQL. */
        f = open_memstream(&sql, &len);
        if (!f)
                return -ENOMEM;
        fputs("SELECT " VOLUME_COLUMNS " FROM volumes WHERE 1", f);
        for (size_t i = 0; i < n_filters; i++)
                fprintf(f,
                        " AND EXISTS (SELECT 1 FROM json_each(volumes.labels) AS l"
                        " WHERE l.key = ?%zu AND (?%zu = '' OR l.value = ?%zu))",
                        2 * i + 1, 2 * i + 2, 2 * i + 2);
        if (unused_only)
                fputs(" AND name NOT IN (SELECT source FROM container_mounts WHERE type = 'volume')", f);
        fputs(" ORDER BY name", f);
        if (fclose(f) != 0 || !sql)
                return -ENOMEM;

        r = store_prepare(s, &stmt, sql);
        if (r < 0)
                return r;
        for (size_t i = 0; i < 2 * n_filters; i++)
                if (sqlite3_bind_text(stmt, (int) i + 1, label_filters[i], -1, SQLITE_TRANSIENT) != SQLITE_OK)
                        return -ENOMEM;

        while ((r = store_step(s, stmt)) > 0) {
                VolumeRow *b = reallocarray(rows, n + 1, sizeof(VolumeRow));

                if (!b) {
                        r = -ENOMEM;
                        break;
                }
                rows = b;
                r = read_volume_row(stmt, rows + n);
                if (r < 0)
                        break;
                n++;
        }
        if (r < 0) {
                volume_row_array_free(rows, n);
                return r;
        }

        *ret = rows;
        *ret_n = n;
        return 0;
}

int store_volume_delete(Store *s, const char *name) {
        return store_one_row(store_exec_bind(s, "DELETE FROM volumes WHERE name = ?1", "t", name));
}

int store_volume_users(Store *s, const char *name, char ***ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        int r;

        assert(s);
        assert(ret);

        r = store_prepare_bind(s, &stmt,
                               "SELECT DISTINCT c.name FROM container_mounts AS m JOIN containers AS c\n"
                               "        ON c.id = m.container_id\n"
                               "WHERE m.type = 'volume' AND m.source = ?1 ORDER BY c.name",
                               "t", name);
        if (r < 0)
                return r;

        names = new0(char *, 1);
        if (!names)
                return -ENOMEM;
        while ((r = store_step(s, stmt)) > 0) {
                char **p = reallocarray(names, n + 2, sizeof(char *));

                if (!p)
                        return -ENOMEM;
                names = p;
                names[n + 1] = NULL;
                r = store_column_strdup(stmt, 0, &names[n]);
                if (r < 0)
                        return r;
                n++;
        }
        if (r < 0)
                return r;

        *ret = TAKE_PTR(names);
        return 0;
}

int store_container_mounts_insert(Store *s, const char *container_id, const ContainerMount *mounts, size_t n) {
        int r;

        for (size_t i = 0; i < n; i++) {
                const ContainerMount *m = mounts + i;
                bool tmpfs = m->type == CONTAINER_MOUNT_TMPFS;

                r = store_exec_bind(s,
                                    "INSERT INTO container_mounts (container_id, position, type, source, subpath,\n"
                                    "        target, readonly, exec, size_bytes, mode)\n"
                                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                                    "titttt" "bb" "ii", container_id, (int64_t) i,
                                    container_mount_type_to_string(m->type), m->source, m->subpath, m->target,
                                    m->readonly, m->exec, (int64_t) (tmpfs ? m->size : 0),
                                    (int64_t) (tmpfs ? m->mode : 0));
                if (r < 0)
                        return r;
        }
        return 0;
}

int store_container_mounts_get(Store *s, const char *container_id, ContainerMount **ret, size_t *ret_n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        ContainerMount *a = NULL;
        size_t n = 0;
        int r;

        r = store_prepare_bind(s, &stmt,
                               "SELECT type, source, subpath, target, readonly, exec, size_bytes, mode\n"
                               "FROM container_mounts WHERE container_id = ?1 ORDER BY position",
                               "t", container_id);
        if (r < 0)
                return r;

        while ((r = store_step(s, stmt)) > 0) {
                ContainerMount *b = reallocarray(a, n + 1, sizeof(ContainerMount)), *m;

                if (!b) {
                        r = -ENOMEM;
                        break;
                }
                a = b;
                m = a + n;
                *m = (ContainerMount) {
                        .type = container_mount_type_from_string((const char *) sqlite3_column_text(stmt, 0)),
                        .readonly = sqlite3_column_int(stmt, 4) != 0,
                        .exec = sqlite3_column_int(stmt, 5) != 0,
                        .size = (uint64_t) MAX(sqlite3_column_int64(stmt, 6), 0),
                        .mode = (mode_t) MAX(sqlite3_column_int(stmt, 7), 0),
                };
                n++;
                if (m->type < 0) {
                        r = -EBADMSG;
                        break;
                }
                if ((r = store_column_strdup(stmt, 1, &m->source)) < 0 ||
                    (r = store_column_strdup(stmt, 2, &m->subpath)) < 0 ||
                    (r = store_column_strdup(stmt, 3, &m->target)) < 0)
                        break;
        }
        if (r < 0) {
                container_mount_array_free(a, n);
                return r;
        }

        *ret = a;
        *ret_n = n;
        return 0;
}
