/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <string.h>

#include "store-containers.h"
#include "store-internal.h"

static const char *const state_names[_CONTAINER_STATE_MAX] = {
        [CONTAINER_PENDING] = "pending",
        [CONTAINER_RUNNING] = "running",
        [CONTAINER_EXITED] = "exited",
        [CONTAINER_FAILED] = "failed",
};

const char *container_state_to_string(ContainerState s) {
        if (s < 0 || s >= _CONTAINER_STATE_MAX)
                return NULL;
        return state_names[s];
}

ContainerState container_state_from_string(const char *s) {
        for (ContainerState i = 0; i < _CONTAINER_STATE_MAX; i++)
                if (s && streq(s, state_names[i]))
                        return i;
        return _CONTAINER_STATE_INVALID;
}

static const char *const network_names[_CONTAINER_NETWORK_MAX] = {
        [CONTAINER_NETWORK_QUILT] = "quilt",
        [CONTAINER_NETWORK_NONE] = "none",
        [CONTAINER_NETWORK_HOST] = "host",
};

const char *container_network_to_string(ContainerNetwork n) {
        if (n < 0 || n >= _CONTAINER_NETWORK_MAX)
                return NULL;
        return network_names[n];
}

ContainerNetwork container_network_from_string(const char *s) {
        for (ContainerNetwork i = 0; i < _CONTAINER_NETWORK_MAX; i++)
                if (s && streq(s, network_names[i]))
                        return i;
        return _CONTAINER_NETWORK_INVALID;
}

void container_record_done(ContainerRecord *c) {
        if (!c)
                return;
        free(c->id);
        free(c->name);
        free(c->image);
        free(c->image_rootfs);
        strv_free(c->command);
        strv_free(c->environment);
        strv_free(c->labels);
        free(c->working_directory);
        free(c->user);
        strv_free(c->host_namespaces);
        free(c->error_message);
        free(c->rootfs_path);
        *c = (ContainerRecord) {};
}

void container_record_array_free(ContainerRecord *a, size_t n) {
        for (size_t i = 0; i < n; i++)
                container_record_done(a + i);
        free(a);
}

int store_container_insert(Store *s, const ContainerRecord *c) {
        _cleanup_free_ char *command = NULL, *env = NULL, *labels = NULL, *ns = NULL;

        assert(s);
        assert(c);

        command = store_json_array(c->command);
        env = store_json_env(c->environment);
        labels = store_json_pairs(c->labels);
        ns = store_json_array(c->host_namespaces);
        if (!command || !env || !labels || !ns)
                return -ENOMEM;

        return store_exec_bind(
                s,
                "INSERT INTO containers (id, name, image, image_rootfs, command, environment, labels,\n"
                "        working_directory, user, namespaces, state, memory_limit_bytes, cpu_quota_percent,\n"
                "        pids_limit, async_mode, ephemeral, rootfs_path, created_at, network, log_driver)\n"
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
                "tttttttttttidibbtitt", c->id, c->name, c->image, c->image_rootfs, command, env, labels,
                c->working_directory, c->user, ns, container_state_to_string(c->state),
                (int64_t) c->memory_limit_bytes, c->cpu_quota_percent, (int64_t) c->pids_limit, c->async_mode,
                c->ephemeral, c->rootfs_path, (int64_t) c->created_usec, container_network_to_string(c->network),
                container_log_driver_to_string(c->log_driver) ?: "file");
}

#define CONTAINER_COLUMNS                                                                          \
        "id, name, image, image_rootfs, command, environment, labels, working_directory, user, "  \
        "namespaces, state, exit_code, exit_signal, oom_killed, error_message, pid, monitor_pid, " \
        "monitor_start_time, memory_limit_bytes, cpu_quota_percent, pids_limit, async_mode, "      \
        "ephemeral, rootfs_path, created_at, started_at, exited_at, network, log_driver"

static int read_record(sqlite3_stmt *stmt, ContainerRecord *ret) {
        _cleanup_(container_record_done) ContainerRecord c = {};
        _cleanup_free_ char *state = NULL, *network = NULL, *log_driver = NULL;
        int r;

        if ((r = store_column_strdup(stmt, 0, &c.id)) < 0 || (r = store_column_strdup(stmt, 1, &c.name)) < 0 ||
            (r = store_column_strdup(stmt, 2, &c.image)) < 0 ||
            (r = store_column_strdup(stmt, 3, &c.image_rootfs)) < 0 ||
            (r = store_column_strv(stmt, 4, STORE_JSON_ARRAY, &c.command)) < 0 ||
            (r = store_column_strv(stmt, 5, STORE_JSON_ENV, &c.environment)) < 0 ||
            (r = store_column_strv(stmt, 6, STORE_JSON_PAIRS, &c.labels)) < 0 ||
            (r = store_column_strdup(stmt, 7, &c.working_directory)) < 0 ||
            (r = store_column_strdup(stmt, 8, &c.user)) < 0 ||
            (r = store_column_strv(stmt, 9, STORE_JSON_ARRAY, &c.host_namespaces)) < 0 ||
            (r = store_column_strdup(stmt, 10, &state)) < 0 ||
            (r = store_column_strdup(stmt, 14, &c.error_message)) < 0 ||
            (r = store_column_strdup(stmt, 23, &c.rootfs_path)) < 0 ||
            (r = store_column_strdup(stmt, 27, &network)) < 0 ||
            (r = store_column_strdup(stmt, 28, &log_driver)) < 0)
                return r;

        c.log_driver = log_driver ? container_log_driver_from_string(log_driver) : CONTAINER_LOG_FILE;
        if (c.log_driver < 0)
                return -EBADMSG;

        c.state = container_state_from_string(state);
        if (c.state < 0)
                return -EBADMSG;
        c.network = container_network_from_string(network);
        if (c.network < 0)
                return -EBADMSG;
        c.exit_code = sqlite3_column_int(stmt, 11);
        c.exit_signal = sqlite3_column_int(stmt, 12);
        c.oom_killed = sqlite3_column_int(stmt, 13);
        c.pid = sqlite3_column_int(stmt, 15);
        c.monitor_pid = sqlite3_column_int(stmt, 16);
        c.monitor_start_time = (uint64_t) sqlite3_column_int64(stmt, 17);
        c.memory_limit_bytes = (uint64_t) sqlite3_column_int64(stmt, 18);
        c.cpu_quota_percent = sqlite3_column_double(stmt, 19);
        c.pids_limit = sqlite3_column_int64(stmt, 20);
        c.async_mode = sqlite3_column_int(stmt, 21);
        c.ephemeral = sqlite3_column_int(stmt, 22);
        c.created_usec = (uint64_t) sqlite3_column_int64(stmt, 24);
        c.started_usec = (uint64_t) sqlite3_column_int64(stmt, 25);
        c.exited_usec = (uint64_t) sqlite3_column_int64(stmt, 26);

        *ret = c;
        c = (ContainerRecord) {};
        return 0;
}

int store_container_get(Store *s, const char *id, ContainerRecord *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        int r;

        r = store_prepare_bind(s, &stmt, "SELECT " CONTAINER_COLUMNS " FROM containers WHERE id = ?1", "t", id);
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        return read_record(stmt, ret);
}

static int select_one_id(Store *s, const char *sql, const char *arg, char **ret_id) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        _cleanup_free_ char *id = NULL;
        int r;

        r = store_prepare_bind(s, &stmt, sql, "t", arg);
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        r = store_column_strdup(stmt, 0, &id);
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r < 0)
                return r;
        if (r > 0)
                return -ENOTUNIQ;
        *ret_id = TAKE_PTR(id);
        return 0;
}

int store_container_resolve(Store *s, const char *ref, char **ret_id) {
        int r;

        assert(s);
        assert(ret_id);

        if (isempty(ref))
                return -ENOENT;

        r = select_one_id(s, "SELECT id FROM containers WHERE id = ?1", ref, ret_id);
        if (r != -ENOENT)
                return r;
        r = select_one_id(s, "SELECT id FROM containers WHERE name = ?1", ref, ret_id);
        if (r != -ENOENT)
                return r;
        /* A prefix: ids are lowercase hex and dashes, so the LIKE wildcards cannot appear in
         * a real one; refuse them rather than escape them. */
        if (strpbrk(ref, "%_\\"))
                return -ENOENT;
        return select_one_id(s, "SELECT id FROM containers WHERE id LIKE ?1 || '%' LIMIT 2", ref, ret_id);
}

int store_container_list(Store *s, ContainerState state, ContainerRecord **ret, size_t *ret_n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        ContainerRecord *a = NULL;
        size_t n = 0;
        int r;

        if (state >= 0)
                r = store_prepare_bind(s, &stmt,
                                       "SELECT " CONTAINER_COLUMNS " FROM containers WHERE state = ?1 "
                                       "ORDER BY created_at, id",
                                       "t", container_state_to_string(state));
        else
                r = store_prepare(s, &stmt, "SELECT " CONTAINER_COLUMNS " FROM containers ORDER BY created_at, id");
        if (r < 0)
                return r;

        while ((r = store_step(s, stmt)) > 0) {
                ContainerRecord *b = realloc(a, (n + 1) * sizeof *a);
                if (!b) {
                        r = -ENOMEM;
                        break;
                }
                a = b;
                r = read_record(stmt, a + n);
                if (r < 0)
                        break;
                n++;
        }
        if (r < 0) {
                container_record_array_free(a, n);
                return r;
        }

        *ret = a;
        *ret_n = n;
        return 0;
}

int store_container_delete(Store *s, const char *id) {
        return store_one_row(store_exec_bind(s, "DELETE FROM containers WHERE id = ?1", "t", id));
}

int store_container_set_pending(Store *s, const char *id) {
        return store_one_row(store_exec_bind(s,
                                       "UPDATE containers SET state = 'pending', exit_code = NULL,\n"
                                       "        exit_signal = NULL, oom_killed = 0, error_message = NULL,\n"
                                       "        pid = NULL, monitor_pid = NULL, monitor_start_time = NULL,\n"
                                       "        exited_at = NULL\n"
                                       "WHERE id = ?1",
                                       "t", id));
}

int store_container_set_monitor(Store *s, const char *id, pid_t monitor_pid, uint64_t monitor_start_time) {
        return store_one_row(store_exec_bind(s, "UPDATE containers SET monitor_pid = ?2, monitor_start_time = ?3 WHERE id = ?1",
                                       "tii", id, (int64_t) monitor_pid, (int64_t) monitor_start_time));
}

int store_container_set_running(Store *s, const char *id, pid_t pid, uint64_t started_usec) {
        return store_one_row(store_exec_bind(s,
                                       "UPDATE containers SET state = 'running', pid = ?2, started_at = ?3\n"
                                       "WHERE id = ?1",
                                       "tii", id, (int64_t) pid, (int64_t) started_usec));
}

int store_container_set_exited(Store *s, const char *id, ContainerState state, int exit_code, int exit_signal,
                               bool oom_killed, const char *error_message, uint64_t exited_usec) {
        assert(state == CONTAINER_EXITED || state == CONTAINER_FAILED);

        return store_one_row(store_exec_bind(s,
                                       "UPDATE containers SET state = ?2, exit_code = ?3, exit_signal = ?4,\n"
                                       "        oom_killed = ?5, error_message = ?6, exited_at = ?7, pid = NULL,\n"
                                       "        monitor_pid = NULL, monitor_start_time = NULL\n"
                                       "WHERE id = ?1",
                                       "ttiibti", id, container_state_to_string(state), (int64_t) exit_code,
                                       (int64_t) exit_signal, oom_killed, error_message, (int64_t) exited_usec));
}
