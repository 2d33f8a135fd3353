/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The container network: a bridge (quiltd.conf [Network] Bridge=, default quilt0) with the
 * gateway address of Subnet= (default 10.42.0.0/16, gateway 10.42.0.1), one veth pair per
 * running container that uses it (host side "vq<12 hex digits of the id>" on the bridge,
 * the other side eth0 in the container with its address and a default route via the
 * gateway), Quilt's nftables table (net-nft.h), and addresses from the database
 * (store-network.h).
 *
 * Lifetimes:
 *   address            allocated with the container's row, kept while it is stopped,
 *                      released with the row
 *   veth pair          while the container runs (created from "init <pid>", deleted when
 *                      it stops; the kernel also deletes it with the namespace)
 *   firewall rules     while at least one container uses the network (an empty table is
 *                      left behind when the last one stops)
 *   bridge, table      until network_prune() (quilt system prune --network), which never
 *                      runs while a container uses them
 *
 * The blocking work runs on the network worker thread (net-worker.h); everything declared
 * here is for the event loop. */

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "container-spec.h"
#include "ip-util.h"
#include "macro.h"
#include "store-network.h"

typedef struct Manager Manager;
typedef struct Network Network;

#define NETWORK_DNS_DOMAIN "quilt.local"
#define NETWORK_CONTAINER_IFNAME "eth0"
#define NETWORK_VETH_PREFIX "vq"

/* error: 0, or a negative errno with a message for the user. */
typedef void (*NetworkCallback)(int error, const char *message, const char *container_id, void *userdata);
/* removed: what was removed, as "bridge quilt0", "nftables table ip quilt", ... */
typedef void (*NetworkPruneCallback)(int error, const char *message, char **removed, void *userdata);

int network_new(Manager *m, Network **ret);
/* Leaves the bridge, the veths and the rules in place: containers keep their network. */
Network *network_free(Network *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(Network *, network_free);

const char *network_bridge(Network *n);
const Ipv4Subnet *network_subnet(Network *n);
uint32_t network_gateway(Network *n);
const NetworkPool *network_pool(Network *n);
/* "the address pool 10.42.0.0/29 is exhausted: all 5 addresses are in use ..." */
char *network_pool_exhausted_message(Network *n);

/* The host side's name: "vq" and the first 12 hex digits of the id. */
void network_veth_name(const char *id, char ret[static IFNAMSIZ]);

/* Allocates the container's address from the pool when it uses the bridge (nothing
 * otherwise), inside the caller's transaction that inserts its row. -ENOSPC for a full
 * pool. */
int network_allocate_container(Network *n, const ContainerRecord *c);

/* The network part of config.json: wait_network, and /etc/hostname, /etc/hosts and
 * /etc/resolv.conf. A container that uses the bridge gets its address here if it has none
 * in the pool yet (-ENOSPC when the pool is full). */
int network_fill_spec(Network *n, const ContainerRecord *c, ContainerSpec *spec);

/* "init <pid>": wires the container's network namespace to the bridge. callback runs on the
 * event loop when it is done (not at all if the Network is freed first). init_pidfd is
 * duplicated; it makes sure the namespace is init's and not a reused pid's. */
int network_setup_container(Network *n, const char *id, const char *name, pid_t init_pid, int init_pidfd,
                            NetworkCallback callback, void *userdata);

/* The container does not run any more (or never got its network): its veth goes, its DNS
 * name at once, and with the last container the firewall rules. Safe to call for any
 * container. Returns 1 when there is work for the worker, and then calls callback (if not
 * NULL) once it is done (with -ECANCELED if quiltd shuts down first); 0 when there was
 * nothing to tear down, and callback is not called. */
int network_teardown_container(Network *n, const char *id, NetworkCallback callback, void *userdata);

/* Start-up: between begin and end, adopt every running container that uses the network;
 * end then restores the bridge and the rules for them, or removes stale rules when there
 * are none. */
void network_begin_reconcile(Network *n);
void network_adopt_container(Network *n, const char *id, const char *name);
void network_end_reconcile(Network *n);

/* The container's address as text; "" and -ENOENT when it has none. */
int network_container_address(Network *n, const char *id, char ret[static INET_ADDRSTRLEN]);

/* Containers that use the network now. */
unsigned network_n_active(Network *n);
/* Whether the container's network is set up (its veth exists). */
bool network_is_active(Network *n, const char *id);

/* Removes the bridge, the table and leftover veths. -EBUSY when a container uses the
 * network. callback gets what was removed (possibly nothing). */
int network_prune(Network *n, NetworkPruneCallback callback, void *userdata);
