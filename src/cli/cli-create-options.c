/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The options of quilt create and quilt run, parsed into a CreateContainerRequest. It
 * lives in the helper library, apart from the verbs, so that the unit test can check the
 * request that every option produces without a daemon. */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef enum NetworkMode {
        NETWORK_QUILT, /* a private namespace attached to the container network */
        NETWORK_NONE,  /* a private namespace with only loopback */
        NETWORK_HOST,  /* the host's namespace */
} NetworkMode;

/* The namespaces that can be shared with the host, in the order they are sent. The
 * mount namespace is not among them: quiltd cannot share it. */
enum {
        SHARE_PID,
        SHARE_UTS,
        SHARE_IPC,
        SHARE_CGROUP,
        _SHARE_MAX,
};

static const char *const share_option[_SHARE_MAX] = {
        [SHARE_PID] = "--pid",
        [SHARE_UTS] = "--uts",
        [SHARE_IPC] = "--ipc",
        [SHARE_CGROUP] = "--cgroupns",
};

static const char *const share_wire_name[_SHARE_MAX] = {
        [SHARE_PID] = "pid",
        [SHARE_UTS] = "uts",
        [SHARE_IPC] = "ipc",
        [SHARE_CGROUP] = "cgroup",
};

/* A name is sent as it is; a path is made absolute here, because quiltd resolves it in
 * its own working directory, which means nothing to the user. An absolute path is sent
 * unchanged even when it does not exist here: with a TCP daemon it names a file on the
 * daemon's host. */
static int image_reference(Arena *a, const char *s, char **ret, int *ret_errno) {
        _cleanup_free_ char *abs = NULL;

        if (!strchr(s, '/') || s[0] == '/') {
                *ret = (char *) s;
                return 0;
        }
        abs = realpath(s, NULL);
        if (!abs) {
                *ret_errno = errno;
                return -errno;
        }
        *ret = arena_strdup(a, abs);
        return *ret ? 0 : -ENOMEM;
}

int cli_parse_create_options(Cli *cli, int argc, char *argv[], bool run, const char *usage, Arena *a,
                             Quilt__CreateContainerRequest *req) {
        enum {
                ARG_IMAGE = 0x100,
                ARG_MEMORY,
                ARG_CPU,
                ARG_PIDS,
                ARG_ASYNC,
                ARG_RM,
                ARG_NO_NETWORK,
                ARG_NETWORK,
                ARG_PID,
                ARG_UTS,
                ARG_IPC,
                ARG_CGROUPNS,
                ARG_MOUNT,
                ARG_SETUP,
                ARG_NAMESPACE,
                ARG_JSON,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "name", required_argument, NULL, 'n' },
                { "image", required_argument, NULL, ARG_IMAGE },
                { "image-path", required_argument, NULL, ARG_IMAGE },
                { "env", required_argument, NULL, 'e' },
                { "workdir", required_argument, NULL, 'w' },
                { "working-directory", required_argument, NULL, 'w' },
                { "memory", required_argument, NULL, ARG_MEMORY },
                { "memory-limit", required_argument, NULL, ARG_MEMORY },
                { "cpu", required_argument, NULL, ARG_CPU },
                { "cpu-limit", required_argument, NULL, ARG_CPU },
                { "pids", required_argument, NULL, ARG_PIDS },
                { "async-mode", no_argument, NULL, ARG_ASYNC },
                { "rm", no_argument, NULL, ARG_RM },
                { "no-network", no_argument, NULL, ARG_NO_NETWORK },
                { "network", required_argument, NULL, ARG_NETWORK },
                { "pid", required_argument, NULL, ARG_PID },
                { "uts", required_argument, NULL, ARG_UTS },
                { "ipc", required_argument, NULL, ARG_IPC },
                { "cgroupns", required_argument, NULL, ARG_CGROUPNS },
                { "volume", required_argument, NULL, 'v' },
                { "mount", required_argument, NULL, ARG_MOUNT },
                { "label", required_argument, NULL, 'l' },
                { "user", required_argument, NULL, 'u' },
                { "setup", required_argument, NULL, ARG_SETUP },
                { "enable-pid-namespace", no_argument, NULL, ARG_NAMESPACE },
                { "enable-mount-namespace", no_argument, NULL, ARG_NAMESPACE },
                { "enable-uts-namespace", no_argument, NULL, ARG_NAMESPACE },
                { "enable-ipc-namespace", no_argument, NULL, ARG_NAMESPACE },
                { "enable-network-namespace", no_argument, NULL, ARG_NAMESPACE },
                { "enable-all-namespaces", no_argument, NULL, ARG_NAMESPACE },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        NetworkMode network = NETWORK_QUILT;
        bool network_given = false, no_network = false, share[_SHARE_MAX] = {};
        void **env, **labels;
        const char *value, *error;
        size_t key_len;
        double cpu;
        int c, r, e;

        /* Every repeatable option can occur at most argc times: size the arrays once. */
        env = arena_alloc0(a, argc * sizeof(void *));
        labels = arena_alloc0(a, argc * sizeof(void *));
        req->setup_commands = arena_alloc0(a, argc * sizeof(char *));
        req->mounts = arena_alloc0(a, argc * sizeof(Quilt__Mount *));
        req->host_namespaces = arena_alloc0(a, (_SHARE_MAX + 1) * sizeof(char *));
        if (!env || !labels || !req->setup_commands || !req->mounts || !req->host_namespaces)
                return cli_fail(cli, "out of memory");
        req->environment = (Quilt__CreateContainerRequest__EnvironmentEntry **) env;
        req->labels = (Quilt__CreateContainerRequest__LabelsEntry **) labels;

        /* "+": the first non-option argument starts the command, whose own options
         * ("sh -c …") are not ours. */
        while ((c = getopt_long(argc, argv, "+:hn:e:w:v:l:u:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(usage, stdout);
                        return CLI_HELP_SHOWN;
                case 'n':
                        if (isempty(optarg))
                                return cli_usage(cli, "--name must not be empty");
                        req->name = optarg;
                        break;
                case ARG_IMAGE:
                        if (isempty(optarg))
                                return cli_usage(cli, "--image must not be empty");
                        r = image_reference(a, optarg, &req->image_path, &e);
                        if (r == -ENOMEM)
                                return cli_fail(cli, "out of memory");
                        if (r < 0)
                                return cli_usage(
                                        cli,
                                        "invalid --image '%s': %s (a word without '/' is an image name)",
                                        optarg, strerror(e));
                        break;
                case 'e':
                case 'l': {
                        const char *option = c == 'e' ? "--env" : "--label";
                        char *key;

                        if (parse_assignment(optarg, &key_len, &value) < 0)
                                return cli_usage(cli,
                                                 "invalid %s '%s' (expected KEY=VALUE with a non-empty KEY)",
                                                 option, optarg);
                        key = arena_strndup(a, optarg, key_len);
                        if (!key)
                                return cli_fail(cli, "out of memory");
                        if (c == 'e')
                                r = arena_map_put(
                                        a, &quilt__create_container_request__environment_entry__descriptor,
                                        env, &req->n_environment, key, value);
                        else
                                r = arena_map_put(a,
                                                  &quilt__create_container_request__labels_entry__descriptor,
                                                  labels, &req->n_labels, key, value);
                        if (r < 0)
                                return cli_fail(cli, "out of memory");
                        break;
                }
                case 'w':
                        if (optarg[0] != '/')
                                return cli_usage(cli, "invalid --workdir '%s': must be an absolute path",
                                                 optarg);
                        req->working_directory = optarg;
                        break;
                case ARG_MEMORY:
                        r = parse_memory_mb(optarg, &req->memory_limit_mb);
                        if (r < 0)
                                return cli_usage(
                                        cli,
                                        "invalid --memory '%s' (expected a positive number of MiB, or "
                                        "a size such as 512m or 2g)",
                                        optarg);
                        break;
                case ARG_CPU:
                        r = parse_double(optarg, 0, 100000, &cpu);
                        if (r < 0 || cpu <= 0)
                                return cli_usage(cli, "invalid --cpu '%s' (expected a percentage above 0)",
                                                 optarg);
                        req->cpu_limit_percent = (float) cpu;
                        break;
                case ARG_PIDS:
                        r = parse_int64(optarg, 1, INT64_MAX, &req->pids_limit);
                        if (r < 0)
                                return cli_usage(cli, "invalid --pids '%s' (expected a positive number)",
                                                 optarg);
                        break;
                case ARG_ASYNC:
                        if (run)
                                return cli_usage(cli,
                                                 "--async-mode cannot be used with run, which waits for the "
                                                 "command (use create)");
                        req->async_mode = true;
                        break;
                case ARG_RM:
                        req->auto_remove = true;
                        break;
                case ARG_NO_NETWORK:
                        no_network = true;
                        break;
                case ARG_NETWORK:
                        if (streq(optarg, "quilt"))
                                network = NETWORK_QUILT;
                        else if (streq(optarg, "none"))
                                network = NETWORK_NONE;
                        else if (streq(optarg, "host"))
                                network = NETWORK_HOST;
                        else
                                return cli_usage(cli,
                                                 "invalid --network '%s' (expected quilt, none or host)",
                                                 optarg);
                        network_given = true;
                        break;
                case ARG_PID:
                case ARG_UTS:
                case ARG_IPC:
                case ARG_CGROUPNS: {
                        size_t i = (size_t) (c - ARG_PID);

                        if (streq(optarg, "host"))
                                share[i] = true;
                        else if (streq(optarg, "private"))
                                share[i] = false;
                        else
                                return cli_usage(cli, "invalid %s '%s' (expected host or private)",
                                                 share_option[i], optarg);
                        break;
                }
                case 'v':
                case ARG_MOUNT: {
                        Quilt__Mount *mount = arena_alloc0(a, sizeof(Quilt__Mount));
                        if (!mount)
                                return cli_fail(cli, "out of memory");
                        quilt__mount__init(mount);
                        r = c == 'v' ? parse_volume_spec(a, optarg, mount, &error)
                                     : parse_mount_spec(a, optarg, mount, &error);
                        if (r == -ENOMEM)
                                return cli_fail(cli, "out of memory");
                        if (r < 0)
                                return cli_usage(cli, "invalid %s '%s': %s",
                                                 c == 'v' ? "--volume" : "--mount", optarg, error);
                        req->mounts[req->n_mounts++] = mount;
                        break;
                }
                case 'u':
                        if (parse_user_spec(optarg) < 0)
                                return cli_usage(cli,
                                                 "invalid --user '%s' (expected UID[:GID] or USER[:GROUP])",
                                                 optarg);
                        req->user = optarg;
                        break;
                case ARG_SETUP:
                        if (isempty(optarg))
                                return cli_usage(cli, "--setup must not be empty");
                        req->setup_commands[req->n_setup_commands++] = optarg;
                        break;
                case ARG_NAMESPACE:
                        /* The original's opt-ins: every namespace is always created now. */
                        break;
                case ARG_JSON:
                        if (run)
                                return cli_usage(
                                        cli, "--json cannot be used with run, which prints the command's "
                                             "output");
                        cli->json = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }

        if (no_network) {
                if (network_given && network != NETWORK_NONE)
                        return cli_usage(cli, "--no-network conflicts with --network %s",
                                         network == NETWORK_HOST ? "host" : "quilt");
                network = NETWORK_NONE;
        }

        /* The argv after the options, verbatim. */
        req->command = argv + optind;
        req->n_command = argc - optind;
        if (run && req->n_command == 0)
                return cli_usage(cli, "missing COMMAND (see 'quilt run --help')");

        for (size_t i = 0; i < _SHARE_MAX; i++)
                if (share[i])
                        req->host_namespaces[req->n_host_namespaces++] = (char *) share_wire_name[i];
        if (network == NETWORK_HOST)
                req->host_namespaces[req->n_host_namespaces++] = (char *) "network";

        /* quiltd ignores the original's enable_* fields; they are filled in with what they
         * meant there, for a daemon that still reads them: the namespaces in use, and
         * enable_network_namespace as "give this container a network". */
        req->enable_pid_namespace = !share[SHARE_PID];
        req->enable_mount_namespace = true;
        req->enable_uts_namespace = !share[SHARE_UTS];
        req->enable_ipc_namespace = !share[SHARE_IPC];
        req->enable_network_namespace = network == NETWORK_QUILT;
        /* What quiltd goes by (host_namespaces says the same for "host"). */
        req->network = (char *) (network == NETWORK_HOST ? "host" : network == NETWORK_NONE ? "none" : "quilt");
        return 0;
}
