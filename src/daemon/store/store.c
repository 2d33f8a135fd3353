/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "log.h"
#include "store-internal.h"

/* How long a statement waits for another connection's lock before failing with -EBUSY. */
#define STORE_BUSY_TIMEOUT_MSEC 5000

int store_errno_from_sqlite(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_CONSTRAINT:
                if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
                        return -EEXIST;
                return -EINVAL;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
                return -EBADMSG;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EPERM;
        case SQLITE_CANTOPEN:
                return -EACCES;
        case SQLITE_TOOBIG:
                return -E2BIG;
        case SQLITE_INTERRUPT:
                return -EINTR;
        case SQLITE_RANGE:
        case SQLITE_MISMATCH:
        case SQLITE_MISUSE:
                return -EINVAL;
        default:
                /* SQLITE_ERROR (an SQL error: a bug on our side), SQLITE_IOERR, ... */
                return -EIO;
        }
}

const char *store_errmsg(Store *s) {
        if (!s || !s->db)
                return "no database connection";
        return sqlite3_errmsg(s->db);
}

int store_prepare(Store *s, sqlite3_stmt **ret, const char *sql) {
        sqlite3_stmt *stmt = NULL;
        int rc;

        assert(s);
        assert(ret);
        assert(sql);

        rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
        if (rc != SQLITE_OK)
                return log_debug_errno(store_errno_from_sqlite(rc), "Failed to prepare \"%s\": %s", sql,
                                       sqlite3_errmsg(s->db));
        *ret = stmt;
        return 0;
}

int store_bind_va(Store *s, sqlite3_stmt *stmt, const char *format, va_list ap) {
        size_t n;

        assert(s);
        assert(stmt);

        format = strempty(format);
        n = strlen(format);

        /* A mismatch between the SQL and the format is a bug: catch it here, not as a
         * silently NULL column. */
        if ((size_t) sqlite3_bind_parameter_count(stmt) != n)
                return log_debug_errno(EINVAL, "Statement \"%s\" has %d parameters, %zu given.",
                                       sqlite3_sql(stmt), sqlite3_bind_parameter_count(stmt), n);

        for (size_t i = 0; i < n; i++) {
                int idx = (int) i + 1, rc;

                switch (format[i]) {
                case 't': {
                        const char *t = va_arg(ap, const char *);

                        rc = t ? sqlite3_bind_text(stmt, idx, t, -1, SQLITE_TRANSIENT)
                               : sqlite3_bind_null(stmt, idx);
                        break;
                }
                case 'i':
                        rc = sqlite3_bind_int64(stmt, idx, (sqlite3_int64) va_arg(ap, int64_t));
                        break;
                case 'd':
                        rc = sqlite3_bind_double(stmt, idx, va_arg(ap, double));
                        break;
                case 'b':
                        rc = sqlite3_bind_int(stmt, idx, !!va_arg(ap, int));
                        break;
                case 'n':
                        rc = sqlite3_bind_null(stmt, idx);
                        break;
                default:
                        return log_debug_errno(EINVAL, "Unknown bind format character '%c'.", format[i]);
                }
                if (rc != SQLITE_OK)
                        return log_debug_errno(store_errno_from_sqlite(rc),
                                               "Failed to bind parameter %d: %s", idx,
                                               sqlite3_errmsg(s->db));
        }
        return 0;
}

int store_bind(Store *s, sqlite3_stmt *stmt, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = store_bind_va(s, stmt, format, ap);
        va_end(ap);
        return r;
}

int store_prepare_bind(Store *s, sqlite3_stmt **ret, const char *sql, const char *format, ...) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        va_list ap;
        int r;

        r = store_prepare(s, &stmt, sql);
        if (r < 0)
                return r;

        va_start(ap, format);
        r = store_bind_va(s, stmt, format, ap);
        va_end(ap);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(stmt);
        return 0;
}

int store_step(Store *s, sqlite3_stmt *stmt) {
        int rc;

        assert(s);
        assert(stmt);

        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return log_debug_errno(store_errno_from_sqlite(rc), "Failed to run \"%s\": %s", sqlite3_sql(stmt),
                               sqlite3_errmsg(s->db));
}

int store_exec_bind(Store *s, const char *sql, const char *format, ...) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        va_list ap;
        int r;

        r = store_prepare(s, &stmt, sql);
        if (r < 0)
                return r;

        va_start(ap, format);
        r = store_bind_va(s, stmt, format, ap);
        va_end(ap);
        if (r < 0)
                return r;

        /* Rows (from a RETURNING clause, say) are not wanted here: run to completion. */
        do
                r = store_step(s, stmt);
        while (r > 0);
        if (r < 0)
                return r;

        return sqlite3_changes(s->db);
}

int store_exec(Store *s, const char *sql) {
        char *error = NULL;
        int rc, r;

        assert(s);
        assert(sql);

        rc = sqlite3_exec(s->db, sql, NULL, NULL, &error);
        if (rc == SQLITE_OK)
                return 0;

        r = log_debug_errno(store_errno_from_sqlite(rc), "Failed to run \"%s\": %s", sql,
                            error ?: sqlite3_errstr(rc));
        sqlite3_free(error);
        return r;
}

int store_column_strdup(sqlite3_stmt *stmt, int column, char **ret) {
        const unsigned char *t;
        char *copy;

        assert(stmt);
        assert(ret);

        if (sqlite3_column_type(stmt, column) == SQLITE_NULL) {
                *ret = NULL;
                return 0;
        }

        /* NULL for a non-NULL value means SQLite ran out of memory converting it. */
        t = sqlite3_column_text(stmt, column);
        if (!t)
                return -ENOMEM;
        copy = strdup((const char *) t);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

bool store_column_is_null(sqlite3_stmt *stmt, int column) {
        return sqlite3_column_type(stmt, column) == SQLITE_NULL;
}

int store_begin(Store *s) {
        assert(s);

        if (!sqlite3_get_autocommit(s->db))
                return log_debug_errno(EBUSY, "Transaction already open, refusing to nest.");
        return store_exec(s, "BEGIN IMMEDIATE");
}

int store_commit(Store *s) {
        int r;

        assert(s);

        r = store_exec(s, "COMMIT");
        if (r < 0)
                /* A failed COMMIT (SQLITE_BUSY, disk full) leaves the transaction open. */
                store_rollback(s);
        return r;
}

void store_rollback(Store *s) {
        if (!s || !s->db)
                return;

        /* SQLite may already have rolled back by itself (after SQLITE_FULL, for example). */
        if (!sqlite3_get_autocommit(s->db))
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int read_pragma_int(Store *s, const char *sql, int64_t *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        int r;

        r = store_prepare(s, &stmt, sql);
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENODATA;
        *ret = sqlite3_column_int64(stmt, 0);
        return 0;
}

int store_read_user_version(Store *s) {
        int64_t v;
        int r;

        r = read_pragma_int(s, "PRAGMA user_version", &v);
        if (r < 0)
                return r;
        /* user_version is a signed 32-bit field in the header; a negative one is not ours. */
        if (v < 0 || v > INT32_MAX)
                return -EBADMSG;
        return (int) v;
}

int store_read_application_id(Store *s, int32_t *ret) {
        int64_t v;
        int r;

        r = read_pragma_int(s, "PRAGMA application_id", &v);
        if (r < 0)
                return r;
        *ret = (int32_t) v;
        return 0;
}

int store_schema_version(Store *s) {
        if (!s)
                return -EINVAL;
        return store_read_user_version(s);
}

/* The first reads of the file happen here, before anything could write to it: a file that
 * is not a database, some other program's database, or one from a newer quiltd is refused
 * untouched. (Switching to WAL already rewrites the header, so it has to come after this.) */
static int store_check_identity(Store *s) {
        int32_t application_id;
        int64_t n_objects;
        int r, version;

        version = store_read_user_version(s);
        if (version == -EBADMSG)
                return log_error_errno(
                        version, "%s is not a SQLite database, or it is corrupt; refusing to use it: %s",
                        s->path, store_errmsg(s));
        if (version < 0)
                return log_error_errno(version, "Failed to read the schema version of %s: %s", s->path,
                                       store_errmsg(s));

        r = store_read_application_id(s, &application_id);
        if (r < 0)
                return log_error_errno(r, "Failed to read the application id of %s: %s", s->path,
                                       store_errmsg(s));
        if (application_id != 0 && application_id != STORE_APPLICATION_ID)
                return log_error_errno(
                        EBADMSG,
                        "%s belongs to another application (application_id %#x), refusing to use it.",
                        s->path, (unsigned) application_id);

        if (version > store_schema_version_latest())
                return log_error_errno(EPROTO,
                                       "%s has schema version %d, but this quiltd knows only up to %d; "
                                       "refusing to touch it (was quiltd downgraded?).",
                                       s->path, version, store_schema_version_latest());

        if (version == 0) {
                r = read_pragma_int(s, "SELECT count(*) FROM sqlite_master", &n_objects);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the schema of %s: %s", s->path,
                                               store_errmsg(s));
                if (n_objects > 0)
                        return log_error_errno(
                                EBADMSG, "%s has tables but no Quilt schema version, refusing to use it.",
                                s->path);
        }

        return 0;
}

static int store_set_pragmas(Store *s) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        const char *mode;
        int64_t fk;
        int r;

        /* WAL: readers (health, list) never block the writer and vice versa. The pragma
         * answers with the mode in effect, which stays "delete" where WAL is impossible. */
        r = store_prepare(s, &stmt, "PRAGMA journal_mode = WAL");
        if (r < 0)
                return log_error_errno(r, "Failed to enable WAL mode on %s: %s", s->path, store_errmsg(s));
        r = store_step(s, stmt);
        if (r < 0)
                return log_error_errno(r, "Failed to enable WAL mode on %s: %s", s->path, store_errmsg(s));
        mode = r > 0 ? (const char *) sqlite3_column_text(stmt, 0) : NULL;
        if (!mode || strcasecmp(mode, "wal") != 0)
                return log_error_errno(EOPNOTSUPP, "Failed to enable WAL mode on %s (journal mode is %s).",
                                       s->path, strempty(mode));

        /* With WAL, NORMAL is durable against application crashes and keeps the database
         * consistent across power loss; only the last transactions may be lost then. */
        r = store_exec(s, "PRAGMA synchronous = NORMAL");
        if (r < 0)
                return log_error_errno(r, "Failed to set synchronous mode on %s: %s", s->path,
                                       store_errmsg(s));

        /* Per connection, and a no-op inside a transaction: set it before anything else, and
         * check it took (SQLite can be built without foreign key support). */
        r = store_exec(s, "PRAGMA foreign_keys = ON");
        if (r < 0)
                return log_error_errno(r, "Failed to enable foreign keys on %s: %s", s->path,
                                       store_errmsg(s));
        r = read_pragma_int(s, "PRAGMA foreign_keys", &fk);
        if (r < 0 || fk != 1)
                return log_error_errno(r < 0 ? r : EOPNOTSUPP, "Failed to enable foreign keys on %s.",
                                       s->path);

        return 0;
}

int store_open(const char *path, Store **ret) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r, rc;

        if (isempty(path) || !ret)
                return -EINVAL;

        s = calloc(1, sizeof(*s));
        if (!s)
                return log_oom();
        s->path = strdup(path);
        if (!s->path)
                return log_oom();

        /* The database holds the containers' environments, which may carry secrets. SQLite
         * creates files honouring the umask, so create it ourselves, 0600; SQLite gives its
         * -wal and -shm files the mode of the database file. */
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open database %s: %m", path);
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "Failed to stat database %s: %m", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(EBADMSG, "Database %s is not a regular file.", path);
        if (st.st_mode & 0077)
                log_warning("Database %s is accessible by other users (mode %04o); it should be 0600.", path,
                            (unsigned) (st.st_mode & 07777));
        fd = safe_close(fd);

        rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
        if (rc != SQLITE_OK)
                return log_error_errno(store_errno_from_sqlite(rc), "Failed to open database %s: %s", path,
                                       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));

        /* Extended codes tell a UNIQUE conflict (-EEXIST) from other constraint failures. */
        (void) sqlite3_extended_result_codes(s->db, 1);
        rc = sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MSEC);
        if (rc != SQLITE_OK)
                return log_error_errno(store_errno_from_sqlite(rc), "Failed to set busy timeout on %s: %s",
                                       path, sqlite3_errmsg(s->db));

        r = store_check_identity(s);
        if (r < 0)
                return r;

        r = store_set_pragmas(s);
        if (r < 0)
                return r;

        r = store_migrate(s);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_free(Store *s) {
        if (!s)
                return NULL;

        if (s->db) {
                int rc;

                store_rollback(s);
                /* close_v2: statements someone forgot to finalize do not keep the file open
                 * forever, they just delay the close until they are finalized. */
                rc = sqlite3_close_v2(s->db);
                if (rc != SQLITE_OK)
                        log_debug("Failed to close database %s: %s", s->path, sqlite3_errstr(rc));
        }
        free(s->path);
        return mfree(s);
}

int store_check(Store *s) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        int r;

        if (!s || !s->db)
                return -ENOTCONN;

        /* Not a bare "SELECT 1": that is answered without looking at the file. Reading the
         * schema takes a read lock and reads the database (and WAL index), so a deleted,
         * corrupt or locked-up database shows here. */
        r = store_prepare(s, &stmt, "SELECT 1 FROM sqlite_master LIMIT 1");
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r < 0)
                return r;
        if (r == 0 || sqlite3_column_int(stmt, 0) != 1)
                return log_debug_errno(EIO, "Health query on %s returned no row.", s->path);
        return 0;
}

int store_count_containers(Store *s, uint64_t *ret_total, uint64_t *ret_running) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        int64_t total, running;
        int r;

        if (!s || !s->db)
                return -ENOTCONN;

        /* One statement, so both numbers come from the same snapshot. */
        r = store_prepare_bind(s, &stmt, "SELECT count(*), coalesce(sum(state = ?1), 0) FROM containers",
                               "t", "running");
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENODATA;

        total = sqlite3_column_int64(stmt, 0);
        running = sqlite3_column_int64(stmt, 1);
        if (total < 0 || running < 0 || running > total)
                return -EBADMSG;

        if (ret_total)
                *ret_total = (uint64_t) total;
        if (ret_running)
                *ret_running = (uint64_t) running;
        return 0;
}
