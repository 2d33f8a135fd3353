/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt image ls | import | rm. The API has no image RPCs yet: the options are parsed and
 * checked so that scripts fail on the right thing, then the command says it is not
 * supported. */

#include <errno.h>
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
        int c;

        while ((c = getopt_long(argc, argv, ":hq", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(image_ls_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'q':
                case ARG_JSON:
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind < argc)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
        return cli_not_supported(cli, "");
}

static const char image_import_usage[] =
        "Usage: quilt image import [OPTIONS] FILE\n"
        "\n"
        "Import a root filesystem tarball (.tar, .tar.gz, .tar.xz, .tar.zst) as an image.\n"
        "\n"
        "Options:\n"
        "      --name NAME   the image's name (default: FILE's name without extensions)\n"
        "  -h, --help        show this help\n";

static int image_import(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_NAME = 0x100,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "name", required_argument, NULL, ARG_NAME },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(image_import_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case ARG_NAME:
                        if (isempty(optarg) || strchr(optarg, '/'))
                                return cli_usage(cli, "invalid --name '%s': must be non-empty and contain no '/'",
                                                 optarg);
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
        return cli_not_supported(cli, "");
}

static const char image_rm_usage[] =
        "Usage: quilt image rm [OPTIONS] NAME...\n"
        "\n"
        "Remove images.\n"
        "\n"
        "Options:\n"
        "  -f, --force   remove even while containers use the image\n"
        "  -h, --help    show this help\n";

static int image_rm(Cli *cli, int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "force", no_argument, NULL, 'f' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, ":hf", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(image_rm_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'f':
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind >= argc)
                return cli_usage(cli, "missing NAME (see 'quilt image rm --help')");
        return cli_not_supported(cli, "");
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
