/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt start | stop | kill | rm | status | inspect | logs | shell.
 * Containers are addressed by full id, unique id prefix or name; quiltd resolves all
 * three, so -n/--by-name only selects which request field carries the reference. */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"

/* ---- start, stop, kill, rm ---------------------------------------------------- */

typedef enum Action {
        ACTION_START,
        ACTION_STOP,
        ACTION_KILL,
        ACTION_REMOVE,
} Action;

typedef struct ActionArgs {
        bool by_name;
        bool grace_set; /* stop -t was given */
        uint32_t grace;
        const char *signal; /* kill -s, as sent; NULL = quiltd's default (SIGKILL) */
        bool force;
} ActionArgs;

static int act_on_container(Cli *cli, Action action, const char *ref, const ActionArgs *args) {
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        char *id = args->by_name ? (char *) "" : (char *) ref, *name = args->by_name ? (char *) ref : (char *) "";

        switch (action) {
        case ACTION_START: {
                Quilt__StartContainerRequest req = QUILT__START_CONTAINER_REQUEST__INIT;
                req.container_id = id;
                req.container_name = name;
                return cli_call(cli, "StartContainer", &req.base, 0, &m);
        }
        case ACTION_STOP: {
                Quilt__StopContainerRequest req = QUILT__STOP_CONTAINER_REQUEST__INIT;
                req.container_id = id;
                req.container_name = name;
                if (args->grace_set) {
                        /* grace_seconds is explicit, so 0 means SIGKILL at once; the old
                         * timeout_seconds field (0 = default) is filled in for daemons
                         * that only know it. */
                        req.grace_present_case = QUILT__STOP_CONTAINER_REQUEST__GRACE_PRESENT_GRACE_SECONDS;
                        req.grace_seconds = args->grace;
                        req.timeout_seconds = (int32_t) MIN(args->grace, (uint32_t) INT32_MAX);
                }
                return cli_call(cli, "StopContainer", &req.base, 0, &m);
        }
        case ACTION_KILL: {
                Quilt__KillContainerRequest req = QUILT__KILL_CONTAINER_REQUEST__INIT;
                req.container_id = id;
                req.container_name = name;
                req.signal = (char *) strempty(args->signal);
                return cli_call(cli, "KillContainer", &req.base, 0, &m);
        }
        case ACTION_REMOVE: {
                Quilt__RemoveContainerRequest req = QUILT__REMOVE_CONTAINER_REQUEST__INIT;
                req.container_id = id;
                req.container_name = name;
                req.force = args->force;
                return cli_call(cli, "RemoveContainer", &req.base, 0, &m);
        }
        }
        return CLI_EXIT_FAILURE;
}

static const char start_usage[] =
        "Usage: quilt start [OPTIONS] CONTAINER...\n"
        "\n"
        "Start created or exited containers; prints each one that was started. A failure\n"
        "is reported and the others are still started; the exit status is then 1.\n"
        "\n"
        "Options:\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility; names are\n"
        "                  always accepted)\n"
        "  -h, --help      show this help\n";

static const char stop_usage[] =
        "Usage: quilt stop [OPTIONS] CONTAINER...\n"
        "\n"
        "Stop running containers: SIGTERM, then SIGKILL after the grace period. Prints\n"
        "each one stopped; a failure is reported and the others are still stopped.\n"
        "\n"
        "Options:\n"
        "  -t, --time SECONDS  grace period before SIGKILL; 0 kills at once\n"
        "                      (default: quiltd's, 10 seconds) (alias: --timeout)\n"
        "  -n, --by-name       CONTAINER is a name (accepted for compatibility)\n"
        "  -h, --help          show this help\n";

static const char kill_usage[] =
        "Usage: quilt kill [OPTIONS] CONTAINER...\n"
        "\n"
        "Send a signal to the command of running containers. Prints each one signalled;\n"
        "a failure is reported and the others are still signalled.\n"
        "\n"
        "Options:\n"
        "  -s, --signal SIGNAL  signal name (TERM, SIGTERM) or number (default KILL)\n"
        "  -n, --by-name        CONTAINER is a name (accepted for compatibility)\n"
        "  -h, --help           show this help\n";

static const char rm_usage[] =
        "Usage: quilt rm [OPTIONS] CONTAINER...\n"
        "\n"
        "Remove containers and everything they own (rootfs, cgroup, network, logs). Prints\n"
        "each one removed; a failure is reported and the others are still removed.\n"
        "\n"
        "Options:\n"
        "  -f, --force     stop a running container first\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility)\n"
        "  -h, --help      show this help\n";

static int verb_action(Cli *cli, int argc, char *argv[], Action action) {
        static const struct option common_options[] = {
                { "help", no_argument, NULL, 'h' },
                { "by-name", no_argument, NULL, 'n' },
                {},
        };
        static const struct option stop_options[] = {
                { "help", no_argument, NULL, 'h' },
                { "by-name", no_argument, NULL, 'n' },
                { "time", required_argument, NULL, 't' },
                { "timeout", required_argument, NULL, 't' },
                {},
        };
        static const struct option kill_options[] = {
                { "help", no_argument, NULL, 'h' },
                { "by-name", no_argument, NULL, 'n' },
                { "signal", required_argument, NULL, 's' },
                {},
        };
        static const struct option rm_options[] = {
                { "help", no_argument, NULL, 'h' },
                { "by-name", no_argument, NULL, 'n' },
                { "force", no_argument, NULL, 'f' },
                {},
        };
        static const struct {
                const char *usage;
                const char *optstring;
                const struct option *options;
        } table[] = {
                [ACTION_START] = { start_usage, ":hn", common_options },
                [ACTION_STOP] = { stop_usage, ":hnt:", stop_options },
                [ACTION_KILL] = { kill_usage, ":hns:", kill_options },
                [ACTION_REMOVE] = { rm_usage, ":hnf", rm_options },
        };
        ActionArgs args = {};
        char signal_buf[16];
        int32_t grace;
        int c, r, sig, ret = CLI_EXIT_SUCCESS;

        while ((c = getopt_long(argc, argv, table[action].optstring, table[action].options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(table[action].usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'n':
                        args.by_name = true;
                        break;
                case 't':
                        r = parse_int32(optarg, 0, INT32_MAX, &grace);
                        if (r < 0)
                                return cli_usage(cli, "invalid --time '%s' (expected a number of seconds, 0 or more)",
                                                 optarg);
                        args.grace_set = true;
                        args.grace = (uint32_t) grace;
                        break;
                case 's': {
                        const char *name;

                        if (parse_signal(optarg, &sig) < 0)
                                return cli_usage(cli, "invalid --signal '%s' (expected a name such as TERM or "
                                                      "SIGTERM, or a number)",
                                                 optarg);
                        /* Sent by name where there is one: the numbers differ between
                         * architectures, the names do not. */
                        name = signal_to_string(sig);
                        if (name)
                                snprintf(signal_buf, sizeof signal_buf, "SIG%s", name);
                        else
                                snprintf(signal_buf, sizeof signal_buf, "%d", sig);
                        args.signal = signal_buf;
                        break;
                }
                case 'f':
                        args.force = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind >= argc)
                return cli_usage(cli, "missing CONTAINER (see 'quilt %s --help')", cli->verb);

        /* Stopping waits for the grace period on the daemon's side; the deadline must not
         * cut it short unless the user asked for one. */
        if (action == ACTION_STOP && !cli->timeout_set)
                cli->timeout_usec = CLI_DEFAULT_TIMEOUT_USEC +
                                    (uint64_t) (args.grace_set ? args.grace : 10) * USEC_PER_SEC;

        /* Like podman: every container is tried; each failure is reported on its own. */
        for (int i = optind; i < argc; i++) {
                r = act_on_container(cli, action, argv[i], &args);
                if (r != 0)
                        ret = r;
                else
                        printf("%s\n", argv[i]);
        }
        return ret;
}

int verb_start(Cli *cli, int argc, char *argv[]) {
        return verb_action(cli, argc, argv, ACTION_START);
}

int verb_stop(Cli *cli, int argc, char *argv[]) {
        return verb_action(cli, argc, argv, ACTION_STOP);
}

int verb_kill(Cli *cli, int argc, char *argv[]) {
        return verb_action(cli, argc, argv, ACTION_KILL);
}

int verb_rm(Cli *cli, int argc, char *argv[]) {
        return verb_action(cli, argc, argv, ACTION_REMOVE);
}

/* ---- status, inspect -------------------------------------------------------------- */

static int get_status(Cli *cli, const char *ref, bool by_name, ProtobufCMessage **ret) {
        Quilt__GetContainerStatusRequest req = QUILT__GET_CONTAINER_STATUS_REQUEST__INIT;

        if (by_name)
                req.container_name = (char *) ref;
        else
                req.container_id = (char *) ref;
        return cli_call(cli, "GetContainerStatus", &req.base, 0, ret);
}

static void print_status(const Quilt__GetContainerStatusResponse *s, const char *ref) {
        char a[CLI_TIME_MAX], b[CLI_TIME_MAX], state[256];
        const Quilt__ContainerInfo *ci = s->container;
        uint64_t now = (uint64_t) time(NULL);

        printf("Name:        %s\n", isempty(s->name) ? "-" : s->name);
        printf("ID:          %s\n", isempty(s->container_id) ? ref : s->container_id);
        /* The error has a line of its own below. */
        printf("State:       %s\n", format_container_state(state, sizeof state, s->status, s->exit_code, s->exit_signal,
                                                         s->oom_killed, NULL));
        if (s->status == QUILT__CONTAINER_STATUS__EXITED) {
                if (s->exit_signal > 0) {
                        const char *name = signal_to_string(s->exit_signal);
                        printf("Signal:      %" PRIi32 "%s%s%s\n", s->exit_signal, name ? " (SIG" : "", strempty(name),
                               name ? ")" : "");
                } else
                        printf("Exit code:   %" PRIi32 "\n", s->exit_code);
                printf("OOM killed:  %s\n", s->oom_killed ? "yes" : "no");
        }
        if (!isempty(s->error_message))
                printf("Error:       %s\n", s->error_message);
        if (s->pid > 0)
                printf("PID:         %" PRIi32 "\n", s->pid);
        else
                printf("PID:         -\n");
        if (ci && !isempty(ci->image))
                printf("Image:       %s\n", ci->image);
        if (ci && ci->n_command > 0) {
                _cleanup_free_ char *cmd = format_argv_quoted(ci->command, ci->n_command);
                printf("Command:     %s\n", cmd ?: "-");
        }
        printf("Created:     %s (%s)\n", format_time_sec(a, s->created_at), format_time_ago(b, s->created_at));
        printf("Started:     %s\n", format_time_sec(a, s->started_at));
        printf("Exited:      %s\n", format_time_sec(a, s->exited_at));
        if (s->started_at && s->status == QUILT__CONTAINER_STATUS__RUNNING)
                printf("Uptime:      %s\n", format_duration(a, now - MIN(s->started_at, now)));
        else if (s->started_at && s->exited_at >= s->started_at)
                printf("Ran for:     %s\n", format_duration(a, s->exited_at - s->started_at));
        printf("Memory:      %s", s->memory_usage_bytes ? format_bytes(a, s->memory_usage_bytes) : "-");
        if (ci && ci->memory_limit_bytes > 0)
                printf(" of %s", format_bytes(b, ci->memory_limit_bytes));
        fputc('\n', stdout);
        printf("IP address:  %s\n", isempty(s->ip_address) ? "-" : s->ip_address);
        printf("Rootfs:      %s\n", isempty(s->rootfs_path) ? "-" : s->rootfs_path);
}

static const char status_usage[] =
        "Usage: quilt status [OPTIONS] CONTAINER\n"
        "\n"
        "Show a container's name, id, state, exit code or signal, whether the memory limit\n"
        "killed it, its process, times, memory use, address and error.\n"
        "\n"
        "Options:\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility)\n"
        "      --json      print the reply as JSON\n"
        "  -h, --help      show this help\n";

int verb_status(Cli *cli, int argc, char *argv[]) {
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const char *ref;
        bool by_name;
        int r;

        r = cli_parse_container_args(cli, argc, argv, status_usage, true, &ref, &by_name);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        r = get_status(cli, ref, by_name, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        print_status((const Quilt__GetContainerStatusResponse *) m, ref);
        return CLI_EXIT_SUCCESS;
}

static const char inspect_usage[] =
        "Usage: quilt inspect [OPTIONS] CONTAINER\n"
        "\n"
        "Print everything quiltd knows about a container (its configuration, limits,\n"
        "namespaces, state, exit, cgroup and monitor) as one JSON object, always.\n"
        "\n"
        "Options:\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility)\n"
        "      --json      accepted; the output is always JSON\n"
        "  -h, --help      show this help\n";

int verb_inspect(Cli *cli, int argc, char *argv[]) {
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__GetContainerStatusResponse *s;
        const char *ref;
        bool by_name;
        int r;

        r = cli_parse_container_args(cli, argc, argv, inspect_usage, true, &ref, &by_name);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        r = get_status(cli, ref, by_name, &m);
        if (r != 0)
                return r;
        s = (const Quilt__GetContainerStatusResponse *) m;
        if (!s->container)
                return cli_fail(cli, "quiltd sent no container details (it predates ContainerInfo in status)");
        return cli_print_json(cli, &s->container->base);
}

/* ---- shell, cp --------------------------------------------------------------------- */

static const char shell_usage[] =
        "Usage: quilt shell [OPTIONS] CONTAINER [SHELL [ARG...]]\n"
        "\n"
        "Open an interactive shell on a terminal in a running container: the container's\n"
        "$SHELL when it names an executable there, else /bin/sh. Keys, Ctrl-C included,\n"
        "go to the container; the window size follows ours. Exits with the shell's status.\n"
        "\n"
        "Options:\n"
        "  -e, --env KEY=VALUE   set an environment variable (repeatable)\n"
        "  -w, --workdir DIR     start in DIR\n"
        "  -u, --user UID[:GID]  run the shell as this user\n"
        "  -n, --by-name         CONTAINER is a name (accepted for compatibility)\n"
        "  -h, --help            show this help\n";

int verb_shell(Cli *cli, int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "env", required_argument, NULL, 'e' },
                { "workdir", required_argument, NULL, 'w' },
                { "user", required_argument, NULL, 'u' },
                { "by-name", no_argument, NULL, 'n' },
                {},
        };
        /* The container's own idea of its shell, if it has one that runs. */
        static char *default_shell[] = {
                (char *) "/bin/sh", (char *) "-c",
                (char *) "[ -n \"${SHELL:-}\" ] && [ -x \"$SHELL\" ] && exec \"$SHELL\"; exec /bin/sh",
        };
        Quilt__ExecContainerRequest req = QUILT__EXEC_CONTAINER_REQUEST__INIT;
        _cleanup_arena_ Arena arena = {};
        bool by_name = false;
        void **env;
        int c, r;

        env = arena_alloc0(&arena, argc * sizeof(void *));
        if (!env)
                return cli_fail(cli, "out of memory");
        req.environment = (Quilt__ExecContainerRequest__EnvironmentEntry **) env;

        /* "+": options of the shell's own arguments are the shell's. */
        while ((c = getopt_long(argc, argv, "+:he:w:u:n", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(shell_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'e':
                case 'w':
                case 'u':
                        r = cli_exec_process_option(cli, &arena, &req, c, optarg);
                        if (r != CLI_EXIT_SUCCESS)
                                return r;
                        break;
                case 'n':
                        by_name = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind >= argc)
                return cli_usage(cli, "missing CONTAINER (see 'quilt shell --help')");

        if (by_name)
                req.container_name = argv[optind];
        else
                req.container_id = argv[optind];
        if (optind + 1 < argc) {
                req.command = argv + optind + 1;
                req.n_command = (size_t) (argc - optind - 1);
        } else {
                req.command = default_shell;
                req.n_command = ELEMENTSOF(default_shell);
        }
        req.tty = true;
        req.capture_output = true;

        if (!cli->timeout_set)
                cli->timeout_usec = 0;
        r = cli_exec_stream(cli, &req, true);
        if (r == CLI_EXEC_FALLBACK)
                return cli_not_supported(cli, "");
        return r;
}
