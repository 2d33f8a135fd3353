/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include "ip-util.h"
#include "log.h"
#include "net-link.h"
#include "strv.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_addr *, rtnl_addr_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_route *, rtnl_route_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_addr *, nl_addr_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free);

/* libnl has its own error numbers; the rest of quiltd speaks errno. */
static int errno_from_nl(int nlerr) {
        switch (abs(nlerr)) {
        case NLE_SUCCESS:
                return 0;
        case NLE_NOMEM:
                return -ENOMEM;
        case NLE_EXIST:
                return -EEXIST;
        case NLE_INVAL:
                return -EINVAL;
        case NLE_RANGE:
                return -ERANGE;
        case NLE_OPNOTSUPP:
                return -EOPNOTSUPP;
        case NLE_AF_NOSUPPORT:
                return -EAFNOSUPPORT;
        case NLE_OBJ_NOTFOUND:
        case NLE_NODEV:
                return -ENODEV;
        case NLE_NOADDR:
                return -EADDRNOTAVAIL;
        case NLE_BUSY:
                return -EBUSY;
        case NLE_NOACCESS:
                return -EACCES;
        case NLE_PERM:
                return -EPERM;
        case NLE_AGAIN:
                return -EAGAIN;
        case NLE_INTR:
                return -EINTR;
        default:
                return -EIO;
        }
}

_printf_(3, 4) static int fail(char **ret_error, int nlerr, const char *format, ...) {
        _cleanup_free_ char *what = NULL;
        int r = errno_from_nl(nlerr);
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&what, format, ap) < 0)
                what = NULL;
        va_end(ap);
        log_debug("%s: %s", strempty(what), nl_geterror(nlerr));
        if (ret_error && !*ret_error && asprintf(ret_error, "%s: %s", strempty(what), strerror(-r)) < 0)
                *ret_error = NULL;
        return r;
}

int net_socket_open(struct nl_sock **ret) {
        struct nl_sock *sk;
        int r;

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                nl_socket_free(sk);
                return errno_from_nl(r);
        }
        *ret = sk;
        return 0;
}

void net_socket_closep(struct nl_sock **sk) {
        if (*sk)
                nl_socket_free(*sk); /* closes it too */
}

void net_mac_for_address(uint32_t address, uint8_t ret[6]) {
        ret[0] = 0x02;
        ret[1] = 0x42;
        ret[2] = (uint8_t) (address >> 24);
        ret[3] = (uint8_t) (address >> 16);
        ret[4] = (uint8_t) (address >> 8);
        ret[5] = (uint8_t) address;
}

static struct nl_addr *ipv4_nl_addr(uint32_t address, unsigned prefixlen) {
        uint32_t be = htonl(address);
        struct nl_addr *a = nl_addr_build(AF_INET, &be, sizeof be);

        if (a)
                nl_addr_set_prefixlen(a, (int) prefixlen);
        return a;
}

int net_link_ifindex(struct nl_sock *sk, const char *name) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        r = rtnl_link_get_kernel(sk, 0, name, &link);
        if (r < 0)
                return errno_from_nl(r);
        return rtnl_link_get_ifindex(link);
}

int net_link_delete(struct nl_sock *sk, const char *name) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        link = rtnl_link_alloc();
        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, name);
        r = rtnl_link_delete(sk, link);
        return errno_from_nl(r);
}

/* Sets IFF_UP on an existing link. */
static int link_set_up(struct nl_sock *sk, int ifindex) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *orig = NULL, *change = NULL;

        orig = rtnl_link_alloc();
        change = rtnl_link_alloc();
        if (!orig || !change)
                return -NLE_NOMEM;
        rtnl_link_set_ifindex(orig, ifindex);
        rtnl_link_set_flags(change, IFF_UP);
        return rtnl_link_change(sk, orig, change, 0);
}

/* Removes every IPv4 address of ifindex except keep/prefixlen: what an earlier Subnet= left. */
static int remove_other_addresses(struct nl_sock *sk, int ifindex, uint32_t keep, unsigned prefixlen) {
        _cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
        int r;

        r = rtnl_addr_alloc_cache(sk, &cache);
        if (r < 0)
                return r;
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *a = (struct rtnl_addr *) o;
                struct nl_addr *local = rtnl_addr_get_local(a);
                uint32_t be;

                if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != AF_INET || !local ||
                    nl_addr_get_len(local) != sizeof be)
                        continue;
                memcpy(&be, nl_addr_get_binary_addr(local), sizeof be);
                if (ntohl(be) == keep && (unsigned) rtnl_addr_get_prefixlen(a) == prefixlen)
                        continue;
                char buf[INET_ADDRSTRLEN];

                log_info("Removing address %s/%d from the bridge, it is not the gateway of the configured subnet.",
                         ipv4_to_string(ntohl(be), buf), rtnl_addr_get_prefixlen(a));
                r = rtnl_addr_delete(sk, a, 0);
                if (r < 0 && r != -NLE_NOADDR)
                        return r;
        }
        return 0;
}

static int address_add(struct nl_sock *sk, int ifindex, uint32_t address, unsigned prefixlen, bool broadcast) {
        _cleanup_(rtnl_addr_putp) struct rtnl_addr *a = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *local = NULL, *brd = NULL;
        Ipv4Subnet subnet = { .network = address & (prefixlen ? UINT32_MAX << (32 - prefixlen) : 0),
                              .prefixlen = prefixlen };
        int r;

        a = rtnl_addr_alloc();
        local = ipv4_nl_addr(address, prefixlen);
        brd = ipv4_nl_addr(ipv4_subnet_broadcast(&subnet), 32);
        if (!a || !local || !brd)
                return -NLE_NOMEM;
        rtnl_addr_set_ifindex(a, ifindex);
        r = rtnl_addr_set_local(a, local);
        if (r < 0)
                return r;
        rtnl_addr_set_prefixlen(a, (int) prefixlen);
        if (broadcast) {
                r = rtnl_addr_set_broadcast(a, brd);
                if (r < 0)
                        return r;
        }
        /* REPLACE: an address that is already there is fine. */
        return rtnl_addr_add(sk, a, NLM_F_REPLACE);
}

int net_bridge_ensure(struct nl_sock *sk, const char *name, uint32_t gateway, unsigned prefixlen,
                      int *ret_ifindex, char **ret_error) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL, *existing = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *mac = NULL;
        uint8_t mac_bytes[6];
        int ifindex, r;

        r = rtnl_link_get_kernel(sk, 0, name, &existing);
        if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV) {
                link = rtnl_link_bridge_alloc();
                net_mac_for_address(gateway, mac_bytes);
                mac = nl_addr_build(AF_LLC, mac_bytes, sizeof mac_bytes);
                if (!link || !mac)
                        return -ENOMEM;
                rtnl_link_set_name(link, name);
                rtnl_link_set_addr(link, mac);
                rtnl_link_set_flags(link, IFF_UP);
                r = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
                /* Another quiltd in this namespace may have been quicker; that is fine. */
                if (r < 0 && r != -NLE_EXIST)
                        return fail(ret_error, r, "create the bridge %s", name);
                r = rtnl_link_get_kernel(sk, 0, name, &existing);
        }
        if (r < 0)
                return fail(ret_error, r, "look up the bridge %s", name);
        if (!rtnl_link_is_bridge(existing)) {
                if (ret_error && asprintf(ret_error, "%s exists and is not a bridge (it is a %s link); set "
                                                     "[Network] Bridge= to another name",
                                          name, rtnl_link_get_type(existing) ?: "unknown") < 0)
                        *ret_error = NULL;
                return -ENOTTY;
        }
        ifindex = rtnl_link_get_ifindex(existing);

        r = remove_other_addresses(sk, ifindex, gateway, prefixlen);
        if (r < 0)
                return fail(ret_error, r, "remove old addresses of the bridge %s", name);
        r = address_add(sk, ifindex, gateway, prefixlen, true);
        if (r < 0)
                return fail(ret_error, r, "add the gateway address to the bridge %s", name);
        if (!(rtnl_link_get_flags(existing) & IFF_UP)) {
                r = link_set_up(sk, ifindex);
                if (r < 0)
                        return fail(ret_error, r, "bring the bridge %s up", name);
        }
        if (ret_ifindex)
                *ret_ifindex = ifindex;
        return 0;
}

int net_veth_create(struct nl_sock *sk, const char *host_name, int master_ifindex, int netns_fd,
                    const char *peer_name, uint32_t address, char **ret_error) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *mac = NULL;
        struct rtnl_link *peer;
        uint8_t mac_bytes[6];
        int r;

        link = rtnl_link_veth_alloc();
        net_mac_for_address(address, mac_bytes);
        mac = nl_addr_build(AF_LLC, mac_bytes, sizeof mac_bytes);
        if (!link || !mac)
                return -ENOMEM;
        /* The peer belongs to link (no reference taken by this accessor's caller here:
         * rtnl_link_veth_get_peer() takes one, which we drop at once). */
        peer = rtnl_link_veth_get_peer(link);
        rtnl_link_put(peer);

        rtnl_link_set_name(link, host_name);
        rtnl_link_set_master(link, master_ifindex);
        rtnl_link_set_flags(link, IFF_UP);
        rtnl_link_set_name(peer, peer_name);
        rtnl_link_set_addr(peer, mac);
        /* Not IFF_UP: the kernel configures the peer before pairing it, and a veth without
         * its peer refuses to open (ENOTCONN). net_container_configure() does that. */
        rtnl_link_set_ns_fd(peer, netns_fd);

        r = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
        if (r == -NLE_EXIST) {
                /* A namespace that is still being destroyed keeps its veth for a moment; the
                 * name is ours (derived from the container id). */
                log_debug("%s exists, replacing it.", host_name);
                (void) net_link_delete(sk, host_name);
                r = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
        }
        if (r < 0)
                return fail(ret_error, r, "create the veth pair %s/%s", host_name, peer_name);
        return 0;
}

int net_container_configure(struct nl_sock *sk, const char *ifname, uint32_t address, unsigned prefixlen,
                            uint32_t gateway, char **ret_error) {
        _cleanup_(rtnl_route_putp) struct rtnl_route *route = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *dst = NULL, *gw = NULL;
        struct rtnl_nexthop *nh;
        int lo, ifindex, r;

        lo = net_link_ifindex(sk, "lo");
        if (lo < 0)
                return fail(ret_error, -NLE_NODEV, "find lo in the container");
        r = link_set_up(sk, lo);
        if (r < 0)
                return fail(ret_error, r, "bring lo up in the container");

        ifindex = net_link_ifindex(sk, ifname);
        if (ifindex < 0)
                return fail(ret_error, -NLE_NODEV, "find %s in the container", ifname);
        r = address_add(sk, ifindex, address, prefixlen, true);
        if (r < 0)
                return fail(ret_error, r, "add the address to %s", ifname);
        r = link_set_up(sk, ifindex);
        if (r < 0)
                return fail(ret_error, r, "bring %s up in the container", ifname);

        route = rtnl_route_alloc();
        dst = ipv4_nl_addr(0, 0);
        gw = ipv4_nl_addr(gateway, 32);
        nh = rtnl_route_nh_alloc();
        if (!route || !dst || !gw || !nh) {
                if (nh)
                        rtnl_route_nh_free(nh);
                return -ENOMEM;
        }
        rtnl_route_set_family(route, AF_INET);
        rtnl_route_set_table(route, RT_TABLE_MAIN);
        rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
        rtnl_route_set_protocol(route, RTPROT_STATIC);
        r = rtnl_route_set_dst(route, dst);
        if (r < 0) {
                rtnl_route_nh_free(nh);
                return fail(ret_error, r, "build the default route");
        }
        rtnl_route_nh_set_ifindex(nh, ifindex);
        rtnl_route_nh_set_gateway(nh, gw);
        rtnl_route_add_nexthop(route, nh); /* route owns nh now */
        r = rtnl_route_add(sk, route, NLM_F_CREATE | NLM_F_REPLACE);
        if (r < 0)
                return fail(ret_error, r, "add the default route via the gateway");
        return 0;
}

int net_links_with_prefix(struct nl_sock *sk, const char *prefix, char ***ret) {
        _cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        int r;

        r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
        if (r < 0)
                return errno_from_nl(r);
        l = new0(char *, nl_cache_nitems(cache) + 1);
        if (!l)
                return -ENOMEM;
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                const char *name = rtnl_link_get_name((struct rtnl_link *) o);

                if (name && startswith(name, prefix) && !(l[n++] = strdup(name)))
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}
