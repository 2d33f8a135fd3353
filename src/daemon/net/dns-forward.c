/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Forwarding to the upstream resolvers. Each attempt gets its own connected socket (so
 * the kernel drops datagrams from anyone but that upstream, and the source port is
 * random) and a random transaction id; an answer counts only with that id, QR set and the
 * question we asked. The client gets it back with its own id. An attempt that times out,
 * is refused, or answers SERVFAIL/REFUSED/NOTIMP while another upstream remains moves on
 * to the next one; when none is left the client gets SERVFAIL. */

#include <sys/random.h>
#include <sys/socket.h>

#include "dns-internal.h"
#include "log.h"

struct DnsQuery {
        DnsServer *server;
        DnsQuery *prev, *next;

        DnsClient client;
        ldns_pkt *query; /* the client's, with its id: for SERVFAIL and to check answers */
        uint8_t *frame;  /* [len][query with our id]: UDP sends frame + 2 */
        size_t size;     /* of the query, without the length */
        bool tcp;

        DnsUpstream targets[DNS_FORWARD_ATTEMPTS_MAX];
        unsigned n_targets, attempt;

        uint16_t id; /* ours, for this attempt */
        int fd;
        sd_event_source *io;
        sd_event_source *timer;

        /* over TCP */
        bool connected;
        size_t written; /* of the frame */
        uint8_t *rbuf;
        size_t rsize, rwant; /* rwant: 0 while the length is not read yet */
};

static uint16_t random_id(void) {
        uint16_t id;

        if (getrandom(&id, sizeof id, GRND_NONBLOCK) != sizeof id)
                id = (uint16_t) random();
        return id;
}

static void query_close_attempt(DnsQuery *q) {
        q->io = sd_event_source_disable_unref(q->io);
        q->fd = safe_close(q->fd);
        q->connected = false;
        q->written = 0;
        q->rbuf = mfree(q->rbuf);
        q->rsize = q->rwant = 0;
}

static DnsQuery *query_free(DnsQuery *q) {
        DnsServer *s;

        if (!q)
                return NULL;
        s = q->server;

        if (q->prev)
                q->prev->next = q->next;
        else
                s->queries = q->next;
        if (q->next)
                q->next->prev = q->prev;
        s->n_queries--;

        query_close_attempt(q);
        sd_event_source_disable_unref(q->timer);
        if (q->query)
                ldns_pkt_free(q->query);
        free(q->frame);
        return mfree(q);
}

void dns_forward_free_all(DnsServer *s) {
        while (s->queries)
                query_free(s->queries);
}

void dns_forward_forget_listener(DnsServer *s, DnsListener *l) {
        for (DnsQuery *q = s->queries; q; q = q->next)
                if (q->client.listener == l)
                        q->client.listener = NULL;
}

void dns_forward_forget_conn(DnsServer *s, DnsTcpConn *c) {
        for (DnsQuery *q = s->queries; q; q = q->next)
                if (q->client.conn == c)
                        q->client.conn = NULL;
}

/* Answers the client with data (an upstream's answer, whose id we replace), or SERVFAIL
 * when data is NULL, and frees q. */
static void query_finish(DnsQuery *q, uint8_t *data, size_t size) {
        DnsServer *s = q->server;
        DnsTcpConn *conn = q->client.conn;

        if (data) {
                data[0] = ldns_pkt_id(q->query) >> 8;
                data[1] = ldns_pkt_id(q->query) & 0xff;
                dns_client_send(s, &q->client, data, size);
        } else
                dns_reply_send_rcode(s, &q->client, q->query, LDNS_RCODE_SERVFAIL);

        query_free(q);
        /* Last: the connection may go on with held-back queries, or close. */
        if (conn)
                dns_tcp_conn_query_done(conn);
}

typedef enum AnswerVerdict {
        ANSWER_FOREIGN, /* not the answer to our question: ignore it */
        ANSWER_RETRY,   /* an answer, but another upstream may do better */
        ANSWER_GOOD,
} AnswerVerdict;

static AnswerVerdict answer_check(DnsQuery *q, const uint8_t *data, size_t size) {
        const ldns_rr *mine, *theirs;
        ldns_pkt *answer = NULL;
        AnswerVerdict v = ANSWER_FOREIGN;
        ldns_pkt_rcode rcode;

        if (size < DNS_HEADER_SIZE || !(data[2] & 0x80) || ((uint16_t) (data[0] << 8 | data[1])) != q->id)
                return ANSWER_FOREIGN;
        if (ldns_wire2pkt(&answer, data, size) != LDNS_STATUS_OK)
                return ANSWER_FOREIGN;

        mine = ldns_rr_list_rr(ldns_pkt_question(q->query), 0);
        if (ldns_rr_list_rr_count(ldns_pkt_question(answer)) != 1)
                goto finish;
        theirs = ldns_rr_list_rr(ldns_pkt_question(answer), 0);
        if (ldns_rr_get_type(mine) != ldns_rr_get_type(theirs) ||
            ldns_rr_get_class(mine) != ldns_rr_get_class(theirs) ||
            ldns_dname_compare(ldns_rr_owner(mine), ldns_rr_owner(theirs)) != 0)
                goto finish;

        rcode = ldns_pkt_get_rcode(answer);
        v = (rcode == LDNS_RCODE_SERVFAIL || rcode == LDNS_RCODE_REFUSED || rcode == LDNS_RCODE_NOTIMPL) &&
                            q->attempt + 1 < q->n_targets
                    ? ANSWER_RETRY
                    : ANSWER_GOOD;
finish:
        ldns_pkt_free(answer);
        return v;
}

static int query_attempt(DnsQuery *q);

/* This attempt is over: the next upstream, or SERVFAIL. */
static void query_next(DnsQuery *q) {
        query_close_attempt(q);
        q->attempt++;
        if (query_attempt(q) < 0)
                query_finish(q, NULL, 0);
}

static void on_udp_answer(DnsQuery *q) {
        DnsServer *s = q->server;

        for (unsigned i = 0; i < 16; i++) {
                ssize_t n = recv(q->fd, s->buffer, DNS_MESSAGE_MAX, MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        /* ECONNREFUSED: nothing listens there (ICMP port unreachable). */
                        log_debug_errno(errno, "DNS: upstream attempt %u failed: %m", q->attempt + 1);
                        query_next(q);
                        return;
                }

                switch (answer_check(q, s->buffer, (size_t) n)) {
                case ANSWER_FOREIGN:
                        continue;
                case ANSWER_RETRY:
                        query_next(q);
                        return;
                case ANSWER_GOOD:
                        query_finish(q, s->buffer, (size_t) n);
                        return;
                }
        }
}

/* Over TCP: connect, write the framed query, read the framed answer. Returns 1 when the
 * query is done (freed), 0 to wait, < 0 when this attempt failed. */
static int on_tcp_io(DnsQuery *q, uint32_t revents) {
        ssize_t n;
        int r;

        if (!q->connected) {
                int error = 0;
                socklen_t len = sizeof error;

                if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
                        return -errno;
                if (error != 0)
                        return -error;
                q->connected = true;
        }

        while (q->written < q->size + 2) {
                n = send(q->fd, q->frame + q->written, q->size + 2 - q->written, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return sd_event_source_set_io_events(q->io, EPOLLOUT);
                        return -errno;
                }
                q->written += (size_t) n;
        }
        r = sd_event_source_set_io_events(q->io, EPOLLIN);
        if (r < 0)
                return r;
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;

        if (!q->rbuf) {
                q->rbuf = malloc(2 + DNS_MESSAGE_MAX);
                if (!q->rbuf)
                        return -ENOMEM;
        }
        n = recv(q->fd, q->rbuf + q->rsize, (q->rwant > 0 ? q->rwant + 2 : 2) - q->rsize, MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (n == 0)
                return -ECONNRESET;
        q->rsize += (size_t) n;

        if (q->rwant == 0 && q->rsize == 2) {
                q->rwant = (size_t) q->rbuf[0] << 8 | q->rbuf[1];
                if (q->rwant < DNS_HEADER_SIZE)
                        return -EBADMSG;
        }
        if (q->rwant == 0 || q->rsize < q->rwant + 2)
                return 0;

        /* On a stream from the upstream itself, a wrong answer is a broken upstream. */
        switch (answer_check(q, q->rbuf + 2, q->rwant)) {
        case ANSWER_FOREIGN:
                return -EBADMSG;
        case ANSWER_RETRY:
                return -EAGAIN;
        case ANSWER_GOOD:
                break;
        }
        /* query_finish() frees rbuf with q: take it. */
        {
                _cleanup_free_ uint8_t *buf = TAKE_PTR(q->rbuf);
                query_finish(q, buf + 2, q->rwant);
        }
        return 1;
}

static int on_query_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        DnsQuery *q = userdata;
        int r;

        if (!q->tcp) {
                on_udp_answer(q);
                return 0;
        }

        r = on_tcp_io(q, revents);
        if (r < 0) {
                log_debug_errno(r, "DNS: upstream attempt %u over TCP failed: %m", q->attempt + 1);
                query_next(q);
        }
        return 0;
}

static int on_query_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        DnsQuery *q = userdata;

        log_debug("DNS: upstream attempt %u timed out.", q->attempt + 1);
        query_next(q);
        return 0;
}

static int attempt_start(DnsQuery *q, const DnsUpstream *u) {
        DnsServer *s = q->server;
        int r;

        q->id = random_id();
        q->frame[2] = q->id >> 8;
        q->frame[3] = q->id & 0xff;

        q->fd = socket(u->addr.ss_family, (q->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (q->fd < 0)
                return -errno;

        if (connect(q->fd, (const struct sockaddr *) &u->addr, u->len) < 0 && errno != EINPROGRESS)
                return -errno;

        if (!q->tcp && send(q->fd, q->frame + 2, q->size, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                return -errno;

        r = sd_event_add_io(s->event, &q->io, q->fd, q->tcp ? EPOLLOUT : EPOLLIN, on_query_io, q);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(q->io, "dns-forward");

        if (!q->timer) {
                r = sd_event_add_time_relative(s->event, &q->timer, CLOCK_MONOTONIC, s->attempt_usec, 1,
                                               on_query_timeout, q);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(q->timer, "dns-forward-timeout");
                return 0;
        }
        r = sd_event_source_set_time_relative(q->timer, s->attempt_usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(q->timer, SD_EVENT_ONESHOT);
}

/* Starts the current attempt, or the first of the following ones that can start. */
static int query_attempt(DnsQuery *q) {
        int r;

        for (; q->attempt < q->n_targets; q->attempt++) {
                r = attempt_start(q, &q->targets[q->attempt]);
                if (r >= 0)
                        return 0;
                log_debug_errno(r, "DNS: cannot send to upstream %u: %m", q->attempt + 1);
                query_close_attempt(q);
        }
        return -ENETUNREACH;
}

void dns_forward(DnsServer *s, const ldns_pkt *query, const uint8_t *data, size_t size, const DnsClient *client) {
        DnsUpstream usable[DNS_FORWARD_ATTEMPTS_MAX];
        size_t n_usable = 0;
        DnsQuery *q;

        if (s->n_queries >= DNS_FORWARD_MAX) {
                log_debug("DNS: %u queries in flight, refusing another.", s->n_queries);
                dns_reply_send_rcode(s, client, query, LDNS_RCODE_SERVFAIL);
                return;
        }

        dns_server_refresh_upstreams(s);
        for (size_t i = 0; i < s->n_upstreams && n_usable < ELEMENTSOF(usable); i++)
                if (!dns_server_is_own_address(s, &s->upstreams[i].addr))
                        usable[n_usable++] = s->upstreams[i];
        if (n_usable == 0) {
                log_debug("DNS: no upstream resolver to forward to.");
                dns_reply_send_rcode(s, client, query, LDNS_RCODE_SERVFAIL);
                return;
        }

        q = new0(DnsQuery, 1);
        if (!q) {
                dns_reply_send_rcode(s, client, query, LDNS_RCODE_SERVFAIL);
                return;
        }
        q->server = s;
        q->fd = -EBADF;
        q->client = *client;
        q->tcp = client->conn;
        q->size = size;
        q->next = s->queries;
        if (s->queries)
                s->queries->prev = q;
        s->queries = q;
        s->n_queries++;

        /* A lone upstream gets a second chance; otherwise each one in turn. */
        for (size_t i = 0; i < ELEMENTSOF(q->targets) && i < MAX(n_usable, (size_t) 2); i++)
                q->targets[q->n_targets++] = usable[i % n_usable];

        q->query = ldns_pkt_clone(query);
        q->frame = malloc(size + 2);
        if (q->frame) {
                q->frame[0] = size >> 8;
                q->frame[1] = size & 0xff;
                memcpy(q->frame + 2, data, size);
        }
        if (!q->query || !q->frame || query_attempt(q) < 0) {
                /* Answer from the client's own packet: q->query may be missing. */
                dns_reply_send_rcode(s, client, query, LDNS_RCODE_SERVFAIL);
                query_free(q);
                return;
        }

        if (client->conn)
                client->conn->n_pending++;
}
