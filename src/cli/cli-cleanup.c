/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt cleanup status | tasks | task | force | network: the resources (rootfs, cgroup,
 * network, mounts) quiltd still has to release after containers end. */

#include <inttypes.h>
#include <string.h>

#include "cli.h"

static int print_tasks(Cli *cli, Quilt__CleanupTask *const *tasks, size_t n) {
        _cleanup_table_ Table *t = NULL;

        t = table_new(7, "TASK", "CONTAINER ID", "TYPE", "PATH", "STATUS", "CREATED", "ERROR");
        if (!t)
                return cli_fail(cli, "out of memory");
        for (size_t i = 0; i < n; i++) {
                const Quilt__CleanupTask *k = tasks[i];
                char task[32], id[13], ago[CLI_TIME_MAX];

                snprintf(task, sizeof task, "%" PRIi64, k->task_id);
                snprintf(id, sizeof id, "%s", strempty(k->container_id));
                if (table_add_row(t, task, id, k->resource_type, k->resource_path, k->status,
                                  format_time_ago(ago, k->created_at),
                                  isempty(k->error_message) ? "-" : k->error_message) < 0)
                        return cli_fail(cli, "out of memory");
        }
        table_print(t, stdout);
        return CLI_EXIT_SUCCESS;
}

#define PARSE_CONTAINER_OPTION(cli, argc, argv, usage, required, ret)                                   \
        ({                                                                                              \
                int _r_ = cli_parse_container_args(cli, argc, argv, usage, required, ret, NULL);        \
                if (_r_ == CLI_HELP_SHOWN)                                                              \
                        return CLI_EXIT_SUCCESS;                                                        \
                if (_r_ != 0)                                                                           \
                        return _r_;                                                                     \
        })

static const char cleanup_status_usage[] =
        "Usage: quilt cleanup status [OPTIONS] [CONTAINER]\n"
        "\n"
        "Show the cleanup tasks of one container, or of all containers.\n"
        "\n"
        "Options:\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility)\n"
        "      --json      print the reply as JSON\n"
        "  -h, --help      show this help\n";

static int cleanup_status(Cli *cli, int argc, char *argv[]) {
        Quilt__GetCleanupStatusRequest req = QUILT__GET_CLEANUP_STATUS_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__GetCleanupStatusResponse *reply;
        const char *container;
        int r;

        PARSE_CONTAINER_OPTION(cli, argc, argv, cleanup_status_usage, false, &container);
        if (container)
                req.container_id = (char *) container;

        r = cli_call(cli, "GetCleanupStatus", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__GetCleanupStatusResponse *) m;
        return print_tasks(cli, reply->tasks, reply->n_tasks);
}

static const char cleanup_tasks_usage[] =
        "Usage: quilt cleanup tasks [OPTIONS] [CONTAINER]\n"
        "\n"
        "List cleanup tasks: all of them, or those of CONTAINER.\n"
        "\n"
        "Options:\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility)\n"
        "      --json      print the reply as JSON\n"
        "  -h, --help      show this help\n";

static int cleanup_tasks(Cli *cli, int argc, char *argv[]) {
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const char *container;
        int r;

        PARSE_CONTAINER_OPTION(cli, argc, argv, cleanup_tasks_usage, false, &container);

        if (container) {
                Quilt__ListContainerCleanupTasksRequest req = QUILT__LIST_CONTAINER_CLEANUP_TASKS_REQUEST__INIT;
                const Quilt__ListContainerCleanupTasksResponse *reply;

                req.container_id = (char *) container;
                r = cli_call(cli, "ListContainerCleanupTasks", &req.base, 0, &m);
                if (r != 0)
                        return r;
                if (cli->json)
                        return cli_print_json(cli, m);
                reply = (const Quilt__ListContainerCleanupTasksResponse *) m;
                return print_tasks(cli, reply->tasks, reply->n_tasks);
        } else {
                Quilt__ListCleanupTasksRequest req = QUILT__LIST_CLEANUP_TASKS_REQUEST__INIT;
                const Quilt__ListCleanupTasksResponse *reply;

                r = cli_call(cli, "ListCleanupTasks", &req.base, 0, &m);
                if (r != 0)
                        return r;
                if (cli->json)
                        return cli_print_json(cli, m);
                reply = (const Quilt__ListCleanupTasksResponse *) m;
                return print_tasks(cli, reply->tasks, reply->n_tasks);
        }
}

static const char cleanup_task_usage[] =
        "Usage: quilt cleanup task [OPTIONS] TASK-ID\n"
        "\n"
        "Show one cleanup task.\n"
        "\n"
        "Options:\n"
        "      --json   print the reply as JSON\n"
        "  -h, --help   show this help\n";

static int cleanup_task(Cli *cli, int argc, char *argv[]) {
        Quilt__GetCleanupTaskStatusRequest req = QUILT__GET_CLEANUP_TASK_STATUS_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__GetCleanupTaskStatusResponse *reply;
        uint64_t id;
        int r;

        r = cli_parse_simple(cli, argc, argv, cleanup_task_usage, true, 1, 1);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;
        if (parse_uint64(argv[optind], &id) < 0 || id > INT64_MAX)
                return cli_usage(cli, "invalid TASK-ID '%s' (expected a number)", argv[optind]);
        req.task_id = (int64_t) id;

        r = cli_call(cli, "GetCleanupTaskStatus", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__GetCleanupTaskStatusResponse *) m;
        if (!reply->task)
                return cli_fail(cli, "quiltd returned no task");
        return print_tasks(cli, &reply->task, 1);
}

static const char cleanup_force_usage[] =
        "Usage: quilt cleanup force [OPTIONS] CONTAINER\n"
        "\n"
        "Run a container's pending and failed cleanup tasks now; prints what was released.\n"
        "\n"
        "Options:\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility)\n"
        "      --json      print the reply as JSON\n"
        "  -h, --help      show this help\n";

static int cleanup_force(Cli *cli, int argc, char *argv[]) {
        Quilt__ForceCleanupRequest req = QUILT__FORCE_CLEANUP_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__ForceCleanupResponse *reply;
        const char *container;
        int r;

        PARSE_CONTAINER_OPTION(cli, argc, argv, cleanup_force_usage, true, &container);
        req.container_id = (char *) container;

        r = cli_call(cli, "ForceCleanup", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__ForceCleanupResponse *) m;
        for (size_t i = 0; i < reply->n_cleaned_resources; i++)
                printf("%s\n", reply->cleaned_resources[i]);
        return CLI_EXIT_SUCCESS;
}

static const char cleanup_network_usage[] =
        "Usage: quilt cleanup network [--json]\n"
        "\n"
        "Remove the container network's bridge, its nftables table and leftover veths, as\n"
        "'quilt system prune --network' does; refused while a container uses them. Prints\n"
        "what was removed.\n"
        "\n"
        "Options:\n"
        "      --json   print the reply as JSON\n"
        "  -h, --help   show this help\n";

static int cleanup_network(Cli *cli, int argc, char *argv[]) {
        Quilt__ComprehensiveNetworkCleanupRequest req = QUILT__COMPREHENSIVE_NETWORK_CLEANUP_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__ComprehensiveNetworkCleanupResponse *reply;
        int r;

        r = cli_parse_simple(cli, argc, argv, cleanup_network_usage, true, 0, 0);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        r = cli_call(cli, "ComprehensiveNetworkCleanup", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__ComprehensiveNetworkCleanupResponse *) m;
        for (size_t i = 0; i < reply->n_cleaned_resources; i++)
                printf("%s\n", reply->cleaned_resources[i]);
        return CLI_EXIT_SUCCESS;
}

static const CliVerb cleanup_verbs[] = {
        { "status", NULL, cleanup_status, "Show cleanup tasks of a container or of all" },
        { "tasks", NULL, cleanup_tasks, "List cleanup tasks" },
        { "task", NULL, cleanup_task, "Show one cleanup task" },
        { "force", NULL, cleanup_force, "Run a container's cleanup now" },
        { "network", NULL, cleanup_network, "Remove the unused container network (bridge, rules)" },
};

static void cleanup_help(FILE *f) {
        fputs("Usage: quilt cleanup COMMAND [OPTIONS] [ARG...]\n"
              "\n"
              "Show and run the release of what ended containers leave behind.\n"
              "\n"
              "Commands:\n",
              f);
        cli_print_verb_list(f, cleanup_verbs, ELEMENTSOF(cleanup_verbs));
        fputs("\nRun 'quilt cleanup COMMAND --help' for a command's options.\n", f);
}

int verb_cleanup(Cli *cli, int argc, char *argv[]) {
        return cli_dispatch(cli, "cleanup", cleanup_verbs, ELEMENTSOF(cleanup_verbs), argc - 1, argv + 1,
                            cleanup_help);
}
