/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt exec: run a command in a running container and exit with its status. */

#include <errno.h>
#include <string.h>

#include "cli.h"
#include "config.h"

static const char exec_usage[] =
        "Usage: quilt exec [OPTIONS] CONTAINER [--] COMMAND [ARG...]\n"
        "       quilt exec [OPTIONS] CONTAINER -c SHELL-LINE [-c MORE...]\n"
        "\n"
        "Run COMMAND in a running container, print its output and exit with its exit\n"
        "status. COMMAND's argv is passed exactly as given. Options may come before or\n"
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
        "  -t, --tty              allocate a terminal\n"
        "      --timeout DURATION kill the command after DURATION\n"
        "  -d, --detach           do not wait for the command\n"
        "      --capture-output   accepted for compatibility; output is always shown\n"
        "  -n, --by-name          CONTAINER is a name (accepted for compatibility)\n"
        "      --json             print the reply (exit code, stdout, stderr) as JSON\n"
        "  -h, --help             show this help\n";

/* The command's status as ours: signals (reported as negative numbers by the original)
 * become 128+N like in a shell, and out-of-range values must not wrap to success. */
static int exit_status_of(int32_t code) {
        if (code >= 0 && code <= 255)
                return code;
        if (code < 0 && code >= -64)
                return 128 - code;
        return code > 255 ? 255 : CLI_EXIT_FAILURE;
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
        }

        /* success=false with exit status 0 means the command did not run at all. */
        if (!reply->success && reply->exit_code == 0)
                return cli_fail(cli, "%s", isempty(reply->error_message) ? "command failed" : reply->error_message);
        /* Say why when the command itself said nothing (e.g. "command not found"). */
        if (!json && !reply->success && !isempty(reply->error_message) && isempty(reply->stderr))
                cli_fail(cli, "%s", reply->error_message);

        return exit_status_of(reply->exit_code);
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
        const char *container = NULL, *unsupported = NULL;
        char **fragments, *shell_cmd[3];
        size_t n_fragments = 0, key_len;
        const char *value;
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
                case 'e': {
                        char *key;

                        if (parse_assignment(optarg, &key_len, &value) < 0)
                                return cli_usage(cli, "invalid --env '%s' (expected KEY=VALUE with a non-empty KEY)",
                                                 optarg);
                        key = arena_strndup(&arena, optarg, key_len);
                        if (!key)
                                return cli_fail(cli, "out of memory");
                        r = arena_map_put(&arena, &quilt__exec_container_request__environment_entry__descriptor, env,
                                          &req.n_environment, key, value);
                        if (r < 0)
                                return cli_fail(cli, "out of memory");
                        break;
                }
                case 'w':
                        if (optarg[0] != '/')
                                return cli_usage(cli, "invalid --workdir '%s': must be an absolute path", optarg);
                        req.working_directory = optarg;
                        break;
                case 'u':
                        if (parse_user_spec(optarg) < 0)
                                return cli_usage(cli, "invalid --user '%s' (expected UID[:GID] or USER[:GROUP])",
                                                 optarg);
                        unsupported = "--user";
                        break;
                case 'i':
                        unsupported = "--interactive";
                        break;
                case 't':
                        unsupported = "--tty";
                        break;
                case ARG_TIMEOUT:
                        if (parse_duration_usec(optarg, &usec) < 0 || usec == 0)
                                return cli_usage(cli, "invalid --timeout '%s' (expected a duration such as 30s)", optarg);
                        unsupported = "--timeout";
                        break;
                case 'd':
                        unsupported = "--detach";
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

        if (unsupported)
                return cli_not_supported(cli, unsupported);

        return cli_exec_run(cli, &req, cli->json);
}
