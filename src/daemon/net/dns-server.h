/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Quilt's DNS server: containers resolve each other by name on the bridge address.
 *
 * Runs on quiltd's sd-event loop and never blocks it. Listens on UDP and TCP (RFC 7766:
 * two-byte length framing, several queries per connection, answers possibly out of
 * order, idle connections closed after DNS_TCP_IDLE_USEC, at most DNS_TCP_CONNECTIONS_MAX
 * connections). Packets are parsed and built with ldns.
 *
 * What it answers (case-insensitively, with or without the trailing dot):
 *   <name>, <name>.quilt.local               A record of the container's address
 *   <id>, <id>.quilt.local                   the full id (the UUID with its dashes)
 *   <short id>, <short id>.quilt.local       the first 12 characters of the id, as
 *                                            "quilt ps" shows them, and the first 12 hex
 *                                            digits without dashes
 *   the reverse name (x.x.x.x.in-addr.arpa)  PTR <name>.quilt.local. of a container
 * Other types (AAAA, MX, ...) for a known name: NOERROR with no answer (NODATA) and the
 * zone's SOA in the authority section. Any name under quilt.local that is not a
 * container: authoritative NXDOMAIN with the SOA. TTLs are DNS_TTL_SEC, short because
 * containers come and go.
 *
 * Everything else is forwarded to the upstream resolvers, asynchronously: a new socket
 * and a random transaction id per attempt (the answer must come from the upstream the
 * query went to, with that id and the same question; the client gets it back with its own
 * id), DNS_FORWARD_ATTEMPT_USEC per attempt, then the next upstream, SERVFAIL when all
 * attempts failed. Queries that arrived over UDP are forwarded over UDP (a truncated
 * answer is relayed as it is, so the client retries over TCP); queries that arrived over
 * TCP are forwarded over TCP. At most DNS_FORWARD_MAX queries are in flight; beyond that
 * the client gets SERVFAIL at once.
 *
 * Packets that do not parse, and responses sent to the server, are dropped; a query with
 * an opcode other than QUERY gets NOTIMP, one with other than one question FORMERR.
 *
 * Nothing here touches the store: the caller adds and removes containers (on start and
 * stop, and from the database after a restart). */

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <systemd/sd-event.h>

#include "macro.h"

#define DNS_ZONE                 "quilt.local"
#define DNS_PORT_DEFAULT         53
#define DNS_TTL_SEC              5
#define DNS_TCP_CONNECTIONS_MAX  64
#define DNS_TCP_IDLE_USEC        (10 * USEC_PER_SEC)
#define DNS_FORWARD_MAX          256
#define DNS_FORWARD_ATTEMPT_USEC (1500 * USEC_PER_MSEC)
#define DNS_FORWARD_ATTEMPTS_MAX 3

typedef struct DnsServer DnsServer;

/* One container's names, as dns_server_entries() lists them. */
typedef struct DnsServerEntry {
        char *id;
        char *name;
        struct in_addr addr;
} DnsServerEntry;

/* A server with no listeners, no containers, and the upstreams of /etc/resolv.conf. */
int dns_server_new(sd_event *e, DnsServer **ret);
/* Closes the sockets and drops queries in flight (their clients get no answer). */
DnsServer *dns_server_free(DnsServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(DnsServer *, dns_server_free);

/* Starts answering on addr:port, UDP and TCP. Sockets get IP_FREEBIND, so this works
 * before the address exists (the bridge is set up later, or again after a prune). Port 0
 * picks a free port (the same for UDP and TCP; see dns_server_port()). May be called again
 * for more addresses; -EADDRINUSE if something else has the port. */
int dns_server_listen(DnsServer *s, const struct in_addr *addr, uint16_t port);
/* Closes every listener; queries in flight are answered where still possible. */
void dns_server_stop_listening(DnsServer *s);
/* The port of the last listener, 0 when not listening. */
uint16_t dns_server_port(const DnsServer *s);

/* Where to forward: a NULL-terminated list of "IP" or "IP:PORT" ("[IPv6]:PORT"; port 53
 * when not given). NULL or an empty list: the nameservers of /etc/resolv.conf, re-read
 * when the file changes. -EINVAL when an entry does not parse (socket_address_parse()
 * says why; the configuration is checked with it). Upstreams that are one of our own
 * listeners are skipped, so the server never forwards to itself. */
int dns_server_set_upstreams(DnsServer *s, char **servers);
/* How long to wait for each upstream (default DNS_FORWARD_ATTEMPT_USEC); for tests. */
void dns_server_set_attempt_timeout(DnsServer *s, uint64_t usec);
/* How long a TCP connection may be idle (default DNS_TCP_IDLE_USEC); for tests. */
void dns_server_set_tcp_idle_timeout(DnsServer *s, uint64_t usec);

/* Adds or updates a container's names. An existing entry with the same id or the same
 * name is replaced. id must be non-empty, name a valid container name (one DNS label).
 * -EINVAL otherwise. */
int dns_server_add_container(DnsServer *s, const char *id, const char *name, const struct in_addr *addr);
/* Removes the container's names. -ENOENT if it had none. */
int dns_server_remove_container(DnsServer *s, const char *id);
/* Removes every container's names. */
void dns_server_clear(DnsServer *s);

/* The containers' entries in the order they were added. Valid until the next add or
 * remove. */
const DnsServerEntry *dns_server_entries(const DnsServer *s, size_t *ret_n);
/* The entry a query for name would be answered from (any of the forms above, with or
 * without ".quilt.local" and the trailing dot), or NULL. */
const DnsServerEntry *dns_server_lookup(const DnsServer *s, const char *name);

/* The "nameserver" lines of a resolv.conf, as "IP" strings, in order. An empty list when
 * the file has none; -errno when it cannot be read. */
int dns_upstreams_from_resolv_conf(const char *path, char ***ret);
