/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt events: StreamEvents, one line per event. */

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "proto-json.h"
#include "time-util.h"

static const char events_usage[] =
        "Usage: quilt events [OPTIONS]\n"
        "\n"
        "Stream container events as they happen, one line each, until interrupted:\n"
        "\n"
        "  CURSOR TIME TYPE NAME ID [KEY=VALUE...]\n"
        "\n"
        "Types: created, started, died (exit_code, signal, oom_killed), stopped, killed\n"
        "(signal), removed, exec_started, exec_died. Events are stored (the last 10000),\n"
        "so a client can resume: with --since CURSOR, the events after CURSOR come first,\n"
        "then new ones, with nothing missed and nothing twice.\n"
        "\n"
        "Options:\n"
        "      --since CURSOR        first the stored events after CURSOR (0: all kept)\n"
        "  -f, --filter KEY=VALUE    only events with container=CONTAINER (id, id prefix\n"
        "                            or name) or type=TYPE; repeatable, any of a key's\n"
        "                            values matches\n"
        "  -c, --container CONTAINER same as --filter container=CONTAINER\n"
        "  -t, --type TYPE           same as --filter type=TYPE\n"
        "      --until-now           stop after the events stored so far (--no-follow)\n"
        "      --json                print each event as one line of JSON\n"
        "  -h, --help                show this help\n";

/* RFC 3339 in local time with µs: 2025-06-01T12:00:00.123456+02:00. */
static const char *format_event_time(char buf[static CLI_TIME_MAX], uint64_t usec) {
        time_t sec = (time_t) (usec / USEC_PER_SEC);
        char zone[8];
        struct tm tm;
        size_t n;

        if (!localtime_r(&sec, &tm))
                return "-";
        n = strftime(buf, CLI_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
        if (strftime(zone, sizeof zone, "%z", &tm) != 5) /* "+0200" */
                strcpy(zone, "+0000");
        snprintf(buf + n, CLI_TIME_MAX - n, ".%06u%.3s:%s", (unsigned) (usec % USEC_PER_SEC), zone, zone + 3);
        return buf;
}

/* A value as one word: quoted (C-style escapes) when it has spaces, quotes or is empty. */
static void print_word(const char *s) {
        if (!isempty(s) && !s[strcspn(s, " \t\n\"\\=")]) {
                fputs(s, stdout);
                return;
        }
        fputc('"', stdout);
        for (; *s; s++)
                switch (*s) {
                case '"':
                case '\\':
                        printf("\\%c", *s);
                        break;
                case '\n':
                        fputs("\\n", stdout);
                        break;
                case '\t':
                        fputs("\\t", stdout);
                        break;
                default:
                        fputc(*s, stdout);
                }
        fputc('"', stdout);
}

static int compare_entries(const void *a, const void *b) {
        const Quilt__ContainerEvent__AttributesEntry *x = *(Quilt__ContainerEvent__AttributesEntry *const *) a;
        const Quilt__ContainerEvent__AttributesEntry *y = *(Quilt__ContainerEvent__AttributesEntry *const *) b;

        return strcmp(x->key, y->key);
}

static void print_event(const Quilt__ContainerEvent *e) {
        char t[CLI_TIME_MAX];

        printf("%" PRIu64 " %s %s %s %s", e->cursor, format_event_time(t, e->time_usec ?: e->timestamp * USEC_PER_MSEC),
               e->event_type, isempty(e->container_name) ? "-" : e->container_name,
               isempty(e->container_id) ? "-" : e->container_id);

        qsort(e->attributes, e->n_attributes, sizeof(e->attributes[0]), compare_entries);
        for (size_t i = 0; i < e->n_attributes; i++) {
                printf(" %s=", e->attributes[i]->key);
                print_word(e->attributes[i]->value);
        }
        fputc('\n', stdout);
}

static int print_event_json(Cli *cli, const ProtobufCMessage *m) {
        json_auto_t *j = proto_to_json(m);

        if (!j)
                return cli_fail(cli, "out of memory");
        if (json_dumpf(j, stdout, JSON_COMPACT) < 0)
                return cli_fail(cli, "cannot write JSON output");
        fputc('\n', stdout);
        return 0;
}

int verb_events(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
                ARG_SINCE,
                ARG_UNTIL_NOW,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, ARG_JSON },
                { "since", required_argument, NULL, ARG_SINCE },
                { "filter", required_argument, NULL, 'f' },
                { "container", required_argument, NULL, 'c' },
                { "type", required_argument, NULL, 't' },
                { "until-now", no_argument, NULL, ARG_UNTIL_NOW },
                { "no-follow", no_argument, NULL, ARG_UNTIL_NOW },
                {},
        };
        Quilt__StreamEventsRequest req = QUILT__STREAM_EVENTS_REQUEST__INIT;
        _cleanup_(quilt_client_stream_freep) QuiltStream *s = NULL;
        _cleanup_free_ char **containers = NULL, **types = NULL;
        size_t n_containers = 0, n_types = 0;
        int c, r;

        containers = new0(char *, argc + 1);
        types = new0(char *, argc + 1);
        if (!containers || !types)
                return cli_fail(cli, "out of memory");

        while ((c = getopt_long(argc, argv, ":hf:c:t:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(events_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case ARG_JSON:
                        cli->json = true;
                        break;
                case ARG_SINCE: {
                        uint64_t since;

                        if (parse_uint64(optarg, &since) < 0)
                                return cli_usage(cli, "invalid --since '%s' (expected an event's cursor, a number)",
                                                 optarg);
                        req.since_present_case = QUILT__STREAM_EVENTS_REQUEST__SINCE_PRESENT_SINCE;
                        req.since = since;
                        break;
                }
                case ARG_UNTIL_NOW:
                        req.until_now = true;
                        break;
                case 'f': {
                        const char *value;
                        size_t key_len;

                        if (parse_assignment(optarg, &key_len, &value) < 0 || isempty(value))
                                return cli_usage(cli, "invalid --filter '%s' (expected container=CONTAINER or type=TYPE)",
                                                 optarg);
                        if (key_len == strlen("container") && strncmp(optarg, "container", key_len) == 0)
                                containers[n_containers++] = (char *) value;
                        else if (key_len == strlen("type") && strncmp(optarg, "type", key_len) == 0)
                                types[n_types++] = (char *) value;
                        else
                                return cli_usage(cli, "unknown filter '%.*s' (known: container, type)", (int) key_len,
                                                 optarg);
                        break;
                }
                case 'c':
                case 't':
                        if (isempty(optarg))
                                return cli_usage(cli, "option '--%s' needs a non-empty value",
                                                 c == 'c' ? "container" : "type");
                        if (c == 'c')
                                containers[n_containers++] = optarg;
                        else
                                types[n_types++] = optarg;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind < argc)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind]);

        req.container_ids = containers;
        req.n_container_ids = n_containers;
        req.event_types = types;
        req.n_event_types = n_types;

        r = cli_stream_open(cli, "StreamEvents", &req.base, &s);
        if (r != 0)
                return r;

        for (;;) {
                _cleanup_reply_ ProtobufCMessage *m = NULL;

                r = cli_stream_recv(cli, s, 0, &m);
                if (r < 0)
                        return -r;
                if (r == 0)
                        return CLI_EXIT_SUCCESS;

                if (cli->json) {
                        r = print_event_json(cli, m);
                        if (r != 0)
                                return r;
                } else
                        print_event((const Quilt__ContainerEvent *) m);
                /* A line as soon as it happens, also into a pipe. */
                fflush(stdout);
        }
}
