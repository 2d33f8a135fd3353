/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt ps (alias list): the containers in a table, as ids, or as JSON. Filters go to
 * quiltd (state_filter, name_filter, label_filter); several name filters, which the
 * request cannot carry, are applied here. */

#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "proto-json.h"

/* Display widths of the columns that are shortened unless --no-trunc. */
#define PS_ID_WIDTH      12
#define PS_COMMAND_WIDTH 30
#define PS_STATUS_WIDTH  40

static const char ps_usage[] =
        "Usage: quilt ps [OPTIONS]\n"
        "\n"
        "List containers. All of them are listed, whatever their state, since an exited\n"
        "container's status is often what one looks for; --state running lists only the\n"
        "running ones.\n"
        "\n"
        "Options:\n"
        "  -a, --all               accepted for compatibility (all states are the default)\n"
        "      --state STATE       only containers in STATE: pending, running, exited, failed\n"
        "  -f, --filter KEY=VALUE  state=STATE, name=SUBSTRING, label=KEY or label=KEY=VALUE\n"
        "                          (repeatable; all must match)\n"
        "      --name SUBSTRING    same as --filter name=SUBSTRING\n"
        "      --label KEY[=VALUE] same as --filter label=KEY[=VALUE]; an empty VALUE\n"
        "                          matches any value\n"
        "  -q, --quiet             print only the container ids\n"
        "      --no-trunc          do not shorten ids, commands and errors\n"
        "      --json              print the reply as JSON\n"
        "  -h, --help              show this help\n";

static const char *const states[] = { "pending", "running", "exited", "failed" };

static bool state_is_valid(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(states); i++)
                if (streq(s, states[i]))
                        return true;
        return false;
}

/* Cuts s to width characters, with "..." at the end, in place. */
static void truncate_cell(char *s, size_t width) {
        if (strlen(s) > width && width > 3)
                strcpy(s + width - 3, "...");
}

typedef struct PsFilter {
        const char *state;
        const char **names; /* substrings, all must match */
        size_t n_names;
        void **labels; /* the request's label_filter entries */
        size_t n_labels;
} PsFilter;

static bool ps_name_matches(const Quilt__ContainerInfo *ci, const PsFilter *f) {
        for (size_t i = 0; i < f->n_names; i++)
                if (!strstr(strempty(ci->name), f->names[i]))
                        return false;
        return true;
}

static int ps_add_label(Cli *cli, Arena *a, PsFilter *f, const char *spec, const char *option) {
        const char *eq = strchr(spec, '=');
        char *key;

        if (isempty(spec) || eq == spec)
                return cli_usage(cli, "invalid %s '%s' (expected KEY or KEY=VALUE with a non-empty KEY)",
                                 option, spec);
        key = eq ? arena_strndup(a, spec, (size_t) (eq - spec)) : (char *) spec;
        if (!key || arena_map_put(a, &quilt__list_containers_request__label_filter_entry__descriptor,
                                  f->labels, &f->n_labels, key, eq ? eq + 1 : "") < 0)
                return cli_fail(cli, "out of memory");
        return 0;
}

static int ps_set_state(Cli *cli, PsFilter *f, const char *state, const char *option, const char *arg) {
        if (!state_is_valid(state))
                return cli_usage(cli, "invalid %s '%s' (state is pending, running, exited or failed)",
                                 option, arg);
        if (f->state && !streq(f->state, state))
                return cli_usage(cli, "only one state may be given (%s conflicts with %s)", state, f->state);
        f->state = state;
        return 0;
}

static int ps_add_filter(Cli *cli, Arena *a, PsFilter *f, const char *arg) {
        const char *v;

        if ((v = startswith(arg, "state=")) || (v = startswith(arg, "status=")))
                return ps_set_state(cli, f, v, "--filter", arg);
        if ((v = startswith(arg, "name=")) && !isempty(v)) {
                f->names[f->n_names++] = v;
                return 0;
        }
        if ((v = startswith(arg, "label=")))
                return ps_add_label(cli, a, f, v, "--filter label");
        return cli_usage(cli, "invalid --filter '%s' (expected state=, name= or label=)", arg);
}

static int ps_print_table(Cli *cli, const Quilt__ListContainersResponse *reply, const PsFilter *f,
                          bool no_trunc) {
        _cleanup_table_ Table *t = NULL;

        t = table_new(7, "ID", "NAME", "IMAGE", "COMMAND", "STATUS", "IP", "CREATED");
        if (!t)
                return cli_fail(cli, "out of memory");
        for (size_t i = 0; i < reply->n_containers; i++) {
                const Quilt__ContainerInfo *ci = reply->containers[i];
                _cleanup_free_ char *cmd = NULL;
                char id[PS_ID_WIDTH + 1], state[512], ago[CLI_TIME_MAX];

                if (!ps_name_matches(ci, f))
                        continue;
                snprintf(id, sizeof id, "%s", strempty(ci->container_id));
                cmd = format_argv_quoted(ci->command, ci->n_command);
                if (!cmd)
                        return cli_fail(cli, "out of memory");
                format_container_state(state, sizeof state, ci->status, ci->exit_code, ci->exit_signal,
                                       ci->oom_killed, ci->error_message);
                /* One row per container: an error message may span lines. */
                for (char *p = state; *p; p++)
                        if (*p == '\n' || *p == '\r' || *p == '\t')
                                *p = ' ';
                if (!no_trunc) {
                        truncate_cell(cmd, PS_COMMAND_WIDTH);
                        truncate_cell(state, PS_STATUS_WIDTH);
                }
                if (table_add_row(t, no_trunc ? ci->container_id : id, isempty(ci->name) ? "-" : ci->name,
                                  isempty(ci->image) ? "-" : ci->image, isempty(cmd) ? "-" : cmd, state,
                                  isempty(ci->ip_address) ? "-" : ci->ip_address,
                                  format_time_ago(ago, ci->created_at)) < 0)
                        return cli_fail(cli, "out of memory");
        }
        table_print(t, stdout);
        return CLI_EXIT_SUCCESS;
}

int verb_ps(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
                ARG_NO_TRUNC,
                ARG_NAMES,
                ARG_STATE,
                ARG_NAME,
                ARG_LABEL,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "all", no_argument, NULL, 'a' },
                { "state", required_argument, NULL, ARG_STATE },
                { "filter", required_argument, NULL, 'f' },
                { "name", required_argument, NULL, ARG_NAME },
                { "label", required_argument, NULL, ARG_LABEL },
                { "quiet", no_argument, NULL, 'q' },
                { "no-trunc", no_argument, NULL, ARG_NO_TRUNC },
                { "json", no_argument, NULL, ARG_JSON },
                /* Hidden, for shell completion: names (ids of unnamed containers). */
                { "names", no_argument, NULL, ARG_NAMES },
                {},
        };
        Quilt__ListContainersRequest req = QUILT__LIST_CONTAINERS_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        _cleanup_arena_ Arena arena = {};
        const Quilt__ListContainersResponse *reply;
        bool quiet = false, no_trunc = false, names = false;
        PsFilter filter = {};
        int c, r;

        filter.names = arena_alloc0(&arena, argc * sizeof(char *));
        filter.labels = arena_alloc0(&arena, argc * sizeof(void *));
        if (!filter.names || !filter.labels)
                return cli_fail(cli, "out of memory");

        while ((c = getopt_long(argc, argv, ":haf:q", options, NULL)) >= 0) {
                r = 0;
                switch (c) {
                case 'h':
                        fputs(ps_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'a':
                        break;
                case ARG_STATE:
                        r = ps_set_state(cli, &filter, optarg, "--state", optarg);
                        break;
                case 'f':
                        r = ps_add_filter(cli, &arena, &filter, optarg);
                        break;
                case ARG_NAME:
                        if (isempty(optarg))
                                return cli_usage(cli, "--name must not be empty");
                        filter.names[filter.n_names++] = optarg;
                        break;
                case ARG_LABEL:
                        r = ps_add_label(cli, &arena, &filter, optarg, "--label");
                        break;
                case 'q':
                        quiet = true;
                        break;
                case ARG_NO_TRUNC:
                        no_trunc = true;
                        break;
                case ARG_JSON:
                        cli->json = true;
                        break;
                case ARG_NAMES:
                        names = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
                if (r != 0)
                        return r;
        }
        if (optind < argc)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind]);

        if (filter.state) {
                req.state_filter_present_case =
                        QUILT__LIST_CONTAINERS_REQUEST__STATE_FILTER_PRESENT_STATE_FILTER;
                req.state_filter = (char *) filter.state;
        }
        /* The request carries one name; further ones narrow the reply here. */
        if (filter.n_names > 0)
                req.name_filter = (char *) filter.names[0];
        req.label_filter = (Quilt__ListContainersRequest__LabelFilterEntry **) filter.labels;
        req.n_label_filter = filter.n_labels;

        r = cli_call(cli, "ListContainers", &req.base, 0, &m);
        if (r != 0)
                return r;
        reply = (const Quilt__ListContainersResponse *) m;

        if (cli->json) {
                json_auto_t *j = NULL;
                json_t *list;

                /* The reply's shape, with the name filters applied. */
                j = proto_to_json(m);
                list = j ? json_object_get(j, "containers") : NULL;
                if (!j)
                        return cli_fail(cli, "out of memory");
                if (json_is_array(list))
                        for (size_t i = reply->n_containers; i > 0; i--)
                                if (!ps_name_matches(reply->containers[i - 1], &filter))
                                        json_array_remove(list, i - 1);
                if (json_dumpf(j, stdout, JSON_INDENT(2)) < 0)
                        return cli_fail(cli, "cannot write JSON output");
                fputc('\n', stdout);
                return CLI_EXIT_SUCCESS;
        }

        if (quiet || names) {
                for (size_t i = 0; i < reply->n_containers; i++) {
                        const Quilt__ContainerInfo *ci = reply->containers[i];
                        if (ps_name_matches(ci, &filter))
                                printf("%s\n", names && !isempty(ci->name) ? ci->name : ci->container_id);
                }
                return CLI_EXIT_SUCCESS;
        }

        return ps_print_table(cli, reply, &filter, no_trunc);
}
