/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt volume create | ls | inspect | rm | prune. */

#include <errno.h>
#include <string.h>

#include "cli.h"
#include "mount-util.h"

static const char volume_create_usage[] =
        "Usage: quilt volume create [OPTIONS] NAME\n"
        "\n"
        "Create a named volume; prints its name.\n"
        "\n"
        "Options:\n"
        "  -d, --driver DRIVER      volume driver (default: local)\n"
        "  -l, --label KEY=VALUE    set a label (repeatable) (alias: --labels)\n"
        "  -o, --opt KEY=VALUE      set a driver option (repeatable)\n"
        "      --json               print the reply as JSON\n"
        "  -h, --help               show this help\n";

static int volume_create(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "driver", required_argument, NULL, 'd' },
                { "label", required_argument, NULL, 'l' },
                { "labels", required_argument, NULL, 'l' },
                { "opt", required_argument, NULL, 'o' },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        Quilt__CreateVolumeRequest req = QUILT__CREATE_VOLUME_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        _cleanup_arena_ Arena arena = {};
        void **labels, **opts;
        const char *value;
        size_t key_len;
        char *key;
        int c, r;

        labels = arena_alloc0(&arena, argc * sizeof(void *));
        opts = arena_alloc0(&arena, argc * sizeof(void *));
        if (!labels || !opts)
                return cli_fail(cli, "out of memory");
        req.labels = (Quilt__CreateVolumeRequest__LabelsEntry **) labels;
        req.options = (Quilt__CreateVolumeRequest__OptionsEntry **) opts;

        while ((c = getopt_long(argc, argv, ":hd:l:o:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(volume_create_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'd':
                        if (isempty(optarg))
                                return cli_usage(cli, "--driver must not be empty");
                        req.driver = optarg;
                        break;
                case 'l':
                case 'o':
                        if (parse_assignment(optarg, &key_len, &value) < 0)
                                return cli_usage(cli, "invalid --%s '%s' (expected KEY=VALUE with a non-empty KEY)",
                                                 c == 'l' ? "label" : "opt", optarg);
                        key = arena_strndup(&arena, optarg, key_len);
                        if (!key)
                                return cli_fail(cli, "out of memory");
                        if (c == 'l')
                                r = arena_map_put(&arena, &quilt__create_volume_request__labels_entry__descriptor,
                                                  labels, &req.n_labels, key, value);
                        else
                                r = arena_map_put(&arena, &quilt__create_volume_request__options_entry__descriptor,
                                                  opts, &req.n_options, key, value);
                        if (r < 0)
                                return cli_fail(cli, "out of memory");
                        break;
                case ARG_JSON:
                        cli->json = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind >= argc)
                return cli_usage(cli, "missing NAME (see 'quilt volume create --help')");
        if (argc - optind > 1)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
        if (!volume_name_is_valid(argv[optind]))
                return cli_usage(cli,
                                 "invalid volume name '%s': use 1-%d of A-Z a-z 0-9 _ . -, not starting with . or -",
                                 argv[optind], VOLUME_NAME_MAX);
        req.name = argv[optind];

        r = cli_call(cli, "CreateVolume", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        printf("%s\n", req.name);
        return CLI_EXIT_SUCCESS;
}

static const char volume_ls_usage[] =
        "Usage: quilt volume ls [OPTIONS]\n"
        "\n"
        "List volumes.\n"
        "\n"
        "Options:\n"
        "  -f, --filter label=KEY[=VALUE] only volumes with this label, of any value when\n"
        "                                VALUE is left out (repeatable; all must match;\n"
        "                                \"KEY=VALUE\" alone is accepted too)\n"
        "  -q, --quiet                   print only the names\n"
        "      --json                    print the reply as JSON\n"
        "  -h, --help                    show this help\n";

static int volume_ls(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "filter", required_argument, NULL, 'f' },
                { "quiet", no_argument, NULL, 'q' },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        Quilt__ListVolumesRequest req = QUILT__LIST_VOLUMES_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        _cleanup_arena_ Arena arena = {};
        _cleanup_table_ Table *t = NULL;
        const Quilt__ListVolumesResponse *reply;
        bool quiet = false;
        const char *spec, *value;
        size_t key_len;
        void **filters;
        char *key;
        int c, r;

        filters = arena_alloc0(&arena, argc * sizeof(void *));
        if (!filters)
                return cli_fail(cli, "out of memory");
        req.filters = (Quilt__ListVolumesRequest__FiltersEntry **) filters;

        while ((c = getopt_long(argc, argv, ":hf:q", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(volume_ls_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'f':
                        spec = startswith(optarg, "label=") ?: optarg;
                        value = "";
                        key_len = strlen(spec);
                        if ((strchr(spec, '=') && parse_assignment(spec, &key_len, &value) < 0) || key_len == 0)
                                return cli_usage(cli, "invalid --filter '%s' (expected label=KEY[=VALUE])", optarg);
                        key = arena_strndup(&arena, spec, key_len);
                        if (!key)
                                return cli_fail(cli, "out of memory");
                        r = arena_map_put(&arena, &quilt__list_volumes_request__filters_entry__descriptor, filters,
                                          &req.n_filters, key, value);
                        if (r < 0)
                                return cli_fail(cli, "out of memory");
                        break;
                case 'q':
                        quiet = true;
                        break;
                case ARG_JSON:
                        cli->json = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind < argc)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind]);

        r = cli_call(cli, "ListVolumes", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__ListVolumesResponse *) m;

        if (quiet) {
                for (size_t i = 0; i < reply->n_volumes; i++)
                        printf("%s\n", strempty(reply->volumes[i]->name));
                return CLI_EXIT_SUCCESS;
        }

        t = table_new(5, "NAME", "DRIVER", "CONTAINERS", "CREATED", "MOUNT POINT");
        if (!t)
                return cli_fail(cli, "out of memory");
        for (size_t i = 0; i < reply->n_volumes; i++) {
                const Quilt__Volume *v = reply->volumes[i];
                char ago[CLI_TIME_MAX], users[16];

                (void) snprintf(users, sizeof users, "%zu", v->n_containers);
                if (table_add_row(t, v->name, v->driver, users, format_time_ago(ago, v->created_at), v->mount_point) < 0)
                        return cli_fail(cli, "out of memory");
        }
        table_print(t, stdout);
        return CLI_EXIT_SUCCESS;
}

static const char volume_inspect_usage[] =
        "Usage: quilt volume inspect [OPTIONS] NAME\n"
        "\n"
        "Show a volume's driver, mount point, labels, options, creation time and the\n"
        "containers that mount it.\n"
        "\n"
        "Options:\n"
        "      --json   print the reply as JSON\n"
        "  -h, --help   show this help\n";

static int volume_inspect(Cli *cli, int argc, char *argv[]) {
        Quilt__InspectVolumeRequest req = QUILT__INSPECT_VOLUME_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const Quilt__InspectVolumeResponse *reply;
        const Quilt__Volume *v;
        char a[CLI_TIME_MAX], b[CLI_TIME_MAX];
        int r;

        r = cli_parse_simple(cli, argc, argv, volume_inspect_usage, true, 1, 1);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;
        req.name = argv[optind];

        r = cli_call(cli, "InspectVolume", &req.base, 0, &m);
        if (r != 0)
                return r;
        reply = (const Quilt__InspectVolumeResponse *) m;
        if (!reply->found || !reply->volume)
                return cli_fail(cli, "%s", isempty(reply->error_message) ? "no such volume" : reply->error_message);
        if (cli->json)
                return cli_print_json(cli, m);

        v = reply->volume;
        printf("Name:         %s\n", strempty(v->name));
        printf("Driver:       %s\n", strempty(v->driver));
        printf("Mount point:  %s\n", strempty(v->mount_point));
        printf("Created:      %s (%s)\n", format_time_sec(a, v->created_at), format_time_ago(b, v->created_at));
        printf("Labels:%s\n", v->n_labels ? "" : "       -");
        print_string_map(stdout, "  ", (void *const *) v->labels, v->n_labels, &quilt__volume__labels_entry__descriptor);
        printf("Options:%s\n", v->n_options ? "" : "      -");
        print_string_map(stdout, "  ", (void *const *) v->options, v->n_options,
                         &quilt__volume__options_entry__descriptor);
        printf("Containers:%s\n", v->n_containers ? "" : "   -");
        for (size_t i = 0; i < v->n_containers; i++)
                printf("  %s\n", v->containers[i]);
        return CLI_EXIT_SUCCESS;
}

static const char volume_rm_usage[] =
        "Usage: quilt volume rm [OPTIONS] NAME...\n"
        "\n"
        "Remove volumes and their data; prints each one removed. A volume that a\n"
        "container (running or not) mounts is refused.\n"
        "\n"
        "Options:\n"
        "  -f, --force   remove it anyway: its data is deleted, a running container's\n"
        "                mount then shows an empty directory, and a container that\n"
        "                names it gets a new, empty volume when it starts again\n"
        "  -h, --help    show this help\n";

static int volume_rm(Cli *cli, int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "force", no_argument, NULL, 'f' },
                {},
        };
        bool force = false;
        int c, r, ret = CLI_EXIT_SUCCESS;

        while ((c = getopt_long(argc, argv, ":hf", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(volume_rm_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'f':
                        force = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind >= argc)
                return cli_usage(cli, "missing NAME (see 'quilt volume rm --help')");

        for (int i = optind; i < argc; i++) {
                Quilt__RemoveVolumeRequest req = QUILT__REMOVE_VOLUME_REQUEST__INIT;
                _cleanup_reply_ ProtobufCMessage *m = NULL;

                req.name = argv[i];
                req.force = force;
                r = cli_call(cli, "RemoveVolume", &req.base, 0, &m);
                if (r != 0)
                        ret = r;
                else
                        printf("%s\n", argv[i]);
        }
        return ret;
}

static const char volume_prune_usage[] =
        "Usage: quilt volume prune [OPTIONS]\n"
        "\n"
        "Remove every volume that no container mounts; prints the name of each one removed.\n"
        "\n"
        "Options:\n"
        "      --filter label=KEY[=VALUE]  only volumes with this label (repeatable)\n"
        "  -f, --force                     accepted for compatibility (there is no prompt)\n"
        "      --json                      print the reply as JSON\n"
        "  -h, --help                      show this help\n";

static int volume_prune(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
                ARG_FILTER,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "force", no_argument, NULL, 'f' },
                { "filter", required_argument, NULL, ARG_FILTER },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        Quilt__PruneVolumesRequest req = QUILT__PRUNE_VOLUMES_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        _cleanup_arena_ Arena arena = {};
        const Quilt__PruneVolumesResponse *reply;
        void **filters;
        int c, r;

        filters = arena_alloc0(&arena, argc * sizeof(void *));
        if (!filters)
                return cli_fail(cli, "out of memory");
        req.filters = (Quilt__PruneVolumesRequest__FiltersEntry **) filters;

        while ((c = getopt_long(argc, argv, ":hf", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(volume_prune_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'f':
                        break;
                case ARG_FILTER: {
                        const char *spec = startswith(optarg, "label=") ?: optarg, *value = "";
                        size_t key_len = strlen(spec);
                        char *key;

                        if (strchr(spec, '=') && parse_assignment(spec, &key_len, &value) < 0)
                                return cli_usage(cli, "invalid --filter '%s' (expected label=KEY[=VALUE])", optarg);
                        if (key_len == 0)
                                return cli_usage(cli, "invalid --filter '%s' (expected label=KEY[=VALUE])", optarg);
                        key = arena_strndup(&arena, spec, key_len);
                        if (!key || arena_map_put(&arena, &quilt__prune_volumes_request__filters_entry__descriptor,
                                                  filters, &req.n_filters, key, value) < 0)
                                return cli_fail(cli, "out of memory");
                        break;
                }
                case ARG_JSON:
                        cli->json = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind < argc)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind]);

        r = cli_call(cli, "PruneVolumes", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__PruneVolumesResponse *) m;
        for (size_t i = 0; i < reply->n_volumes_deleted; i++)
                printf("%s\n", reply->volumes_deleted[i]);
        return CLI_EXIT_SUCCESS;
}

static const CliVerb volume_verbs[] = {
        { "create", NULL, volume_create, "Create a volume" },
        { "ls", "list", volume_ls, "List volumes" },
        { "inspect", NULL, volume_inspect, "Show a volume" },
        { "rm", "remove", volume_rm, "Remove volumes" },
        { "prune", NULL, volume_prune, "Remove unused volumes" },
};

static void volume_help(FILE *f) {
        fputs("Usage: quilt volume COMMAND [OPTIONS] [ARG...]\n"
              "\n"
              "Manage named volumes, which outlive containers and can be shared between them.\n"
              "\n"
              "Commands:\n",
              f);
        cli_print_verb_list(f, volume_verbs, ELEMENTSOF(volume_verbs));
        fputs("\nRun 'quilt volume COMMAND --help' for a command's options.\n", f);
}

int verb_volume(Cli *cli, int argc, char *argv[]) {
        return cli_dispatch(cli, "volume", volume_verbs, ELEMENTSOF(volume_verbs), argc - 1, argv + 1, volume_help);
}
