/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt icc ping | exec: inter-container communication, checked from inside a container
 * through ExecContainer. */

#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static const char icc_ping_usage[] =
        "Usage: quilt icc ping [OPTIONS] FROM TARGET\n"
        "\n"
        "Ping TARGET from inside the running container FROM, print ping's output, and\n"
        "exit 0 only if TARGET answered. TARGET is a container (name, id or id prefix),\n"
        "whose address quiltd knows, or an IPv4 address.\n"
        "\n"
        "Options:\n"
        "  -c, --count N        number of echo requests (default 3)\n"
        "  -W, --timeout SECS   how long to wait for an answer (default 5)\n"
        "  -h, --help           show this help\n";

/* The container's status reply, or an error already printed. */
static int container_status(Cli *cli, const char *container, ProtobufCMessage **ret) {
        Quilt__GetContainerStatusRequest req = QUILT__GET_CONTAINER_STATUS_REQUEST__INIT;

        req.container_id = (char *) container;
        return cli_call(cli, "GetContainerStatus", &req.base, 0, ret);
}

/* The address to ping: TARGET itself when it is an address, otherwise the running
 * container's address from its status (or its network configuration). */
static int resolve_target(Cli *cli, const char *target, char ip[static INET_ADDRSTRLEN]) {
        _cleanup_reply_ ProtobufCMessage *m = NULL, *n = NULL;
        const Quilt__GetContainerStatusResponse *status;
        const char *address;
        struct in_addr a;
        int r;

        if (inet_pton(AF_INET, target, &a) == 1) {
                (void) inet_ntop(AF_INET, &a, ip, INET_ADDRSTRLEN);
                return 0;
        }
        /* Container names are single DNS labels; a dot means an address was meant. */
        if (strchr(target, '.'))
                return cli_usage(cli, "invalid TARGET '%s': neither an IPv4 address nor a container", target);

        r = container_status(cli, target, &m);
        if (r != 0)
                return r;
        status = (const Quilt__GetContainerStatusResponse *) m;
        if (status->status != QUILT__CONTAINER_STATUS__RUNNING)
                return cli_fail(cli, "container %s is not running (%s), nothing can answer", target,
                                container_status_to_string(status->status));

        address = status->ip_address;
        if (isempty(address)) {
                Quilt__GetContainerNetworkRequest req = QUILT__GET_CONTAINER_NETWORK_REQUEST__INIT;

                req.container_id = (char *) target;
                if (cli_call(cli, "GetContainerNetwork", &req.base, CLI_CALL_QUIET, &n) == 0) {
                        const Quilt__GetContainerNetworkResponse *net = (const Quilt__GetContainerNetworkResponse *) n;
                        if (net->network_config)
                                address = net->network_config->ip_address;
                }
        }
        if (isempty(address))
                return cli_fail(cli, "container %s has no IP address (created without a network?)", target);
        if (inet_pton(AF_INET, address, &a) != 1)
                return cli_fail(cli, "quiltd reported an invalid address '%s' for %s", address, target);

        (void) inet_ntop(AF_INET, &a, ip, INET_ADDRSTRLEN);
        return 0;
}

static int icc_ping(Cli *cli, int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "count", required_argument, NULL, 'c' },
                { "timeout", required_argument, NULL, 'W' },
                {},
        };
        Quilt__ExecContainerRequest req = QUILT__EXEC_CONTAINER_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL, *fm = NULL;
        const Quilt__ExecContainerResponse *reply;
        const Quilt__GetContainerStatusResponse *from_status;
        char ip[INET_ADDRSTRLEN], count_s[16], timeout_s[16], *command[7];
        const char *from, *target;
        int32_t count = 3, timeout = 5, v;
        int c, r, status;

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
                        if (c == 'c')
                                count = v;
                        else
                                timeout = v;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (argc - optind < 2)
                return cli_usage(cli, "missing FROM or TARGET (see 'quilt icc ping --help')");
        if (argc - optind > 2)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind + 2]);
        from = argv[optind];
        target = argv[optind + 1];

        r = container_status(cli, from, &fm);
        if (r != 0)
                return r;
        from_status = (const Quilt__GetContainerStatusResponse *) fm;
        if (from_status->status != QUILT__CONTAINER_STATUS__RUNNING)
                return cli_fail(cli, "container %s is not running (%s), cannot ping from it", from,
                                container_status_to_string(from_status->status));

        r = resolve_target(cli, target, ip);
        if (r != 0)
                return r;

        /* ping's own options, which busybox and iputils share: -c count, -W seconds to wait
         * for an answer. The argv goes to the container as it is, never through a shell. */
        (void) snprintf(count_s, sizeof count_s, "%" PRIi32, count);
        (void) snprintf(timeout_s, sizeof timeout_s, "%" PRIi32, timeout);
        command[0] = (char *) "ping";
        command[1] = (char *) "-c";
        command[2] = count_s;
        command[3] = (char *) "-W";
        command[4] = timeout_s;
        command[5] = ip;
        command[6] = NULL;
        req.container_id = (char *) from;
        req.command = command;
        req.n_command = 6;
        req.capture_output = true;
        /* One echo request a second, plus the wait for the last answer, plus slack: quiltd
         * kills a ping that hangs beyond that (a stuck resolver, a broken image). */
        req.timeout_seconds = (uint32_t) count + (uint32_t) timeout + 10;
        if (!cli->timeout_set)
                cli->timeout_usec = ((uint64_t) req.timeout_seconds + 30) * USEC_PER_SEC;

        r = cli_call(cli, "ExecContainer", &req.base, CLI_CALL_ALLOW_UNSUCCESSFUL, &m);
        if (r != 0)
                return r;
        reply = (const Quilt__ExecContainerResponse *) m;

        if (cli->json) {
                r = cli_print_json(cli, m);
                if (r != 0)
                        return r;
        } else {
                fputs(strempty(reply->stdout), stdout);
                fflush(stdout);
                fputs(strempty(reply->stderr), stderr);
        }

        if (reply->timed_out)
                return cli_fail(cli, "ping in %s did not finish within %" PRIu32 "s", from, req.timeout_seconds);
        if (!reply->success && reply->exit_code == 0 && reply->exit_signal == 0)
                return cli_fail(cli, "cannot run ping in %s: %s", from,
                                isempty(reply->error_message) ? "the command did not run" : reply->error_message);
        if (reply->success || (reply->exit_code == 0 && reply->exit_signal == 0))
                return CLI_EXIT_SUCCESS;

        status = container_exit_status(QUILT__CONTAINER_STATUS__EXITED, reply->exit_code, reply->exit_signal);
        if (status == 126 || status == 127)
                return cli_fail(cli, "cannot run ping in %s: the image has no usable ping command", from);
        if (status == 125)
                return cli_fail(cli, "cannot run ping in %s: %s", from,
                                isempty(reply->error_message) ? "the command could not be set up" : reply->error_message);
        cli_fail(cli, "%s (%s) did not answer from %s", target, ip, from);
        return status > 0 && status < 256 ? status : CLI_EXIT_FAILURE;
}

static int icc_exec(Cli *cli, int argc, char *argv[]) {
        /* "quilt exec" with every option, including --workdir and --env, and exiting with
         * the command's status (the original printed it and always exited 0). */
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
