/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the DNS server's files share: the server object, its listeners, TCP connections
 * and forwarded queries. Everything runs on the sd-event thread. */

#include <stdbool.h>
#include <sys/stat.h>

#include <ldns/ldns.h>

#include "dns-server.h"

/* The largest DNS message (TCP framing and UDP both top out at 64 KiB). */
#define DNS_MESSAGE_MAX 65535
#define DNS_HEADER_SIZE 12
/* Our EDNS buffer size (the DNS flag day 2020 value: no fragmentation). */
#define DNS_EDNS_UDP_SIZE 1232
/* Forwarded queries in flight per TCP connection before we stop reading from it. */
#define DNS_TCP_PENDING_MAX 32
/* Unsent answers a TCP client may leave us with before we give up on it. */
#define DNS_TCP_WBUF_MAX (256 * 1024)

typedef struct DnsListener DnsListener;
typedef struct DnsTcpConn DnsTcpConn;
typedef struct DnsQuery DnsQuery;

typedef struct DnsUpstream {
        struct sockaddr_storage addr;
        socklen_t len;
} DnsUpstream;

struct DnsListener {
        DnsServer *server;
        struct sockaddr_in addr; /* as bound, with the real port */
        int udp_fd;
        int tcp_fd;
        sd_event_source *udp_source;
        sd_event_source *tcp_source;
        sd_event_source *accept_retry; /* accepting again after running out of fds */
};

/* Where an answer goes: back over a listener's UDP socket to peer, or into a TCP
 * connection. A client whose listener or connection went away has both NULL: its answer
 * is dropped. */
typedef struct DnsClient {
        DnsListener *listener;
        struct sockaddr_in peer;
        DnsTcpConn *conn;
} DnsClient;

struct DnsTcpConn {
        DnsServer *server;
        int fd;
        sd_event_source *io;
        sd_event_source *timer;

        uint8_t *rbuf; /* what was read and not handled yet: [len][message][len]... */
        size_t rsize, rallocated;
        uint8_t *wbuf; /* answers not written yet, framed */
        size_t wsize, wallocated;

        unsigned n_pending; /* forwarded queries whose answers go here */
        bool eof;           /* the client shut its side: answer what is pending, then close */
        bool dead;          /* broken: free as soon as no handler of ours is on the stack */

        DnsTcpConn *prev, *next;
};

struct DnsServer {
        sd_event *event;

        DnsListener **listeners;
        size_t n_listeners;

        DnsServerEntry *entries;
        size_t n_entries;

        DnsUpstream *upstreams;
        size_t n_upstreams;
        bool upstreams_from_resolv_conf;
        struct stat resolv_conf_stat; /* of the version read, to notice changes */
        uint64_t attempt_usec;
        uint64_t tcp_idle_usec;

        DnsTcpConn *conns;
        unsigned n_conns;

        DnsQuery *queries;
        unsigned n_queries;

        uint8_t *buffer; /* DNS_MESSAGE_MAX bytes for reading UDP packets */
        ldns_rr *soa;    /* the zone's SOA, for authority sections */
};

/* dns-server.c */
void dns_client_send(DnsServer *s, const DnsClient *c, const uint8_t *data, size_t size);

/* dns-answer.c: what to do with one query (answer, or hand to the forwarder). */
void dns_server_handle_packet(DnsServer *s, const uint8_t *data, size_t size, const DnsClient *client);
/* Serialises a reply to query (header flags, question, EDNS from the query). answers
 * may be NULL; the rrs are cloned. */
int dns_reply_build(DnsServer *s, const ldns_pkt *query, ldns_pkt_rcode rcode, bool authoritative,
                    const ldns_rr_list *answers, bool with_soa, uint8_t **ret, size_t *ret_size);
/* Builds and sends a reply with no answers (SERVFAIL, FORMERR, ...). */
void dns_reply_send_rcode(DnsServer *s, const DnsClient *c, const ldns_pkt *query, ldns_pkt_rcode rcode);

/* dns-tcp.c */
int dns_tcp_on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata);
void dns_tcp_conn_send(DnsTcpConn *c, const uint8_t *data, size_t size);
/* A forwarded query of this connection finished. May free the connection. */
void dns_tcp_conn_query_done(DnsTcpConn *c);
DnsTcpConn *dns_tcp_conn_free(DnsTcpConn *c);

/* dns-forward.c */
/* Forwards data (the client's query, parsed as query; both are copied). Answers the
 * client itself, also on failure. */
void dns_forward(DnsServer *s, const ldns_pkt *query, const uint8_t *data, size_t size, const DnsClient *client);
void dns_forward_free_all(DnsServer *s);
/* The listener or connection goes away: its queries' answers will be dropped. */
void dns_forward_forget_listener(DnsServer *s, DnsListener *l);
void dns_forward_forget_conn(DnsServer *s, DnsTcpConn *c);

/* dns-upstream.c */
/* The upstreams to use now: the configured ones, or those of /etc/resolv.conf, re-read
 * when it changed. */
void dns_server_refresh_upstreams(DnsServer *s);
bool dns_server_is_own_address(const DnsServer *s, const struct sockaddr_storage *sa);
