/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>

#include "log.h"
#include "store-internal.h"

/* The schema, as the ordered list of scripts that build it. Script i takes the database
 * from user_version i to i + 1. Never edit a script that has shipped: append a new one.
 * Each runs in its own transaction together with the user_version update, so a database is
 * always at exactly one version. PRAGMA foreign_keys cannot change inside a transaction:
 * a future migration that rebuilds a referenced table must check foreign keys itself
 * (PRAGMA foreign_key_check) rather than switch them off. */
static const char *const migrations[] = {
        /* 1: containers.
         * command is a JSON array of argv strings and is never joined into one string;
         * environment and labels are JSON objects. Times are µs since the epoch. Booleans
         * are 0/1. The CHECKs are the last line of defence against a bug writing a value
         * that the rest of quiltd cannot read back; validation with good error messages
         * happens before anything reaches the database. */
        "CREATE TABLE containers (\n"
        "        id                 TEXT PRIMARY KEY NOT NULL,\n"
        "        name               TEXT NOT NULL UNIQUE CHECK (name <> ''),\n"
        "        image              TEXT NOT NULL,\n"
        "        command            TEXT NOT NULL\n"
        "                CHECK (CASE WHEN json_valid(command)\n"
        "                       THEN json_type(command) = 'array' ELSE 0 END),\n"
        "        environment        TEXT NOT NULL DEFAULT '{}'\n"
        "                CHECK (CASE WHEN json_valid(environment)\n"
        "                       THEN json_type(environment) = 'object' ELSE 0 END),\n"
        "        working_directory  TEXT,\n"
        "        labels             TEXT NOT NULL DEFAULT '{}'\n"
        "                CHECK (CASE WHEN json_valid(labels)\n"
        "                       THEN json_type(labels) = 'object' ELSE 0 END),\n"
        "        state              TEXT NOT NULL\n"
        "                CHECK (state IN ('pending', 'running', 'exited', 'failed')),\n"
        "        exit_code          INTEGER,\n"
        "        exit_signal        INTEGER,\n"
        "        oom_killed         INTEGER NOT NULL DEFAULT 0 CHECK (oom_killed IN (0, 1)),\n"
        "        error_message      TEXT,\n"
        "        pid                INTEGER,\n"
        "        memory_limit_bytes INTEGER,\n"
        "        cpu_quota_percent  REAL,\n"
        "        pids_limit         INTEGER,\n"
        "        namespaces         TEXT,\n"
        "        async_mode         INTEGER NOT NULL DEFAULT 0 CHECK (async_mode IN (0, 1)),\n"
        "        ephemeral          INTEGER NOT NULL DEFAULT 0 CHECK (ephemeral IN (0, 1)),\n"
        "        rootfs_path        TEXT,\n"
        "        created_at         INTEGER NOT NULL,\n"
        "        started_at         INTEGER,\n"
        "        exited_at          INTEGER\n"
        ");\n"
        "CREATE INDEX containers_state ON containers (state);\n",

        /* 2: the container runtime.
         * images: what image-store.c has unpacked. containers gains what a running
         * container needs to be found again after quiltd restarts (the monitor's pid and
         * its start time in clock ticks since boot, which tells a reused pid apart), the
         * user, and the resolved lower layer. namespaces (from 1) holds the JSON array of
         * namespaces shared with the host. */
        "CREATE TABLE images (\n"
        "        name        TEXT PRIMARY KEY NOT NULL CHECK (name <> ''),\n"
        "        source      TEXT NOT NULL,\n"
        "        rootfs_path TEXT NOT NULL,\n"
        "        size_bytes  INTEGER NOT NULL DEFAULT 0,\n"
        "        builtin     INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),\n"
        "        source_mtime INTEGER,\n"
        "        source_size INTEGER,\n"
        "        created_at  INTEGER NOT NULL\n"
        ");\n"
        "ALTER TABLE containers ADD COLUMN user TEXT;\n"
        "ALTER TABLE containers ADD COLUMN image_rootfs TEXT;\n"
        "ALTER TABLE containers ADD COLUMN monitor_pid INTEGER;\n"
        "ALTER TABLE containers ADD COLUMN monitor_start_time INTEGER;\n"
        "CREATE INDEX containers_image ON containers (image);\n",

        /* 3: the event log behind StreamEvents (store-events.c, events.c).
         * cursor is AUTOINCREMENT so that it is never reused, also after pruning; time is µs
         * since the epoch; attributes is a JSON object of strings. Container ids are not
         * foreign keys: events outlive the containers they tell of. */
        "CREATE TABLE events (\n"
        "        cursor         INTEGER PRIMARY KEY AUTOINCREMENT,\n"
        "        time           INTEGER NOT NULL,\n"
        "        type           TEXT NOT NULL CHECK (type <> ''),\n"
        "        container_id   TEXT,\n"
        "        container_name TEXT,\n"
        "        attributes     TEXT NOT NULL DEFAULT '{}'\n"
        "                CHECK (CASE WHEN json_valid(attributes)\n"
        "                       THEN json_type(attributes) = 'object' ELSE 0 END)\n"
        ");\n",

        /* 4: container networking.
         * containers.network is how the container is networked: 'quilt' (a veth on the
         * bridge, an address from the pool), 'none' (its own namespace with loopback only;
         * what every container before this version had, unless it shared the host's
         * namespace, which is 'host'). network_allocations is the address management: one
         * row per container on the bridge, created in the same transaction as the container
         * (or when an older container first starts with a network), kept while it is
         * stopped so that it gets the same address again, and removed with it (cascade).
         * address is the IPv4 address as an integer in host byte order; UNIQUE is what
         * makes two allocations of one address impossible, whatever the caller does.
         * setup_completed: the veth and the address are in place (the container runs). */
        "ALTER TABLE containers ADD COLUMN network TEXT NOT NULL DEFAULT 'none'\n"
        "        CHECK (network IN ('quilt', 'none', 'host'));\n"
        "UPDATE containers SET network = 'host'\n"
        "        WHERE json_valid(namespaces) AND EXISTS\n"
        "              (SELECT 1 FROM json_each(containers.namespaces) WHERE value = 'network');\n"
        "CREATE TABLE network_allocations (\n"
        "        container_id    TEXT PRIMARY KEY NOT NULL\n"
        "                REFERENCES containers (id) ON DELETE CASCADE,\n"
        "        address         INTEGER NOT NULL UNIQUE CHECK (address > 0 AND address < 4294967296),\n"
        "        veth_host       TEXT NOT NULL CHECK (veth_host <> ''),\n"
        "        setup_completed INTEGER NOT NULL DEFAULT 0 CHECK (setup_completed IN (0, 1)),\n"
        "        allocated_at    INTEGER NOT NULL\n"
        ");\n",

        /* 5: volumes and the mounts of containers.
         * volumes: named volumes (driver "local": a directory under the state directory's
         * volumes/). labels and options are JSON objects. container_mounts: what each
         * container mounts, in the order init applies them; rows go with their container.
         * source is the canonical host path (bind) or the volume's name (volume): not a
         * foreign key, because a volume removed with force stays named by the containers
         * that used it (and is created again when one of them starts). */
        "CREATE TABLE volumes (\n"
        "        name       TEXT PRIMARY KEY NOT NULL CHECK (name <> ''),\n"
        "        driver     TEXT NOT NULL DEFAULT 'local',\n"
        "        labels     TEXT NOT NULL DEFAULT '{}'\n"
        "                CHECK (CASE WHEN json_valid(labels)\n"
        "                       THEN json_type(labels) = 'object' ELSE 0 END),\n"
        "        options    TEXT NOT NULL DEFAULT '{}'\n"
        "                CHECK (CASE WHEN json_valid(options)\n"
        "                       THEN json_type(options) = 'object' ELSE 0 END),\n"
        "        created_at INTEGER NOT NULL\n"
        ");\n"
        "CREATE TABLE container_mounts (\n"
        "        container_id TEXT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,\n"
        "        position     INTEGER NOT NULL,\n"
        "        type         TEXT NOT NULL CHECK (type IN ('bind', 'volume', 'tmpfs')),\n"
        "        source       TEXT CHECK ((type = 'tmpfs') = (source IS NULL)),\n"
        "        subpath      TEXT,\n"
        "        target       TEXT NOT NULL CHECK (substr(target, 1, 1) = '/'),\n"
        "        readonly     INTEGER NOT NULL DEFAULT 0 CHECK (readonly IN (0, 1)),\n"
        "        exec         INTEGER NOT NULL DEFAULT 0 CHECK (exec IN (0, 1)),\n"
        "        size_bytes   INTEGER,\n"
        "        mode         INTEGER,\n"
        "        PRIMARY KEY (container_id, position),\n"
        "        UNIQUE (container_id, target)\n"
        ");\n"
        "CREATE INDEX container_mounts_volume ON container_mounts (source) WHERE type = 'volume';\n",

        /* logs: the log driver a container was created with ('file' or 'journal'), so that
         * its output is read back from where it went even after Logs.Driver= changed.
         * NULL (containers from before) is 'file'. */
        "ALTER TABLE containers ADD COLUMN log_driver TEXT\n"
        "        CHECK (log_driver IS NULL OR log_driver IN ('file', 'journal'));\n",
};

int store_schema_version_latest(void) {
        return (int) ELEMENTSOF(migrations);
}

int store_migrate_scripts(Store *s, const char *const *scripts, size_t n) {
        int version, r;

        assert(s);
        assert(scripts || n == 0);

        /* Look before taking the write lock: reopening an up-to-date database writes nothing. */
        version = store_read_user_version(s);
        if (version < 0)
                return log_error_errno(version, "Failed to read the schema version of %s: %s", s->path,
                                       store_errmsg(s));
        if ((size_t) version > n)
                return log_error_errno(EPROTO,
                                       "%s has schema version %d, newer than the %zu this quiltd knows.",
                                       s->path, version, n);

        while ((size_t) version < n) {
                _cleanup_(store_rollbackp) Store *tx = NULL;
                char sql[128];

                r = store_begin(s);
                if (r < 0)
                        return log_error_errno(r, "Failed to begin migrating %s: %s", s->path,
                                               store_errmsg(s));
                tx = s;

                /* Again under the write lock: another process may have migrated meanwhile. */
                version = store_read_user_version(s);
                if (version < 0)
                        return log_error_errno(version, "Failed to read the schema version of %s: %s",
                                               s->path, store_errmsg(s));
                if ((size_t) version > n)
                        return log_error_errno(
                                EPROTO, "%s has schema version %d, newer than the %zu this quiltd knows.",
                                s->path, version, n);
                if ((size_t) version == n)
                        break;

                r = store_exec(s, scripts[version]);
                if (r < 0)
                        return log_error_errno(r, "Failed to migrate %s to schema version %d: %s", s->path,
                                               version + 1, store_errmsg(s));

                /* PRAGMAs take no bound parameters; these are our own integers, not input. */
                (void) snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; PRAGMA application_id = %d",
                                version + 1, (int) STORE_APPLICATION_ID);
                r = store_exec(s, sql);
                if (r < 0)
                        return log_error_errno(r, "Failed to set schema version of %s to %d: %s", s->path,
                                               version + 1, store_errmsg(s));

                r = store_commit(TAKE_PTR(tx));
                if (r < 0)
                        return log_error_errno(r,
                                               "Failed to commit migration of %s to schema version %d: %s",
                                               s->path, version + 1, store_errmsg(s));

                version++;
                log_debug("Migrated %s to schema version %d.", s->path, version);
        }

        return 0;
}

int store_migrate(Store *s) {
        return store_migrate_scripts(s, migrations, ELEMENTSOF(migrations));
}
