/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt image ls | import | rm: ListImages, ImportImage, RemoveImage. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char image_ls_usage[] =
        "Usage: quilt image ls [OPTIONS]\n"
        "\n"
        "List the images containers can be created from.\n"
        "\n"
        "Options:\n"
        "  -q, --quiet   print only the names\n"
        "      --json    print the reply as JSON\n"
        "  -h, --help    show this help\n";

static int image_ls(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "quiet", no_argument, NULL, 'q' },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        Quilt__ListImagesRequest req = QUILT__LIST_IMAGES_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        _cleanup_table_ Table *t = NULL;
        const Quilt__ListImagesResponse *reply;
        bool quiet = false;
        int c, r;

        while ((c = getopt_long(argc, argv, ":hq", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(image_ls_usage, stdout);
                        return CLI_EXIT_SUCCESS;
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

        r = cli_call(cli, "ListImages", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__ListImagesResponse *) m;

        if (quiet) {
                for (size_t i = 0; i < reply->n_images; i++)
                        printf("%s\n", strempty(reply->images[i]->name));
                return CLI_EXIT_SUCCESS;
        }

        t = table_new(4, "NAME", "SOURCE", "SIZE", "CREATED");
        if (!t)
                return cli_fail(cli, "out of memory");
        for (size_t i = 0; i < reply->n_images; i++) {
                const Quilt__Image *image = reply->images[i];
                char size[CLI_TIME_MAX], ago[CLI_TIME_MAX];

                if (table_add_row(t, image->name, image->source, format_bytes(size, image->size_bytes),
                                  format_time_ago(ago, image->created_at)) < 0)
                        return cli_fail(cli, "out of memory");
        }
        table_print(t, stdout);
        return CLI_EXIT_SUCCESS;
}

static const char image_import_usage[] =
        "Usage: quilt image import [OPTIONS] FILE\n"
        "\n"
        "Import a root filesystem tarball (.tar, .tar.gz, .tar.xz, .tar.zst) as an image.\n"
        "\n"
        "Options:\n"
        "      --name NAME   the image's name (default: FILE's name without extensions)\n"
        "      --json        print the imported image as JSON\n"
        "  -h, --help        show this help\n";

static int image_import(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_NAME = 0x100,
                ARG_JSON,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "name", required_argument, NULL, ARG_NAME },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        Quilt__ImportImageRequest req = QUILT__IMPORT_IMAGE_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        _cleanup_free_ char *path = NULL;
        const Quilt__ImportImageResponse *reply;
        int c, r;

        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(image_import_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case ARG_NAME:
                        if (isempty(optarg) || strchr(optarg, '/'))
                                return cli_usage(cli, "invalid --name '%s': must be non-empty and contain no '/'",
                                                 optarg);
                        req.name = optarg;
                        break;
                case ARG_JSON:
                        cli->json = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind >= argc)
                return cli_usage(cli, "missing FILE (see 'quilt image import --help')");
        if (argc - optind > 1)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
        if (access(argv[optind], R_OK) < 0)
                return cli_fail(cli, "cannot read '%s': %s", argv[optind], strerror(errno));

        /* quiltd opens the file itself, from its own working directory. */
        path = realpath(argv[optind], NULL);
        if (!path)
                return cli_fail(cli, "cannot resolve '%s': %s", argv[optind], strerror(errno));
        req.source_path = path;

        r = cli_call(cli, "ImportImage", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__ImportImageResponse *) m;
        printf("%s\n", reply->image ? strempty(reply->image->name) : "");
        return CLI_EXIT_SUCCESS;
}

static const char image_rm_usage[] =
        "Usage: quilt image rm [OPTIONS] NAME...\n"
        "\n"
        "Remove images; prints each name removed. An image that a container uses is not\n"
        "removed (remove the containers first). The built-in \"minimal\" image may be\n"
        "removed: it is built again on its next use.\n"
        "\n"
        "Options:\n"
        "  -h, --help    show this help\n";

static int image_rm(Cli *cli, int argc, char *argv[]) {
        int r, ret = CLI_EXIT_SUCCESS;

        r = cli_parse_simple(cli, argc, argv, image_rm_usage, false, 1, -1);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        /* Every name is tried; the exit status says whether all went. */
        for (int i = optind; i < argc; i++) {
                Quilt__RemoveImageRequest req = QUILT__REMOVE_IMAGE_REQUEST__INIT;
                _cleanup_reply_ ProtobufCMessage *m = NULL;

                req.name = argv[i];
                r = cli_call(cli, "RemoveImage", &req.base, 0, &m);
                if (r != 0) {
                        ret = r;
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return ret;
}

static const CliVerb image_verbs[] = {
        { "ls", "list", image_ls, "List images" },
        { "import", NULL, image_import, "Import a rootfs tarball as an image" },
        { "rm", "remove", image_rm, "Remove images" },
};

static void image_help(FILE *f) {
        fputs("Usage: quilt image COMMAND [OPTIONS] [ARG...]\n"
              "\n"
              "Manage the images containers are created from.\n"
              "\n"
              "Commands:\n",
              f);
        cli_print_verb_list(f, image_verbs, ELEMENTSOF(image_verbs));
        fputs("\nRun 'quilt image COMMAND --help' for a command's options.\n", f);
}

int verb_image(Cli *cli, int argc, char *argv[]) {
        return cli_dispatch(cli, "image", image_verbs, ELEMENTSOF(image_verbs), argc - 1, argv + 1, image_help);
}
