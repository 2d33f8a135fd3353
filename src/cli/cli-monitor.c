/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt monitor ls | status | processes: the quilt-monitor process that supervises each
 * container. */

#include <inttypes.h>
#include <string.h>

#include "cli.h"

static int print_monitors(Cli *cli, Quilt__ProcessMonitor *const *monitors, size_t n) {
        _cleanup_table_ Table *t = NULL;

        t = table_new(6, "CONTAINER ID", "PID", "STATUS", "STARTED", "LAST CHECK", "ERROR");
        if (!t)
                return cli_fail(cli, "out of memory");
        for (size_t i = 0; i < n; i++) {
                const Quilt__ProcessMonitor *p = monitors[i];
                char id[13], pid[32], started[CLI_TIME_MAX], checked[CLI_TIME_MAX];

                snprintf(id, sizeof id, "%s", strempty(p->container_id));
                snprintf(pid, sizeof pid, "%" PRIi64, p->pid);
                if (table_add_row(t, id, pid, p->status, format_time_ago(started, p->started_at),
                                  format_time_ago(checked, p->last_check),
                                  isempty(p->error_message) ? "-" : p->error_message) < 0)
                        return cli_fail(cli, "out of memory");
        }
        table_print(t, stdout);
        return CLI_EXIT_SUCCESS;
}

static const char monitor_ls_usage[] =
        "Usage: quilt monitor ls [--json]\n"
        "\n"
        "List the active container monitors.\n"
        "\n"
        "Options:\n"
        "      --json   print the reply as JSON\n"
        "  -h, --help   show this help\n";

static int monitor_ls(Cli *cli, int argc, char *argv[]) {
        Quilt__ListActiveMonitorsRequest req = QUILT__LIST_ACTIVE_MONITORS_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__ListActiveMonitorsResponse *reply;
        int r;

        r = cli_parse_simple(cli, argc, argv, monitor_ls_usage, true, 0, 0);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        r = cli_call(cli, "ListActiveMonitors", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__ListActiveMonitorsResponse *) m;
        return print_monitors(cli, reply->monitors, reply->n_monitors);
}

static const char monitor_processes_usage[] =
        "Usage: quilt monitor processes [--json]\n"
        "\n"
        "List every monitoring process, whatever its state.\n"
        "\n"
        "Options:\n"
        "      --json   print the reply as JSON\n"
        "  -h, --help   show this help\n";

static int monitor_processes(Cli *cli, int argc, char *argv[]) {
        Quilt__ListMonitoringProcessesRequest req = QUILT__LIST_MONITORING_PROCESSES_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__ListMonitoringProcessesResponse *reply;
        int r;

        r = cli_parse_simple(cli, argc, argv, monitor_processes_usage, true, 0, 0);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        r = cli_call(cli, "ListMonitoringProcesses", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__ListMonitoringProcessesResponse *) m;
        return print_monitors(cli, reply->processes, reply->n_processes);
}

static const char monitor_status_usage[] =
        "Usage: quilt monitor status [OPTIONS] CONTAINER\n"
        "\n"
        "Show the monitor of one container.\n"
        "\n"
        "Options:\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility)\n"
        "      --json      print the reply as JSON\n"
        "  -h, --help      show this help\n";

static int monitor_status(Cli *cli, int argc, char *argv[]) {
        Quilt__GetMonitorStatusRequest req = QUILT__GET_MONITOR_STATUS_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__ProcessMonitor *p;
        char a[CLI_TIME_MAX], b[CLI_TIME_MAX];
        const char *container;
        int r;

        r = cli_parse_container_args(cli, argc, argv, monitor_status_usage, true, &container, NULL);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        req.container_id = (char *) container;
        r = cli_call(cli, "GetMonitorStatus", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);

        p = ((const Quilt__GetMonitorStatusResponse *) m)->monitor;
        if (!p)
                return cli_fail(cli, "quiltd returned no monitor");
        printf("Container:   %s\n", strempty(p->container_id));
        printf("PID:         %" PRIi64 "\n", p->pid);
        printf("Status:      %s\n", isempty(p->status) ? "-" : p->status);
        printf("Started:     %s (%s)\n", format_time_sec(a, p->started_at), format_time_ago(b, p->started_at));
        printf("Last check:  %s\n", format_time_sec(a, p->last_check));
        printf("Checks:      %" PRIi32 "\n", p->check_count);
        if (!isempty(p->error_message))
                printf("Error:       %s\n", p->error_message);
        return CLI_EXIT_SUCCESS;
}

static const CliVerb monitor_verbs[] = {
        { "ls", "list", monitor_ls, "List active monitors" },
        { "status", NULL, monitor_status, "Show a container's monitor" },
        { "processes", NULL, monitor_processes, "List all monitoring processes" },
};

static void monitor_help(FILE *f) {
        fputs("Usage: quilt monitor COMMAND [OPTIONS] [ARG...]\n"
              "\n"
              "Show the quilt-monitor processes that supervise containers and record their\n"
              "exit status.\n"
              "\n"
              "Commands:\n",
              f);
        cli_print_verb_list(f, monitor_verbs, ELEMENTSOF(monitor_verbs));
        fputs("\nRun 'quilt monitor COMMAND --help' for a command's options.\n", f);
}

int verb_monitor(Cli *cli, int argc, char *argv[]) {
        return cli_dispatch(cli, "monitor", monitor_verbs, ELEMENTSOF(monitor_verbs), argc - 1, argv + 1,
                            monitor_help);
}
