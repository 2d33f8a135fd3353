/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private to src/daemon/store/: the Store object and the few helpers that keep the
 * per-area files (store-containers.c, ...) down to their SQL.
 *
 *         _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
 *
 *         r = store_prepare_bind(s, &stmt, "SELECT name FROM containers WHERE id = ?1", "t", id);
 *         if (r < 0)
 *                 return r;
 *         r = store_step(s, stmt);          1: a row, 0: no (more) rows, <0: error
 *
 *         r = store_exec_bind(s, "UPDATE containers SET state = ?1 WHERE id = ?2", "tt", "running", id);
 *                                           >= 0: rows changed, <0: error
 *
 * Bind formats, one letter per parameter, in order:
 *         't'  const char *   text; NULL binds SQL NULL
 *         'i'  int64_t        integer (pass int64_t: it is read from varargs as int64_t)
 *         'd'  double         real
 *         'b'  int            boolean, stored as 0 or 1
 *         'n'  (no argument)  NULL
 *
 * Errors are negative errnos: a UNIQUE or PRIMARY KEY conflict is -EEXIST, any other
 * constraint (CHECK, NOT NULL, FOREIGN KEY) is -EINVAL, a busy database -EBUSY, a file that
 * is not a database -EBADMSG, ... (store_errno_from_sqlite()). sqlite3_errmsg() has the
 * details (store_errmsg()); the helpers log it at debug level.
 *
 * The connection is opened with SQLITE_OPEN_NOMUTEX: one Store is used from one thread
 * (quiltd's sd-event thread) only. */

#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>

#include "store.h"

/* PRAGMA application_id of a Quilt database ("Qult"), so that quiltd never migrates (or
 * mistakes for its own) some other program's SQLite file. */
#define STORE_APPLICATION_ID 0x51756c74

struct Store {
        sqlite3 *db;
        char *path;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize);

int store_errno_from_sqlite(int rc);

int store_prepare(Store *s, sqlite3_stmt **ret, const char *sql);
int store_bind(Store *s, sqlite3_stmt *stmt, const char *format, ...);
int store_bind_va(Store *s, sqlite3_stmt *stmt, const char *format, va_list ap);
int store_prepare_bind(Store *s, sqlite3_stmt **ret, const char *sql, const char *format, ...);
int store_step(Store *s, sqlite3_stmt *stmt);
int store_exec_bind(Store *s, const char *sql, const char *format, ...);

/* For an UPDATE or DELETE of one row by its key: store_exec_bind()'s count of changed rows
 * turned into 0, or -ENOENT when there was no such row. */
static inline int store_one_row(int r) {
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}

/* Runs SQL without parameters, possibly several statements (migrations, BEGIN, ...). */
int store_exec(Store *s, const char *sql);

/* Column readers. store_column_strdup() gives NULL for SQL NULL; -ENOMEM on allocation
 * failure. */
int store_column_strdup(sqlite3_stmt *stmt, int column, char **ret);
bool store_column_is_null(sqlite3_stmt *stmt, int column);

/* store-json.c: string lists as JSON. argv-like lists are arrays; an environment
 * ("KEY=VALUE" entries) and key, value, ... pairs (labels) are objects. NULL on OOM. */
char *store_json_array(char **l);
char *store_json_env(char **env);
char *store_json_pairs(char **pairs);

typedef enum StoreJsonShape {
        STORE_JSON_ARRAY, /* an array of strings */
        STORE_JSON_ENV,   /* an object, as "KEY=VALUE" strings */
        STORE_JSON_PAIRS, /* an object, as key, value, ... */
} StoreJsonShape;

/* Reads a JSON column back into a NULL-terminated list; SQL NULL is an empty list.
 * -EBADMSG for JSON of another shape. */
int store_column_strv(sqlite3_stmt *stmt, int column, StoreJsonShape shape, char ***ret);

/* store-migrations.c: upgrades the schema to the latest version. */
int store_migrate(Store *s);

/* Applies scripts[user_version..n-1], one transaction each; exposed for the tests. */
int store_migrate_scripts(Store *s, const char *const *scripts, size_t n);

/* PRAGMA user_version / application_id, or a negative errno. */
int store_read_user_version(Store *s);
int store_read_application_id(Store *s, int32_t *ret);
