/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON columns of the store: string lists and string maps kept as JSON arrays and
 * objects, so that SQLite's JSON functions can look inside them. */

#include <jansson.h>
#include <string.h>

#include "store-internal.h"

static char *json_dump_and_free(json_t *j) {
        char *s;

        if (!j)
                return NULL;
        s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        return s;
}

char *store_json_array(char **l) {
        json_t *a = json_array();

        if (!a)
                return NULL;
        for (char **i = l; i && *i; i++)
                if (json_array_append_new(a, json_string(*i)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return json_dump_and_free(a);
}

char *store_json_env(char **env) {
        json_t *o = json_object();

        if (!o)
                return NULL;
        for (char **i = env; i && *i; i++) {
                const char *eq = strchr(*i, '=');
                _cleanup_free_ char *key = eq ? strndup(*i, eq - *i) : NULL;

                if (!key || json_object_set_new(o, key, json_string(eq + 1)) < 0) {
                        json_decref(o);
                        return NULL;
                }
        }
        return json_dump_and_free(o);
}

char *store_json_pairs(char **pairs) {
        json_t *o = json_object();

        if (!o)
                return NULL;
        for (char **i = pairs; i && i[0] && i[1]; i += 2)
                if (json_object_set_new(o, i[0], json_string(i[1])) < 0) {
                        json_decref(o);
                        return NULL;
                }
        return json_dump_and_free(o);
}

static int column_json(sqlite3_stmt *stmt, int column, json_t **ret) {
        const char *text = (const char *) sqlite3_column_text(stmt, column);
        json_t *j;

        if (!text) {
                *ret = NULL;
                return 0;
        }
        j = json_loads(text, 0, NULL);
        if (!j)
                return -EBADMSG;
        *ret = j;
        return 0;
}

int store_column_strv(sqlite3_stmt *stmt, int column, StoreJsonShape shape, char ***ret) {
        json_t *j = NULL, *v;
        const char *key;
        size_t n, i = 0;
        char **l;
        int r;

        r = column_json(stmt, column, &j);
        if (r < 0)
                return r;
        n = !j ? 0 : json_is_array(j) ? json_array_size(j) : json_object_size(j) * (shape == STORE_JSON_PAIRS ? 2 : 1);
        l = calloc(n + 1, sizeof(char *));
        if (!l) {
                json_decref(j);
                return -ENOMEM;
        }

        if (j && json_is_array(j)) {
                size_t idx;
                json_array_foreach(j, idx, v) {
                        if (!json_is_string(v) || !(l[i++] = strdup(json_string_value(v))))
                                goto fail;
                }
        } else if (j && json_is_object(j)) {
                json_object_foreach(j, key, v) {
                        if (!json_is_string(v))
                                goto fail;
                        if (shape == STORE_JSON_ENV) {
                                if (asprintf(&l[i++], "%s=%s", key, json_string_value(v)) < 0) {
                                        l[--i] = NULL;
                                        goto fail;
                                }
                        } else if (!(l[i++] = strdup(key)) || !(l[i++] = strdup(json_string_value(v))))
                                goto fail;
                }
        }

        json_decref(j);
        *ret = l;
        return 0;

fail:
        json_decref(j);
        strv_free(l);
        return -EBADMSG;
}
