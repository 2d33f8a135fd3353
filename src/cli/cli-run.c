/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt run (create, wait, print the output, exit with the command's status) and quilt
 * wait. */

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli-create.h"
#include "cli.h"
#include "time-util.h"

/* quilt run's own failures (the container could not be created or waited for) exit with
 * this, as podman's do, so that they cannot be mistaken for the command's status 1. */
#define RUN_EXIT_FAILED 125

/* Like podman run's --sig-proxy: the first SIGINT, SIGTERM or SIGHUP goes to the
 * container's command, a second one kills it, and quilt run then reports how it ended.
 *
 * The main thread waits in one WaitContainer call for as long as the container runs, so
 * the signals are blocked there and taken by a thread of their own with sigwait(), which
 * passes them on with KillContainer on the same client. Should quilt run itself die, the
 * wait is cancelled with its connection and quiltd drops the waiter at once. Signals that
 * arrive before the container exists stay pending until the forwarder runs. */

typedef struct Forwarder {
        Cli *cli;
        char *id;
        pthread_t thread;
        bool started;
} Forwarder;

/* The forwarder's own way out: a signal nobody else sends to this thread. */
#define FORWARDER_STOP SIGUSR1

static void forwarded_signals(sigset_t *ret) {
        sigemptyset(ret);
        sigaddset(ret, SIGINT);
        sigaddset(ret, SIGTERM);
        sigaddset(ret, SIGHUP);
        sigaddset(ret, FORWARDER_STOP);
}

/* In the main thread, before any other thread exists (grpc's inherit the mask). */
static void block_forwarded_signals(void) {
        sigset_t set;

        forwarded_signals(&set);
        (void) pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *forwarder_main(void *userdata) {
        Forwarder *f = userdata;
        sigset_t set;
        int n = 0;

        forwarded_signals(&set);
        for (;;) {
                Quilt__KillContainerRequest req = QUILT__KILL_CONTAINER_REQUEST__INIT;
                _cleanup_free_ char *message = NULL;
                ProtobufCMessage *reply = NULL;
                QuiltStatusCode code;
                const char *name;
                char buf[16];
                int sig;

                if (sigwait(&set, &sig) != 0 || sig == FORWARDER_STOP)
                        return NULL;

                name = signal_to_string(++n == 1 ? sig : SIGKILL);
                snprintf(buf, sizeof buf, "SIG%s", name ?: "KILL");
                req.container_id = f->id;
                req.signal = buf;
                /* Best effort: the container may have ended meanwhile. */
                if (quilt_client_call(f->cli->client, "KillContainer", &req.base, 10 * USEC_PER_SEC, &reply, &code,
                                      &message) >= 0 &&
                    reply)
                        protobuf_c_message_free_unpacked(reply, NULL);
        }
}

static int forwarder_start(Forwarder *f, Cli *cli, const char *id) {
        *f = (Forwarder) { .cli = cli, .id = strdup(id) };
        if (!f->id)
                return -ENOMEM;
        if (pthread_create(&f->thread, NULL, forwarder_main, f) != 0) {
                f->id = mfree(f->id);
                return -EAGAIN;
        }
        f->started = true;
        return 0;
}

static void forwarder_stop(Forwarder *f) {
        if (f->started) {
                (void) pthread_kill(f->thread, FORWARDER_STOP);
                (void) pthread_join(f->thread, NULL);
                f->started = false;
        }
        f->id = mfree(f->id);
}

/* WaitContainer for ref: one call, without a deadline unless --timeout was given. */
static int wait_container(Cli *cli, const char *ref, bool by_name, ProtobufCMessage **ret) {
        Quilt__WaitContainerRequest req = QUILT__WAIT_CONTAINER_REQUEST__INIT;
        uint64_t saved = cli->timeout_usec;
        int r;

        if (by_name)
                req.container_name = (char *) ref;
        else
                req.container_id = (char *) ref;

        if (!cli->timeout_set)
                cli->timeout_usec = 0;
        r = cli_call(cli, "WaitContainer", &req.base, 0, ret);
        cli->timeout_usec = saved;
        return r;
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
        Forwarder forwarder = {};
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
        block_forwarded_signals();

        r = cli_call(cli, "CreateContainer", &req.base, 0, &created);
        if (r != 0)
                return RUN_EXIT_FAILED;
        id = strdup(strempty(((const Quilt__CreateContainerResponse *) created)->container_id));
        if (!id || isempty(id)) {
                (void) cli_fail(cli, "%s", id ? "quiltd returned no container id" : "out of memory");
                return RUN_EXIT_FAILED;
        }

        if (forwarder_start(&forwarder, cli, id) < 0)
                (void) cli_fail(cli, "cannot pass signals on to the container, continuing without");
        r = wait_container(cli, id, /* by_name= */ false, &waited);
        forwarder_stop(&forwarder);
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

                r = wait_container(cli, argv[i], by_name, &m);
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
