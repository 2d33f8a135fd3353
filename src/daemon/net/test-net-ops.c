/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The netlink and nftables operations of the container network (net-link.c, net-nft.c):
 * the rule set as text (no privileges needed), then, as root, the real operations in
 * network namespaces this test creates for itself (so nothing touches the host's). */

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "net-link.h"
#include "net-nft.h"
#include "strv.h"
#include "tests.h"

static void test_ruleset(void) {
        NetFirewall fw = {
                .bridge = "quilt0",
                .subnet = { .network = 0x0a2a0000, .prefixlen = 16 },
                .api_ports = { 50051, 8080 },
        };
        _cleanup_free_ char *s = NULL;

        is_int(net_nft_ruleset(&fw, &s), 0, "the rule set builds");
        ok(s && strstr(s, "add table ip quilt\ndelete table ip quilt\ntable ip quilt {"),
           "it replaces the table as a whole, in one transaction");
        ok(s && strstr(s, "type nat hook postrouting priority srcnat; policy accept;"), "a srcnat postrouting chain");
        ok(s && strstr(s, "ip saddr 10.42.0.0/16 oifname != \"quilt0\" masquerade"),
           "masquerade for the subnet leaving by another interface");
        ok(s && strstr(s, "iifname \"quilt0\" accept"), "forwarding from the bridge is accepted");
        ok(s && strstr(s, "oifname \"quilt0\" ct state established,related accept"), "replies are accepted");
        ok(s && strstr(s, "oifname \"quilt0\" drop"), "other connections into containers are dropped");
        ok(s && strstr(s, "iifname \"quilt0\" tcp dport { 50051, 8080 } drop"), "the API ports are dropped");
        ok(s && !strstr(s, "flush") && !strstr(s, "table inet") && !strstr(s, "table ip filter"),
           "nothing but Quilt's own table is named");

        s = mfree(s);
        fw.api_access = true;
        is_int(net_nft_ruleset(&fw, &s), 0, "the rule set builds with ContainerAPIAccess=yes");
        ok(s && !strstr(s, "dport"), "... and has no API rule");

        s = mfree(s);
        fw.api_access = false;
        fw.api_ports[0] = fw.api_ports[1] = 0;
        is_int(net_nft_ruleset(&fw, &s), 0, "the rule set builds without TCP listeners");
        ok(s && !strstr(s, "chain input"), "... and has no input chain");

        fw.bridge = "a\"b";
        s = mfree(s);
        is_int(net_nft_ruleset(&fw, &s), -EINVAL, "a bridge name that would need quoting is refused");
}

static bool running_as_root(void) {
        return geteuid() == 0;
}

/* In a fresh network namespace: the table is replaced, emptied and deleted, and reports
 * whether it was there. */
static void test_nft(void) {
        _cleanup_nft_ctx_ struct nft_ctx *ctx = NULL;
        _cleanup_free_ char *error = NULL;
        NetFirewall fw = { .bridge = "qt0", .subnet = { .network = 0x0a090000, .prefixlen = 24 }, .api_ports = { 8080 } };
        const char *out;

        is_int(net_nft_open(&ctx), 0, "libnftables context");
        if (!ctx)
                return;
        is_int(net_nft_table_exists(ctx), 0, "no table in a new namespace");
        is_int(net_nft_flush(ctx, &error), 0, "emptying a missing table does nothing");
        is_int(net_nft_table_exists(ctx), 0, "... and creates nothing");
        is_int(net_nft_apply(ctx, &fw, &error), 0, "apply the rule set");
        if (error)
                printf("#   %s\n", error);
        is_int(net_nft_table_exists(ctx), 1, "the table exists");
        is_int(net_nft_apply(ctx, &fw, &error), 0, "apply again (idempotent)");
        ok(nft_run_cmd_from_buffer(ctx, "list table ip quilt") == 0 &&
                   (out = nft_ctx_get_output_buffer(ctx)) && strstr(out, "masquerade") && strstr(out, "dport 8080"),
           "the kernel has the rules");
        is_int(net_nft_flush(ctx, &error), 1, "empty the table");
        ok(nft_run_cmd_from_buffer(ctx, "list table ip quilt") == 0 &&
                   (out = nft_ctx_get_output_buffer(ctx)) && !strstr(out, "chain"),
           "the emptied table has no chains");
        is_int(net_nft_delete(ctx, &error), 1, "delete the table");
        is_int(net_nft_table_exists(ctx), 0, "the table is gone");
        is_int(net_nft_delete(ctx, &error), 0, "deleting it again says it was not there");
}

/* A bridge, and a veth pair into a second namespace configured from a socket opened there. */
static void test_links(int ns_a) {
        _cleanup_nl_sock_ struct nl_sock *a = NULL, *b = NULL;
        _cleanup_close_ int ns_b = -EBADF;
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *error = NULL;
        int bridge = -1, r;

        is_int(net_socket_open(&a), 0, "netlink socket");
        if (!a)
                return;
        is_int(net_bridge_ensure(a, "qt0", 0x0a090001, 24, &bridge, &error), 0, "create the bridge");
        ok(bridge > 0 && net_link_ifindex(a, "qt0") == bridge, "the bridge exists");
        is_int(net_bridge_ensure(a, "qt0", 0x0a090001, 24, &r, &error), 0, "ensure it again (idempotent)");
        is_int(r, bridge, "... the same bridge");
        is_int(net_bridge_ensure(a, "lo", 0x0a090001, 24, NULL, &error), -ENOTTY, "a link that is not a bridge");
        ok(error && strstr(error, "lo exists and is not a bridge"), "... is named in the error");

        /* A second namespace, entered and left again, as the worker does. */
        if (unshare(CLONE_NEWNET) < 0 || (ns_b = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
                ok(false, "a second network namespace");
                return;
        }
        r = net_socket_open(&b);
        ok(setns(ns_a, CLONE_NEWNET) == 0, "back to the first namespace");
        is_int(r, 0, "a socket in the second namespace");
        if (!b)
                return;

        error = mfree(error);
        is_int(net_veth_create(a, "vqtest0", bridge, ns_b, "eth0", 0x0a090005, &error), 0, "create the veth pair");
        if (error)
                printf("#   %s\n", error);
        ok(net_link_ifindex(a, "vqtest0") > 0, "the host side is here");
        is_int(net_link_ifindex(a, "eth0"), -ENODEV, "the peer is not");
        ok(net_link_ifindex(b, "eth0") > 0, "the peer is in the other namespace");
        is_int(net_container_configure(b, "eth0", 0x0a090005, 24, 0x0a090001, &error), 0,
               "configure it from the socket opened there");
        is_int(net_veth_create(a, "vqtest0", bridge, ns_b, "eth1", 0x0a090006, &error), 0,
               "a leftover host side of the same name is replaced");
        is_int(net_links_with_prefix(a, "vqtest", &l), 0, "list links by prefix");
        ok(l && strv_length(l) == 1 && streq(l[0], "vqtest0"), "... finds the veth");
        is_int(net_link_delete(a, "vqtest0"), 0, "delete the veth");
        is_int(net_link_delete(a, "vqtest0"), -ENODEV, "deleting it again is -ENODEV");
        is_int(net_link_delete(a, "qt0"), 0, "delete the bridge");
}

int main(void) {
        _cleanup_close_ int ns_a = -EBADF;

        test_ruleset();

        if (!running_as_root()) {
                printf("# not root: skipping the kernel half\n");
                return tap_finish();
        }
        /* Everything below happens in namespaces of this process only. */
        if (unshare(CLONE_NEWNET) < 0) {
                printf("# cannot create a network namespace (%s): skipping the kernel half\n", strerror(errno));
                return tap_finish();
        }
        ns_a = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        test_nft();
        test_links(ns_a);
        return tap_finish();
}
