/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "store-containers.h"
#include "store-events.h"
#include "store-internal.h"
#include "store-network.h"
#include "store-volumes.h"
#include "store.h"
#include "strv.h"
#include "tests.h"

static char tmpdir[] = "/tmp/test-store-XXXXXX";

static char *path_in_tmp(const char *name) {
        char *p;

        if (asprintf(&p, "%s/%s", tmpdir, name) < 0)
                abort();
        return p;
}

static int read_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, allocated = 0;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        for (;;) {
                size_t k;

                if (n == allocated) {
                        char *b = realloc(buf, allocated + 4096 + 1);

                        if (!b)
                                abort();
                        buf = b;
                        allocated += 4096;
                }
                k = fread(buf + n, 1, allocated - n, f);
                n += k;
                if (k == 0)
                        break;
        }
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

static bool file_equals(const char *path, const char *content, size_t size) {
        _cleanup_free_ char *now = NULL;
        size_t n;

        if (read_file(path, &now, &n) < 0)
                return false;
        return n == size && memcmp(now, content, n) == 0;
}

/* Runs SQL on a connection of its own, as another process would; returns the (extended)
 * SQLite result code. */
static int raw_exec(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        int rc;

        rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
        if (rc == SQLITE_OK) {
                sqlite3_extended_result_codes(db, 1);
                sqlite3_busy_timeout(db, 5000);
                rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        }
        sqlite3_close(db);
        return rc;
}

/* First column of the first row as an integer, -1 if there is none. */
static int64_t query_int(sqlite3 *db, const char *sql) {
        sqlite3_stmt *stmt = NULL;
        int64_t v = -1;

        if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
                v = sqlite3_column_int64(stmt, 0);
        sqlite3_finalize(stmt);
        return v;
}

static char *query_text(sqlite3 *db, const char *sql) {
        sqlite3_stmt *stmt = NULL;
        char *v = NULL;

        if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW &&
            sqlite3_column_text(stmt, 0))
                v = strdup((const char *) sqlite3_column_text(stmt, 0));
        sqlite3_finalize(stmt);
        return v;
}

/* Runs f with stderr going to a temporary file; returns what was written. */
static int capture_fd = -1, saved_stderr = -1;

static void capture_begin(void) {
        char path[] = "/tmp/test-store-stderr-XXXXXX";

        fflush(stderr);
        capture_fd = mkstemp(path);
        if (capture_fd < 0)
                abort();
        (void) unlink(path);
        saved_stderr = dup(STDERR_FILENO);
        if (saved_stderr < 0 || dup2(capture_fd, STDERR_FILENO) < 0)
                abort();
}

static char *capture_end(void) {
        char *buf = calloc(1, 8192);
        ssize_t n;

        fflush(stderr);
        if (dup2(saved_stderr, STDERR_FILENO) < 0)
                abort();
        saved_stderr = safe_close(saved_stderr);
        n = pread(capture_fd, buf, 8191, 0);
        if (n < 0)
                abort();
        capture_fd = safe_close(capture_fd);
        return buf;
}

/* How many objects the real schema has in sqlite_master, as test_create() found them. */
static int64_t schema_objects = -1;

static const char *insert_sql = "INSERT INTO containers (id, name, image, command, state, created_at) "
                                "VALUES (?1, ?2, 'busybox', ?3, ?4, 1)";

static void test_create(const char *path) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *wal = NULL, *mode = NULL;
        struct stat st;

        /* At least the versions whose objects are checked below; later ones only add. */
        ok(store_schema_version_latest() >= 2, "latest schema version is at least 2");

        is_int(store_open(path, &s), 0, "store_open creates the database");
        if (!s)
                return;

        ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "database file is mode 0600 (umask 0)");
        wal = path_in_tmp("quilt.db-wal");
        ok(stat(wal, &st) == 0 && (st.st_mode & 07777) == 0600, "WAL file is mode 0600 too");

        mode = query_text(s->db, "PRAGMA journal_mode");
        is_str(mode, "wal", "journal_mode is WAL");
        is_int(query_int(s->db, "PRAGMA foreign_keys"), 1, "foreign_keys is on");
        is_int(query_int(s->db, "PRAGMA synchronous"), 1, "synchronous is NORMAL");
        is_int(query_int(s->db, "PRAGMA busy_timeout"), 5000, "busy_timeout is 5 s");
        is_int(query_int(s->db, "PRAGMA user_version"), store_schema_version_latest(),
               "user_version is the latest");
        is_int(store_schema_version(s), store_schema_version_latest(), "store_schema_version()");
        is_int(query_int(s->db, "PRAGMA application_id"), STORE_APPLICATION_ID, "application_id is Quilt's");
        is_int(query_int(s->db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = "
                                "'containers_state'"),
               1, "index on state exists");
        is_int(query_int(s->db, "SELECT count(*) FROM pragma_index_list('containers') WHERE \"unique\" = 1"),
               2, "containers has two unique indexes (id, name)");
        /* Every object of versions 1 and 2: containers, its two automatic unique indexes (id,
         * name) and containers_state (1); images, the automatic index of its primary key and
         * containers_image (2). */
        is_int(query_int(s->db, "SELECT count(*) FROM sqlite_master WHERE name IN ("
                                "'containers', 'sqlite_autoindex_containers_1', "
                                "'sqlite_autoindex_containers_2', 'containers_state', 'images', "
                                "'sqlite_autoindex_images_1', 'containers_image')"),
               7, "the objects of schema versions 1 and 2 exist");
        is_int(query_int(s->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                                "'images'"),
               1, "images table exists");
        is_int(query_int(s->db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = "
                                "'containers_image'"),
               1, "index on image exists");
        is_int(query_int(s->db, "SELECT count(*) FROM pragma_table_info('containers') WHERE name IN ("
                                "'user', 'image_rootfs', 'monitor_pid', 'monitor_start_time')"),
               4, "containers has the columns of version 2");
        schema_objects = query_int(s->db, "SELECT count(*) FROM sqlite_master");
        ok(schema_objects >= 7, "the schema has at least the objects of versions 1 and 2");
        is_int(store_check(s), 0, "store_check()");
        ok(store_errmsg(s) != NULL, "store_errmsg() is never NULL");
}

static void test_counts_and_constraints(const char *path) {
        _cleanup_(store_freep) Store *s = NULL;
        uint64_t total = 99, running = 99;
        int rc;

        is_int(store_open(path, &s), 0, "reopen");
        if (!s)
                return;

        is_int(store_count_containers(s, &total, &running), 0, "count on an empty table");
        is_int(total, 0, "no containers");
        is_int(running, 0, "none running");

        /* Rows written by another connection (WAL: visible to our next read). */
        rc = raw_exec(
                path,
                "INSERT INTO containers (id, name, image, command, state, created_at) VALUES"
                " ('00000000-0000-4000-8000-000000000001', 'a', 'busybox', '[\"sh\"]', 'running', 1),"
                " ('00000000-0000-4000-8000-000000000002', 'b', 'busybox', '[\"sh\",\"-c\",\"x y\"]', "
                "'running', 2),"
                " ('00000000-0000-4000-8000-000000000003', 'c', 'busybox', '[]', 'exited', 3),"
                " ('00000000-0000-4000-8000-000000000004', 'd', 'busybox', '[\"true\"]', 'pending', 4),"
                " ('00000000-0000-4000-8000-000000000005', 'e', 'busybox', '[\"false\"]', 'failed', 5)");
        is_int(rc, SQLITE_OK, "insert rows from another connection");
        is_int(store_count_containers(s, &total, &running), 0, "count");
        is_int(total, 5, "five containers");
        is_int(running, 2, "two running");
        total = 7;
        is_int(store_count_containers(s, NULL, &running), 0, "count with ret_total NULL");
        is_int(store_count_containers(s, &total, NULL), 0, "count with ret_running NULL");
        is_int(total, 5, "total with ret_running NULL");

        /* Defaults of the optional columns */
        is_int(query_int(s->db,
                         "SELECT count(*) FROM containers WHERE environment = '{}' AND labels = '{}' AND"
                         " oom_killed = 0 AND async_mode = 0 AND ephemeral = 0 AND pid IS NULL"),
               5, "column defaults");

        /* Constraints, through the store's helpers (errno mapping) and directly (codes) */
        is_int(store_exec_bind(s, insert_sql, "tttt", "00000000-0000-4000-8000-0000000000aa", "a",
                               "[\"sh\"]", "running"),
               -EEXIST, "duplicate name is -EEXIST");
        is_int(raw_exec(path, "INSERT INTO containers (id, name, image, command, state, created_at)"
                              " VALUES ('x', 'a', 'i', '[]', 'running', 1)"),
               SQLITE_CONSTRAINT_UNIQUE, "name UNIQUE enforced");
        is_int(store_exec_bind(s, insert_sql, "tttt", "00000000-0000-4000-8000-000000000001", "new",
                               "[\"sh\"]", "running"),
               -EEXIST, "duplicate id is -EEXIST");
        is_int(store_exec_bind(s, insert_sql, "tttt", "00000000-0000-4000-8000-0000000000ab", "f",
                               "[\"sh\"]", "created"),
               -EINVAL, "state outside the set is -EINVAL");
        is_int(raw_exec(path, "INSERT INTO containers (id, name, image, command, state, created_at)"
                              " VALUES ('y', 'y', 'i', '[]', 'error', 1)"),
               SQLITE_CONSTRAINT_CHECK, "CHECK on state enforced");
        is_int(raw_exec(path, "UPDATE containers SET state = 'stopped' WHERE name = 'a'"),
               SQLITE_CONSTRAINT_CHECK, "CHECK on state enforced on update");
        is_int(store_exec_bind(s, insert_sql, "tttt", "00000000-0000-4000-8000-0000000000ac", "g",
                               "sh -c 'x y'", "running"),
               -EINVAL, "a joined command string is refused");
        is_int(store_exec_bind(s, insert_sql, "tttt", "00000000-0000-4000-8000-0000000000ad", "h",
                               "{\"a\":1}", "running"),
               -EINVAL, "a JSON object as command is refused");
        is_int(store_exec_bind(s, insert_sql, "tttt", "00000000-0000-4000-8000-0000000000ae", "", "[]",
                               "running"),
               -EINVAL, "an empty name is refused");
        is_int(store_exec_bind(s, insert_sql, "tttt", "00000000-0000-4000-8000-0000000000af", "i", NULL,
                               "running"),
               -EINVAL, "NULL command is refused");
        is_int(raw_exec(path, "UPDATE containers SET environment = '[]' WHERE name = 'a'"),
               SQLITE_CONSTRAINT_CHECK, "environment must be a JSON object");
        is_int(raw_exec(path, "UPDATE containers SET labels = 'x' WHERE name = 'a'"),
               SQLITE_CONSTRAINT_CHECK, "labels must be JSON");
        is_int(raw_exec(path, "UPDATE containers SET oom_killed = 2 WHERE name = 'a'"),
               SQLITE_CONSTRAINT_CHECK, "oom_killed is a boolean");
        is_int(raw_exec(path, "UPDATE containers SET log_driver = 'syslog' WHERE name = 'a'"),
               SQLITE_CONSTRAINT_CHECK, "log_driver is 'file' or 'journal'");
        is_int(store_count_containers(s, &total, &running), 0, "count after refused inserts");
        is_int(total, 5, "refused inserts left nothing behind");

        /* The helpers */
        is_int(store_exec_bind(s,
                               "UPDATE containers SET state = ?1, exit_code = ?2, cpu_quota_percent = ?3,"
                               " oom_killed = ?4, error_message = ?5 WHERE state = 'running'",
                               "tidbn", "exited", (int64_t) 137, 12.5, 1),
               2, "store_exec_bind returns the number of changed rows");
        is_int(store_count_containers(s, &total, &running), 0, "count after update");
        is_int(running, 0, "none running after update");
        is_int(query_int(s->db,
                         "SELECT count(*) FROM containers WHERE exit_code = 137 AND oom_killed = 1 AND"
                         " cpu_quota_percent = 12.5 AND error_message IS NULL"),
               2, "bound values stored");
        is_int(store_exec_bind(s, "UPDATE containers SET state = ?1", "tt", "exited", "extra"), -EINVAL,
               "too many bind arguments refused");
        is_int(store_exec_bind(s, "UPDATE containers SET state = ?1 WHERE name = ?2", "t", "exited"),
               -EINVAL, "too few bind arguments refused");
        is_int(store_exec_bind(s, "UPDATE containers SET state = ?1", "x", "exited"), -EINVAL,
               "unknown bind format refused");
        is_int(store_exec(s, "SELECT * FROM no_such_table"), -EIO, "an SQL error is -EIO");

        {
                _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
                _cleanup_free_ char *name = NULL, *wd = NULL;

                is_int(store_prepare_bind(s, &stmt,
                                          "SELECT name, working_directory FROM containers WHERE id = ?1",
                                          "t", "00000000-0000-4000-8000-000000000002"),
                       0, "store_prepare_bind");
                is_int(store_step(s, stmt), 1, "store_step gives a row");
                is_int(store_column_strdup(stmt, 0, &name), 0, "store_column_strdup");
                is_str(name, "b", "column value");
                is_int(store_column_strdup(stmt, 1, &wd), 0, "store_column_strdup on NULL");
                ok(!wd && store_column_is_null(stmt, 1), "NULL column gives NULL");
                is_int(store_step(s, stmt), 0, "store_step at the end");
        }

        /* A record keeps its log driver; rows from before the column read as 'file'. */
        {
                _cleanup_(container_record_done) ContainerRecord got = {}, old = {};
                ContainerRecord c = {
                        .id = (char *) "00000000-0000-4000-8000-0000000000c0",
                        .name = (char *) "logged",
                        .image = (char *) "busybox",
                        .state = CONTAINER_PENDING,
                        .created_usec = 1,
                        .log_driver = CONTAINER_LOG_JOURNAL,
                };

                is_int(store_container_insert(s, &c), 1, "insert with the journal log driver");
                is_int(store_container_get(s, c.id, &got), 0, "get it back");
                is_int(got.log_driver, CONTAINER_LOG_JOURNAL, "the log driver is kept");
                is_int(store_exec_bind(s, "UPDATE containers SET log_driver = NULL WHERE id = ?1", "t", c.id), 1,
                       "an old row without a log driver");
                is_int(store_container_get(s, c.id, &old), 0, "get the old row");
                is_int(old.log_driver, CONTAINER_LOG_FILE, "no log driver reads as the file");
                is_int(store_container_delete(s, c.id), 0, "delete it again");
        }

        /* Transactions */
        {
                _cleanup_(store_rollbackp) Store *tx = NULL;

                is_int(store_begin(s), 0, "begin");
                tx = s;
                is_int(store_begin(s), -EBUSY, "transactions do not nest");
                is_int(store_exec_bind(s, "DELETE FROM containers", NULL), 5, "delete inside a transaction");
        }
        is_int(store_count_containers(s, &total, NULL), 0, "count after rollback");
        is_int(total, 5, "the rollback guard undid the delete");

        is_int(store_begin(s), 0, "begin again");
        is_int(store_exec_bind(s, "DELETE FROM containers WHERE name = ?1", "t", "e"), 1, "delete one");
        is_int(store_commit(s), 0, "commit");
        is_int(store_count_containers(s, &total, NULL), 0, "count after commit");
        is_int(total, 4, "the commit kept the delete");
}

static void test_reopen(const char *path) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *before = NULL;
        uint64_t total = 0;
        size_t size;

        /* Closed: the WAL is checkpointed into the file, so its bytes are the whole state. */
        if (read_file(path, &before, &size) < 0)
                abort();

        is_int(store_open(path, &s), 0, "reopen is fine");
        if (!s)
                return;
        is_int(store_schema_version(s), store_schema_version_latest(), "reopen keeps the version");
        /* As many as the fresh database had (test_create() checked which ones). */
        is_int(query_int(s->db, "SELECT count(*) FROM sqlite_master"), schema_objects,
               "reopen adds no schema objects");
        is_int(store_count_containers(s, &total, NULL), 0, "count after reopen");
        is_int(total, 4, "rows survive a reopen");
        s = store_free(s);
        ok(file_equals(path, before, size), "reopening an up-to-date database does not change it");

        ok(store_free(NULL) == NULL, "store_free(NULL)");
}

static void test_newer_database(void) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = path_in_tmp("newer.db"), *before = NULL, *sql = NULL, *log = NULL,
                            *expected = NULL;
        size_t size;
        int r;

        if (asprintf(&sql,
                     "CREATE TABLE containers (id TEXT, future_column TEXT); PRAGMA application_id = %d;"
                     " PRAGMA user_version = %d;",
                     STORE_APPLICATION_ID, store_schema_version_latest() + 1) < 0)
                abort();
        is_int(raw_exec(path, sql), SQLITE_OK, "create a database from the future");
        if (read_file(path, &before, &size) < 0)
                abort();

        capture_begin();
        r = store_open(path, &s);
        log = capture_end();
        is_int(r, -EPROTO, "a newer database is refused with -EPROTO");
        ok(!s, "no store returned");
        if (asprintf(&expected, "has schema version %d, but this quiltd knows only up to %d",
                     store_schema_version_latest() + 1, store_schema_version_latest()) < 0)
                abort();
        ok(strstr(log, expected), "message gives both versions");
        ok(file_equals(path, before, size), "the newer database is left unchanged");
}

static void test_not_a_database(void) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = path_in_tmp("garbage.db"), *wal = NULL, *log = NULL, *after = NULL;
        char garbage[8192];
        size_t size;
        int fd, r;

        for (size_t i = 0; i < sizeof(garbage); i++)
                garbage[i] = "This is not a database, but it is important.\n"[i % 45];
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, garbage, sizeof(garbage)) != (ssize_t) sizeof(garbage))
                abort();
        close(fd);

        capture_begin();
        r = store_open(path, &s);
        log = capture_end();
        is_int(r, -EBADMSG, "a file that is not a database is refused with -EBADMSG");
        ok(!s, "no store returned");
        ok(strstr(log, "is not a SQLite database") && strstr(log, path),
           "message says what is wrong and where");
        if (read_file(path, &after, &size) < 0)
                abort();
        ok(size == sizeof(garbage) && memcmp(after, garbage, size) == 0, "the file is not overwritten");
        wal = path_in_tmp("garbage.db-wal");
        ok(access(wal, F_OK) < 0 && errno == ENOENT, "no WAL file left behind");
}

static void test_foreign_database(void) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *other_app = path_in_tmp("other-app.db"),
                            *unversioned = path_in_tmp("unversioned.db"), *before = NULL, *log = NULL;
        size_t size;
        int r;

        is_int(raw_exec(other_app, "PRAGMA application_id = 1234; PRAGMA user_version = 1;"), SQLITE_OK,
               "create another application's database");
        if (read_file(other_app, &before, &size) < 0)
                abort();
        capture_begin();
        r = store_open(other_app, &s);
        log = capture_end();
        is_int(r, -EBADMSG, "another application's database is refused");
        ok(strstr(log, "belongs to another application"), "another application's database message");
        ok(file_equals(other_app, before, size), "another application's database is left unchanged");
        before = mfree(before);
        log = mfree(log);

        is_int(raw_exec(unversioned, "CREATE TABLE containers (id TEXT);"), SQLITE_OK,
               "create a database with tables and no version");
        if (read_file(unversioned, &before, &size) < 0)
                abort();
        capture_begin();
        r = store_open(unversioned, &s);
        log = capture_end();
        is_int(r, -EBADMSG, "a database with tables and no version is refused");
        ok(strstr(log, "has tables but no Quilt schema version"), "unversioned database message");
        ok(file_equals(unversioned, before, size), "the unversioned database is left unchanged");
}

/* The real migrations as placeholders (the database is already at the latest version, so
 * they are never run), then extra as the next version. */
static const char **scripts_after_latest(const char *extra, size_t *ret_n) {
        size_t n = (size_t) store_schema_version_latest();
        const char **scripts = calloc(n + 1, sizeof(char *));

        if (!scripts)
                abort();
        for (size_t i = 0; i < n; i++)
                scripts[i] = "-- already applied";
        scripts[n] = extra;
        *ret_n = n + 1;
        return scripts;
}

static void test_migration_is_atomic(void) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = path_in_tmp("migrate.db"), *log = NULL, *expected = NULL;
        _cleanup_free_ const char **failing = NULL, **working = NULL;
        size_t n_failing, n_working;
        int latest = store_schema_version_latest(), r;

        failing = scripts_after_latest(
                "CREATE TABLE half (x); INSERT INTO half VALUES (1); INSERT INTO no_such_table VALUES (1);",
                &n_failing);
        working = scripts_after_latest("CREATE TABLE whole (x); INSERT INTO whole VALUES (1);", &n_working);

        is_int(store_open(path, &s), 0, "open a database to migrate");
        if (!s)
                return;
        is_int(store_schema_version(s), latest, "the database to migrate is at the latest version");

        capture_begin();
        r = store_migrate_scripts(s, failing, n_failing);
        log = capture_end();
        ok(r < 0, "a failing migration fails");
        if (asprintf(&expected, "to schema version %d: ", latest + 1) < 0)
                abort();
        ok(strstr(log, "Failed to migrate") && strstr(log, expected), "failing migration message");
        is_int(store_schema_version(s), latest, "the version is unchanged after a failed migration");
        is_int(query_int(s->db, "SELECT count(*) FROM sqlite_master WHERE name = 'half'"), 0,
               "a failed migration leaves nothing behind");
        ok(sqlite3_get_autocommit(s->db), "no transaction left open");

        is_int(store_migrate_scripts(s, working, n_working), 0, "a working migration");
        is_int(store_schema_version(s), latest + 1, "the version is bumped");
        is_int(query_int(s->db, "SELECT x FROM whole"), 1, "the migration ran");
        is_int(store_migrate_scripts(s, working, n_working), 0, "migrating again is a no-op");
        is_int(query_int(s->db, "SELECT count(*) FROM whole"), 1, "the migration did not run twice");

        log = mfree(log);
        capture_begin();
        r = store_migrate(s);
        log = capture_end();
        is_int(r, -EPROTO, "the real migrations refuse a newer database");
        is_int(store_schema_version(s), latest + 1, "the refused database keeps its version");
}

static void test_bad_paths(void) {
        Store *s = NULL;
        _cleanup_free_ char *log = NULL;
        int r;

        capture_begin();
        r = store_open("/nonexistent-dir/quilt.db", &s);
        log = capture_end();
        is_int(r, -ENOENT, "a missing directory is -ENOENT");
        ok(strstr(log, "/nonexistent-dir/quilt.db"), "missing directory message names the path");
        is_int(store_open(NULL, &s), -EINVAL, "NULL path");
        is_int(store_open("", &s), -EINVAL, "empty path");

        log = mfree(log);
        capture_begin();
        r = store_open(tmpdir, &s);
        log = capture_end();
        ok(r < 0, "a directory is refused");
        ok(!s, "no store for bad paths");
}

static void remove_tmpdir(void) {
        DIR *d = opendir(tmpdir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
        (void) rmdir(tmpdir);
}

static void test_volumes(void) {
        _cleanup_free_ char *path = path_in_tmp("volumes.db");
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_strv_free_ char **users = NULL;
        char *labels_a[] = { (char *) "team", (char *) "ml", (char *) "tier", (char *) "gold", NULL };
        char *labels_b[] = { (char *) "team", (char *) "web", NULL };
        char *opts[] = { (char *) "mode", (char *) "0700", NULL };
        VolumeRow a = { .name = (char *) "a", .driver = (char *) "local", .labels = labels_a, .options = opts,
                        .created_usec = 7 },
                  b = { .name = (char *) "b", .labels = labels_b };
        VolumeRow *rows = NULL, got = {};
        size_t n = 0;
        ContainerMount mounts[] = {
                { .type = CONTAINER_MOUNT_VOLUME, .source = (char *) "a", .subpath = (char *) "sub",
                  .target = (char *) "/data", .readonly = true },
                { .type = CONTAINER_MOUNT_BIND, .source = (char *) "/srv", .target = (char *) "/srv" },
                { .type = CONTAINER_MOUNT_TMPFS, .target = (char *) "/tmp", .size = 1 << 20, .mode = 01777 },
        };
        ContainerMount *m = NULL;
        ContainerRecord c = { .id = (char *) "00000000-0000-4000-8000-00000000cccc", .name = (char *) "user",
                              .image = (char *) "minimal", .state = CONTAINER_EXITED };

        is_int(store_open(path, &s), 0, "open a fresh database for volumes");
        if (!s)
                return;
        is_int(store_volume_insert(s, &a), 0, "insert volume a");
        is_int(store_volume_insert(s, &b), 0, "insert volume b (default driver)");
        is_int(store_volume_insert(s, &a), -EEXIST, "a duplicate name is -EEXIST");
        is_int(store_volume_get(s, "a", &got), 0, "get a");
        ok(streq_ptr(got.driver, "local") && got.created_usec == 7 && strv_length(got.labels) == 4 &&
                   strv_length(got.options) == 2,
           "a's driver, time, labels and options");
        volume_row_done(&got);
        is_int(store_volume_get(s, "nope", NULL), -ENOENT, "an unknown volume is -ENOENT");

        is_int(store_volume_list(s, NULL, false, &rows, &n), 0, "list all");
        ok(n == 2 && streq(rows[0].name, "a") && streq(rows[1].name, "b"), "both, by name");
        volume_row_array_free(rows, n);

        {
                char *f[] = { (char *) "team", (char *) "ml", NULL };
                is_int(store_volume_list(s, f, false, &rows, &n), 0, "list team=ml");
                ok(n == 1 && streq(rows[0].name, "a"), "only a");
                volume_row_array_free(rows, n);
        }
        {
                char *f[] = { (char *) "team", (char *) "", NULL };
                is_int(store_volume_list(s, f, false, &rows, &n), 0, "list team (any value)");
                is_int(n, 2, "both have the key");
                volume_row_array_free(rows, n);
        }
        {
                char *f[] = { (char *) "team", (char *) "ml", (char *) "tier", (char *) "silver", NULL };
                is_int(store_volume_list(s, f, false, &rows, &n), 0, "list team=ml tier=silver");
                is_int(n, 0, "all filters must match");
                volume_row_array_free(rows, n);
        }
        {
                /* What string-built SQL would have run. */
                char *f[] = { (char *) "x') OR 1=1 --", (char *) "' OR '1'='1", NULL };
                is_int(store_volume_list(s, f, false, &rows, &n), 0, "an injection attempt is just a filter");
                is_int(n, 0, "... that matches nothing");
                volume_row_array_free(rows, n);
        }

        ok(store_container_insert(s, &c) >= 0, "insert a container");
        is_int(store_container_mounts_insert(s, c.id, mounts, ELEMENTSOF(mounts)), 0, "insert its mounts");
        is_int(store_container_mounts_get(s, c.id, &m, &n), 0, "read them back");
        ok(n == 3 && m[0].type == CONTAINER_MOUNT_VOLUME && streq(m[0].source, "a") && streq(m[0].subpath, "sub") &&
                   m[0].readonly && m[1].type == CONTAINER_MOUNT_BIND && !m[1].subpath &&
                   m[2].type == CONTAINER_MOUNT_TMPFS && !m[2].source && m[2].size == 1 << 20 && m[2].mode == 01777,
           "mounts round-trip in order");
        container_mount_array_free(m, n);
        is_int(store_container_mounts_insert(s, c.id, mounts, 1), -EEXIST, "a second mount list is refused");

        is_int(store_volume_users(s, "a", &users), 0, "users of a");
        ok(strv_length(users) == 1 && streq(users[0], "user"), "the container mounts a");
        users = strv_free(users);
        is_int(store_volume_users(s, "b", &users), 0, "users of b");
        is_int(strv_length(users), 0, "nobody mounts b");

        is_int(store_volume_list(s, NULL, true, &rows, &n), 0, "list unused");
        ok(n == 1 && streq(rows[0].name, "b"), "only b is unused");
        volume_row_array_free(rows, n);

        is_int(store_container_delete(s, c.id), 0, "delete the container");
        is_int(query_int(s->db, "SELECT count(*) FROM container_mounts"), 0, "its mounts went with it");
        is_int(store_volume_get(s, "a", NULL), 0, "the volume stays");
        is_int(store_volume_delete(s, "a"), 0, "delete a");
        is_int(store_volume_delete(s, "a"), -ENOENT, "deleting again is -ENOENT");
}

/* The event log: cursors only grow, also once old events are pruned; attributes round
 * trip; a list is a cursor range, oldest first. */
static void test_events(void) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = path_in_tmp("events.db");
        char *attributes[] = { "exit_code", "7", "error", "a \"quoted\" text", NULL };
        StoredEvent *events = NULL;
        uint64_t cursor = 0, oldest = 99, newest = 99;
        size_t n = 0;
        bool ok_all = true;

        ok(store_open(path, &s) >= 0, "events: open");
        ok(store_event_bounds(s, &oldest, &newest) >= 0 && oldest == 0 && newest == 0, "events: none at first");

        for (unsigned i = 1; i <= 25; i++)
                if (store_event_append(s, 1000 + i, i == 3 ? "died" : "created", i % 2 ? "id-odd" : "id-even",
                                       i % 2 ? "odd" : "even", i == 3 ? attributes : NULL, 10, &cursor) < 0 ||
                    cursor != i)
                        ok_all = false;
        ok(ok_all, "events: cursors count up from 1");
        ok(store_event_bounds(s, &oldest, &newest) >= 0 && oldest == 16 && newest == 25,
           "events: only the last 10 are kept");

        ok(store_event_list(s, 17, 0, 100, &events, &n) >= 0 && n == 8 && events[0].cursor == 18 &&
                   events[7].cursor == 25,
           "events: list after a cursor, oldest first");
        ok(n > 0 && streq(events[0].type, "created") && streq(events[0].container_id, "id-even") &&
                   streq(events[0].container_name, "even") && events[0].time_usec == 1018 && events[0].attributes &&
                   !events[0].attributes[0],
           "events: fields and no attributes read back");
        stored_event_array_free(events, n);

        ok(store_event_list(s, 17, 20, 2, &events, &n) >= 0 && n == 2 && events[1].cursor == 19,
           "events: an upper bound and a limit");
        stored_event_array_free(events, n);

        ok(store_exec(s, "DELETE FROM events") >= 0 && store_event_append(s, 5000, "died", NULL, NULL, attributes, 10,
                                                                          &cursor) >= 0 && cursor == 26,
           "events: a cursor is never reused, also after every event is gone");
        ok(store_event_list(s, 0, 0, 10, &events, &n) >= 0 && n == 1 && !events[0].container_id &&
                   strv_length(events[0].attributes) == 4 && streq(events[0].attributes[0], "error") &&
                   streq(events[0].attributes[1], "a \"quoted\" text") && streq(events[0].attributes[3], "7"),
           "events: attributes round trip (sorted by key)");
        stored_event_array_free(events, n);

        ok(store_event_append(s, 1, "", NULL, NULL, NULL, 0, NULL) == -EINVAL, "events: an empty type is refused");
}

static void make_record(ContainerRecord *c, const char *id, const char *name) {
        static char *empty[] = { NULL };

        *c = (ContainerRecord) {
                .id = (char *) id,
                .name = (char *) name,
                .image = (char *) "minimal",
                .command = empty,
                .state = CONTAINER_PENDING,
                .network = CONTAINER_NETWORK_QUILT,
                .created_usec = 1,
        };
}

/* Address management: lowest free address first, a full pool refused without leaving the
 * container row behind, addresses kept and released with the container. */
static void test_network(void) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = path_in_tmp("net.db");
        const NetworkPool pool = { .first = 0x0a000002, .last = 0x0a000004 }; /* 10.0.0.2-4 */
        char ids[5][40], names[5][8];
        ContainerRecord c;
        uint32_t a = 0;

        is_int(store_open(path, &s), 0, "open a database for the network tests");
        if (!s)
                return;
        is_int(query_int(s->db, "SELECT count(*) FROM pragma_table_info('containers') WHERE name = 'network'"), 1,
               "containers has a network column");

        for (int i = 0; i < 5; i++) {
                snprintf(ids[i], sizeof ids[i], "00000000-0000-4000-8000-00000000010%d", i);
                snprintf(names[i], sizeof names[i], "n%d", i);
        }

        for (int i = 0; i < 3; i++) {
                make_record(&c, ids[i], names[i]);
                is_int(store_container_insert_with_address(s, &c, &pool, "vqx", &a), 0, "insert with an address");
                is_int(a, pool.first + (uint32_t) i, "addresses are handed out lowest first");
        }

        make_record(&c, ids[3], names[3]);
        is_int(store_container_insert_with_address(s, &c, &pool, "vqx", &a), -ENOSPC, "a full pool is -ENOSPC");
        is_int(query_int(s->db, "SELECT count(*) FROM containers WHERE name = 'n3'"), 0,
               "a full pool leaves no container row");

        make_record(&c, ids[4], names[0]);
        is_int(store_container_insert_with_address(s, &c, &pool, "vqx", &a), -EEXIST, "a taken name is -EEXIST");
        is_int(query_int(s->db, "SELECT count(*) FROM network_allocations"), 3,
               "a taken name allocates nothing");

        is_int(raw_exec(path, "INSERT INTO network_allocations (container_id, address, veth_host, allocated_at)"
                              " VALUES ('00000000-0000-4000-8000-000000000100', 167772165, 'vqy', 1)"),
               SQLITE_CONSTRAINT_PRIMARYKEY, "one allocation per container");
        is_int(raw_exec(path, "UPDATE network_allocations SET address = 167772162"
                              " WHERE container_id = '00000000-0000-4000-8000-000000000101'"),
               SQLITE_CONSTRAINT_UNIQUE, "an address is allocated once");

        /* Removing the container in the middle frees its address for the next one. */
        is_int(store_container_delete(s, ids[1]), 0, "delete a container");
        is_int(query_int(s->db, "SELECT count(*) FROM network_allocations"), 2, "its allocation went with it");
        make_record(&c, ids[3], names[3]);
        is_int(store_container_insert_with_address(s, &c, &pool, "vqx", &a), 0, "insert after a removal");
        is_int(a, pool.first + 1, "the freed address is reused");

        /* ensure: a kept address stays; one outside the pool is replaced */
        is_int(store_network_ensure(s, ids[0], &pool, "vqx", &a), 0, "ensure an existing address");
        is_int(a, pool.first, "ensure keeps the address");
        {
                const NetworkPool other = { .first = 0x0b000002, .last = 0x0b000003 };
                NetworkAllocation n = {};

                is_int(store_network_ensure(s, ids[0], &other, "vqx", &a), 0, "ensure in another pool");
                is_int(a, other.first, "ensure moves the container into the new pool");
                is_int(store_network_set_setup_completed(s, ids[0], true), 0, "set setup_completed");
                is_int(store_network_get(s, ids[0], &n), 0, "store_network_get");
                is_int(n.address, other.first, "the new address is stored");
                ok(n.setup_completed, "setup_completed is stored");
                is_str(n.container_name, "n0", "the container's name is joined");
                is_int(n.container_state, CONTAINER_PENDING, "the container's state is joined");
                network_allocation_done(&n);
        }
        is_int(store_network_ensure(s, "no-such-id", &pool, "vqx", &a), -ENOENT, "ensure for an unknown container");
        {
                NetworkAllocation *l = NULL;
                size_t n = 0;

                is_int(store_network_list(s, &l, &n), 0, "store_network_list");
                is_int(n, 3, "three allocations");
                ok(n == 3 && l[0].address < l[1].address && l[1].address < l[2].address, "ordered by address");
                network_allocation_array_free(l, n);
        }
        is_int(store_network_release(s, ids[0]), 0, "release");
        is_int(store_network_release(s, ids[0]), -ENOENT, "release twice is -ENOENT");
}

int main(void) {
        _cleanup_free_ char *path = NULL;

        /* The store must make its file 0600 by itself, whatever the umask. */
        umask(0);

        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 1;
        }
        path = path_in_tmp("quilt.db");

        test_create(path);
        test_counts_and_constraints(path);
        test_reopen(path);
        test_newer_database();
        test_not_a_database();
        test_foreign_database();
        test_migration_is_atomic();
        test_bad_paths();
        test_volumes();
        test_events();
        test_network();

        remove_tmpdir();
        return tap_finish();
}
