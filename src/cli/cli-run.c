/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt run (create, wait, print the output, exit with the command's status) and quilt
 * wait. */

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli-create.h"
#include "cli.h"
#include "time-util.h"

/* quilt run's own failures (the container could not be created or waited for) exit with
 * this, as podman's do, so that they cannot be mistaken for the command's status 1. */
#define RUN_EXIT_FAILED 125

/* How long one WaitContainer call of quilt run may take before the CLI looks at the
 * signals it received. The call returns as soon as the container ends; this only bounds
 * how late a Ctrl-C is passed on. */
#define RUN_WAIT_SLICE_USEC (500 * USEC_PER_MSEC)

static volatile sig_atomic_t last_signal = 0, n_signals = 0;

static void on_signal(int sig) {
        last_signal = sig;
        n_signals = n_signals + 1;
}

static void install_signal_forwarding(void) {
        static const int signals[] = { SIGINT, SIGTERM, SIGHUP };
        struct sigaction sa = {
                .sa_handler = on_signal,
                .sa_flags = SA_RESTART,
        };

        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                (void) sigaction(signals[i], &sa, NULL);
}

/* Like podman run's --sig-proxy: the first signal goes to the container's command, a
 * second one kills it, and quilt run then reports how it ended. Best effort: the
 * container may have ended meanwhile. */
static void forward_signals(Cli *cli, const char *id, int *handled) {
        while (*handled < n_signals) {
                Quilt__KillContainerRequest req = QUILT__KILL_CONTAINER_REQUEST__INIT;
                _cleanup_reply_ ProtobufCMessage *m = NULL;
                const char *name;
                char buf[16];

                (*handled)++;
                name = signal_to_string(*handled == 1 ? last_signal : SIGKILL);
                snprintf(buf, sizeof buf, "SIG%s", name ?: "KILL");
                req.container_id = (char *) id;
                req.signal = buf;
                (void) cli_call(cli, "KillContainer", &req.base, CLI_CALL_QUIET, &m);
        }
}

/* WaitContainer for ref. The wait has no deadline unless --timeout was given. With
 * forward, it waits in slices so that received signals are passed on in between. */
static int wait_container(Cli *cli, const char *ref, bool by_name, bool forward, ProtobufCMessage **ret) {
        Quilt__WaitContainerRequest req = QUILT__WAIT_CONTAINER_REQUEST__INIT;
        uint64_t saved = cli->timeout_usec, deadline = 0;
        int handled = 0, r;

        if (by_name)
                req.container_name = (char *) ref;
        else
                req.container_id = (char *) ref;

        if (!cli->timeout_set)
                cli->timeout_usec = 0;
        if (!forward) {
                r = cli_call(cli, "WaitContainer", &req.base, 0, ret);
                cli->timeout_usec = saved;
                return r;
        }

        if (cli->timeout_usec > 0)
                deadline = now_usec(CLOCK_MONOTONIC) + cli->timeout_usec;
        for (;;) {
                uint64_t slice = RUN_WAIT_SLICE_USEC;
                CliCallFlags flags = CLI_CALL_DEADLINE_OK;

                forward_signals(cli, ref, &handled);
                if (deadline > 0) {
                        uint64_t now = now_usec(CLOCK_MONOTONIC);

                        /* The last slice reports the user's deadline like any other call. */
                        if (deadline <= now + slice) {
                                slice = deadline > now ? deadline - now : 1;
                                flags = 0;
                        }
                }
                cli->timeout_usec = slice;
                r = cli_call(cli, "WaitContainer", &req.base, flags, ret);
                cli->timeout_usec = saved;
                if (r != CLI_CALL_TIMED_OUT)
                        return r;
        }
}

/* Prints what the command wrote: its stdout on stdout and its stderr on stderr, without
 * quilt's lifecycle lines, once the container has ended. */
static int print_output(Cli *cli, const char *id) {
        Quilt__GetContainerLogsRequest req = QUILT__GET_CONTAINER_LOGS_REQUEST__INIT;
        char *streams[] = { (char *) "stdout", (char *) "stderr" };
        LogPrinter printer = {};

        req.container_id = (char *) id;
        req.streams = streams;
        req.n_streams = ELEMENTSOF(streams);
        return cli_print_logs(cli, &req, &printer);
}

/* The container's name for messages: the one given, else quiltd's, else the id. */
static char *container_display_name(Cli *cli, const char *given, const char *id) {
        Quilt__GetContainerStatusRequest req = QUILT__GET_CONTAINER_STATUS_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const char *name = NULL;

        if (!isempty(given))
                return strdup(given);
        req.container_id = (char *) id;
        if (cli_call(cli, "GetContainerStatus", &req.base, CLI_CALL_QUIET, &m) == 0)
                name = ((const Quilt__GetContainerStatusResponse *) m)->name;
        return strdup(isempty(name) ? id : name);
}

static const char run_usage[] =
        "Usage: quilt run [OPTIONS] [--] COMMAND [ARG...]\n"
        "\n"
        "Create a container, run COMMAND in it, wait for it to end, print its output and\n"
        "exit with its exit status: the exit code, 128+N when signal N killed it, 125 when\n"
        "quilt could not create or run the container. Output is printed once the command\n"
        "has ended. SIGINT, SIGTERM and SIGHUP are passed on to the command; a second one\n"
        "kills it.\n"
        "\n"
        "Options:\n" CLI_CREATE_OPTIONS_HELP "  -h, --help                 show this help\n"
        "\n" CLI_CREATE_NAMESPACES_HELP;

int verb_run(Cli *cli, int argc, char *argv[]) {
        Quilt__CreateContainerRequest req = QUILT__CREATE_CONTAINER_REQUEST__INIT;
        Quilt__RemoveContainerRequest rm = QUILT__REMOVE_CONTAINER_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *created = NULL, *waited = NULL, *removed = NULL;
        _cleanup_arena_ Arena arena = {};
        _cleanup_free_ char *id = NULL, *name = NULL;
        const Quilt__WaitContainerResponse *w;
        bool remove;
        int r, status;

        if (cli->json)
                return cli_usage(cli, "--json cannot be used with run, which prints the command's output");
        r = cli_parse_create_options(cli, argc, argv, /* run= */ true, run_usage, &arena, &req);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        /* --rm is carried out here, after the output has been read: quiltd's auto_remove
         * would delete the container, and its log with it, as soon as it ends, racing
         * GetContainerLogs. */
        remove = req.auto_remove;
        req.auto_remove = false;

        /* From here on a signal must not leave a container behind: it is passed on once
         * the container exists. */
        install_signal_forwarding();

        r = cli_call(cli, "CreateContainer", &req.base, 0, &created);
        if (r != 0)
                return RUN_EXIT_FAILED;
        id = strdup(strempty(((const Quilt__CreateContainerResponse *) created)->container_id));
        if (!id || isempty(id)) {
                (void) cli_fail(cli, "%s", id ? "quiltd returned no container id" : "out of memory");
                return RUN_EXIT_FAILED;
        }

        r = wait_container(cli, id, /* by_name= */ false, /* forward= */ true, &waited);
        if (r != 0)
                status = RUN_EXIT_FAILED;
        else {
                w = (const Quilt__WaitContainerResponse *) waited;
                status = container_exit_status(w->status, w->exit_code, w->exit_signal);

                if (print_output(cli, id) != 0)
                        status = RUN_EXIT_FAILED;

                if (w->status == QUILT__CONTAINER_STATUS__FAILED || w->oom_killed)
                        name = container_display_name(cli, req.name, id);
                if (w->status == QUILT__CONTAINER_STATUS__FAILED)
                        fprintf(stderr, "quilt: container %s failed: %s\n", name ?: id,
                                isempty(w->error_message) ? "its command did not run" : w->error_message);
                else if (w->oom_killed)
                        fprintf(stderr, "quilt: container %s was killed: out of memory\n", name ?: id);
        }

        if (remove) {
                /* force: when waiting failed, the command may still run. */
                rm.container_id = id;
                rm.force = r != 0;
                if (cli_call(cli, "RemoveContainer", &rm.base, 0, &removed) != 0 && status == 0)
                        status = RUN_EXIT_FAILED;
        }
        return status;
}

static const char wait_usage[] =
        "Usage: quilt wait [OPTIONS] CONTAINER...\n"
        "\n"
        "Wait until each container's command has ended and print its exit status, one\n"
        "line per container: the exit code, 128+N when signal N killed it, 125 when it\n"
        "never ran. Exits 0 once all have ended (1 if a container could not be waited for).\n"
        "\n"
        "Options:\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility)\n"
        "      --json      print each reply as a JSON object\n"
        "  -h, --help      show this help\n";

int verb_wait(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "by-name", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        bool by_name = false;
        int c, r, ret = CLI_EXIT_SUCCESS;

        while ((c = getopt_long(argc, argv, ":hn", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(wait_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'n':
                        by_name = true;
                        break;
                case ARG_JSON:
                        cli->json = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind >= argc)
                return cli_usage(cli, "missing CONTAINER (see 'quilt wait --help')");

        for (int i = optind; i < argc; i++) {
                _cleanup_reply_ ProtobufCMessage *m = NULL;
                const Quilt__WaitContainerResponse *w;

                r = wait_container(cli, argv[i], by_name, /* forward= */ false, &m);
                if (r != 0) {
                        ret = r;
                        continue;
                }
                w = (const Quilt__WaitContainerResponse *) m;
                if (cli->json) {
                        r = cli_print_json(cli, m);
                        if (r != 0)
                                return r;
                        continue;
                }
                printf("%d\n", container_exit_status(w->status, w->exit_code, w->exit_signal));
                fflush(stdout);
                if (w->status == QUILT__CONTAINER_STATUS__FAILED && !isempty(w->error_message))
                        fprintf(stderr, "quilt: wait: %s failed: %s\n", argv[i], w->error_message);
        }
        return ret;
}
