/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt health | info | metrics | system prune: the daemon as a whole. */

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"

#define RUN_SIMPLE(cli, argc, argv, usage, json_ok, min, max)                                   \
        ({                                                                                      \
                int _r_ = cli_parse_simple(cli, argc, argv, usage, json_ok, min, max);          \
                if (_r_ == CLI_HELP_SHOWN)                                                      \
                        return CLI_EXIT_SUCCESS;                                                \
                if (_r_ != 0)                                                                   \
                        return _r_;                                                             \
        })

static const char health_usage[] =
        "Usage: quilt health [--json]\n"
        "\n"
        "Check quiltd's health: its status, uptime, container counts and each internal\n"
        "check. Exits 1 when the daemon reports itself unhealthy or cannot be reached.\n"
        "\n"
        "Options:\n"
        "      --json   print the reply as JSON\n"
        "  -h, --help   show this help\n";

int verb_health(Cli *cli, int argc, char *argv[]) {
        Quilt__GetHealthRequest req = QUILT__GET_HEALTH_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__GetHealthResponse *reply;
        char buf[CLI_TIME_MAX];
        size_t width = 0;
        int r;

        RUN_SIMPLE(cli, argc, argv, health_usage, true, 0, 0);

        r = cli_call(cli, "GetHealth", &req.base, 0, &m);
        if (r != 0)
                return r;
        reply = (const Quilt__GetHealthResponse *) m;

        if (cli->json) {
                r = cli_print_json(cli, m);
                if (r != 0)
                        return r;
        } else {
                printf("Status:      %s\n", isempty(reply->status) ? (reply->healthy ? "healthy" : "unhealthy")
                                                                     : reply->status);
                printf("Uptime:      %s\n", format_duration(buf, reply->uptime_seconds));
                printf("Containers:  %" PRIu32 " running, %" PRIu32 " total\n", reply->containers_running,
                       reply->containers_total);
                if (reply->n_checks > 0)
                        printf("Checks:\n");
                for (size_t i = 0; i < reply->n_checks; i++)
                        width = MAX(width, strlen(strempty(reply->checks[i]->name)));
                for (size_t i = 0; i < reply->n_checks; i++) {
                        const Quilt__HealthCheck *c = reply->checks[i];
                        printf("  %-*s  %-4s  %s (%" PRIu64 " ms)\n", (int) width, strempty(c->name),
                               c->healthy ? "OK" : "FAIL", strempty(c->message), c->duration_ms);
                }
        }

        return reply->healthy ? CLI_EXIT_SUCCESS : CLI_EXIT_FAILURE;
}

static const char info_usage[] =
        "Usage: quilt info [--json]\n"
        "\n"
        "Show quiltd's version, runtime, host backend, start time, features and limits.\n"
        "\n"
        "Options:\n"
        "      --json   print the reply as JSON\n"
        "  -h, --help   show this help\n";

int verb_info(Cli *cli, int argc, char *argv[]) {
        Quilt__GetSystemInfoRequest req = QUILT__GET_SYSTEM_INFO_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__GetSystemInfoResponse *reply;
        char buf[CLI_TIME_MAX], ago[CLI_TIME_MAX];
        const char *backend;
        int r;

        RUN_SIMPLE(cli, argc, argv, info_usage, true, 0, 0);

        r = cli_call(cli, "GetSystemInfo", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__GetSystemInfoResponse *) m;

        /* The reply has no backend field; quiltd reports it among the features. */
        backend = string_map_get((void *const *) reply->features, reply->n_features,
                                 &quilt__get_system_info_response__features_entry__descriptor, "backend");

        printf("Version:  %s\n", strempty(reply->version));
        printf("Runtime:  %s\n", strempty(reply->runtime));
        printf("Backend:  %s\n", isempty(backend) ? "-" : backend);
        /* start_time is in milliseconds, as in the original service. */
        printf("Started:  %s (%s)\n", format_time_sec(buf, reply->start_time / 1000),
               format_time_ago(ago, reply->start_time / 1000));
        printf("Features:\n");
        print_string_map(stdout, "  ", (void *const *) reply->features, reply->n_features,
                         &quilt__get_system_info_response__features_entry__descriptor);
        printf("Limits:\n");
        print_string_map(stdout, "  ", (void *const *) reply->limits, reply->n_limits,
                         &quilt__get_system_info_response__limits_entry__descriptor);
        return CLI_EXIT_SUCCESS;
}

static const char metrics_usage[] =
        "Usage: quilt metrics [OPTIONS] [CONTAINER]\n"
        "\n"
        "Show resource usage: of one container, or of every running container, plus the\n"
        "host's memory, CPU count, load and container counts.\n"
        "\n"
        "Options:\n"
        "  -n, --by-name         CONTAINER is a name (accepted for compatibility; names\n"
        "                        are always accepted)\n"
        "      --no-system       leave out the host's metrics\n"
        "      --since DURATION  history of CONTAINER from DURATION ago (\"10min\")\n"
        "      --until DURATION  ... up to DURATION ago (default: now)\n"
        "      --json            print the reply as JSON\n"
        "  -h, --help            show this help\n";

static uint64_t now_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void print_system_metrics(const Quilt__SystemMetrics *s) {
        printf("Memory:      %" PRIu64 " MiB used of %" PRIu64 " MiB\n", s->memory_used_mb, s->memory_total_mb);
        printf("CPUs:        %" PRIu32 "\n", s->cpu_count);
        printf("Load:       ");
        for (size_t i = 0; i < s->n_load_average; i++)
                printf(" %.2f", s->load_average[i]);
        printf("\n");
        printf("Containers:  %" PRIu64 " running, %" PRIu64 " stopped, %" PRIu64 " total\n",
               s->containers_running, s->containers_stopped, s->containers_total);
}

int verb_metrics(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
                ARG_NO_SYSTEM,
                ARG_SINCE,
                ARG_UNTIL,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, ARG_JSON },
                { "by-name", no_argument, NULL, 'n' },
                { "no-system", no_argument, NULL, ARG_NO_SYSTEM },
                { "since", required_argument, NULL, ARG_SINCE },
                { "until", required_argument, NULL, ARG_UNTIL },
                {},
        };
        Quilt__GetMetricsRequest req = QUILT__GET_METRICS_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__GetMetricsResponse *reply;
        _cleanup_table_ Table *t = NULL;
        uint64_t since = 0, until = 0;
        bool no_system = false;
        int c, r;

        while ((c = getopt_long(argc, argv, ":hn", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(metrics_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case ARG_JSON:
                        cli->json = true;
                        break;
                case 'n':
                        break;
                case ARG_NO_SYSTEM:
                        no_system = true;
                        break;
                case ARG_SINCE:
                case ARG_UNTIL:
                        if (parse_duration_usec(optarg, c == ARG_SINCE ? &since : &until) < 0)
                                return cli_usage(cli, "invalid --%s '%s' (expected a duration such as 10min)",
                                                 c == ARG_SINCE ? "since" : "until", optarg);
                        if (c == ARG_SINCE && since == 0)
                                return cli_usage(cli, "invalid --since '%s': must be more than 0", optarg);
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (argc - optind > 1)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
        if (optind < argc)
                req.container_id = argv[optind];
        if ((since || until) && optind >= argc)
                return cli_usage(cli, "--since and --until need a CONTAINER");
        if (since && until >= since)
                return cli_usage(cli, "--until must be more recent than --since");

        req.include_system = !no_system;
        if (since) {
                uint64_t now = now_msec();
                req.start_time = now - MIN(since / USEC_PER_MSEC, now);
                req.end_time = now - MIN(until / USEC_PER_MSEC, now);
        }

        r = cli_call(cli, "GetMetrics", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__GetMetricsResponse *) m;

        t = table_new(7, "CONTAINER ID", "TIME", "CPU", "MEMORY", "LIMIT", "NET RX", "NET TX");
        if (!t)
                return cli_fail(cli, "out of memory");
        for (size_t i = 0; i < reply->n_container_metrics; i++) {
                const Quilt__ContainerMetric *cm = reply->container_metrics[i];
                char ts[CLI_TIME_MAX], cpu[CLI_TIME_MAX], mem[CLI_TIME_MAX], lim[CLI_TIME_MAX],
                        rx[CLI_TIME_MAX], tx[CLI_TIME_MAX];

                snprintf(cpu, sizeof cpu, "%.2fs", (double) cm->cpu_usage_usec / 1e6);
                if (table_add_row(t, cm->container_id, format_time_sec(ts, cm->timestamp / 1000), cpu,
                                  format_bytes(mem, cm->memory_current_bytes),
                                  cm->memory_limit_bytes ? format_bytes(lim, cm->memory_limit_bytes) : "-",
                                  format_bytes(rx, cm->network_rx_bytes), format_bytes(tx, cm->network_tx_bytes)) < 0)
                        return cli_fail(cli, "out of memory");
        }
        if (reply->n_container_metrics > 0 || optind < argc)
                table_print(t, stdout);
        if (reply->system_metrics) {
                if (reply->n_container_metrics > 0 || optind < argc)
                        printf("\n");
                print_system_metrics(reply->system_metrics);
        }
        return CLI_EXIT_SUCCESS;
}

static const char system_prune_usage[] =
        "Usage: quilt system prune --network [--json]\n"
        "\n"
        "Remove what quiltd keeps for containers that may come later:\n"
        "  --network   the container network's bridge, its nftables table and leftover\n"
        "              veths. Refused while a container uses them. Addresses of stopped\n"
        "              containers are kept; the network is set up again on the next start.\n"
        "\n"
        "Prints what was removed.\n"
        "\n"
        "Options:\n"
        "      --network  prune the container network\n"
        "      --json     print the reply as JSON\n"
        "  -h, --help     show this help\n";

static int system_prune(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
                ARG_NETWORK,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, ARG_JSON },
                { "network", no_argument, NULL, ARG_NETWORK },
                {},
        };
        Quilt__ComprehensiveNetworkCleanupRequest req = QUILT__COMPREHENSIVE_NETWORK_CLEANUP_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__ComprehensiveNetworkCleanupResponse *reply;
        bool network = false;
        int c, r;

        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(system_prune_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case ARG_JSON:
                        cli->json = true;
                        break;
                case ARG_NETWORK:
                        network = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind < argc)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
        if (!network)
                return cli_usage(cli, "nothing to prune: say what (--network)");

        r = cli_call(cli, "ComprehensiveNetworkCleanup", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__ComprehensiveNetworkCleanupResponse *) m;
        if (reply->n_cleaned_resources == 0)
                printf("Nothing to remove: the container network is not set up.\n");
        for (size_t i = 0; i < reply->n_cleaned_resources; i++)
                printf("Removed %s\n", reply->cleaned_resources[i]);
        return CLI_EXIT_SUCCESS;
}

static const CliVerb system_verbs[] = {
        { "prune", NULL, system_prune, "Remove unused resources (--network: bridge, rules)" },
};

static void system_help(FILE *f) {
        fputs("Usage: quilt system COMMAND [OPTIONS]\n"
              "\n"
              "Manage quiltd's resources as a whole.\n"
              "\n"
              "Commands:\n",
              f);
        cli_print_verb_list(f, system_verbs, ELEMENTSOF(system_verbs));
        fputs("\nRun 'quilt system COMMAND --help' for a command's options.\n", f);
}

int verb_system(Cli *cli, int argc, char *argv[]) {
        return cli_dispatch(cli, "system", system_verbs, ELEMENTSOF(system_verbs), argc - 1, argv + 1, system_help);
}
