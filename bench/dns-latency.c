/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Lookup latency of Quilt's DNS server (src/daemon/net/dns-server.c) as containers see it:
 * one query at a time from a client socket, answer parsed, N times per series. The server
 * runs on its own sd-event loop in a second thread, on 127.0.0.1, with ENTRIES container
 * names in its table and a fake upstream (a UDP responder on another loopback port, on the
 * server's loop) for the forwarded series. Prints p50/p95/p99/max in µs; asserts
 * nothing.
 *
 *   dns-latency [N [ENTRIES]]      (defaults 1000 and 100) */

#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>

#include <ldns/ldns.h>

#include "dns-server.h"

static unsigned n_entries = 100;
static uint16_t server_port;
static int stop_fd = -EBADF, ready_fd = -EBADF;

/* ---- the server thread ------------------------------------------------------------------ */

static int on_stop(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* The fake upstream: every query answered with one A record. */
static int on_upstream(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        uint8_t buf[4096], *wire = NULL;
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        ldns_pkt *q = NULL, *a;
        ldns_rr *rr = NULL;
        size_t size;
        ssize_t n;

        n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *) &peer, &len);
        if (n <= 0 || ldns_wire2pkt(&q, buf, (size_t) n) != LDNS_STATUS_OK)
                return 0;
        a = ldns_pkt_new();
        ldns_pkt_set_id(a, ldns_pkt_id(q));
        ldns_pkt_set_qr(a, true);
        ldns_pkt_set_rd(a, true);
        ldns_pkt_set_ra(a, true);
        ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q), 0)));
        if (ldns_rr_new_frm_str(&rr, "example.com. 60 IN A 192.0.2.7", 0, NULL, NULL) == LDNS_STATUS_OK)
                ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
        if (ldns_pkt2wire(&wire, a, &size) == LDNS_STATUS_OK)
                (void) sendto(fd, wire, size, 0, (struct sockaddr *) &peer, len);
        free(wire);
        ldns_pkt_free(a);
        ldns_pkt_free(q);
        return 0;
}

static void *server_thread(void *arg) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sa;
        sd_event *e = NULL;
        DnsServer *s = NULL;
        char upstream[32], *ups[2] = { upstream, NULL };
        uint64_t one = 1;
        int ufd;

        ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (sd_event_new(&e) < 0 || ufd < 0 || bind(ufd, (struct sockaddr *) &sa, sizeof sa) < 0 ||
            getsockname(ufd, (struct sockaddr *) &sa, &len) < 0 ||
            sd_event_add_io(e, NULL, ufd, EPOLLIN, on_upstream, NULL) < 0 ||
            sd_event_add_io(e, NULL, stop_fd, EPOLLIN, on_stop, NULL) < 0 || dns_server_new(e, &s) < 0)
                abort();
        (void) snprintf(upstream, sizeof upstream, "127.0.0.1:%u", ntohs(sa.sin_port));
        if (dns_server_set_upstreams(s, ups) < 0)
                abort();

        sa.sin_port = 0;
        if (dns_server_listen(s, &sa.sin_addr, 0) < 0)
                abort();
        server_port = dns_server_port(s);

        for (unsigned i = 0; i < n_entries; i++) {
                char id[64], name[32];
                struct in_addr a = { .s_addr = htonl(0x0a2a0002 + i) };

                (void) snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", i * 2654435761u, i);
                (void) snprintf(name, sizeof name, "c%u", i);
                if (dns_server_add_container(s, id, name, &a) < 0)
                        abort();
        }

        if (write(ready_fd, &one, sizeof one) != sizeof one)
                abort();
        (void) sd_event_loop(e);
        dns_server_free(s);
        sd_event_unref(e);
        close(ufd);
        return NULL;
}

/* ---- the client ---------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static void report(const char *name, uint64_t *samples, size_t n, unsigned failures) {
        qsort(samples, n, sizeof *samples, cmp_u64);
        printf("%-40s n=%zu  p50=%6.1f µs  p95=%6.1f µs  p99=%6.1f µs  max=%7.1f µs", name, n,
               samples[n / 2] / 1e3, samples[n * 95 / 100] / 1e3, samples[n * 99 / 100] / 1e3, samples[n - 1] / 1e3);
        if (failures)
                printf("  (%u without the expected answer)", failures);
        putchar('\n');
}

static int client_socket(int type) {
        struct sockaddr_in sa = {
                .sin_family = AF_INET,
                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                .sin_port = htons(server_port),
        };
        struct timeval tv = { .tv_sec = 3 };
        int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
            connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                abort();
        return fd;
}

static uint8_t *query_wire(const char *name, size_t *ret_size) {
        ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
        uint8_t *wire = NULL;

        if (!q || ldns_pkt2wire(&wire, q, ret_size) != LDNS_STATUS_OK)
                abort();
        ldns_pkt_free(q);
        return wire;
}

static bool read_full(int fd, uint8_t *buf, size_t n) {
        for (size_t have = 0; have < n;) {
                ssize_t k = recv(fd, buf + have, n - have, 0);
                if (k <= 0)
                        return false;
                have += (size_t) k;
        }
        return true;
}

/* N lookups of name; each must come back with our id and rcode. */
static void series(const char *title, const char *name, int type, ldns_pkt_rcode rcode, size_t n) {
        uint64_t *samples = calloc(n, sizeof(uint64_t));
        uint8_t *wire, buf[4096];
        unsigned failures = 0;
        size_t size;
        int fd;

        if (!samples)
                abort();
        wire = query_wire(name, &size);
        fd = client_socket(type);

        for (size_t i = 0; i < n + 50; i++) {
                uint16_t id = (uint16_t) (i * 7919 + 1);
                ssize_t k = -1;
                ldns_pkt *p = NULL;

                wire[0] = id >> 8;
                wire[1] = id & 0xff;
                {
                        struct timespec ts0, ts1;

                        clock_gettime(CLOCK_MONOTONIC, &ts0);
                        if (type == SOCK_DGRAM) {
                                if (send(fd, wire, size, 0) == (ssize_t) size)
                                        k = recv(fd, buf, sizeof buf, 0);
                        } else {
                                uint8_t frame[2 + 512] = { size >> 8, size & 0xff };
                                memcpy(frame + 2, wire, size);
                                if (send(fd, frame, size + 2, MSG_NOSIGNAL) == (ssize_t) size + 2 &&
                                    read_full(fd, buf, 2)) {
                                        size_t len = (size_t) buf[0] << 8 | buf[1];
                                        if (len <= sizeof buf && read_full(fd, buf, len))
                                                k = (ssize_t) len;
                                }
                        }
                        clock_gettime(CLOCK_MONOTONIC, &ts1);
                        /* The first 50 are warm-up. */
                        if (i >= 50)
                                samples[i - 50] = (uint64_t) (ts1.tv_sec - ts0.tv_sec) * 1000000000ULL +
                                                  (uint64_t) (ts1.tv_nsec - ts0.tv_nsec);
                }
                if (k <= 0 || ldns_wire2pkt(&p, buf, (size_t) k) != LDNS_STATUS_OK || ldns_pkt_id(p) != id ||
                    ldns_pkt_get_rcode(p) != rcode)
                        failures += i >= 50;
                if (p)
                        ldns_pkt_free(p);
        }

        report(title, samples, n, failures);
        close(fd);
        free(wire);
        free(samples);
}

int main(int argc, char *argv[]) {
        pthread_t thread;
        size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
        uint64_t v, one = 1;
        char name[64];

        if (argc > 2)
                n_entries = (unsigned) strtoul(argv[2], NULL, 10);
        if (n < 10 || n_entries < 1) {
                fprintf(stderr, "usage: dns-latency [N>=10 [ENTRIES>=1]]\n");
                return 2;
        }

        stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        ready_fd = eventfd(0, EFD_CLOEXEC);
        if (stop_fd < 0 || ready_fd < 0 || pthread_create(&thread, NULL, server_thread, NULL) != 0 ||
            read(ready_fd, &v, sizeof v) != sizeof v)
                return 1;

        printf("Quilt DNS server on 127.0.0.1:%u, %u container entries, %zu lookups per series (after 50 warm-up)\n",
               server_port, n_entries, n);
        /* The last entry: the table is searched in order. */
        (void) snprintf(name, sizeof name, "c%u", n_entries - 1);
        series("container name, UDP (last table entry)", name, SOCK_DGRAM, LDNS_RCODE_NOERROR, n);
        (void) snprintf(name, sizeof name, "c%u.quilt.local", n_entries - 1);
        series("name.quilt.local, UDP", name, SOCK_DGRAM, LDNS_RCODE_NOERROR, n);
        series("name.quilt.local, TCP (one connection)", name, SOCK_STREAM, LDNS_RCODE_NOERROR, n);
        series("unknown.quilt.local (NXDOMAIN), UDP", "nosuch.quilt.local", SOCK_DGRAM, LDNS_RCODE_NXDOMAIN, n);
        series("forwarded, UDP, loopback upstream", "example.com", SOCK_DGRAM, LDNS_RCODE_NOERROR, n);

        if (write(stop_fd, &one, sizeof one) != sizeof one)
                return 1;
        pthread_join(thread, NULL);
        return 0;
}
