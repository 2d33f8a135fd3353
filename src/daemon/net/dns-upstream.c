/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Where forwarded queries go: configured addresses, or the host's /etc/resolv.conf. */

#include <sys/stat.h>

#include "dns-internal.h"
#include "fs-util.h"
#include "log.h"
#include "socket-address.h"
#include "strv.h"

#define RESOLV_CONF "/etc/resolv.conf"

int dns_upstreams_from_resolv_conf(const char *path, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        char *line, *save = NULL;
        int r;

        r = read_full_file(path, &text, NULL);
        if (r < 0)
                return r;

        l = new0(char *, 1);
        if (!l)
                return -ENOMEM;

        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *p = line + strspn(line, " \t"), *rest;
                char **a;
                size_t len;

                rest = startswith(p, "nameserver");
                if (!rest || (rest[0] != ' ' && rest[0] != '\t'))
                        continue;
                rest += strspn(rest, " \t");
                len = strcspn(rest, " \t\r#;");
                if (len == 0)
                        continue;

                a = realloc(l, (n + 2) * sizeof *a);
                if (!a)
                        return -ENOMEM;
                l = a;
                l[n] = strndup(rest, len);
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

/* Parses servers into a new array; -EINVAL if one does not parse. */
static int upstreams_parse(char **servers, bool skip_invalid, DnsUpstream **ret, size_t *ret_n) {
        _cleanup_free_ DnsUpstream *a = NULL;
        size_t n = 0, k = strv_length(servers);
        const char *reason = NULL;
        int r;

        a = new0(DnsUpstream, MAX(k, (size_t) 1));
        if (!a)
                return -ENOMEM;

        for (size_t i = 0; i < k; i++) {
                r = socket_address_parse(servers[i], DNS_PORT_DEFAULT, &a[n].addr, &a[n].len, &reason);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        if (!skip_invalid)
                                return r;
                        log_debug("DNS: ignoring nameserver '%s' in %s: %s", servers[i], RESOLV_CONF, reason);
                        continue;
                }
                n++;
        }

        *ret = TAKE_PTR(a);
        *ret_n = n;
        return 0;
}

int dns_server_set_upstreams(DnsServer *s, char **servers) {
        DnsUpstream *a = NULL;
        size_t n = 0;
        int r;

        if (!s)
                return -EINVAL;

        if (strv_length(servers) == 0) {
                s->upstreams = mfree(s->upstreams);
                s->n_upstreams = 0;
                s->upstreams_from_resolv_conf = true;
                s->resolv_conf_stat = (struct stat) {};
                return 0;
        }

        r = upstreams_parse(servers, false, &a, &n);
        if (r < 0)
                return r;

        free(s->upstreams);
        s->upstreams = a;
        s->n_upstreams = n;
        s->upstreams_from_resolv_conf = false;
        return 0;
}

static bool stat_same(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

void dns_server_refresh_upstreams(DnsServer *s) {
        _cleanup_strv_free_ char **servers = NULL;
        DnsUpstream *a = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        if (!s->upstreams_from_resolv_conf)
                return;

        /* A stat() per forwarded query, to follow a host whose resolvers change (DHCP,
         * VPN); the file is read only when it did. */
        if (stat(RESOLV_CONF, &st) < 0) {
                if (s->n_upstreams > 0 || s->resolv_conf_stat.st_ino != 0)
                        log_debug_errno(errno, "DNS: cannot stat %s, no upstreams: %m", RESOLV_CONF);
                s->upstreams = mfree(s->upstreams);
                s->n_upstreams = 0;
                s->resolv_conf_stat = (struct stat) {};
                return;
        }
        if (s->resolv_conf_stat.st_ino != 0 && stat_same(&st, &s->resolv_conf_stat))
                return;

        r = dns_upstreams_from_resolv_conf(RESOLV_CONF, &servers);
        if (r >= 0)
                r = upstreams_parse(servers, true, &a, &n);
        if (r < 0) {
                log_debug_errno(r, "DNS: cannot read the nameservers of %s: %m", RESOLV_CONF);
                return; /* keep what we had; try again next time */
        }

        free(s->upstreams);
        s->upstreams = a;
        s->n_upstreams = n;
        s->resolv_conf_stat = st;
        log_debug("DNS: %zu upstream resolver(s) from %s.", n, RESOLV_CONF);
}

bool dns_server_is_own_address(const DnsServer *s, const struct sockaddr_storage *sa) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

        if (sa->ss_family != AF_INET)
                return false;
        for (size_t i = 0; i < s->n_listeners; i++) {
                const struct sockaddr_in *l = &s->listeners[i]->addr;

                if (l->sin_port == in->sin_port &&
                    (l->sin_addr.s_addr == in->sin_addr.s_addr || l->sin_addr.s_addr == htonl(INADDR_ANY)))
                        return true;
        }
        return false;
}
