/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The DNS server object: listeners (UDP here, TCP in dns-tcp.c) and the table of
 * container names. Answering is in dns-answer.c, forwarding in dns-forward.c. */

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include "dns-internal.h"
#include "log.h"
#include "name-util.h"

int dns_server_new(sd_event *e, DnsServer **ret) {
        _cleanup_(dns_server_freep) DnsServer *s = NULL;
        ldns_status st;

        if (!e || !ret)
                return -EINVAL;

        s = new0(DnsServer, 1);
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(e);
        s->attempt_usec = DNS_FORWARD_ATTEMPT_USEC;
        s->tcp_idle_usec = DNS_TCP_IDLE_USEC;
        s->upstreams_from_resolv_conf = true;

        s->buffer = malloc(DNS_MESSAGE_MAX);
        if (!s->buffer)
                return -ENOMEM;

        /* The negative-caching TTL (the last field) is as short as the records' TTL: a name
         * that is missing now may be a container starting. */
        st = ldns_rr_new_frm_str(&s->soa,
                                 DNS_ZONE ". 5 IN SOA ns." DNS_ZONE ". hostmaster." DNS_ZONE ". 1 3600 600 86400 5",
                                 0, NULL, NULL);
        if (st != LDNS_STATUS_OK)
                return st == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EINVAL;

        *ret = TAKE_PTR(s);
        return 0;
}

static DnsListener *dns_listener_free(DnsListener *l) {
        if (!l)
                return NULL;
        if (l->server)
                dns_forward_forget_listener(l->server, l);
        sd_event_source_disable_unref(l->udp_source);
        sd_event_source_disable_unref(l->tcp_source);
        sd_event_source_disable_unref(l->accept_retry);
        safe_close(l->udp_fd);
        safe_close(l->tcp_fd);
        return mfree(l);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(DnsListener *, dns_listener_free);

void dns_server_stop_listening(DnsServer *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_listeners; i++)
                dns_listener_free(s->listeners[i]);
        s->listeners = mfree(s->listeners);
        s->n_listeners = 0;
}

void dns_server_clear(DnsServer *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_entries; i++) {
                free(s->entries[i].id);
                free(s->entries[i].name);
        }
        s->entries = mfree(s->entries);
        s->n_entries = 0;
}

DnsServer *dns_server_free(DnsServer *s) {
        if (!s)
                return NULL;

        dns_forward_free_all(s);
        while (s->conns)
                dns_tcp_conn_free(s->conns);
        dns_server_stop_listening(s);
        dns_server_clear(s);
        free(s->upstreams);
        free(s->buffer);
        if (s->soa)
                ldns_rr_free(s->soa);
        sd_event_unref(s->event);
        return mfree(s);
}

/* ---- sending -------------------------------------------------------------------------- */

void dns_client_send(DnsServer *s, const DnsClient *c, const uint8_t *data, size_t size) {
        if (c->conn) {
                dns_tcp_conn_send(c->conn, data, size);
                return;
        }
        if (!c->listener)
                return; /* the listener closed meanwhile */

        /* UDP: a reply that cannot be sent now is lost like any datagram; the client asks
         * again. */
        if (sendto(c->listener->udp_fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *) &c->peer,
                   sizeof c->peer) < 0)
                log_debug_errno(errno, "DNS: failed to send a reply over UDP: %m");
}

/* ---- UDP ------------------------------------------------------------------------------- */

static int on_udp(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        DnsListener *l = userdata;
        DnsServer *s = l->server;

        /* A bounded batch per wake-up, so that a flood on one socket cannot starve the rest
         * of the loop. */
        for (unsigned i = 0; i < 64; i++) {
                DnsClient client = { .listener = l };
                socklen_t peer_len = sizeof client.peer;
                ssize_t n;

                n = recvfrom(fd, s->buffer, DNS_MESSAGE_MAX, MSG_DONTWAIT, (struct sockaddr *) &client.peer,
                             &peer_len);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        /* ICMP errors of earlier replies and the like: not fatal. */
                        log_debug_errno(errno, "DNS: recvfrom() failed, ignoring: %m");
                        return 0;
                }
                if (peer_len != sizeof client.peer || client.peer.sin_family != AF_INET)
                        continue;

                dns_server_handle_packet(s, s->buffer, (size_t) n, &client);
        }
        return 0;
}

/* ---- listening ------------------------------------------------------------------------- */

static int dns_socket_bind(int type, const struct sockaddr_in *sa, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        int one = 1;

        fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;

        /* The bridge address may not exist yet (or not any more after a prune): bind
         * anyway, and answer once it does. */
        if (setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one) < 0)
                return -errno;
        if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
                return -errno;

        if (bind(fd, (const struct sockaddr *) sa, sizeof *sa) < 0)
                return -errno;
        if (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0)
                return -errno;

        *ret_fd = TAKE_FD(fd);
        return 0;
}

int dns_server_listen(DnsServer *s, const struct in_addr *addr, uint16_t port) {
        _cleanup_(dns_listener_freep) DnsListener *l = NULL;
        char buf[INET_ADDRSTRLEN];
        DnsListener **a;
        socklen_t len;
        int r;

        if (!s || !addr)
                return -EINVAL;

        l = new0(DnsListener, 1);
        if (!l)
                return -ENOMEM;
        l->udp_fd = l->tcp_fd = -EBADF;
        l->addr = (struct sockaddr_in) {
                .sin_family = AF_INET,
                .sin_addr = *addr,
                .sin_port = htons(port),
        };
        (void) inet_ntop(AF_INET, addr, buf, sizeof buf);

        r = dns_socket_bind(SOCK_DGRAM, &l->addr, &l->udp_fd);
        if (r < 0)
                return log_debug_errno(r, "DNS: cannot bind UDP %s:%u: %m", buf, port);

        /* With port 0 the kernel chose; TCP takes the same port. */
        len = sizeof l->addr;
        if (getsockname(l->udp_fd, (struct sockaddr *) &l->addr, &len) < 0)
                return -errno;

        r = dns_socket_bind(SOCK_STREAM, &l->addr, &l->tcp_fd);
        if (r < 0)
                return log_debug_errno(r, "DNS: cannot bind TCP %s:%u: %m", buf, ntohs(l->addr.sin_port));

        r = sd_event_add_io(s->event, &l->udp_source, l->udp_fd, EPOLLIN, on_udp, l);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(l->udp_source, "dns-udp");
        r = sd_event_add_io(s->event, &l->tcp_source, l->tcp_fd, EPOLLIN, dns_tcp_on_accept, l);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(l->tcp_source, "dns-tcp-listen");

        a = realloc(s->listeners, (s->n_listeners + 1) * sizeof *a);
        if (!a)
                return -ENOMEM;
        s->listeners = a;
        l->server = s;
        s->listeners[s->n_listeners++] = TAKE_PTR(l);

        log_debug("DNS: listening on %s:%u (UDP and TCP).", buf,
                  ntohs(s->listeners[s->n_listeners - 1]->addr.sin_port));
        return 0;
}

uint16_t dns_server_port(const DnsServer *s) {
        if (!s || s->n_listeners == 0)
                return 0;
        return ntohs(s->listeners[s->n_listeners - 1]->addr.sin_port);
}

void dns_server_set_attempt_timeout(DnsServer *s, uint64_t usec) {
        if (s)
                s->attempt_usec = usec > 0 ? usec : DNS_FORWARD_ATTEMPT_USEC;
}

void dns_server_set_tcp_idle_timeout(DnsServer *s, uint64_t usec) {
        if (s)
                s->tcp_idle_usec = usec > 0 ? usec : DNS_TCP_IDLE_USEC;
}

/* ---- the names ------------------------------------------------------------------------- */

static void entry_done(DnsServerEntry *e) {
        free(e->id);
        free(e->name);
}

static void entries_remove_at(DnsServer *s, size_t i) {
        entry_done(&s->entries[i]);
        memmove(s->entries + i, s->entries + i + 1, (s->n_entries - i - 1) * sizeof *s->entries);
        s->n_entries--;
}

int dns_server_add_container(DnsServer *s, const char *id, const char *name, const struct in_addr *addr) {
        DnsServerEntry e = {}, *a;
        char buf[INET_ADDRSTRLEN];

        if (!s || isempty(id) || !addr || !container_name_is_valid(name))
                return -EINVAL;
        /* An id is answered as a DNS label too. */
        if (strlen(id) > 63 || strchr(id, '.'))
                return -EINVAL;

        e.id = strdup(id);
        e.name = strdup(name);
        e.addr = *addr;
        if (!e.id || !e.name) {
                entry_done(&e);
                return -ENOMEM;
        }

        /* Names are unique among containers; if an old entry still holds this name (its
         * removal has not reached us yet), the new container wins. */
        for (size_t i = s->n_entries; i > 0; i--)
                if (strcasecmp(s->entries[i - 1].id, id) == 0 || strcasecmp(s->entries[i - 1].name, name) == 0)
                        entries_remove_at(s, i - 1);

        a = realloc(s->entries, (s->n_entries + 1) * sizeof *a);
        if (!a) {
                entry_done(&e);
                return -ENOMEM;
        }
        s->entries = a;
        s->entries[s->n_entries++] = e;

        log_debug("DNS: %s (%s) -> %s", name, id, inet_ntop(AF_INET, addr, buf, sizeof buf) ?: "?");
        return 0;
}

int dns_server_remove_container(DnsServer *s, const char *id) {
        if (!s || isempty(id))
                return -EINVAL;

        for (size_t i = 0; i < s->n_entries; i++)
                if (streq(s->entries[i].id, id)) {
                        log_debug("DNS: removed %s (%s)", s->entries[i].name, id);
                        entries_remove_at(s, i);
                        return 0;
                }
        return -ENOENT;
}

const DnsServerEntry *dns_server_entries(const DnsServer *s, size_t *ret_n) {
        if (ret_n)
                *ret_n = s ? s->n_entries : 0;
        return s ? s->entries : NULL;
}

/* Whether label (n bytes) is the short form of id: its first 12 characters, or its first
 * 12 hex digits without the dashes. */
static bool short_id_matches(const char *id, const char *label, size_t n) {
        size_t k = 0;

        if (n != 12)
                return false;
        if (strncasecmp(id, label, 12) == 0)
                return true;

        for (const char *p = id; *p && k < 12; p++) {
                if (*p == '-')
                        continue;
                if ((*p | 0x20) != (label[k] | 0x20))
                        return false;
                k++;
        }
        return k == 12;
}

static bool label_is(const char *s, const char *label, size_t n) {
        return strlen(s) == n && strncasecmp(s, label, n) == 0;
}

const DnsServerEntry *dns_server_lookup(const DnsServer *s, const char *name) {
        size_t n;
        const char *zone;

        if (!s || !name)
                return NULL;

        n = strlen(name);
        if (n > 0 && name[n - 1] == '.')
                n--;
        /* "<label>.quilt.local" → "<label>". */
        if (n > strlen("." DNS_ZONE)) {
                zone = name + n - strlen("." DNS_ZONE);
                if (strncasecmp(zone, "." DNS_ZONE, strlen("." DNS_ZONE)) == 0)
                        n -= strlen("." DNS_ZONE);
        }
        if (n == 0 || memchr(name, '.', n))
                return NULL;

        /* Names first: a container named like another's short id keeps its name. */
        for (size_t i = 0; i < s->n_entries; i++)
                if (label_is(s->entries[i].name, name, n))
                        return &s->entries[i];
        for (size_t i = 0; i < s->n_entries; i++)
                if (label_is(s->entries[i].id, name, n))
                        return &s->entries[i];
        for (size_t i = 0; i < s->n_entries; i++)
                if (short_id_matches(s->entries[i].id, name, n))
                        return &s->entries[i];
        return NULL;
}
