/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Links, addresses and routes of the container network, with libnl-route-3. Blocking: these
 * run on the network worker thread (net-worker.h), never on the event loop. A socket works
 * in the network namespace of the thread that opened it, whatever that thread does later,
 * which is how a container's namespace is configured without a helper process.
 *
 * Errors are negative errnos; *ret_error, where there is one, gets "what: why" for the
 * user. */

#include <stdint.h>

#include "macro.h"

struct nl_sock;

/* A NETLINK_ROUTE socket in the calling thread's current network namespace. */
int net_socket_open(struct nl_sock **ret);
void net_socket_closep(struct nl_sock **sk);
#define _cleanup_nl_sock_ _cleanup_(net_socket_closep)

/* The bridge: created if missing (with a fixed MAC, so that containers' neighbour entries
 * of the gateway stay valid whoever joins or leaves), gateway/prefixlen as its only IPv4
 * address, up. -ENOTTY when a link of that name exists and is not a bridge. */
int net_bridge_ensure(struct nl_sock *sk, const char *name, uint32_t gateway, unsigned prefixlen,
                      int *ret_ifindex, char **ret_error);

/* ifindex of a link, -ENODEV if there is none. */
int net_link_ifindex(struct nl_sock *sk, const char *name);
/* Deletes a link by name: 0, or -ENODEV when there was none. */
int net_link_delete(struct nl_sock *sk, const char *name);

/* A veth pair: host_name attached to master_ifindex and up here, peer_name (with the MAC
 * 02:42:<address>, up) created directly in the namespace netns_fd refers to. A leftover
 * link called host_name (a container's earlier run whose namespace is still being torn
 * down) is replaced. */
int net_veth_create(struct nl_sock *sk, const char *host_name, int master_ifindex, int netns_fd,
                    const char *peer_name, uint32_t address, char **ret_error);

/* Inside a container's namespace (sk opened there): lo up, address/prefixlen on ifname,
 * default route via gateway. */
int net_container_configure(struct nl_sock *sk, const char *ifname, uint32_t address, unsigned prefixlen,
                            uint32_t gateway, char **ret_error);

/* Names of the links whose name starts with prefix, NULL-terminated (strv). */
int net_links_with_prefix(struct nl_sock *sk, const char *prefix, char ***ret);

/* The MAC Quilt gives an address: 02:42 and the four bytes of the IPv4 address. */
void net_mac_for_address(uint32_t address, uint8_t ret[6]);
