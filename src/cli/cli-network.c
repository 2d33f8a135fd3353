/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt network ls | inspect | topology | dns, and quilt icc ping | exec. */

#include <inttypes.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "proto-json.h"

static const char network_ls_usage[] =
        "Usage: quilt network ls [--json]\n"
        "\n"
        "List the network allocations of containers: address, bridge, veth pair, state.\n"
        "\n"
        "Options:\n"
        "      --json   print the reply as JSON\n"
        "  -h, --help   show this help\n";

static int list_allocations(Cli *cli, ProtobufCMessage **ret) {
        Quilt__ListNetworkAllocationsRequest req = QUILT__LIST_NETWORK_ALLOCATIONS_REQUEST__INIT;
        return cli_call(cli, "ListNetworkAllocations", &req.base, 0, ret);
}

static int network_ls(Cli *cli, int argc, char *argv[]) {
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        _cleanup_table_ Table *t = NULL;
        const Quilt__ListNetworkAllocationsResponse *reply;
        int r;

        r = cli_parse_simple(cli, argc, argv, network_ls_usage, true, 0, 0);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        r = list_allocations(cli, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__ListNetworkAllocationsResponse *) m;

        t = table_new(6, "CONTAINER ID", "IP", "BRIDGE", "HOST VETH", "SET UP", "STATUS");
        if (!t)
                return cli_fail(cli, "out of memory");
        for (size_t i = 0; i < reply->n_allocations; i++) {
                const Quilt__NetworkAllocation *a = reply->allocations[i];
                char id[13];

                snprintf(id, sizeof id, "%s", strempty(a->container_id));
                if (table_add_row(t, id, a->ip_address, a->bridge_interface, a->veth_host,
                                  a->setup_completed ? "yes" : "no", a->status) < 0)
                        return cli_fail(cli, "out of memory");
        }
        table_print(t, stdout);
        return CLI_EXIT_SUCCESS;
}

static const char network_inspect_usage[] =
        "Usage: quilt network inspect [OPTIONS] CONTAINER\n"
        "\n"
        "Show a container's network configuration.\n"
        "\n"
        "Options:\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility)\n"
        "      --json      print the reply as JSON\n"
        "  -h, --help      show this help\n";

static int network_inspect(Cli *cli, int argc, char *argv[]) {
        Quilt__GetContainerNetworkRequest req = QUILT__GET_CONTAINER_NETWORK_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__ContainerNetworkConfig *n;
        const char *container;
        int r;

        r = cli_parse_container_args(cli, argc, argv, network_inspect_usage, true, &container, NULL);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        /* The request has only container_id; quiltd resolves names there too. */
        req.container_id = (char *) container;
        r = cli_call(cli, "GetContainerNetwork", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);

        n = ((const Quilt__GetContainerNetworkResponse *) m)->network_config;
        if (!n)
                return cli_fail(cli, "quiltd returned no network configuration");
        printf("IP address:  %s\n", isempty(n->ip_address) ? "-" : n->ip_address);
        printf("Bridge:      %s\n", isempty(n->bridge_interface) ? "-" : n->bridge_interface);
        printf("Host veth:   %s\n", isempty(n->veth_host) ? "-" : n->veth_host);
        printf("Inner veth:  %s\n", isempty(n->veth_container) ? "-" : n->veth_container);
        printf("Set up:      %s\n", n->setup_completed ? "yes" : "no");
        printf("State:       %s\n", isempty(n->status) ? "-" : n->status);
        return CLI_EXIT_SUCCESS;
}

static const char network_dns_usage[] =
        "Usage: quilt network dns [--json]\n"
        "\n"
        "List the names containers resolve each other by, with their addresses.\n"
        "\n"
        "Options:\n"
        "      --json   print the reply as JSON\n"
        "  -h, --help   show this help\n";

static int list_dns(Cli *cli, ProtobufCMessage **ret) {
        Quilt__ListDnsEntriesRequest req = QUILT__LIST_DNS_ENTRIES_REQUEST__INIT;
        return cli_call(cli, "ListDnsEntries", &req.base, 0, ret);
}

static int network_dns(Cli *cli, int argc, char *argv[]) {
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        _cleanup_table_ Table *t = NULL;
        const Quilt__ListDnsEntriesResponse *reply;
        int r;

        r = cli_parse_simple(cli, argc, argv, network_dns_usage, true, 0, 0);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        r = list_dns(cli, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__ListDnsEntriesResponse *) m;

        t = table_new(3, "NAME", "CONTAINER ID", "IP");
        if (!t)
                return cli_fail(cli, "out of memory");
        for (size_t i = 0; i < reply->n_entries; i++) {
                const Quilt__DnsEntry *e = reply->entries[i];
                if (table_add_row(t, e->container_name, e->container_id, e->ip_address) < 0)
                        return cli_fail(cli, "out of memory");
        }
        table_print(t, stdout);
        return CLI_EXIT_SUCCESS;
}

static const char network_topology_usage[] =
        "Usage: quilt network topology [--json]\n"
        "\n"
        "Show which containers are attached to which bridge, with their names and\n"
        "addresses (from the network allocations and the DNS table).\n"
        "\n"
        "Options:\n"
        "      --json   print {\"bridges\": [{\"name\", \"containers\": [...]}]} as JSON\n"
        "  -h, --help   show this help\n";

static const char *dns_name_of(const Quilt__ListDnsEntriesResponse *dns, const char *id) {
        for (size_t i = 0; i < dns->n_entries; i++)
                if (streq(strempty(dns->entries[i]->container_id), id))
                        return dns->entries[i]->container_name;
        return NULL;
}

static int network_topology(Cli *cli, int argc, char *argv[]) {
        _cleanup_reply_ ProtobufCMessage *ma = NULL, *md = NULL;
        const Quilt__ListNetworkAllocationsResponse *alloc;
        const Quilt__ListDnsEntriesResponse *dns;
        json_auto_t *j = NULL;
        json_t *bridges = NULL;
        int r;

        r = cli_parse_simple(cli, argc, argv, network_topology_usage, true, 0, 0);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        r = list_allocations(cli, &ma);
        if (r != 0)
                return r;
        r = list_dns(cli, &md);
        if (r != 0)
                return r;
        alloc = (const Quilt__ListNetworkAllocationsResponse *) ma;
        dns = (const Quilt__ListDnsEntriesResponse *) md;

        if (cli->json) {
                j = json_object();
                bridges = json_array();
                if (!j || !bridges || json_object_set_new(j, "bridges", bridges) < 0)
                        return cli_fail(cli, "out of memory");
        }

        /* Group by bridge, keeping the order in which bridges first appear. */
        for (size_t i = 0; i < alloc->n_allocations; i++) {
                const char *bridge = strempty(alloc->allocations[i]->bridge_interface);
                json_t *containers = NULL;
                bool seen = false;

                for (size_t k = 0; k < i && !seen; k++)
                        seen = streq(strempty(alloc->allocations[k]->bridge_interface), bridge);
                if (seen)
                        continue;

                if (j) {
                        json_t *b = json_pack("{s:s, s:[]}", "name", bridge, "containers");
                        if (!b || json_array_append_new(bridges, b) < 0)
                                return cli_fail(cli, "out of memory");
                        containers = json_object_get(b, "containers");
                } else
                        printf("%s\n", isempty(bridge) ? "(no bridge)" : bridge);

                for (size_t k = i; k < alloc->n_allocations; k++) {
                        const Quilt__NetworkAllocation *a = alloc->allocations[k];
                        const char *name = dns_name_of(dns, strempty(a->container_id));

                        if (!streq(strempty(a->bridge_interface), bridge))
                                continue;
                        if (j) {
                                json_t *c = json_pack("{s:s, s:s?, s:s, s:s}", "container_id",
                                                      strempty(a->container_id), "name", name, "ip_address",
                                                      strempty(a->ip_address), "status", strempty(a->status));
                                if (!c || json_array_append_new(containers, c) < 0)
                                        return cli_fail(cli, "out of memory");
                        } else
                                printf("  %-15s  %-20s  %.12s  %s\n", strempty(a->ip_address),
                                       isempty(name) ? "-" : name, strempty(a->container_id), strempty(a->status));
                }
        }

        if (j) {
                if (json_dumpf(j, stdout, JSON_INDENT(2)) < 0)
                        return cli_fail(cli, "cannot write JSON output");
                fputc('\n', stdout);
        }
        return CLI_EXIT_SUCCESS;
}

static const CliVerb network_verbs[] = {
        { "ls", "list", network_ls, "List network allocations" },
        { "inspect", NULL, network_inspect, "Show a container's network configuration" },
        { "topology", NULL, network_topology, "Show bridges and the containers on them" },
        { "dns", NULL, network_dns, "List container DNS names" },
};

static void network_help(FILE *f) {
        fputs("Usage: quilt network COMMAND [OPTIONS] [ARG...]\n"
              "\n"
              "Show container networking: addresses, bridges, veth pairs and DNS names.\n"
              "\n"
              "Commands:\n",
              f);
        cli_print_verb_list(f, network_verbs, ELEMENTSOF(network_verbs));
        fputs("\nRun 'quilt network COMMAND --help' for a command's options.\n", f);
}

int verb_network(Cli *cli, int argc, char *argv[]) {
        return cli_dispatch(cli, "network", network_verbs, ELEMENTSOF(network_verbs), argc - 1, argv + 1,
                            network_help);
}

/* ---- icc ------------------------------------------------------------------------- */

static const char icc_ping_usage[] =
        "Usage: quilt icc ping [OPTIONS] FROM TARGET\n"
        "\n"
        "Ping TARGET (a container or an IP address) from inside container FROM; exits 0\n"
        "only if TARGET answered.\n"
        "\n"
        "Options:\n"
        "  -c, --count N        number of echo requests (default 3)\n"
        "  -W, --timeout SECS   how long to wait for answers (default 5)\n"
        "  -h, --help           show this help\n";

static int icc_ping(Cli *cli, int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "count", required_argument, NULL, 'c' },
                { "timeout", required_argument, NULL, 'W' },
                {},
        };
        int32_t v;
        int c;

        while ((c = getopt_long(argc, argv, ":hc:W:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(icc_ping_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'c':
                case 'W':
                        if (parse_int32(optarg, 1, 3600, &v) < 0)
                                return cli_usage(cli, "invalid --%s '%s' (expected a number from 1 to 3600)",
                                                 c == 'c' ? "count" : "timeout", optarg);
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (argc - optind < 2)
                return cli_usage(cli, "missing FROM or TARGET (see 'quilt icc ping --help')");
        if (argc - optind > 2)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind + 2]);

        /* The original ran ping through exec in the container and reported success
         * whatever the result; a real answer needs daemon support. */
        return cli_not_supported(cli, "");
}

static int icc_exec(Cli *cli, int argc, char *argv[]) {
        /* The same command as "quilt exec"; kept under icc for the original's scripts. */
        return verb_exec(cli, argc, argv);
}

static const CliVerb icc_verbs[] = {
        { "ping", NULL, icc_ping, "Ping a container from another container" },
        { "exec", NULL, icc_exec, "Run a command in a container (same as 'quilt exec')" },
};

static void icc_help(FILE *f) {
        fputs("Usage: quilt icc COMMAND [OPTIONS] [ARG...]\n"
              "\n"
              "Inter-container communication: check that containers reach each other.\n"
              "\n"
              "Commands:\n",
              f);
        cli_print_verb_list(f, icc_verbs, ELEMENTSOF(icc_verbs));
        fputs("\nRun 'quilt icc COMMAND --help' for a command's options.\n", f);
}

int verb_icc(Cli *cli, int argc, char *argv[]) {
        return cli_dispatch(cli, "icc", icc_verbs, ELEMENTSOF(icc_verbs), argc - 1, argv + 1, icc_help);
}
