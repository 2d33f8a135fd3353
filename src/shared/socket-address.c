/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "socket-address.h"

static int parse_port(const char *s, uint16_t *ret) {
        unsigned long v;

        if (isempty(s) || strlen(s) > 5 || s[strspn(s, "0123456789")] != '\0')
                return -EINVAL;
        v = strtoul(s, NULL, 10);
        if (v < 1 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

int socket_address_parse(const char *s, uint16_t default_port, struct sockaddr_storage *ret, socklen_t *ret_len,
                         const char **ret_reason) {
        _cleanup_free_ char *host = NULL;
        const char *port = NULL, *colon;
        struct addrinfo hints = {
                .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                .ai_socktype = SOCK_DGRAM,
        };
        struct addrinfo *ai = NULL;
        char portbuf[6];
        uint16_t p = default_port;
        int r;

        if (isempty(s)) {
                *ret_reason = "empty address";
                return -EINVAL;
        }

        if (s[0] == '[') {
                const char *close = strchr(s, ']');

                if (!close || (close[1] != '\0' && close[1] != ':')) {
                        *ret_reason = "expected [IPV6] or [IPV6]:PORT";
                        return -EINVAL;
                }
                host = strndup(s + 1, (size_t) (close - s - 1));
                if (close[1] == ':')
                        port = close + 2;
        } else {
                colon = strchr(s, ':');
                if (colon && !strchr(colon + 1, ':')) {
                        /* Exactly one colon: IPv4:PORT. More: a bare IPv6 address. */
                        host = strndup(s, (size_t) (colon - s));
                        port = colon + 1;
                } else
                        host = strdup(s);
        }
        if (!host)
                return -ENOMEM;

        if (port && parse_port(port, &p) < 0) {
                *ret_reason = "invalid port, expected 1-65535";
                return -EINVAL;
        }
        if (p == 0) {
                *ret_reason = "no port given";
                return -EINVAL;
        }
        (void) snprintf(portbuf, sizeof portbuf, "%u", p);

        /* Numeric only (AI_NUMERICHOST), so getaddrinfo() does not block; it also
         * understands "fe80::1%eth0". */
        r = getaddrinfo(host, portbuf, &hints, &ai);
        if (r != 0 || !ai) {
                if (ai)
                        freeaddrinfo(ai);
                if (r == EAI_MEMORY)
                        return -ENOMEM;
                *ret_reason = "not an IPv4 or IPv6 address";
                return -EINVAL;
        }
        if (ai->ai_addrlen > sizeof *ret) {
                freeaddrinfo(ai);
                *ret_reason = "address too long";
                return -EINVAL;
        }
        memset(ret, 0, sizeof *ret);
        memcpy(ret, ai->ai_addr, ai->ai_addrlen);
        *ret_len = ai->ai_addrlen;
        freeaddrinfo(ai);
        return 0;
}
