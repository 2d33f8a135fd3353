/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Address management for the container network (network_allocations): which container
 * has which address of the pool. An address is allocated when a container that uses the
 * bridge is created, in the same transaction as its row, so a create that fails leaves
 * neither; it stays while the container is stopped (a restarted container keeps its
 * address, also across quiltd restarts) and goes with the container's row. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "store-containers.h"

typedef struct NetworkAllocation {
        char *container_id;
        char *container_name;          /* joined from containers */
        ContainerState container_state; /* joined from containers */
        uint32_t address;              /* host byte order */
        char *veth_host;
        bool setup_completed;
        uint64_t allocated_usec;
} NetworkAllocation;

void network_allocation_done(NetworkAllocation *a);
void network_allocation_array_free(NetworkAllocation *a, size_t n);

/* The range addresses are taken from, inclusive, in host byte order. */
typedef struct NetworkPool {
        uint32_t first;
        uint32_t last;
} NetworkPool;

/* Allocates the lowest free address of pool to the container, inside the caller's open
 * transaction (store_begin()), so that a container row and its address are written
 * together with whatever else belongs to the creation. -ENOSPC when the pool is full. */
int store_network_allocate(Store *s, const char *container_id, const NetworkPool *pool, const char *veth_host,
                           uint32_t *ret_address);

/* Inserts the container's row and allocates the lowest free address of pool to it, in one
 * transaction. -EEXIST when the id or name is taken, -ENOSPC when every address of the
 * pool is allocated; nothing is written then. */
int store_container_insert_with_address(Store *s, const ContainerRecord *c, const NetworkPool *pool,
                                        const char *veth_host, uint32_t *ret_address);

/* The container's address: the one it has if that lies in pool, else a new one (the
 * configured subnet changed, or the container was created before it had a network).
 * -ENOSPC when there is none left, -ENOENT for an unknown container. */
int store_network_ensure(Store *s, const char *container_id, const NetworkPool *pool, const char *veth_host,
                         uint32_t *ret_address);

/* -ENOENT if the container has no address. */
int store_network_get(Store *s, const char *container_id, NetworkAllocation *ret);
/* Every allocation, ordered by address. */
int store_network_list(Store *s, NetworkAllocation **ret, size_t *ret_n);
int store_network_set_setup_completed(Store *s, const char *container_id, bool completed);
/* Releases the address (-ENOENT when there was none). Removing the container does this too. */
int store_network_release(Store *s, const char *container_id);
