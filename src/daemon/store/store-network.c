/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>

#include "store-internal.h"
#include "store-network.h"
#include "time-util.h"

void network_allocation_done(NetworkAllocation *a) {
        if (!a)
                return;
        free(a->container_id);
        free(a->container_name);
        free(a->veth_host);
        *a = (NetworkAllocation) {};
}

void network_allocation_array_free(NetworkAllocation *a, size_t n) {
        for (size_t i = 0; i < n; i++)
                network_allocation_done(a + i);
        free(a);
}

/* The lowest address of the pool that no row holds: the pool's first address if free,
 * else the first one after an allocated address that is itself free. The UNIQUE index on
 * address makes both lookups cheap. */
static int find_free_address(Store *s, const NetworkPool *pool, uint32_t *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        int r;

        r = store_prepare_bind(s, &stmt,
                               "SELECT min(candidate) FROM (\n"
                               "        SELECT ?1 AS candidate\n"
                               "        UNION ALL\n"
                               "        SELECT address + 1 FROM network_allocations\n"
                               "                WHERE address BETWEEN ?1 AND ?2 - 1)\n"
                               "WHERE NOT EXISTS (SELECT 1 FROM network_allocations WHERE address = candidate)",
                               "ii", (int64_t) pool->first, (int64_t) pool->last);
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r < 0)
                return r;
        if (r == 0 || store_column_is_null(stmt, 0))
                return -ENOSPC;
        *ret = (uint32_t) sqlite3_column_int64(stmt, 0);
        return 0;
}

int store_network_allocate(Store *s, const char *container_id, const NetworkPool *pool, const char *veth_host,
                           uint32_t *ret_address) {
        uint32_t address;
        int r;

        r = find_free_address(s, pool, &address);
        if (r < 0)
                return r;
        r = store_exec_bind(s,
                            "INSERT INTO network_allocations (container_id, address, veth_host, allocated_at)\n"
                            "VALUES (?1, ?2, ?3, ?4)\n"
                            "ON CONFLICT (container_id) DO UPDATE SET address = excluded.address,\n"
                            "        veth_host = excluded.veth_host, setup_completed = 0,\n"
                            "        allocated_at = excluded.allocated_at",
                            "titi", container_id, (int64_t) address, veth_host,
                            (int64_t) now_usec(CLOCK_REALTIME));
        if (r < 0)
                return r;
        *ret_address = address;
        return 0;
}

int store_container_insert_with_address(Store *s, const ContainerRecord *c, const NetworkPool *pool,
                                        const char *veth_host, uint32_t *ret_address) {
        _cleanup_(store_rollbackp) Store *tx = NULL;
        uint32_t address;
        int r;

        assert(s);
        assert(c);
        assert(pool);

        r = store_begin(s);
        if (r < 0)
                return r;
        tx = s;

        r = store_container_insert(s, c);
        if (r < 0)
                return r;
        r = store_network_allocate(s, c->id, pool, veth_host, &address);
        if (r < 0)
                return r;

        r = store_commit(TAKE_PTR(tx));
        if (r < 0)
                return r;
        *ret_address = address;
        return 0;
}

static int read_allocation(sqlite3_stmt *stmt, NetworkAllocation *ret) {
        _cleanup_(network_allocation_done) NetworkAllocation a = {};
        _cleanup_free_ char *state = NULL;
        int r;

        if ((r = store_column_strdup(stmt, 0, &a.container_id)) < 0 ||
            (r = store_column_strdup(stmt, 1, &a.container_name)) < 0 ||
            (r = store_column_strdup(stmt, 2, &state)) < 0 || (r = store_column_strdup(stmt, 4, &a.veth_host)) < 0)
                return r;
        a.container_state = container_state_from_string(state);
        if (a.container_state < 0)
                return -EBADMSG;
        a.address = (uint32_t) sqlite3_column_int64(stmt, 3);
        a.setup_completed = sqlite3_column_int(stmt, 5);
        a.allocated_usec = (uint64_t) sqlite3_column_int64(stmt, 6);

        *ret = a;
        a = (NetworkAllocation) {};
        return 0;
}

#define ALLOCATION_SELECT                                                                           \
        "SELECT a.container_id, c.name, c.state, a.address, a.veth_host, a.setup_completed, "       \
        "a.allocated_at FROM network_allocations a JOIN containers c ON c.id = a.container_id "

int store_network_get(Store *s, const char *container_id, NetworkAllocation *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        int r;

        r = store_prepare_bind(s, &stmt, ALLOCATION_SELECT "WHERE a.container_id = ?1", "t", container_id);
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        return read_allocation(stmt, ret);
}

int store_network_ensure(Store *s, const char *container_id, const NetworkPool *pool, const char *veth_host,
                         uint32_t *ret_address) {
        _cleanup_(network_allocation_done) NetworkAllocation a = {};
        _cleanup_(store_rollbackp) Store *tx = NULL;
        uint32_t address;
        int r;

        r = store_begin(s);
        if (r < 0)
                return r;
        tx = s;

        r = store_network_get(s, container_id, &a);
        if (r >= 0 && a.address >= pool->first && a.address <= pool->last) {
                if (!streq(a.veth_host, veth_host)) {
                        r = store_exec_bind(s, "UPDATE network_allocations SET veth_host = ?2 WHERE container_id = ?1",
                                            "tt", container_id, veth_host);
                        if (r < 0)
                                return r;
                        r = store_commit(TAKE_PTR(tx));
                        if (r < 0)
                                return r;
                }
                *ret_address = a.address;
                return 0; /* otherwise rolled back: nothing was written */
        }
        if (r < 0 && r != -ENOENT)
                return r;
        if (r == -ENOENT) {
                /* The container row must exist; the foreign key would say so too, as EINVAL. */
                _cleanup_(container_record_done) ContainerRecord c = {};

                r = store_container_get(s, container_id, &c);
                if (r < 0)
                        return r;
        }

        r = store_network_allocate(s, container_id, pool, veth_host, &address);
        if (r < 0)
                return r;
        r = store_commit(TAKE_PTR(tx));
        if (r < 0)
                return r;
        *ret_address = address;
        return 0;
}

int store_network_list(Store *s, NetworkAllocation **ret, size_t *ret_n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *stmt = NULL;
        NetworkAllocation *a = NULL;
        size_t n = 0;
        int r;

        r = store_prepare(s, &stmt, ALLOCATION_SELECT "ORDER BY a.address");
        if (r < 0)
                return r;
        while ((r = store_step(s, stmt)) > 0) {
                NetworkAllocation *b = realloc(a, (n + 1) * sizeof *a);

                if (!b) {
                        r = -ENOMEM;
                        break;
                }
                a = b;
                r = read_allocation(stmt, a + n);
                if (r < 0)
                        break;
                n++;
        }
        if (r < 0) {
                network_allocation_array_free(a, n);
                return r;
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

int store_network_set_setup_completed(Store *s, const char *container_id, bool completed) {
        return store_one_row(store_exec_bind(s, "UPDATE network_allocations SET setup_completed = ?2 WHERE container_id = ?1",
                                       "tb", container_id, completed));
}

int store_network_release(Store *s, const char *container_id) {
        return store_one_row(store_exec_bind(s, "DELETE FROM network_allocations WHERE container_id = ?1", "t", container_id));
}
