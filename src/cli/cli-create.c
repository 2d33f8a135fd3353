/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt create: one CreateContainer call; stdout is the new container's id and nothing
 * else, so that id=$(quilt create …) works. */

#include "cli-create.h"
#include "cli.h"

static const char create_usage[] =
        "Usage: quilt create [OPTIONS] [--] [COMMAND [ARG...]]\n"
        "\n"
        "Create a container and start COMMAND in it; prints the container's id. The\n"
        "command's argv is passed exactly as given (it is not joined into a shell line).\n"
        "Options end at the first argument that is not an option, or at \"--\".\n"
        "\n"
        "Options:\n" CLI_CREATE_OPTIONS_HELP
        "      --async-mode           return as soon as the container exists; with no\n"
        "                             COMMAND, keep it running for exec\n"
        "      --json                 print the reply as JSON instead of the id\n"
        "  -h, --help                 show this help\n"
        "\n" CLI_CREATE_NAMESPACES_HELP;

int verb_create(Cli *cli, int argc, char *argv[]) {
        Quilt__CreateContainerRequest req = QUILT__CREATE_CONTAINER_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        _cleanup_arena_ Arena arena = {};
        const Quilt__CreateContainerResponse *reply;
        int r;

        r = cli_parse_create_options(cli, argc, argv, /* run= */ false, create_usage, &arena, &req);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        r = cli_call(cli, "CreateContainer", &req.base, 0, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        reply = (const Quilt__CreateContainerResponse *) m;
        if (isempty(reply->container_id))
                return cli_fail(cli, "quiltd returned no container id");
        printf("%s\n", reply->container_id);
        return CLI_EXIT_SUCCESS;
}
