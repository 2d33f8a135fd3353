/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt network ls | inspect | topology | dns. */

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
        "Usage: quilt network topology [--format ascii|json|dot]\n"
        "\n"
        "Show the bridges and the containers that have an address on them: name, address,\n"
        "short id and state.\n"
        "\n"
        "Options:\n"
        "      --format FMT   ascii (default): a tree per bridge;\n"
        "                     json: {\"bridges\": [{\"name\", \"containers\": [{\"container_id\",\n"
        "                     \"name\", \"ip_address\", \"status\"}]}]};\n"
        "                     dot: a Graphviz graph (quilt network topology --format dot | dot -Tsvg)\n"
        "      --json         the same as --format json\n"
        "  -h, --help         show this help\n";

typedef enum TopologyFormat {
        TOPOLOGY_ASCII,
        TOPOLOGY_JSON,
        TOPOLOGY_DOT,
} TopologyFormat;

/* A container on a bridge, from its allocation and (for the name) the container list. */
typedef struct TopologyNode {
        const char *bridge;
        const char *id;
        const char *name; /* NULL when the container is not listed (any more) */
        const char *ip;
        const char *status;
} TopologyNode;

static const char *container_name_of(const Quilt__ListContainersResponse *list, const char *id) {
        for (size_t i = 0; list && i < list->n_containers; i++)
                if (streq(strempty(list->containers[i]->container_id), id))
                        return list->containers[i]->name;
        return NULL;
}

/* Text inside a Graphviz string: quotes and backslashes escaped. */
static void dot_escaped(FILE *f, const char *s) {
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        fputc('\\', f);
                fputc(*s, f);
        }
}

static void dot_string(FILE *f, const char *s) {
        fputc('"', f);
        dot_escaped(f, s);
        fputc('"', f);
}

static int topology_print_json(Cli *cli, const TopologyNode *nodes, size_t n) {
        json_auto_t *j = json_pack("{s:[]}", "bridges");
        json_t *bridges = j ? json_object_get(j, "bridges") : NULL;

        if (!bridges)
                return cli_fail(cli, "out of memory");

        for (size_t i = 0; i < n; i++) {
                json_t *b = NULL, *c;
                size_t k;

                /* Bridges in the order they first appear. */
                for (k = 0; k < json_array_size(bridges); k++)
                        if (streq(json_string_value(json_object_get(json_array_get(bridges, k), "name")),
                                  nodes[i].bridge))
                                b = json_array_get(bridges, k);
                if (!b) {
                        b = json_pack("{s:s, s:[]}", "name", nodes[i].bridge, "containers");
                        if (!b || json_array_append_new(bridges, b) < 0)
                                return cli_fail(cli, "out of memory");
                }
                c = json_pack("{s:s, s:s?, s:s, s:s}", "container_id", nodes[i].id, "name", nodes[i].name,
                              "ip_address", nodes[i].ip, "status", nodes[i].status);
                if (!c || json_array_append_new(json_object_get(b, "containers"), c) < 0)
                        return cli_fail(cli, "out of memory");
        }

        if (json_dumpf(j, stdout, JSON_INDENT(2)) < 0)
                return cli_fail(cli, "cannot write JSON output");
        fputc('\n', stdout);
        return CLI_EXIT_SUCCESS;
}

static void topology_print_dot(const TopologyNode *nodes, size_t n) {
        puts("graph quilt {");
        puts("        node [shape=box];");
        for (size_t i = 0; i < n; i++) {
                bool seen = false;

                for (size_t k = 0; k < i && !seen; k++)
                        seen = streq(nodes[k].bridge, nodes[i].bridge);
                if (seen)
                        continue;
                fputs("        ", stdout);
                dot_string(stdout, nodes[i].bridge);
                puts(" [shape=ellipse];");
        }
        for (size_t i = 0; i < n; i++) {
                /* Two lines: the name (or the id) and the address, split by DOT's \n. */
                fputs("        ", stdout);
                dot_string(stdout, nodes[i].id);
                fputs(" [label=\"", stdout);
                dot_escaped(stdout, nodes[i].name ?: nodes[i].id);
                fputs("\\n", stdout);
                dot_escaped(stdout, nodes[i].ip);
                fputs("\"];\n        ", stdout);
                dot_string(stdout, nodes[i].bridge);
                fputs(" -- ", stdout);
                dot_string(stdout, nodes[i].id);
                puts(";");
        }
        puts("}");
}

static void topology_print_ascii(const TopologyNode *nodes, size_t n) {
        if (n == 0) {
                puts("No container has a network address.");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                size_t last = i;
                bool seen = false;

                for (size_t k = 0; k < i && !seen; k++)
                        seen = streq(nodes[k].bridge, nodes[i].bridge);
                if (seen)
                        continue;

                puts(nodes[i].bridge);
                for (size_t k = i; k < n; k++)
                        if (streq(nodes[k].bridge, nodes[i].bridge))
                                last = k;
                for (size_t k = i; k < n; k++) {
                        if (!streq(nodes[k].bridge, nodes[i].bridge))
                                continue;
                        printf("%s %-20s %-15s %.12s  %s\n", k == last ? "`--" : "|--",
                               nodes[k].name ?: "-", nodes[k].ip, nodes[k].id, nodes[k].status);
                }
        }
}

static int network_topology(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_FORMAT = 0x100,
                ARG_JSON,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "format", required_argument, NULL, ARG_FORMAT },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        Quilt__ListContainersRequest lreq = QUILT__LIST_CONTAINERS_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *ma = NULL, *ml = NULL;
        const Quilt__ListNetworkAllocationsResponse *alloc;
        _cleanup_free_ TopologyNode *nodes = NULL;
        TopologyFormat format = cli->json ? TOPOLOGY_JSON : TOPOLOGY_ASCII;
        size_t n = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(network_topology_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case ARG_FORMAT:
                        if (streq(optarg, "ascii"))
                                format = TOPOLOGY_ASCII;
                        else if (streq(optarg, "json"))
                                format = TOPOLOGY_JSON;
                        else if (streq(optarg, "dot"))
                                format = TOPOLOGY_DOT;
                        else
                                return cli_usage(cli, "invalid --format '%s' (expected ascii, json or dot)", optarg);
                        break;
                case ARG_JSON:
                        format = TOPOLOGY_JSON;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind < argc)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind]);

        r = list_allocations(cli, &ma);
        if (r != 0)
                return r;
        alloc = (const Quilt__ListNetworkAllocationsResponse *) ma;
        /* Names come from the container list; without it the ids still tell. */
        if (cli_call(cli, "ListContainers", &lreq.base, CLI_CALL_QUIET, &ml) != 0)
                ml = NULL;

        nodes = new0(TopologyNode, MAX(alloc->n_allocations, (size_t) 1));
        if (!nodes)
                return cli_fail(cli, "out of memory");
        for (size_t i = 0; i < alloc->n_allocations; i++) {
                const Quilt__NetworkAllocation *a = alloc->allocations[i];

                /* Only containers that have an address on a bridge are nodes. */
                if (isempty(a->ip_address))
                        continue;
                nodes[n++] = (TopologyNode) {
                        .bridge = isempty(a->bridge_interface) ? "(no bridge)" : a->bridge_interface,
                        .id = strempty(a->container_id),
                        .name = container_name_of((const Quilt__ListContainersResponse *) ml,
                                                  strempty(a->container_id)),
                        .ip = a->ip_address,
                        .status = strempty(a->status),
                };
        }

        switch (format) {
        case TOPOLOGY_JSON:
                return topology_print_json(cli, nodes, n);
        case TOPOLOGY_DOT:
                topology_print_dot(nodes, n);
                break;
        case TOPOLOGY_ASCII:
                topology_print_ascii(nodes, n);
                break;
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
