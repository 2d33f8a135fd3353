/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt: the command line client of quiltd. Global options, then one verb; each verb
 * parses its own options (one file per command group) and calls one or more RPCs. */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "quilt-build.h"

static const CliVerb verbs[] = {
        { "create", NULL, verb_create, "Create a container and start its command" },
        { "run", NULL, verb_run, "Run a command in a new container and wait for it" },
        { "start", NULL, verb_start, "Start a created or exited container" },
        { "stop", NULL, verb_stop, "Stop a container (SIGTERM, then SIGKILL)" },
        { "kill", NULL, verb_kill, "Send a signal to a container (default SIGKILL)" },
        { "wait", NULL, verb_wait, "Wait for a container to end; print its exit status" },
        { "rm", "remove", verb_rm, "Remove a container" },
        { "status", NULL, verb_status, "Show a container's state" },
        { "inspect", NULL, verb_inspect, "Show everything about a container as JSON" },
        { "ps", "list", verb_ps, "List containers" },
        { "logs", NULL, verb_logs, "Show a container's output" },
        { "exec", NULL, verb_exec, "Run a command in a running container" },
        { "shell", NULL, verb_shell, "Open an interactive shell in a container" },
        { "cp", NULL, verb_cp, "Copy files between a container and the host" },
        { "volume", NULL, verb_volume, "Manage volumes" },
        { "network", NULL, verb_network, "Show container networking" },
        { "icc", NULL, verb_icc, "Inter-container communication" },
        { "image", NULL, verb_image, "Manage images" },
        { "monitor", NULL, verb_monitor, "Show the per-container monitors" },
        { "cleanup", NULL, verb_cleanup, "Show and run resource cleanup" },
        { "health", NULL, verb_health, "Check the daemon's health" },
        { "info", NULL, verb_info, "Show the daemon's version, features and limits" },
        { "metrics", NULL, verb_metrics, "Show container and system resource usage" },
        { "events", NULL, verb_events, "Stream container events" },
        { "system", NULL, verb_system, "Manage quiltd's resources (prune)" },
};

static void help(FILE *f) {
        fputs("Usage: quilt [OPTIONS] COMMAND [ARG...]\n"
              "\n"
              "Create, run and remove isolated Linux containers through quiltd.\n"
              "\n"
              "Commands:\n",
              f);
        cli_print_verb_list(f, verbs, ELEMENTSOF(verbs));
        fputs("\n"
              "Options:\n"
              "  -H, --host ADDRESS     quiltd's address: unix:PATH or tcp:HOST:PORT\n"
              "                         (default: $QUILT_HOST, else $QUILT_SERVER as HOST:PORT,\n"
              "                         else " QUILT_DEFAULT_HOST ")\n"
              "      --token TOKEN      bearer token for TCP connections (default: $QUILT_TOKEN)\n"
              "      --json             print replies as JSON\n"
              "      --timeout DURATION give up on a request after DURATION (\"30\", \"2min\";\n"
              "                         default 60s, 0 = wait forever)\n"
              "  -h, --help             show this help\n"
              "      --version          show the version\n"
              "\n"
              "Run 'quilt COMMAND --help' for a command's options.\n",
              f);
}

static char *strjoin2(const char *a, const char *b) {
        char *s;

        if (asprintf(&s, "%s%s", a, b) < 0)
                return NULL;
        return s;
}

/* Accepts what users of the original and of other tools type: "unix:PATH", a bare
 * absolute path, "tcp:HOST:PORT", "HOST:PORT" and "http://HOST:PORT" (the original
 * CLI's --server-addr). */
static int normalize_host(const char *s, char **ret) {
        const char *rest;
        char *h;

        if (isempty(s))
                return -EINVAL;
        if (s[0] == '/')
                h = strjoin2("unix:", s);
        else if ((rest = startswith(s, "http://")) && !isempty(rest)) {
                h = strjoin2("tcp:", rest);
                if (h && h[strlen(h) - 1] == '/')
                        h[strlen(h) - 1] = '\0';
        } else if (startswith(s, "unix:") || startswith(s, "tcp:"))
                h = strdup(s);
        else
                h = strjoin2("tcp:", s);
        if (!h)
                return -ENOMEM;
        *ret = h;
        return 0;
}

static int resolve_host(const char *arg, char **ret) {
        const char *e;

        if (arg)
                return normalize_host(arg, ret);
        e = getenv("QUILT_HOST");
        if (!isempty(e))
                return normalize_host(e, ret);
        /* The original's variable, HOST:PORT of its TCP listener (used by nested CLIs). */
        e = getenv("QUILT_SERVER");
        if (!isempty(e))
                return normalize_host(e, ret);
        return normalize_host(QUILT_DEFAULT_HOST, ret);
}

/* Returns 0 to go on with the verb, -1 when done (--help, --version), or an exit status. */
static int parse_global_options(Cli *cli, int argc, char *argv[], const char **ret_host) {
        enum {
                ARG_TOKEN = 0x100,
                ARG_JSON,
                ARG_TIMEOUT,
                ARG_VERSION,
        };
        static const struct option options[] = {
                { "host", required_argument, NULL, 'H' },
                { "server-addr", required_argument, NULL, 's' }, /* the original CLI's name */
                { "token", required_argument, NULL, ARG_TOKEN },
                { "json", no_argument, NULL, ARG_JSON },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c, r;

        opterr = 0;
        /* "+": stop at the verb, whose options are its own. */
        while ((c = getopt_long(argc, argv, "+:H:s:h", options, NULL)) >= 0)
                switch (c) {
                case 'H':
                case 's':
                        *ret_host = optarg;
                        break;
                case ARG_TOKEN:
                        cli->token = optarg;
                        break;
                case ARG_JSON:
                        cli->json = true;
                        break;
                case ARG_TIMEOUT:
                        r = parse_duration_usec(optarg, &cli->timeout_usec);
                        if (r < 0)
                                return cli_usage(cli, "invalid --timeout '%s' (expected a duration such as 30s or 2min)",
                                                 optarg);
                        cli->timeout_set = true;
                        break;
                case 'h':
                        help(stdout);
                        return -1;
                case ARG_VERSION:
                        printf("quilt %s\n", QUILT_VERSION);
                        return -1;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        return 0;
}

int main(int argc, char *argv[]) {
        Cli cli = {
                .timeout_usec = CLI_DEFAULT_TIMEOUT_USEC,
        };
        const char *host_arg = NULL;
        int r;

        r = parse_global_options(&cli, argc, argv, &host_arg);
        if (r < 0)
                return fflush(stdout) == 0 && !ferror(stdout) ? CLI_EXIT_SUCCESS : CLI_EXIT_FAILURE;
        if (r > 0)
                return r;

        r = resolve_host(host_arg, &cli.host);
        if (r == -ENOMEM) {
                fputs("quilt: out of memory\n", stderr);
                return CLI_EXIT_FAILURE;
        }
        if (r < 0) {
                fprintf(stderr, "quilt: invalid daemon address '%s'\n", strempty(host_arg));
                return CLI_EXIT_USAGE;
        }

        r = cli_dispatch(&cli, NULL, verbs, ELEMENTSOF(verbs), argc - optind, argv + optind, help);

        /* A write error (a full disk, a closed pipe) must not look like success. */
        if (fflush(stdout) != 0 || ferror(stdout)) {
                if (errno != EPIPE)
                        fprintf(stderr, "quilt: cannot write output: %s\n", strerror(errno));
                if (r == CLI_EXIT_SUCCESS)
                        r = CLI_EXIT_FAILURE;
        }

        cli_done(&cli);
        return r;
}
