/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Finding and running a verb, for the top level and for groups ("quilt volume ls"). */

#include <string.h>

#include "cli.h"

void cli_print_verb_list(FILE *f, const CliVerb *verbs, size_t n_verbs) {
        size_t width = 0;

        for (size_t i = 0; i < n_verbs; i++)
                if (verbs[i].summary)
                        width = MAX(width, strlen(verbs[i].name));
        for (size_t i = 0; i < n_verbs; i++) {
                if (!verbs[i].summary)
                        continue;
                fprintf(f, "  %-*s  %s", (int) width, verbs[i].name, verbs[i].summary);
                if (verbs[i].alias)
                        fprintf(f, " (alias: %s)", verbs[i].alias);
                fputc('\n', f);
        }
}

static const CliVerb *find_verb(const CliVerb *verbs, size_t n_verbs, const char *name) {
        for (size_t i = 0; i < n_verbs; i++)
                if (streq(verbs[i].name, name) || streq_ptr(verbs[i].alias, name))
                        return verbs + i;
        return NULL;
}

int cli_dispatch(Cli *cli, const char *group, const CliVerb *verbs, size_t n_verbs, int argc, char *argv[],
                 void (*help)(FILE *f)) {
        const CliVerb *v;
        int r;

        if (argc < 1 || isempty(argv[0])) {
                if (group)
                        return cli_usage(cli, "missing command (see 'quilt %s --help')", group);
                return cli_usage(cli, "missing command (see 'quilt --help')");
        }

        if (streq(argv[0], "-h") || streq(argv[0], "--help")) {
                help(stdout);
                return CLI_EXIT_SUCCESS;
        }

        /* "quilt [GROUP] help [COMMAND...]" is "quilt [GROUP] COMMAND... --help". */
        if (streq(argv[0], "help")) {
                _cleanup_free_ char **args = NULL;

                if (argc == 1) {
                        help(stdout);
                        return CLI_EXIT_SUCCESS;
                }
                args = calloc(argc + 1, sizeof(char *));
                if (!args)
                        return cli_fail(cli, "out of memory");
                for (int i = 1; i < argc; i++)
                        args[i - 1] = argv[i];
                args[argc - 1] = (char *) "--help";
                return cli_dispatch(cli, group, verbs, n_verbs, argc, args, help);
        }

        if (argv[0][0] == '-') {
                if (group)
                        return cli_usage(cli, "unknown option '%s' (see 'quilt %s --help')", argv[0], group);
                return cli_usage(cli, "unknown option '%s' (see 'quilt --help')", argv[0]);
        }

        v = find_verb(verbs, n_verbs, argv[0]);
        if (!v) {
                if (group)
                        return cli_usage(cli, "unknown command '%s' (see 'quilt %s --help')", argv[0], group);
                return cli_usage(cli, "unknown command '%s' (see 'quilt --help')", argv[0]);
        }

        if (group)
                r = snprintf(cli->verb, sizeof cli->verb, "%s %s", group, v->name);
        else
                r = snprintf(cli->verb, sizeof cli->verb, "%s", v->name);
        (void) r;

        /* Each verb runs getopt_long() on its own argv; 0 makes glibc reinitialise. */
        optind = 0;
        opterr = 0;
        return v->run(cli, argc, argv);
}

int cli_parse_simple(Cli *cli, int argc, char *argv[], const char *usage, bool json_ok, int min_args,
                     int max_args) {
        enum {
                ARG_JSON = 0x100,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        int c, n;

        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return CLI_HELP_SHOWN;
                case ARG_JSON:
                        if (!json_ok)
                                return cli_usage(cli, "option '--json' is not supported by this command");
                        cli->json = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }

        n = argc - optind;
        if (n < min_args)
                return cli_usage(cli, "missing argument (see 'quilt %s --help')", cli->verb);
        if (max_args >= 0 && n > max_args)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind + max_args]);
        return 0;
}

int cli_parse_container_args(Cli *cli, int argc, char *argv[], const char *usage, bool required,
                             const char **ret_container, bool *ret_by_name) {
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
        int c;

        while ((c = getopt_long(argc, argv, ":hn", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return CLI_HELP_SHOWN;
                case 'n':
                        by_name = true;
                        break;
                case ARG_JSON:
                        cli->json = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (required && optind >= argc)
                return cli_usage(cli, "missing CONTAINER (see 'quilt %s --help')", cli->verb);
        if (argc - optind > 1)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);

        *ret_container = optind < argc ? argv[optind] : NULL;
        if (ret_by_name)
                *ret_by_name = by_name;
        return 0;
}
