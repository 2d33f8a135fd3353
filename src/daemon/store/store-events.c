/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>

#include <jansson.h>

#include "store-events.h"
#include "store-internal.h"
#include "strv.h"

#define EVENT_COLUMNS "cursor, time, type, container_id, container_name, attributes"

void stored_event_done(StoredEvent *e) {
        if (!e)
                return;
        free(e->type);
        free(e->container_id);
        free(e->container_name);
        strv_free(e->attributes);
        *e = (StoredEvent) {};
}

void stored_event_array_free(StoredEvent *e, size_t n) {
        for (size_t i = 0; i < n; i++)
                stored_event_done(&e[i]);
        free(e);
}

static char *attributes_to_json(char *const *attributes) {
        json_t *o = json_object();
        char *text;

        if (!o)
                return NULL;
        for (char *const *a = attributes; a && a[0] && a[1]; a += 2)
                if (json_object_set_new(o, a[0], json_string(a[1])) < 0) {
                        json_decref(o);
                        return NULL;
                }
        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        return text;
}

static int attributes_from_json(const char *text, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        json_t *o, *v;
        const char *key;
        size_t n = 0;

        l = new0(char *, 1);
        if (!l)
                return -ENOMEM;

        o = json_loads(strempty(text), 0, NULL);
        if (!json_is_object(o)) {
                /* The CHECK keeps this from happening; an empty list is the safe reading. */
                json_decref(o);
                *ret = TAKE_PTR(l);
                return 0;
        }

        json_object_foreach(o, key, v) {
                char **a = realloc(l, (n + 3) * sizeof(char *));

                if (!a) {
                        json_decref(o);
                        return -ENOMEM;
                }
                l = a;
                l[n] = strdup(key);
                l[n + 1] = strdup(json_is_string(v) ? json_string_value(v) : "");
                l[n + 2] = NULL;
                if (!l[n] || !l[n + 1]) {
                        json_decref(o);
                        return -ENOMEM;
                }
                n += 2;
        }
        json_decref(o);
        *ret = TAKE_PTR(l);
        return 0;
}

int store_event_append(Store *s, uint64_t time_usec, const char *type, const char *container_id,
                       const char *container_name, char *const *attributes, uint64_t keep, uint64_t *ret_cursor) {
        _cleanup_free_ char *json = NULL;
        uint64_t cursor;
        int r;

        assert(s);
        assert(type);

        json = attributes_to_json(attributes);
        if (!json)
                return -ENOMEM;

        r = store_exec_bind(s,
                            "INSERT INTO events (time, type, container_id, container_name, attributes) "
                            "VALUES (?1, ?2, ?3, ?4, ?5)",
                            "itttt", (int64_t) time_usec, type, container_id, container_name, json);
        if (r < 0)
                return r;
        cursor = (uint64_t) sqlite3_last_insert_rowid(s->db);

        /* Bounded: the primary key makes this a range delete at the old end. */
        if (keep > 0 && cursor > keep) {
                r = store_exec_bind(s, "DELETE FROM events WHERE cursor <= ?1", "i", (int64_t) (cursor - keep));
                if (r < 0)
                        return r;
        }

        if (ret_cursor)
                *ret_cursor = cursor;
        return 0;
}

int store_event_list(Store *s, uint64_t after, uint64_t until, size_t limit, StoredEvent **ret, size_t *ret_n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        StoredEvent *events = NULL;
        size_t n = 0;
        int r;

        assert(s);

        r = store_prepare_bind(s, &stmt,
                               "SELECT " EVENT_COLUMNS " FROM events WHERE cursor > ?1 AND (?2 = 0 OR cursor <= ?2) "
                               "ORDER BY cursor LIMIT ?3",
                               "iii", (int64_t) after, (int64_t) until, (int64_t) MIN(limit, (size_t) INT64_MAX));
        if (r < 0)
                return r;

        for (;;) {
                StoredEvent *e;

                r = store_step(s, stmt);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;

                e = realloc(events, (n + 1) * sizeof(StoredEvent));
                if (!e) {
                        r = -ENOMEM;
                        goto fail;
                }
                events = e;
                e = &events[n++];
                *e = (StoredEvent) {
                        .cursor = (uint64_t) sqlite3_column_int64(stmt, 0),
                        .time_usec = (uint64_t) MAX(sqlite3_column_int64(stmt, 1), 0),
                };
                r = store_column_strdup(stmt, 2, &e->type);
                if (r >= 0)
                        r = store_column_strdup(stmt, 3, &e->container_id);
                if (r >= 0)
                        r = store_column_strdup(stmt, 4, &e->container_name);
                if (r >= 0)
                        r = attributes_from_json((const char *) sqlite3_column_text(stmt, 5), &e->attributes);
                if (r < 0)
                        goto fail;
        }

        *ret = events;
        *ret_n = n;
        return 0;

fail:
        stored_event_array_free(events, n);
        return r;
}

int store_event_bounds(Store *s, uint64_t *ret_oldest, uint64_t *ret_newest) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        int r;

        assert(s);

        /* sqlite_sequence remembers the largest cursor ever used, also once it is pruned. */
        r = store_prepare(s, &stmt,
                          "SELECT (SELECT IFNULL(MIN(cursor), 0) FROM events), "
                          "(SELECT IFNULL(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'events')");
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r < 0)
                return r;
        if (r == 0)
                return -EIO;

        if (ret_oldest)
                *ret_oldest = (uint64_t) MAX(sqlite3_column_int64(stmt, 0), 0);
        if (ret_newest)
                *ret_newest = (uint64_t) MAX(sqlite3_column_int64(stmt, 1), 0);
        return 0;
}
