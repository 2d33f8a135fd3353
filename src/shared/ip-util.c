/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ip-util.h"
#include "macro.h"

int ipv4_from_string(const char *s, uint32_t *ret) {
        struct in_addr a;

        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        *ret = ntohl(a.s_addr);
        return 0;
}

const char *ipv4_to_string(uint32_t address, char buf[static INET_ADDRSTRLEN]) {
        struct in_addr a = { .s_addr = htonl(address) };

        if (!inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN))
                buf[0] = '\0';
        return buf;
}

static uint32_t netmask_of(unsigned prefixlen) {
        return prefixlen == 0 ? 0 : UINT32_MAX << (32 - prefixlen);
}

int ipv4_subnet_from_string(const char *s, Ipv4Subnet *ret, char **ret_reason) {
        _cleanup_free_ char *host = NULL;
        const char *slash, *p;
        unsigned long prefixlen = 0;
        uint32_t address;

        *ret_reason = NULL;
        slash = s ? strchr(s, '/') : NULL;
        if (!slash) {
                *ret_reason = strdup("expected ADDRESS/PREFIX, e.g. 10.42.0.0/16");
                return -EINVAL;
        }
        host = strndup(s, (size_t) (slash - s));
        if (!host)
                return -ENOMEM;
        if (ipv4_from_string(host, &address) < 0) {
                *ret_reason = strdup("not an IPv4 address (IPv6 subnets are not supported)");
                return -EINVAL;
        }
        p = slash + 1;
        if (*p == '\0' || strlen(p) > 2 || strspn(p, "0123456789") != strlen(p)) {
                *ret_reason = strdup("the prefix length must be a number");
                return -EINVAL;
        }
        prefixlen = strtoul(p, NULL, 10);
        if (prefixlen < IPV4_SUBNET_PREFIX_MIN || prefixlen > IPV4_SUBNET_PREFIX_MAX) {
                if (asprintf(ret_reason,
                             "the prefix length must be between /%d and /%d (a /%d leaves room for the gateway "
                             "and one container)",
                             IPV4_SUBNET_PREFIX_MIN, IPV4_SUBNET_PREFIX_MAX, IPV4_SUBNET_PREFIX_MAX) < 0)
                        *ret_reason = NULL;
                return -EINVAL;
        }
        if ((address & ~netmask_of((unsigned) prefixlen)) != 0) {
                char buf[INET_ADDRSTRLEN];

                if (asprintf(ret_reason, "host bits are set (did you mean %s/%lu?)",
                             ipv4_to_string(address & netmask_of((unsigned) prefixlen), buf), prefixlen) < 0)
                        *ret_reason = NULL;
                return -EINVAL;
        }

        *ret = (Ipv4Subnet) { .network = address, .prefixlen = (unsigned) prefixlen };
        return 0;
}

const char *ipv4_subnet_to_string(const Ipv4Subnet *subnet, char buf[static IPV4_SUBNET_STRING_MAX]) {
        char a[INET_ADDRSTRLEN];

        (void) snprintf(buf, IPV4_SUBNET_STRING_MAX, "%s/%u", ipv4_to_string(subnet->network, a), subnet->prefixlen);
        return buf;
}

uint32_t ipv4_subnet_netmask(const Ipv4Subnet *subnet) {
        return netmask_of(subnet->prefixlen);
}

uint32_t ipv4_subnet_broadcast(const Ipv4Subnet *subnet) {
        return subnet->network | ~netmask_of(subnet->prefixlen);
}

uint32_t ipv4_subnet_gateway(const Ipv4Subnet *subnet) {
        return subnet->network + 1;
}

uint32_t ipv4_subnet_pool_first(const Ipv4Subnet *subnet) {
        return subnet->network + 2;
}

uint32_t ipv4_subnet_pool_last(const Ipv4Subnet *subnet) {
        return ipv4_subnet_broadcast(subnet) - 1;
}

bool ipv4_subnet_pool_contains(const Ipv4Subnet *subnet, uint32_t address) {
        return address >= ipv4_subnet_pool_first(subnet) && address <= ipv4_subnet_pool_last(subnet);
}

bool ifname_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n == 0 || n >= IFNAMSIZ || streq(name, ".") || streq(name, ".."))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", name[i]))
                        return false;
        return true;
}
