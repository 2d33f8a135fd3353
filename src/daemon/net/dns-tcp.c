/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* DNS over TCP (RFC 7766): each message is preceded by its length in two bytes; a client
 * may send several queries on one connection, and answers go out as they are ready (a
 * forwarded one may overtake a local one). Connections are bounded in number, closed
 * when idle, and stop being read while too many of their queries are in flight. */

#include <sys/socket.h>

#include "dns-internal.h"
#include "log.h"

static void conn_update_events(DnsTcpConn *c) {
        uint32_t events = 0;

        if (!c->eof && c->n_pending < DNS_TCP_PENDING_MAX)
                events |= EPOLLIN;
        if (c->wsize > 0)
                events |= EPOLLOUT;

        if (events == 0) {
                (void) sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
                return;
        }
        if (sd_event_source_set_io_events(c->io, events) < 0 ||
            sd_event_source_set_enabled(c->io, SD_EVENT_ON) < 0)
                c->dead = true;
}

static void conn_touch(DnsTcpConn *c) {
        (void) sd_event_source_set_time_relative(c->timer, c->server->tcp_idle_usec);
        (void) sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

static bool conn_free_if_done(DnsTcpConn *c) {
        if (c->dead || (c->eof && c->n_pending == 0 && c->wsize == 0)) {
                dns_tcp_conn_free(c);
                return true;
        }
        return false;
}

DnsTcpConn *dns_tcp_conn_free(DnsTcpConn *c) {
        DnsServer *s;

        if (!c)
                return NULL;
        s = c->server;

        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_conns--;

        dns_forward_forget_conn(s, c);
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        safe_close(c->fd);
        free(c->rbuf);
        free(c->wbuf);
        return mfree(c);
}

static void conn_flush(DnsTcpConn *c) {
        while (c->wsize > 0) {
                ssize_t n = send(c->fd, c->wbuf, c->wsize, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                c->dead = true;
                        return;
                }
                memmove(c->wbuf, c->wbuf + n, c->wsize - (size_t) n);
                c->wsize -= (size_t) n;
        }
}

void dns_tcp_conn_send(DnsTcpConn *c, const uint8_t *data, size_t size) {
        if (c->dead)
                return;
        if (size > DNS_MESSAGE_MAX || c->wsize + 2 + size > DNS_TCP_WBUF_MAX) {
                /* The client does not read its answers: stop serving it. */
                c->dead = true;
                return;
        }

        if (c->wsize + 2 + size > c->wallocated) {
                size_t a = MAX(c->wallocated * 2, c->wsize + 2 + size);
                uint8_t *p = realloc(c->wbuf, a);

                if (!p) {
                        c->dead = true;
                        return;
                }
                c->wbuf = p;
                c->wallocated = a;
        }
        c->wbuf[c->wsize] = size >> 8;
        c->wbuf[c->wsize + 1] = size & 0xff;
        memcpy(c->wbuf + c->wsize + 2, data, size);
        c->wsize += 2 + size;

        conn_flush(c);
        conn_update_events(c);
}

/* Handles every complete message in the read buffer, as long as the connection may have
 * more queries in flight. */
static void conn_process(DnsTcpConn *c) {
        size_t off = 0;

        while (!c->dead && c->n_pending < DNS_TCP_PENDING_MAX && c->rsize - off >= 2) {
                size_t len = (size_t) c->rbuf[off] << 8 | c->rbuf[off + 1];

                if (c->rsize - off < 2 + len)
                        break;
                /* A zero-length message is nothing we could answer: skip it. */
                if (len > 0) {
                        DnsClient client = { .conn = c };
                        dns_server_handle_packet(c->server, c->rbuf + off + 2, len, &client);
                }
                off += 2 + len;
        }

        memmove(c->rbuf, c->rbuf + off, c->rsize - off);
        c->rsize -= off;
}

void dns_tcp_conn_query_done(DnsTcpConn *c) {
        if (c->n_pending > 0)
                c->n_pending--;
        /* Queries held back while too many were in flight may go now. */
        conn_process(c);
        conn_update_events(c);
        conn_touch(c);
        (void) conn_free_if_done(c);
}

static void conn_read(DnsTcpConn *c) {
        size_t want;
        ssize_t n;

        /* Room for the whole message being received, at least a little. */
        want = 4096;
        if (c->rsize >= 2)
                want = MAX(want, 2 + ((size_t) c->rbuf[0] << 8 | c->rbuf[1]));
        if (c->rallocated < want) {
                uint8_t *p = realloc(c->rbuf, want);
                if (!p) {
                        c->dead = true;
                        return;
                }
                c->rbuf = p;
                c->rallocated = want;
        }
        if (c->rsize == c->rallocated)
                return; /* full of held-back queries; EPOLLIN is off until they go */

        n = recv(c->fd, c->rbuf + c->rsize, c->rallocated - c->rsize, MSG_DONTWAIT);
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        c->dead = true;
                return;
        }
        if (n == 0) {
                c->eof = true;
                /* An incomplete message at the end is dropped. */
                return;
        }
        c->rsize += (size_t) n;
        conn_process(c);
}

static int on_conn_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        DnsTcpConn *c = userdata;

        if (revents & EPOLLOUT)
                conn_flush(c);
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                conn_read(c);

        conn_touch(c);
        conn_update_events(c);
        (void) conn_free_if_done(c);
        return 0;
}

static int on_conn_idle(sd_event_source *source, uint64_t usec, void *userdata) {
        DnsTcpConn *c = userdata;

        /* Waiting for an upstream is not idleness: the forwarder's own timeout ends that. */
        if (c->n_pending > 0) {
                conn_touch(c);
                return 0;
        }
        log_debug("DNS: closing an idle TCP connection.");
        dns_tcp_conn_free(c);
        return 0;
}

static int on_accept_retry(sd_event_source *source, uint64_t usec, void *userdata) {
        DnsListener *l = userdata;

        l->accept_retry = sd_event_source_disable_unref(l->accept_retry);
        (void) sd_event_source_set_enabled(l->tcp_source, SD_EVENT_ON);
        return 0;
}

static int conn_new(DnsServer *s, int fd) {
        DnsTcpConn *c;
        int r;

        c = new0(DnsTcpConn, 1);
        if (!c) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->server = s;
        c->fd = fd;
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        s->n_conns++;

        r = sd_event_add_io(s->event, &c->io, fd, EPOLLIN, on_conn_io, c);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(c->io, "dns-tcp");
        r = sd_event_add_time_relative(s->event, &c->timer, CLOCK_MONOTONIC, s->tcp_idle_usec, USEC_PER_MSEC * 100,
                                       on_conn_idle, c);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(c->timer, "dns-tcp-idle");
        return 0;

fail:
        dns_tcp_conn_free(c);
        return r;
}

int dns_tcp_on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        DnsListener *l = userdata;
        DnsServer *s = l->server;
        int r;

        for (unsigned i = 0; i < 16; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return 0;
                        if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) && !l->accept_retry) {
                                /* The pending connection stays readable; without a pause the
                                 * loop would spin on it. */
                                log_warning_errno(errno, "DNS: cannot accept TCP connections, pausing: %m");
                                (void) sd_event_source_set_enabled(l->tcp_source, SD_EVENT_OFF);
                                (void) sd_event_add_time_relative(s->event, &l->accept_retry, CLOCK_MONOTONIC,
                                                                  USEC_PER_SEC, USEC_PER_MSEC * 100,
                                                                  on_accept_retry, l);
                                return 0;
                        }
                        log_debug_errno(errno, "DNS: accept() failed: %m");
                        return 0;
                }

                if (s->n_conns >= DNS_TCP_CONNECTIONS_MAX) {
                        /* Bounded: the client falls back to its next server or retries. */
                        log_debug("DNS: %u TCP connections open, refusing another.", s->n_conns);
                        safe_close(cfd);
                        continue;
                }

                r = conn_new(s, cfd);
                if (r < 0)
                        log_debug_errno(r, "DNS: cannot set up a TCP connection: %m");
        }
        return 0;
}
