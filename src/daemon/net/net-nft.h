/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Quilt's firewall: one nftables table of its own, "table ip quilt", written with
 * libnftables. quiltd never lists, flushes or edits any other table: everything it does is
 * to replace its own table as a whole, in one transaction (so a quiltd restart under
 * running containers swaps identical rules atomically and established connections, whose
 * NAT state lives in conntrack, carry on).
 *
 *   postrouting (nat, srcnat)  masquerade what the subnet sends out of any other interface
 *   forward (filter)           accept what comes from the bridge (containers to each other,
 *                              when br_netfilter passes bridged traffic through here, and
 *                              to the outside); accept replies towards the bridge; drop
 *                              anything else towards the bridge (nobody outside opens
 *                              connections to containers)
 *   input (filter)             drop connections from the bridge to quiltd's TCP API ports,
 *                              unless [Network] ContainerAPIAccess=yes
 *
 * An accept here cannot overrule a drop in another table (e.g. a FORWARD policy of DROP
 * set by another tool): nftables runs every base chain of a hook. */

#include <stdbool.h>
#include <stdint.h>

#include "ip-util.h"
#include "macro.h"

#define NET_NFT_FAMILY "ip"
#define NET_NFT_TABLE "quilt"
#define NET_NFT_MAX_PORTS 2

struct nft_ctx;

typedef struct NetFirewall {
        const char *bridge;
        Ipv4Subnet subnet;
        uint16_t api_ports[NET_NFT_MAX_PORTS]; /* quiltd's TCP listeners (0 = none) */
        bool api_access;
} NetFirewall;

/* The nft script that replaces the table with the full rule set. Pure (no kernel), so the
 * unit test can read it. */
int net_nft_ruleset(const NetFirewall *fw, char **ret);

int net_nft_open(struct nft_ctx **ret);
void net_nft_closep(struct nft_ctx **ctx);
#define _cleanup_nft_ctx_ _cleanup_(net_nft_closep)

/* Replaces the table with the rule set. */
int net_nft_apply(struct nft_ctx *ctx, const NetFirewall *fw, char **ret_error);
/* 1 if the table exists, 0 if not. */
int net_nft_table_exists(struct nft_ctx *ctx);
/* Leaves an empty table (no chains, no rules) if the table exists: 1 if it did, 0 if there
 * was no table. */
int net_nft_flush(struct nft_ctx *ctx, char **ret_error);
/* Deletes the table: 1 if it existed, 0 if not. */
int net_nft_delete(struct nft_ctx *ctx, char **ret_error);
