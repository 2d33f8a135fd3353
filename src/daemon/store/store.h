/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The database: SQLite in WAL mode with foreign keys and a busy timeout, schema versioned
 * with PRAGMA user_version and upgraded by ordered migrations on open. All SQL lives under
 * src/daemon/store/; everything else uses the functions declared here (and in the
 * per-area store-*.h headers later issues add). Statements are prepared with bound
 * parameters, never built by string concatenation. */

#include <stdint.h>

#include "macro.h"

typedef struct Store Store;

/* Opens (creating if needed, mode 0600) and migrates the database at path. A database
 * whose user_version is newer than this build knows is refused (-EPROTO) rather than
 * touched. */
int store_open(const char *path, Store **ret);
Store *store_free(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_free);

/* The schema version this build creates and the one the open database has. */
int store_schema_version_latest(void);
int store_schema_version(Store *s);

/* A real round trip to the database (for GetHealth): 0 when it answers. */
int store_check(Store *s);

/* Container counts for health and info. */
int store_count_containers(Store *s, uint64_t *ret_total, uint64_t *ret_running);

/* BEGIN IMMEDIATE (take the write lock up front, so a transaction never fails half-way with
 * SQLITE_BUSY on its first write) / COMMIT / ROLLBACK. Use the guard to roll back on every
 * early return:
 *
 *         _cleanup_(store_rollbackp) Store *tx = NULL;
 *         r = store_begin(s);  if (r < 0) return r;
 *         tx = s;
 *         ...
 *         return store_commit(TAKE_PTR(tx));
 */
int store_begin(Store *s);
int store_commit(Store *s);
void store_rollback(Store *s);
static inline void store_rollbackp(Store **s) {
        if (*s)
                store_rollback(*s);
}

/* The last error message of the connection, for logs. */
const char *store_errmsg(Store *s);
