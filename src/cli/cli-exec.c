/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt exec: run a command in a running container and exit with its status. */

#include <errno.h>
#include <string.h>

#include "cli.h"
#include "config.h"

int cli_exec_process_option(Cli *cli, Arena *arena, Quilt__ExecContainerRequest *req, int c, const char *arg) {
        const char *value;
        size_t key_len;
        char *key;

        switch (c) {
        case 'e':
                if (parse_assignment(arg, &key_len, &value) < 0)
                        return cli_usage(cli, "invalid --env '%s' (expected KEY=VALUE with a non-empty KEY)", arg);
                key = arena_strndup(arena, arg, key_len);
                if (!key)
                        return cli_fail(cli, "out of memory");
                if (arena_map_put(arena, &quilt__exec_container_request__environment_entry__descriptor,
                                  (void **) req->environment, &req->n_environment, key, value) < 0)
                        return cli_fail(cli, "out of memory");
                return CLI_EXIT_SUCCESS;
        case 'w':
                if (arg[0] != '/')
                        return cli_usage(cli, "invalid --workdir '%s': must be an absolute path", arg);
                req->working_directory = (char *) arg;
                return CLI_EXIT_SUCCESS;
        case 'u':
                if (parse_user_spec(arg) < 0)
                        return cli_usage(cli, "invalid --user '%s' (expected UID[:GID] or USER[:GROUP])", arg);
                req->user = (char *) arg;
                return CLI_EXIT_SUCCESS;
        default:
                abort(); /* called for -e, -w and -u only */
        }
}

static const char exec_usage[] =
        "Usage: quilt exec [OPTIONS] CONTAINER [--] COMMAND [ARG...]\n"
        "       quilt exec [OPTIONS] CONTAINER -c SHELL-LINE [-c MORE...]\n"
        "\n"
        "Run COMMAND in a running container, print its output and exit with its exit\n"
        "status (128+N when killed by signal N, 124 after --timeout, 125 when it could\n"
        "not be started, 126/127 when it is not executable/not found). COMMAND's argv\n"
        "is passed exactly as given. Options may come before or\n"
        "after CONTAINER; the first argument after CONTAINER that is not an option, or\n"
        "everything after \"--\", is the command.\n"
        "\n"
        "Options:\n"
        "  -c, --command TEXT     a shell fragment; all fragments are joined with spaces\n"
        "                         and run as one \"/bin/sh -c\" line (repeatable; for\n"
        "                         compatibility with the original CLI)\n"
        "  -e, --env KEY=VALUE    set an environment variable (repeatable)\n"
        "  -w, --workdir DIR      run in DIR (alias: --working-directory)\n"
        "  -u, --user UID[:GID]   run as this user\n"
        "  -i, --interactive      pass standard input to the command\n"
        "  -t, --tty              run it on a terminal (with -i: an interactive session)\n"
        "      --timeout DURATION kill the command and everything it started after\n"
        "                         DURATION (e.g. 30s, 500ms); quilt exec then exits 124\n"
        "  -d, --detach           start it in the background, print its pid; its output\n"
        "                         goes to the container's log\n"
        "      --capture-output   accepted for compatibility; output is always shown\n"
        "  -n, --by-name          CONTAINER is a name (accepted for compatibility)\n"
        "      --json             print the reply (exit code, stdout, stderr) as JSON\n"
        "  -h, --help             show this help\n";

/* The command's status as ours: 128+N for signal N, as a shell reports it. */
static int exit_status_of(const Quilt__ExecContainerResponse *reply) {
        if (reply->timed_out)
                return CLI_EXIT_EXEC_TIMEOUT;
        if (reply->exit_signal > 0)
                return 128 + (reply->exit_signal & 0x7f);
        if (reply->exit_code >= 0 && reply->exit_code <= 255)
                return reply->exit_code;
        /* The original reported signals as negative numbers. */
        if (reply->exit_code < 0 && reply->exit_code >= -64)
                return 128 - reply->exit_code;
        return reply->exit_code > 255 ? 255 : CLI_EXIT_FAILURE;
}

int cli_exec_run(Cli *cli, const Quilt__ExecContainerRequest *req, bool json) {
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__ExecContainerResponse *reply;
        int r;

        /* A command runs as long as it runs; only an explicit --timeout (global) bounds
         * the wait. */
        if (!cli->timeout_set)
                cli->timeout_usec = 0;

        r = cli_call(cli, "ExecContainer", &req->base, CLI_CALL_ALLOW_UNSUCCESSFUL, &m);
        if (r != 0)
                return r;
        reply = (const Quilt__ExecContainerResponse *) m;

        if (json) {
                r = cli_print_json(cli, m);
                if (r != 0)
                        return r;
        } else {
                fwrite(strempty(reply->stdout), 1, strlen(strempty(reply->stdout)), stdout);
                fflush(stdout);
                fwrite(strempty(reply->stderr), 1, strlen(strempty(reply->stderr)), stderr);
                if (req->detach && reply->success)
                        printf("%i\n", reply->pid);
        }

        if (reply->output_truncated)
                cli_fail(cli, "the output was cut short: a reply carries at most 32 MiB");

        /* Not started (125-127), timed out, killed: say why; a plain non-zero exit status
         * speaks for itself, as in a shell. */
        if (!json && !reply->success && !isempty(reply->error_message) &&
            (reply->timed_out || reply->exit_signal > 0 || reply->pid == 0))
                cli_fail(cli, "%s", reply->error_message);
        /* success=false with exit status 0 means the command did not run at all. */
        if (!reply->success && reply->exit_code == 0 && !reply->timed_out && reply->exit_signal == 0) {
                if (json)
                        cli_fail(cli, "%s", isempty(reply->error_message) ? "command failed" : reply->error_message);
                return CLI_EXIT_FAILURE;
        }

        return exit_status_of(reply);
}

/* Standard input for -i without a terminal session: all of it, sent with the request. */
static int read_stdin(Cli *cli, Arena *a, ProtobufCBinaryData *ret) {
        size_t size = 0, allocated = 0;
        uint8_t *buf = NULL;

        for (;;) {
                size_t n;

                if (size == allocated) {
                        uint8_t *b;

                        allocated = MAX(allocated * 2, (size_t) 65536);
                        b = arena_alloc0(a, allocated);
                        if (!b)
                                return cli_fail(cli, "out of memory");
                        if (size > 0)
                                memcpy(b, buf, size);
                        buf = b;
                }
                n = fread(buf + size, 1, allocated - size, stdin);
                size += n;
                if (n == 0) {
                        if (ferror(stdin))
                                return cli_fail(cli, "cannot read standard input: %m");
                        break;
                }
        }
        *ret = (ProtobufCBinaryData) { .len = size, .data = buf };
        return 0;
}

static char *join_fragments(Arena *a, char **fragments, size_t n) {
        size_t len = 0;
        char *s, *p;

        for (size_t i = 0; i < n; i++)
                len += strlen(fragments[i]) + 1;
        s = arena_alloc0(a, len + 1);
        if (!s)
                return NULL;
        p = s;
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        *p++ = ' ';
                p = stpcpy(p, fragments[i]);
        }
        return s;
}

int verb_exec(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_TIMEOUT = 0x100,
                ARG_CAPTURE,
                ARG_JSON,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "command", required_argument, NULL, 'c' },
                { "env", required_argument, NULL, 'e' },
                { "workdir", required_argument, NULL, 'w' },
                { "working-directory", required_argument, NULL, 'w' },
                { "user", required_argument, NULL, 'u' },
                { "interactive", no_argument, NULL, 'i' },
                { "tty", no_argument, NULL, 't' },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "detach", no_argument, NULL, 'd' },
                { "capture-output", no_argument, NULL, ARG_CAPTURE },
                { "by-name", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        Quilt__ExecContainerRequest req = QUILT__EXEC_CONTAINER_REQUEST__INIT;
        _cleanup_arena_ Arena arena = {};
        const char *container = NULL;
        bool interactive = false;
        char **fragments, *shell_cmd[3];
        size_t n_fragments = 0;
        void **env;
        bool by_name = false;
        int c, r, last = 1, cmd_start = -1;
        uint64_t usec;

        env = arena_alloc0(&arena, argc * sizeof(void *));
        fragments = arena_alloc0(&arena, argc * sizeof(char *));
        if (!env || !fragments)
                return cli_fail(cli, "out of memory");
        req.environment = (Quilt__ExecContainerRequest__EnvironmentEntry **) env;

        /* Options may surround CONTAINER (the original CLI put them after it); the first
         * non-option after CONTAINER starts the command, whose options are its own. With
         * "+", getopt_long() stops at each non-option and we step over CONTAINER. */
        for (;;) {
                c = getopt_long(argc, argv, "+:hc:e:w:u:itdn", options, NULL);
                if (c < 0) {
                        bool dashdash = optind == last + 1 && streq(argv[last], "--");

                        if (optind >= argc)
                                break;
                        if (!container) {
                                container = argv[optind++];
                                last = optind;
                                if (dashdash) {
                                        cmd_start = optind;
                                        break;
                                }
                                continue;
                        }
                        cmd_start = optind;
                        break;
                }

                switch (c) {
                case 'h':
                        fputs(exec_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'c':
                        fragments[n_fragments++] = optarg;
                        break;
                case 'e':
                case 'w':
                case 'u':
                        r = cli_exec_process_option(cli, &arena, &req, c, optarg);
                        if (r != CLI_EXIT_SUCCESS)
                                return r;
                        break;
                case 'i':
                        interactive = true;
                        break;
                case 't':
                        req.tty = true;
                        break;
                case ARG_TIMEOUT:
                        if (parse_duration_usec(optarg, &usec) < 0 || usec == 0 ||
                            usec / USEC_PER_MSEC > UINT32_MAX)
                                return cli_usage(cli, "invalid --timeout '%s' (expected a duration such as 30s)", optarg);
                        req.timeout_ms = (uint32_t) MAX(usec / USEC_PER_MSEC, (uint64_t) 1);
                        break;
                case 'd':
                        req.detach = true;
                        break;
                case ARG_CAPTURE:
                        break;
                case 'n':
                        by_name = true;
                        break;
                case ARG_JSON:
                        cli->json = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
                last = optind;
        }

        if (!container)
                return cli_usage(cli, "missing CONTAINER (see 'quilt exec --help')");
        if (n_fragments > 0 && cmd_start >= 0 && cmd_start < argc)
                return cli_usage(cli, "give either -c fragments or a COMMAND, not both");
        if (n_fragments == 0 && (cmd_start < 0 || cmd_start >= argc))
                return cli_usage(cli, "missing COMMAND (see 'quilt exec --help')");

        if (n_fragments > 0) {
                /* The original joined its -c pieces into one shell line; keep that, but
                 * say so explicitly instead of joining an argv. */
                shell_cmd[0] = (char *) "/bin/sh";
                shell_cmd[1] = (char *) "-c";
                shell_cmd[2] = join_fragments(&arena, fragments, n_fragments);
                if (!shell_cmd[2])
                        return cli_fail(cli, "out of memory");
                req.command = shell_cmd;
                req.n_command = 3;
        } else {
                req.command = argv + cmd_start;
                req.n_command = argc - cmd_start;
        }

        if (by_name)
                req.container_name = (char *) container;
        else
                req.container_id = (char *) container;
        req.capture_output = true;

        if (req.detach && (interactive || req.tty))
                return cli_usage(cli, "--detach does not go with --interactive or --tty");
        if (req.detach && cli->timeout_set)
                return cli_usage(cli, "--detach does not go with --timeout");
        if (cli->json && interactive && req.tty)
                return cli_usage(cli, "--json does not go with a terminal session (-it)");

        /* A command runs as long as it runs: no deadline for the call. */
        if (!cli->timeout_set)
                cli->timeout_usec = 0;

        /* Output as it arrives (and exact bytes, NULs included) unless the whole reply is
         * wanted (--json) or there is nothing to wait for (--detach). */
        if (!cli->json && !req.detach) {
                r = cli_exec_stream(cli, &req, interactive);
                if (r != CLI_EXEC_FALLBACK)
                        return r;
                if (interactive && req.tty)
                        return cli_not_supported(cli, "-it (a terminal session)");
        }

        if (interactive) {
                r = read_stdin(cli, &arena, &req.stdin);
                if (r != 0)
                        return r;
        }

        return cli_exec_run(cli, &req, cli->json);
}
