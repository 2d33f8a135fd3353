/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "log.h"
#include "net-nft.h"

#define TABLE NET_NFT_FAMILY " " NET_NFT_TABLE

/* "add" then "delete" removes the table whether or not it existed, in the same transaction
 * as what follows, so the replacement is atomic. */
#define REPLACE_PREAMBLE "add table " TABLE "\ndelete table " TABLE "\n"

int net_nft_ruleset(const NetFirewall *fw, char **ret) {
        _cleanup_free_ char *buf = NULL;
        char subnet[IPV4_SUBNET_STRING_MAX], ports[32] = "";
        size_t size = 0, n = 0;
        FILE *f;

        if (!ifname_is_valid(fw->bridge))
                return -EINVAL;

        for (size_t i = 0; i < NET_NFT_MAX_PORTS; i++) {
                if (fw->api_ports[i] == 0)
                        continue;
                n += (size_t) snprintf(ports + n, sizeof ports - n, "%s%u", n > 0 ? ", " : "", fw->api_ports[i]);
        }

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs(REPLACE_PREAMBLE, f);
        fprintf(f,
                "table " TABLE " {\n"
                "\tchain postrouting {\n"
                "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
                "\t\tip saddr %s oifname != \"%s\" masquerade comment \"containers to the outside\"\n"
                "\t}\n"
                "\tchain forward {\n"
                "\t\ttype filter hook forward priority filter; policy accept;\n"
                "\t\tiifname \"%s\" accept comment \"from containers\"\n"
                "\t\toifname \"%s\" ct state established,related accept comment \"replies to containers\"\n"
                "\t\toifname \"%s\" drop comment \"no connections into containers\"\n"
                "\t}\n",
                ipv4_subnet_to_string(&fw->subnet, subnet), fw->bridge, fw->bridge, fw->bridge, fw->bridge);
        if (!fw->api_access && n > 0)
                fprintf(f,
                        "\tchain input {\n"
                        "\t\ttype filter hook input priority filter; policy accept;\n"
                        "\t\tiifname \"%s\" tcp dport { %s } drop comment \"quiltd's API (ContainerAPIAccess=no)\"\n"
                        "\t}\n",
                        fw->bridge, ports);
        fputs("}\n", f);
        if (fclose(f) != 0 || !buf)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

int net_nft_open(struct nft_ctx **ret) {
        struct nft_ctx *ctx;

        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return -ENOMEM;
        /* Nothing goes to quiltd's stdout/stderr; errors are read back from the buffer. */
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
                nft_ctx_free(ctx);
                return -ENOMEM;
        }
        *ret = ctx;
        return 0;
}

void net_nft_closep(struct nft_ctx **ctx) {
        if (*ctx)
                nft_ctx_free(*ctx);
}

/* The buffers grow until read; reading resets them. */
static void discard_buffers(struct nft_ctx *ctx) {
        (void) nft_ctx_get_output_buffer(ctx);
        (void) nft_ctx_get_error_buffer(ctx);
}

static int run(struct nft_ctx *ctx, const char *script, const char *what, char **ret_error) {
        const char *err;
        _cleanup_free_ char *msg = NULL;

        if (nft_run_cmd_from_buffer(ctx, script) == 0) {
                discard_buffers(ctx);
                return 0;
        }

        /* The first line of nft's message says what went wrong; the rest repeats the input. */
        err = nft_ctx_get_error_buffer(ctx);
        msg = strndup(strempty(err), strcspn(strempty(err), "\n"));
        log_debug("nft failed to %s: %s", what, strempty(err));
        if (ret_error && !*ret_error &&
            asprintf(ret_error, "%s: %s", what, !isempty(msg) ? msg : "nftables refused the rules") < 0)
                *ret_error = NULL;
        (void) nft_ctx_get_output_buffer(ctx);
        return -EIO;
}

int net_nft_apply(struct nft_ctx *ctx, const NetFirewall *fw, char **ret_error) {
        _cleanup_free_ char *script = NULL;
        int r;

        r = net_nft_ruleset(fw, &script);
        if (r < 0)
                return r;
        return run(ctx, script, "install the nftables table " TABLE, ret_error);
}

int net_nft_table_exists(struct nft_ctx *ctx) {
        int r;

        /* "list table" fails for a table that does not exist; nothing else can make it fail
         * once the context is up, short of missing nf_tables support, which apply reports. */
        r = nft_run_cmd_from_buffer(ctx, "list table " TABLE "\n");
        discard_buffers(ctx);
        return r == 0;
}

int net_nft_flush(struct nft_ctx *ctx, char **ret_error) {
        int r;

        if (!net_nft_table_exists(ctx))
                return 0;
        r = run(ctx, REPLACE_PREAMBLE "add table " TABLE "\n", "empty the nftables table " TABLE, ret_error);
        return r < 0 ? r : 1;
}

int net_nft_delete(struct nft_ctx *ctx, char **ret_error) {
        int r;

        if (!net_nft_table_exists(ctx))
                return 0;
        r = run(ctx, "delete table " TABLE "\n", "delete the nftables table " TABLE, ret_error);
        return r < 0 ? r : 1;
}
