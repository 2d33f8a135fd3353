/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The DNS server on 127.0.0.1, driven by its own sd-event loop: a client built with ldns
 * sends a query and runs the loop until the answer is there. Fake upstreams on other
 * loopback ports (UDP and TCP, on the same loop) answer forwarded queries, or keep quiet. */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ldns/ldns.h>

#include "dns-server.h"
#include "log.h"
#include "socket-address.h"
#include "strv.h"
#include "tests.h"
#include "time-util.h"

#define ID_WEB "3f2a9c1e-7b4d-4e8a-9c21-0d5e6f7a8b9c"
#define ID_DB  "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"

static sd_event *event;
static DnsServer *server;
static uint16_t port;

/* ---- a fake upstream: answers every A query with 192.0.2.7, unless told to keep quiet -- */

typedef struct Upstream {
        int udp_fd, tcp_fd;
        uint16_t port;
        bool silent;
        unsigned n_queries;
        uint16_t ids[16]; /* transaction ids it saw */
} Upstream;

static Upstream up1, up2;

static uint8_t *upstream_answer(Upstream *u, const uint8_t *data, size_t size, size_t *ret_size) {
        ldns_pkt *q = NULL, *a;
        ldns_rr *rr = NULL;
        uint8_t *wire = NULL;

        if (ldns_wire2pkt(&q, data, size) != LDNS_STATUS_OK)
                return NULL;
        if (u->n_queries < ELEMENTSOF(u->ids))
                u->ids[u->n_queries] = ldns_pkt_id(q);
        u->n_queries++;
        if (u->silent) {
                ldns_pkt_free(q);
                return NULL;
        }

        a = ldns_pkt_new();
        ldns_pkt_set_id(a, ldns_pkt_id(q));
        ldns_pkt_set_qr(a, true);
        ldns_pkt_set_rd(a, ldns_pkt_rd(q));
        ldns_pkt_set_ra(a, true);
        ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q), 0)));
        if (ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(q), 0)) == LDNS_RR_TYPE_A &&
            ldns_rr_new_frm_str(&rr, "example.com. 60 IN A 192.0.2.7", 0, NULL, NULL) == LDNS_STATUS_OK)
                ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
        if (ldns_pkt2wire(&wire, a, ret_size) != LDNS_STATUS_OK)
                wire = NULL;
        ldns_pkt_free(a);
        ldns_pkt_free(q);
        return wire;
}

static int on_upstream_udp(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Upstream *u = userdata;
        uint8_t buf[4096];
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        ssize_t n;
        size_t size;
        uint8_t *wire;

        n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *) &peer, &len);
        if (n <= 0)
                return 0;
        wire = upstream_answer(u, buf, (size_t) n, &size);
        if (wire)
                (void) sendto(fd, wire, size, 0, (struct sockaddr *) &peer, len);
        free(wire);
        return 0;
}

/* TCP: one query per connection is enough for the forwarder. */
static int on_upstream_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Upstream *u = userdata;
        uint8_t buf[4096];
        ssize_t n;
        size_t len, size;
        uint8_t *wire;

        n = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
        if (n < 2 || (size_t) n < 2 + ((size_t) buf[0] << 8 | buf[1])) {
                if (n == 0) {
                        sd_event_source_disable_unref(s);
                        close(fd);
                }
                return 0;
        }
        len = (size_t) buf[0] << 8 | buf[1];
        (void) recv(fd, buf, 2 + len, MSG_DONTWAIT);
        wire = upstream_answer(u, buf + 2, len, &size);
        if (wire) {
                uint8_t l[2] = { size >> 8, size & 0xff };
                (void) send(fd, l, 2, MSG_NOSIGNAL);
                (void) send(fd, wire, size, MSG_NOSIGNAL);
                free(wire);
        }
        return 0;
}

static int on_upstream_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (c >= 0 && sd_event_add_io(event, NULL, c, EPOLLIN, on_upstream_conn, userdata) < 0)
                close(c);
        return 0;
}

static void upstream_start(Upstream *u) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sa;
        int one = 1;

        u->udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        u->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (u->udp_fd < 0 || u->tcp_fd < 0 || bind(u->udp_fd, (struct sockaddr *) &sa, sizeof sa) < 0 ||
            getsockname(u->udp_fd, (struct sockaddr *) &sa, &len) < 0 ||
            setsockopt(u->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            bind(u->tcp_fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(u->tcp_fd, 16) < 0 ||
            sd_event_add_io(event, NULL, u->udp_fd, EPOLLIN, on_upstream_udp, u) < 0 ||
            sd_event_add_io(event, NULL, u->tcp_fd, EPOLLIN, on_upstream_accept, u) < 0) {
                perror("fake upstream");
                abort();
        }
        u->port = ntohs(sa.sin_port);
}

/* A loopback port nothing listens on (UDP: ICMP port unreachable, TCP: RST). */
static uint16_t closed_port(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sa;
        int fd = socket(AF_INET, SOCK_DGRAM, 0);

        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                abort();
        close(fd);
        return ntohs(sa.sin_port);
}

/* ---- the client -------------------------------------------------------------------------- */

static int client_connect(int type) {
        struct sockaddr_in sa = {
                .sin_family = AF_INET,
                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                .sin_port = htons(port),
        };
        int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        if (fd < 0 || (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0 && errno != EINPROGRESS))
                abort();
        return fd;
}

static uint8_t *query_wire(const char *name, ldns_rr_type type, uint16_t id, bool edns, size_t *ret_size) {
        ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN, LDNS_RD);
        uint8_t *wire = NULL;

        ldns_pkt_set_id(q, id);
        if (edns)
                ldns_pkt_set_edns_udp_size(q, 4096);
        if (ldns_pkt2wire(&wire, q, ret_size) != LDNS_STATUS_OK)
                abort();
        ldns_pkt_free(q);
        return wire;
}

/* Runs the loop until fd has data (or timeout); returns the time it took. */
static uint64_t run_until_readable(int fd, uint64_t timeout_usec) {
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };

                if (poll(&p, 1, 0) > 0)
                        break;
                if (now_usec(CLOCK_MONOTONIC) - t0 > timeout_usec)
                        break;
                (void) sd_event_run(event, 5 * USEC_PER_MSEC);
        }
        return now_usec(CLOCK_MONOTONIC) - t0;
}

static ldns_pkt *parse(const uint8_t *data, ssize_t n) {
        ldns_pkt *p = NULL;

        if (n <= 0 || ldns_wire2pkt(&p, data, (size_t) n) != LDNS_STATUS_OK)
                return NULL;
        return p;
}

static ldns_pkt *ask_udp_id(const char *name, ldns_rr_type type, uint16_t id, uint64_t *ret_usec) {
        uint8_t buf[4096], *wire;
        size_t size;
        ssize_t n;
        uint64_t t;
        int fd = client_connect(SOCK_DGRAM);

        wire = query_wire(name, type, id, false, &size);
        (void) send(fd, wire, size, 0);
        free(wire);
        t = run_until_readable(fd, 5 * USEC_PER_SEC);
        if (ret_usec)
                *ret_usec = t;
        n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        close(fd);
        return parse(buf, n);
}

static ldns_pkt *ask_udp(const char *name, ldns_rr_type type) {
        return ask_udp_id(name, type, 0x4242, NULL);
}

/* Reads one framed message from a TCP socket, running the loop while waiting. */
static ldns_pkt *tcp_read_answer(int fd) {
        uint8_t buf[4096];
        size_t have = 0, want = 2;

        while (have < want) {
                ssize_t n;

                run_until_readable(fd, 5 * USEC_PER_SEC);
                n = recv(fd, buf + have, want - have, MSG_DONTWAIT);
                if (n <= 0)
                        return NULL;
                have += (size_t) n;
                if (have == 2 && want == 2)
                        want = 2 + ((size_t) buf[0] << 8 | buf[1]);
                if (want > sizeof buf)
                        return NULL;
        }
        return parse(buf + 2, (ssize_t) want - 2);
}

static void tcp_send_query(int fd, const char *name, ldns_rr_type type, uint16_t id) {
        size_t size;
        uint8_t *wire = query_wire(name, type, id, true, &size);
        uint8_t frame[4096];

        frame[0] = size >> 8;
        frame[1] = size & 0xff;
        memcpy(frame + 2, wire, size);
        free(wire);
        /* The connect may still be in progress: run the loop until it is writable. */
        for (unsigned i = 0; i < 200; i++) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                if (poll(&p, 1, 0) > 0)
                        break;
                (void) sd_event_run(event, 5 * USEC_PER_MSEC);
        }
        if (send(fd, frame, size + 2, MSG_NOSIGNAL) != (ssize_t) size + 2)
                abort();
}

static ldns_pkt *ask_tcp(const char *name, ldns_rr_type type) {
        int fd = client_connect(SOCK_STREAM);
        ldns_pkt *p;

        tcp_send_query(fd, name, type, 0x5151);
        p = tcp_read_answer(fd);
        close(fd);
        return p;
}

/* ---- checks --------------------------------------------------------------------------- */

static bool has_a(const ldns_pkt *p, const char *ip) {
        struct in_addr want;
        ldns_rr *rr;
        ldns_rdf *rd;

        if (!p || ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR || ldns_pkt_ancount(p) != 1)
                return false;
        rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
        rd = ldns_rr_a_address(rr);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_A || !rd || ldns_rdf_size(rd) != 4)
                return false;
        inet_pton(AF_INET, ip, &want);
        return memcmp(ldns_rdf_data(rd), &want, 4) == 0;
}

static bool is_rcode(const ldns_pkt *p, ldns_pkt_rcode rcode, size_t ancount) {
        return p && ldns_pkt_get_rcode(p) == rcode && ldns_pkt_ancount(p) == ancount;
}

static bool has_soa_authority(const ldns_pkt *p) {
        return p && ldns_pkt_nscount(p) == 1 &&
               ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(p), 0)) == LDNS_RR_TYPE_SOA;
}

static bool rdf_is(const ldns_rdf *rdf, const char *want) {
        _cleanup_free_ char *t = ldns_rdf2str(rdf);
        return t && streq(t, want);
}

static void test_local(void) {
        ldns_pkt *p;

        p = ask_udp("web", LDNS_RR_TYPE_A);
        ok(has_a(p, "10.42.0.2"), "UDP: name → A");
        ok(p && ldns_pkt_aa(p) && ldns_pkt_id(p) == 0x4242 && ldns_pkt_qr(p), "UDP: authoritative, client's id");
        ldns_pkt_free(p);

        p = ask_udp(ID_WEB, LDNS_RR_TYPE_A);
        ok(has_a(p, "10.42.0.2"), "UDP: full id → A");
        ldns_pkt_free(p);
        p = ask_udp("3f2a9c1e-7b4", LDNS_RR_TYPE_A);
        ok(has_a(p, "10.42.0.2"), "UDP: 12-character short id → A");
        ldns_pkt_free(p);
        p = ask_udp("3f2a9c1e7b4d", LDNS_RR_TYPE_A);
        ok(has_a(p, "10.42.0.2"), "UDP: 12 hex digits without dashes → A");
        ldns_pkt_free(p);
        p = ask_udp("web.quilt.local", LDNS_RR_TYPE_A);
        ok(has_a(p, "10.42.0.2"), "UDP: name.quilt.local → A");
        ldns_pkt_free(p);
        p = ask_udp(ID_WEB ".quilt.local.", LDNS_RR_TYPE_A);
        ok(has_a(p, "10.42.0.2"), "UDP: id.quilt.local. → A");
        ldns_pkt_free(p);

        p = ask_udp("WeB.QUILT.Local", LDNS_RR_TYPE_A);
        ok(has_a(p, "10.42.0.2"), "UDP: case does not matter");
        ok(p && ldns_pkt_ancount(p) == 1 &&
                   rdf_is(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), "WeB.QUILT.Local."),
           "UDP: the answer's owner has the letter case of the question");
        ldns_pkt_free(p);
        p = ask_udp("DB", LDNS_RR_TYPE_A);
        ok(has_a(p, "10.42.0.3"), "UDP: another container");
        ldns_pkt_free(p);

        p = ask_udp("nosuch.quilt.local", LDNS_RR_TYPE_A);
        ok(is_rcode(p, LDNS_RCODE_NXDOMAIN, 0) && ldns_pkt_aa(p), "UDP: unknown.quilt.local → authoritative NXDOMAIN");
        ok(has_soa_authority(p), "UDP: NXDOMAIN carries the zone's SOA");
        ldns_pkt_free(p);

        p = ask_udp("web", LDNS_RR_TYPE_AAAA);
        ok(is_rcode(p, LDNS_RCODE_NOERROR, 0) && has_soa_authority(p), "UDP: AAAA of a container → NODATA");
        ldns_pkt_free(p);
        p = ask_udp("web.quilt.local", LDNS_RR_TYPE_MX);
        ok(is_rcode(p, LDNS_RCODE_NOERROR, 0), "UDP: MX of a container → NODATA");
        ldns_pkt_free(p);
        p = ask_udp("quilt.local", LDNS_RR_TYPE_SOA);
        ok(p && ldns_pkt_ancount(p) == 1 && ldns_pkt_aa(p), "UDP: the zone's SOA");
        ldns_pkt_free(p);

        p = ask_udp("2.0.42.10.in-addr.arpa", LDNS_RR_TYPE_PTR);
        ok(p && ldns_pkt_ancount(p) == 1 &&
                   rdf_is(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0), "web.quilt.local."),
           "UDP: reverse lookup of a container's address");
        ldns_pkt_free(p);

        p = ask_tcp("web", LDNS_RR_TYPE_A);
        ok(has_a(p, "10.42.0.2") && ldns_pkt_id(p) == 0x5151, "TCP: name → A");
        ok(p && ldns_pkt_edns(p), "TCP: EDNS in the answer when the query had it");
        ldns_pkt_free(p);
        p = ask_tcp("3F2A9C1E-7B4D-4E8A-9C21-0D5E6F7A8B9C.quilt.local", LDNS_RR_TYPE_A);
        ok(has_a(p, "10.42.0.2"), "TCP: upper-case id.quilt.local → A");
        ldns_pkt_free(p);
        p = ask_tcp("nosuch.quilt.local", LDNS_RR_TYPE_A);
        ok(is_rcode(p, LDNS_RCODE_NXDOMAIN, 0), "TCP: unknown.quilt.local → NXDOMAIN");
        ldns_pkt_free(p);
        p = ask_tcp("db", LDNS_RR_TYPE_AAAA);
        ok(is_rcode(p, LDNS_RCODE_NOERROR, 0), "TCP: AAAA → NODATA");
        ldns_pkt_free(p);
}

static void test_tcp_pipelined(void) {
        int fd = client_connect(SOCK_STREAM);
        ldns_pkt *a[3];
        bool seen[3] = {};

        /* Three queries in a row on one connection, one of them forwarded. */
        tcp_send_query(fd, "web", LDNS_RR_TYPE_A, 1);
        tcp_send_query(fd, "example.com", LDNS_RR_TYPE_A, 2);
        tcp_send_query(fd, "db.quilt.local", LDNS_RR_TYPE_A, 3);
        for (size_t i = 0; i < 3; i++) {
                a[i] = tcp_read_answer(fd);
                if (a[i] && ldns_pkt_id(a[i]) >= 1 && ldns_pkt_id(a[i]) <= 3)
                        seen[ldns_pkt_id(a[i]) - 1] = true;
        }
        ok(seen[0] && seen[1] && seen[2], "TCP: three queries on one connection get three answers");
        for (size_t i = 0; i < 3; i++) {
                if (!a[i])
                        continue;
                if (ldns_pkt_id(a[i]) == 1)
                        ok(has_a(a[i], "10.42.0.2"), "TCP: pipelined local answer");
                if (ldns_pkt_id(a[i]) == 2)
                        ok(has_a(a[i], "192.0.2.7"), "TCP: pipelined forwarded answer (over TCP upstream)");
                ldns_pkt_free(a[i]);
        }
        close(fd);
}

static void test_forward(void) {
        char *ups[3] = {};
        ldns_pkt *p;
        uint64_t usec;
        unsigned n0;
        bool rewritten = false;

        (void) asprintf(&ups[0], "127.0.0.1:%u", up1.port);
        ok(dns_server_set_upstreams(server, ups) == 0, "set one upstream");
        free(ups[0]);

        n0 = up1.n_queries;
        for (uint16_t id = 0x1000; id < 0x1004; id++) {
                p = ask_udp_id("Example.COM", LDNS_RR_TYPE_A, id, NULL);
                if (id == 0x1000)
                        ok(has_a(p, "192.0.2.7") && ldns_pkt_id(p) == id,
                           "UDP: forwarded, the upstream's answer comes back with the client's id");
                ldns_pkt_free(p);
        }
        is_int(up1.n_queries - n0, 4, "the upstream got each forwarded query once");
        for (unsigned i = n0; i < up1.n_queries && i < ELEMENTSOF(up1.ids); i++)
                rewritten = rewritten || up1.ids[i] != 0x1000 + (i - n0);
        ok(rewritten, "the upstream saw our transaction ids, not the client's");

        p = ask_tcp("example.com", LDNS_RR_TYPE_A);
        ok(has_a(p, "192.0.2.7") && ldns_pkt_id(p) == 0x5151, "TCP: forwarded over TCP");
        ldns_pkt_free(p);

        p = ask_udp("web.example.com", LDNS_RR_TYPE_A);
        ok(has_a(p, "192.0.2.7"), "a container name inside another domain is forwarded");
        ldns_pkt_free(p);

        test_tcp_pipelined();

        /* First upstream silent, second answers: the retry goes to the next one. */
        up1.silent = true;
        (void) asprintf(&ups[0], "127.0.0.1:%u", up1.port);
        (void) asprintf(&ups[1], "127.0.0.1:%u", up2.port);
        ok(dns_server_set_upstreams(server, ups) == 0, "set two upstreams");
        free(ups[0]);
        free(ups[1]);
        ups[0] = ups[1] = NULL;
        n0 = up2.n_queries;
        p = ask_udp_id("example.com", LDNS_RR_TYPE_A, 0x7777, &usec);
        ok(has_a(p, "192.0.2.7") && ldns_pkt_id(p) == 0x7777, "a silent upstream: the next one answers");
        ok(up2.n_queries == n0 + 1, "the second upstream was asked after the first timed out");
        ldns_pkt_free(p);

        /* Both silent: SERVFAIL after two attempts of 200 ms. */
        up2.silent = true;
        p = ask_udp_id("example.com", LDNS_RR_TYPE_A, 0x7778, &usec);
        ok(is_rcode(p, LDNS_RCODE_SERVFAIL, 0) && ldns_pkt_id(p) == 0x7778, "all upstreams silent → SERVFAIL");
        ok(usec < 2 * USEC_PER_SEC, "SERVFAIL comes within the attempt timeouts");
        printf("# SERVFAIL after %" PRIu64 " ms\n", usec / USEC_PER_MSEC);
        ldns_pkt_free(p);
        up1.silent = up2.silent = false;

        /* Nothing listens: refused at once, SERVFAIL without waiting. */
        (void) asprintf(&ups[0], "127.0.0.1:%u", closed_port());
        ok(dns_server_set_upstreams(server, ups) == 0, "set an upstream that is down");
        free(ups[0]);
        p = ask_udp_id("example.com", LDNS_RR_TYPE_A, 0x7779, &usec);
        ok(is_rcode(p, LDNS_RCODE_SERVFAIL, 0) && ldns_pkt_id(p) == 0x7779, "UDP: upstream down → SERVFAIL");
        ldns_pkt_free(p);
        p = ask_tcp("example.com", LDNS_RR_TYPE_A);
        ok(is_rcode(p, LDNS_RCODE_SERVFAIL, 0), "TCP: upstream down → SERVFAIL");
        ldns_pkt_free(p);

        /* The server never forwards to itself. */
        (void) asprintf(&ups[0], "127.0.0.1:%u", port);
        ok(dns_server_set_upstreams(server, ups) == 0, "set ourselves as the upstream");
        free(ups[0]);
        p = ask_udp("example.com", LDNS_RR_TYPE_A);
        ok(is_rcode(p, LDNS_RCODE_SERVFAIL, 0), "forwarding to ourselves is refused with SERVFAIL");
        ldns_pkt_free(p);

        ups[0] = (char *) "not-an-address";
        ok(dns_server_set_upstreams(server, ups) == -EINVAL, "an invalid upstream is refused");
}

static void test_garbage(void) {
        static const uint8_t header_qr[12] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0 };
        static const uint8_t truncated[14] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e' };
        static const uint8_t no_question[12] = { 0x12, 0x35, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0 };
        static const uint8_t status_op[12] = { 0x12, 0x36, 0x10, 0x00, 0, 0, 0, 0, 0, 0, 0, 0 };
        uint8_t junk[512], buf[512];
        int fd = client_connect(SOCK_DGRAM), tfd;
        ldns_pkt *p;
        ssize_t n;

        for (size_t i = 0; i < sizeof junk; i++)
                junk[i] = (uint8_t) (i * 131 + 7);
        (void) send(fd, junk, 5, 0);
        (void) send(fd, junk, sizeof junk, 0);
        (void) send(fd, header_qr, sizeof header_qr, 0);
        (void) send(fd, truncated, sizeof truncated, 0);
        (void) send(fd, "", 0, 0);
        run_until_readable(fd, 300 * USEC_PER_MSEC);
        n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        ok(n < 0 && errno == EAGAIN, "garbage, responses and truncated packets get no answer");

        (void) send(fd, no_question, sizeof no_question, 0);
        run_until_readable(fd, USEC_PER_SEC);
        n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        p = parse(buf, n);
        ok(is_rcode(p, LDNS_RCODE_FORMERR, 0), "a query without a question → FORMERR");
        ldns_pkt_free(p);
        (void) send(fd, status_op, sizeof status_op, 0);
        run_until_readable(fd, USEC_PER_SEC);
        n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        p = parse(buf, n);
        ok(is_rcode(p, LDNS_RCODE_NOTIMPL, 0), "opcode STATUS → NOTIMP");
        ldns_pkt_free(p);
        close(fd);

        /* TCP: a garbage frame, then a frame that announces more than it sends. */
        tfd = client_connect(SOCK_STREAM);
        junk[0] = 0;
        junk[1] = 100;
        run_until_readable(tfd, 50 * USEC_PER_MSEC);
        (void) send(tfd, junk, 102, MSG_NOSIGNAL);
        junk[0] = 0xff;
        junk[1] = 0xff;
        (void) send(tfd, junk, 50, MSG_NOSIGNAL);
        close(tfd);
        for (unsigned i = 0; i < 20; i++)
                (void) sd_event_run(event, 5 * USEC_PER_MSEC);

        /* Mutations of real queries (deterministic): whatever parses is answered or
         * forwarded, the rest dropped; nothing may crash or wedge the loop. */
        {
                uint32_t seed = 12345;
                size_t size;
                uint8_t *wire = query_wire("web.quilt.local", LDNS_RR_TYPE_A, 1, true, &size);
                unsigned answered = 0;

                fd = client_connect(SOCK_DGRAM);
                for (unsigned i = 0; i < 3000; i++) {
                        uint8_t m[512];
                        size_t len = size;

                        memcpy(m, wire, size);
                        for (unsigned k = 0; k < 1 + i % 4; k++) {
                                seed = seed * 1103515245 + 12345;
                                m[(seed >> 8) % size] = (uint8_t) (seed >> 16);
                        }
                        if (i % 7 == 0)
                                len = (seed >> 4) % size;
                        m[2] &= 0x7f; /* keep them queries, so they are not dropped at once */
                        (void) send(fd, m, len, 0);
                        if (i % 50 == 0)
                                for (unsigned k = 0; k < 5; k++)
                                        (void) sd_event_run(event, 1 * USEC_PER_MSEC);
                        while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
                                answered++;
                }
                for (unsigned k = 0; k < 20; k++)
                        (void) sd_event_run(event, 5 * USEC_PER_MSEC);
                while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
                        answered++;
                printf("# %u of 3000 mutated queries got an answer\n", answered);
                ok(answered > 0, "mutated queries: the ones that parse are answered");
                free(wire);
                close(fd);
        }

        p = ask_udp("web", LDNS_RR_TYPE_A);
        ok(has_a(p, "10.42.0.2"), "UDP: the server still answers after the garbage");
        ldns_pkt_free(p);
        p = ask_tcp("web", LDNS_RR_TYPE_A);
        ok(has_a(p, "10.42.0.2"), "TCP: the server still answers after the garbage");
        ldns_pkt_free(p);
}

static void test_tcp_bounded(void) {
        int fds[DNS_TCP_CONNECTIONS_MAX + 6];
        unsigned closed = 0;
        ldns_pkt *p;

        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                fds[i] = client_connect(SOCK_STREAM);
        for (unsigned i = 0; i < 40; i++)
                (void) sd_event_run(event, 5 * USEC_PER_MSEC);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                uint8_t b;
                if (recv(fds[i], &b, 1, MSG_DONTWAIT) == 0)
                        closed++;
        }
        is_int(closed, 6, "TCP: connections beyond the limit are closed at once");

        /* The first connection is still served. */
        tcp_send_query(fds[0], "db", LDNS_RR_TYPE_A, 9);
        p = tcp_read_answer(fds[0]);
        ok(has_a(p, "10.42.0.3"), "TCP: connections within the limit are served");
        ldns_pkt_free(p);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                close(fds[i]);
        for (unsigned i = 0; i < 20; i++)
                (void) sd_event_run(event, 5 * USEC_PER_MSEC);
}

static void test_tcp_idle(void) {
        int fd = client_connect(SOCK_STREAM), busy = client_connect(SOCK_STREAM);
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        ldns_pkt *p;
        uint8_t b;

        dns_server_set_tcp_idle_timeout(server, 300 * USEC_PER_MSEC);
        /* busy asks a question every 100 ms; fd says nothing. */
        while (now_usec(CLOCK_MONOTONIC) - t0 < 800 * USEC_PER_MSEC) {
                tcp_send_query(busy, "web", LDNS_RR_TYPE_A, 1);
                p = tcp_read_answer(busy);
                if (p)
                        ldns_pkt_free(p);
                run_until_readable(fd, 100 * USEC_PER_MSEC);
        }
        ok(recv(fd, &b, 1, MSG_DONTWAIT) == 0, "TCP: an idle connection is closed after the idle timeout");
        tcp_send_query(busy, "web", LDNS_RR_TYPE_A, 2);
        p = tcp_read_answer(busy);
        ok(has_a(p, "10.42.0.2"), "TCP: a connection in use stays open");
        ldns_pkt_free(p);
        close(fd);
        close(busy);
        dns_server_set_tcp_idle_timeout(server, 0);
}

static void test_table(void) {
        struct in_addr a;
        const DnsServerEntry *e;
        size_t n;
        ldns_pkt *p;

        e = dns_server_entries(server, &n);
        is_int(n, 2, "two entries");
        ok(n == 2 && streq(e[0].name, "web") && streq(e[1].id, ID_DB), "entries in the order they were added");

        inet_pton(AF_INET, "10.42.0.9", &a);
        ok(dns_server_add_container(server, "bad", "no.dots", &a) == -EINVAL, "a name with a dot is refused");
        ok(dns_server_add_container(server, "", "x", &a) == -EINVAL, "an empty id is refused");

        /* Same name, new container (the old one's removal has not arrived yet). */
        ok(dns_server_add_container(server, "ffffffff-0000-4000-8000-000000000000", "db", &a) == 0, "re-add db");
        dns_server_entries(server, &n);
        is_int(n, 2, "the old db entry was replaced");
        p = ask_udp("db", LDNS_RR_TYPE_A);
        ok(has_a(p, "10.42.0.9"), "db now resolves to the new container");
        ldns_pkt_free(p);
        p = ask_udp(ID_DB, LDNS_RR_TYPE_A);
        ok(is_rcode(p, LDNS_RCODE_SERVFAIL, 0) || is_rcode(p, LDNS_RCODE_NXDOMAIN, 0),
           "the replaced container's id no longer answers locally");
        ldns_pkt_free(p);

        ok(dns_server_lookup(server, "WEB.quilt.local.") == dns_server_lookup(server, "web"), "lookup forms agree");
        ok(!dns_server_lookup(server, "web.example.com"), "lookup: other domains are not ours");

        is_int(dns_server_remove_container(server, ID_WEB), 0, "remove web");
        is_int(dns_server_remove_container(server, ID_WEB), -ENOENT, "remove web again → -ENOENT");
        p = ask_udp("web.quilt.local", LDNS_RR_TYPE_A);
        ok(is_rcode(p, LDNS_RCODE_NXDOMAIN, 0), "a removed container's name.quilt.local → NXDOMAIN");
        ldns_pkt_free(p);
        p = ask_tcp(ID_WEB ".quilt.local", LDNS_RR_TYPE_A);
        ok(is_rcode(p, LDNS_RCODE_NXDOMAIN, 0), "a removed container's id.quilt.local → NXDOMAIN");
        ldns_pkt_free(p);
}

static void test_upstream_parsing(void) {
        struct sockaddr_storage ss;
        socklen_t len;
        const char *reason = NULL;
        char path[] = "/tmp/test-dns-resolv.XXXXXX";
        char **l = NULL;
        FILE *f;
        int fd;

        ok(socket_address_parse("192.0.2.1", 53, &ss, &len, &reason) == 0 && ss.ss_family == AF_INET &&
                   ntohs(((struct sockaddr_in *) &ss)->sin_port) == 53,
           "parse: IPv4, port 53 by default");
        ok(socket_address_parse("192.0.2.1:5353", 53, &ss, &len, &reason) == 0 &&
                   ntohs(((struct sockaddr_in *) &ss)->sin_port) == 5353,
           "parse: IPv4:PORT");
        ok(socket_address_parse("2001:db8::1", 53, &ss, &len, &reason) == 0 && ss.ss_family == AF_INET6,
           "parse: bare IPv6");
        ok(socket_address_parse("[2001:db8::1]:54", 53, &ss, &len, &reason) == 0 &&
                   ntohs(((struct sockaddr_in6 *) &ss)->sin6_port) == 54,
           "parse: [IPv6]:PORT");
        ok(socket_address_parse("192.0.2.1:0", 53, &ss, &len, &reason) == -EINVAL, "parse: port 0 is refused");
        ok(socket_address_parse("dns.example", 53, &ss, &len, &reason) == -EINVAL && reason, "parse: host names are refused");

        fd = mkstemp(path);
        f = fdopen(fd, "w");
        fputs("# comment\nsearch example.com\nnameserver 192.0.2.53\n  nameserver\t2001:db8::53 # v6\n"
              "nameserverx 1.1.1.1\noptions ndots:2\nnameserver 192.0.2.54\n",
              f);
        fclose(f);
        ok(dns_upstreams_from_resolv_conf(path, &l) == 0 && l && l[0] && streq(l[0], "192.0.2.53") && l[1] &&
                   streq(l[1], "2001:db8::53") && l[2] && streq(l[2], "192.0.2.54") && !l[3],
           "resolv.conf: the nameserver lines, in order");
        strv_free(l);
        unlink(path);
        ok(dns_upstreams_from_resolv_conf(path, &l) == -ENOENT, "resolv.conf: a missing file is -ENOENT");
}

int main(void) {
        struct in_addr a;
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);

        log_parse_environment();
        if (sd_event_new(&event) < 0)
                return 1;

        upstream_start(&up1);
        upstream_start(&up2);

        ok(dns_server_new(event, &server) == 0, "dns_server_new");
        inet_pton(AF_INET, "127.0.0.1", &a);
        ok(dns_server_listen(server, &a, 0) == 0, "listen on 127.0.0.1, a free port");
        port = dns_server_port(server);
        ok(port > 0, "the port is known");
        dns_server_set_attempt_timeout(server, 200 * USEC_PER_MSEC);

        inet_pton(AF_INET, "10.42.0.2", &a);
        ok(dns_server_add_container(server, ID_WEB, "web", &a) == 0, "add web");
        inet_pton(AF_INET, "10.42.0.3", &a);
        ok(dns_server_add_container(server, ID_DB, "db", &a) == 0, "add db");

        test_local();
        test_forward();
        test_garbage();
        test_tcp_bounded();
        test_tcp_idle();
        test_table();
        test_upstream_parsing();

        server = dns_server_free(server);
        sd_event_unref(event);
        printf("# took %" PRIu64 " ms\n", (now_usec(CLOCK_MONOTONIC) - t0) / USEC_PER_MSEC);
        return tap_finish();
}
