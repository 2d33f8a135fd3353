/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt logs, and printing log entries (also for quilt run): the container's stdout on
 * stdout, its stderr on stderr, and quilt's lifecycle messages on stderr as "-- ... --",
 * each line exactly as written (a partial entry is continued by the next one of its
 * stream, so no newline is added). */

#include <string.h>

#include "cli.h"
#include "time-util.h"

void log_printer_print(LogPrinter *p, const Quilt__LogEntry *e) {
        bool system = streq_ptr(e->stream, "system");
        bool err = system || streq_ptr(e->stream, "stderr");
        int idx = system ? 2 : err ? 1 : 0;
        FILE *f = err ? stderr : stdout;
        const void *data;
        size_t len;

        /* One stream after the other in the order they came, also when both end up in the
         * same file (2>&1). */
        if (p->last && p->last != f)
                fflush(p->last);
        p->last = f;

        if (p->timestamps && !p->mid_line[idx]) {
                char buf[CLI_LOG_TIME_MAX];

                fprintf(f, "%s ", format_log_time(buf, e->timestamp_usec ?: e->timestamp * USEC_PER_MSEC));
        }

        if (system) {
                fprintf(f, "-- %s --\n", strempty(e->message));
                return;
        }

        /* The exact bytes when the text had to be made valid UTF-8. */
        if (e->raw.len > 0) {
                data = e->raw.data;
                len = e->raw.len;
        } else {
                data = strempty(e->message);
                len = strlen(data);
        }
        fwrite(data, 1, len, f);
        if (!e->partial)
                fputc('\n', f);
        p->mid_line[idx] = e->partial;
        if (p->flush)
                fflush(f);
}

void log_printer_done(LogPrinter *p) {
        fflush(stdout);
        fflush(stderr);
}

static const char logs_usage[] =
        "Usage: quilt logs [OPTIONS] CONTAINER\n"
        "\n"
        "Show a container's output: its stdout on stdout, its stderr on stderr, and quilt's\n"
        "lifecycle messages (created, started, exited, OOM) on stderr as \"-- ... --\".\n"
        "\n"
        "Options:\n"
        "  -f, --follow         keep printing new output until the container has exited\n"
        "  -n, --tail N         only the last N lines\n"
        "      --since TIME     only lines since TIME: a duration ago (\"10m\", \"1h 30min\"),\n"
        "                       @UNIX-SECONDS, RFC 3339 (\"2025-06-01T12:00:00Z\"), or\n"
        "                       \"YYYY-MM-DD[ HH:MM[:SS]]\" in local time\n"
        "      --until TIME     only lines before TIME (the same forms)\n"
        "      --stream LIST    only these streams, comma-separated: stdout, stderr, system\n"
        "                       (the lifecycle messages); e.g. --stream stdout,stderr\n"
        "  -t, --timestamps     prefix each line with its time (RFC 3339, local time)\n"
        "      --by-name        CONTAINER is a name (accepted for compatibility; -n without a\n"
        "                       number means this too)\n"
        "      --json           print the reply as JSON\n"
        "  -h, --help           show this help\n";

static bool is_number(const char *s) {
        return !isempty(s) && strspn(s, "0123456789") == strlen(s);
}

static int add_streams(Cli *cli, Arena *a, const char *list, Quilt__GetContainerLogsRequest *req) {
        const char *p = list;

        for (;;) {
                size_t n = strcspn(p, ",");
                char **streams;

                if (n == 0 || !((n == 6 && (strncmp(p, "stdout", 6) == 0 || strncmp(p, "stderr", 6) == 0 ||
                                             strncmp(p, "system", 6) == 0))))
                        return cli_usage(cli, "invalid --stream '%s' (expected stdout, stderr or system, comma-separated)",
                                         list);
                streams = arena_alloc0(a, (req->n_streams + 1) * sizeof(char *));
                if (!streams)
                        return cli_fail(cli, "out of memory");
                if (req->n_streams > 0)
                        memcpy(streams, req->streams, req->n_streams * sizeof(char *));
                streams[req->n_streams] = arena_strndup(a, p, n);
                if (!streams[req->n_streams])
                        return cli_fail(cli, "out of memory");
                req->streams = streams;
                req->n_streams++;
                if (!p[n])
                        return 0;
                p += n + 1;
        }
}

static int logs_unary(Cli *cli, const Quilt__GetContainerLogsRequest *req, LogPrinter *printer) {
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__GetContainerLogsResponse *reply;
        int r;

        r = cli_call(cli, "GetContainerLogs", &req->base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);

        reply = (const Quilt__GetContainerLogsResponse *) m;
        for (size_t i = 0; i < reply->n_logs; i++)
                log_printer_print(printer, reply->logs[i]);
        log_printer_done(printer);
        if (reply->truncated)
                fprintf(stderr, "quilt: logs: older lines were left out (the reply is limited to 8 MiB); "
                                "use --tail or --since\n");
        return CLI_EXIT_SUCCESS;
}

/* StreamContainerLogs: every entry as it comes, without GetContainerLogs' size limit, and
 * with follow until the container has exited. Returns -EOPNOTSUPP (nothing printed) when
 * quiltd predates it. */
static int logs_stream(Cli *cli, const Quilt__GetContainerLogsRequest *req, LogPrinter *printer) {
        QuiltStream *stream = NULL;
        ProtobufCMessage *m;
        bool any = false;
        int r;

        r = cli_stream_open(cli, "StreamContainerLogs", &req->base, &stream);
        if (r != 0)
                return r;

        /* Each message is a chunk of entries. */
        while ((r = quilt_client_stream_recv(stream, NULL, 0, &m)) > 0) {
                const Quilt__GetContainerLogsResponse *chunk = (const Quilt__GetContainerLogsResponse *) m;
                int k = 0;

                any = true;
                for (size_t i = 0; i < chunk->n_logs && k == 0; i++) {
                        if (cli->json)
                                k = cli_print_json_line(cli, &chunk->logs[i]->base);
                        else
                                log_printer_print(printer, chunk->logs[i]);
                }
                protobuf_c_message_free_unpacked(m, NULL);
                if (cli->json)
                        fflush(stdout);
                if (k != 0) {
                        quilt_client_stream_free(stream);
                        return k;
                }
        }
        log_printer_done(printer);

        if (r == -EREMOTEIO) {
                QuiltStatusCode code;
                const char *message;

                quilt_client_stream_status(stream, &code, &message);
                if (code == QUILT_STATUS_UNIMPLEMENTED && !any) {
                        quilt_client_stream_free(stream);
                        return -EOPNOTSUPP;
                }
                r = cli_report_status(cli, code, message);
        } else if (r < 0)
                r = cli_fail(cli, "reading the log: %s", strerror(-r));
        else
                r = CLI_EXIT_SUCCESS;
        quilt_client_stream_free(stream);
        return r;
}

int cli_print_logs(Cli *cli, const Quilt__GetContainerLogsRequest *req, LogPrinter *printer) {
        int r;

        r = logs_stream(cli, req, printer);
        if (r == -EOPNOTSUPP) {
                if (req->follow)
                        return cli_not_supported(cli, "--follow");
                return logs_unary(cli, req, printer);
        }
        return r;
}

int verb_logs(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
                ARG_TAIL,
                ARG_SINCE,
                ARG_UNTIL,
                ARG_STREAM,
                ARG_BY_NAME,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "follow", no_argument, NULL, 'f' },
                { "tail", required_argument, NULL, ARG_TAIL },
                { "since", required_argument, NULL, ARG_SINCE },
                { "until", required_argument, NULL, ARG_UNTIL },
                { "stream", required_argument, NULL, ARG_STREAM },
                { "timestamps", no_argument, NULL, 't' },
                { "by-name", no_argument, NULL, ARG_BY_NAME },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        Quilt__GetContainerLogsRequest req = QUILT__GET_CONTAINER_LOGS_REQUEST__INIT;
        _cleanup_arena_ Arena arena = {};
        LogPrinter printer = {};
        const char *after_n = NULL, *container;
        bool follow = false, by_name = false, dash_n = false;
        uint64_t now = now_usec(CLOCK_REALTIME);
        int c, r;

        while ((c = getopt_long(argc, argv, ":hftn", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(logs_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'f':
                        follow = true;
                        break;
                case ARG_TAIL:
                        r = parse_uint64(optarg, &req.tail);
                        if (r < 0)
                                return cli_usage(cli, "invalid --tail '%s' (expected a number of lines)", optarg);
                        req.tail_present_case = QUILT__GET_CONTAINER_LOGS_REQUEST__TAIL_PRESENT_TAIL;
                        break;
                case ARG_SINCE:
                        if (parse_log_time(optarg, now, &req.since_usec) < 0)
                                return cli_usage(cli,
                                                 "invalid --since '%s' (expected a duration such as 10m, "
                                                 "@UNIX-SECONDS, or a time such as 2025-06-01T12:00:00Z)",
                                                 optarg);
                        break;
                case ARG_UNTIL:
                        if (parse_log_time(optarg, now, &req.until_usec) < 0)
                                return cli_usage(cli,
                                                 "invalid --until '%s' (expected a duration such as 10m, "
                                                 "@UNIX-SECONDS, or a time such as 2025-06-01T12:00:00Z)",
                                                 optarg);
                        break;
                case ARG_STREAM:
                        r = add_streams(cli, &arena, optarg, &req);
                        if (r != 0)
                                return r;
                        break;
                case 't':
                        printer.timestamps = true;
                        break;
                case 'n':
                        /* -n is --tail N in docker and podman, and --by-name in the original
                         * CLI. A number after it, with CONTAINER still to come, is a count. */
                        dash_n = true;
                        after_n = optind < argc ? argv[optind] : NULL;
                        break;
                case ARG_BY_NAME:
                        by_name = true;
                        break;
                case ARG_JSON:
                        cli->json = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }

        container = optind < argc ? argv[optind] : NULL;
        if (dash_n) {
                /* getopt moved the operands to the end, keeping their order: the one that
                 * followed -n is a count if it is a number and the other is CONTAINER. */
                if (argc - optind == 2 && after_n && is_number(after_n) &&
                    (argv[optind] == after_n || argv[optind + 1] == after_n)) {
                        r = parse_uint64(after_n, &req.tail);
                        if (r < 0)
                                return cli_usage(cli, "invalid -n '%s' (expected a number of lines)", after_n);
                        req.tail_present_case = QUILT__GET_CONTAINER_LOGS_REQUEST__TAIL_PRESENT_TAIL;
                        container = argv[optind] == after_n ? argv[optind + 1] : argv[optind];
                        optind = argc - 1;
                } else
                        by_name = true;
        }
        if (!container)
                return cli_usage(cli, "missing CONTAINER (see 'quilt logs --help')");
        if (argc - optind > 1)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
        if (req.since_usec > 0 && req.until_usec > 0 && req.until_usec <= req.since_usec)
                return cli_usage(cli, "--until must be later than --since");

        if (by_name)
                req.container_name = (char *) container;
        else
                req.container_id = (char *) container;

        /* --json without --follow prints GetContainerLogs' reply, as it always did. */
        if (cli->json && !follow)
                return logs_unary(cli, &req, &printer);

        req.follow = follow;
        printer.flush = follow;
        return cli_print_logs(cli, &req, &printer);
}
