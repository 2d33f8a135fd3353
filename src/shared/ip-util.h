/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* IPv4 addresses and subnets for the container network: parsing with reasons a user can
 * act on, and the layout of a subnet as Quilt uses it.
 *
 *   Subnet=10.42.0.0/16
 *     10.42.0.0            the network address (never assigned)
 *     10.42.0.1            the gateway: the bridge's address, DNS server, default route
 *     10.42.0.2 ... .254   containers (ipv4_subnet_pool_first() ... ipv4_subnet_pool_last())
 *     10.42.255.255        the broadcast address (never assigned)
 *
 * Addresses are uint32_t in host byte order throughout; convert at the edges. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* The smallest subnet that leaves room for the gateway and one container is a /30. */
#define IPV4_SUBNET_PREFIX_MIN 8
#define IPV4_SUBNET_PREFIX_MAX 30

/* "255.255.255.255/32" and a NUL. */
#define IPV4_SUBNET_STRING_MAX (INET_ADDRSTRLEN + 3)

typedef struct Ipv4Subnet {
        uint32_t network; /* host byte order, host bits zero */
        unsigned prefixlen;
} Ipv4Subnet;

/* A dotted quad, strictly (inet_pton). -EINVAL otherwise. */
int ipv4_from_string(const char *s, uint32_t *ret);
/* Writes the dotted quad into buf and returns buf. */
const char *ipv4_to_string(uint32_t address, char buf[static INET_ADDRSTRLEN]);

/* "A.B.C.D/N" with N in [IPV4_SUBNET_PREFIX_MIN, IPV4_SUBNET_PREFIX_MAX] and no host bits
 * set. On -EINVAL, *ret_reason (static or malloc()ed into *ret_reason_alloc, which the
 * caller frees) says what is wrong, e.g. that 10.42.0.1/16 has host bits set and
 * 10.42.0.0/16 was probably meant. */
int ipv4_subnet_from_string(const char *s, Ipv4Subnet *ret, char **ret_reason);
const char *ipv4_subnet_to_string(const Ipv4Subnet *subnet, char buf[static IPV4_SUBNET_STRING_MAX]);

uint32_t ipv4_subnet_netmask(const Ipv4Subnet *subnet);
uint32_t ipv4_subnet_broadcast(const Ipv4Subnet *subnet);
uint32_t ipv4_subnet_gateway(const Ipv4Subnet *subnet);
/* The range containers get addresses from, inclusive. */
uint32_t ipv4_subnet_pool_first(const Ipv4Subnet *subnet);
uint32_t ipv4_subnet_pool_last(const Ipv4Subnet *subnet);
/* Whether address is one a container may have (inside the pool). */
bool ipv4_subnet_pool_contains(const Ipv4Subnet *subnet, uint32_t address);

/* Network interface names Quilt accepts for its bridge: 1-15 bytes (IFNAMSIZ - 1) of
 * letters, digits, '_', '.' and '-', not "." or "..". Stricter than the kernel, so that a
 * name never needs quoting in an nft rule or a shell. */
bool ifname_is_valid(const char *name);
