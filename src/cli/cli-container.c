/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt create | start | stop | kill | rm | status | inspect | ps | logs | shell | cp.
 * Containers are addressed by full id, unique id prefix or name; quiltd resolves all
 * three, so -n/--by-name only selects which request field carries the reference. */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "proto-json.h"

/* ---- create --------------------------------------------------------------- */

static const char create_usage[] =
        "Usage: quilt create [OPTIONS] [--] [COMMAND [ARG...]]\n"
        "\n"
        "Create a container and start COMMAND in it; prints the container's id. The\n"
        "command's argv is passed exactly as given (it is not joined into a shell line).\n"
        "Options end at the first argument that is not an option, or at \"--\".\n"
        "\n"
        "Options:\n"
        "  -n, --name NAME            container name (unique; generated when omitted)\n"
        "      --image IMAGE          image name or path (default: the built-in BusyBox image)\n"
        "                             (alias: --image-path)\n"
        "  -e, --env KEY=VALUE        set an environment variable (repeatable)\n"
        "  -w, --workdir DIR          working directory of COMMAND (alias: --working-directory)\n"
        "      --memory MB            memory limit in MiB (default 512) (alias: --memory-limit)\n"
        "      --cpu PERCENT          CPU limit in percent of one CPU (default 50)\n"
        "                             (alias: --cpu-limit)\n"
        "      --pids N               maximum number of processes (default 1024)\n"
        "      --async-mode           return at once; with no COMMAND, keep the container\n"
        "                             running for exec\n"
        "      --rm                   remove the container when its command exits\n"
        "      --no-network           no network (same as --network none)\n"
        "      --network MODE         none or quilt (default: quilt, the container network)\n"
        "  -v, --volume SRC:DST[:ro]  mount a host path (absolute SRC) or a named volume\n"
        "                             (repeatable)\n"
        "      --mount SPEC           type=bind|volume|tmpfs,source=…,target=…[,readonly]\n"
        "                             [,size=64m][,mode=1777] (repeatable)\n"
        "      --label KEY=VALUE      set a label (repeatable)\n"
        "  -u, --user UID[:GID]       run COMMAND as this user\n"
        "      --setup SPEC           setup command run before COMMAND, such as\n"
        "                             \"pip: requests\" (repeatable)\n"
        "      --json                 print the reply as JSON\n"
        "  -h, --help                 show this help\n"
        "\n"
        "All of the pid, mount, uts, ipc, network and cgroup namespaces are always used; the\n"
        "original's --enable-*-namespace options are accepted and have no effect.\n";

int verb_create(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_IMAGE = 0x100,
                ARG_MEMORY,
                ARG_CPU,
                ARG_PIDS,
                ARG_ASYNC,
                ARG_RM,
                ARG_NO_NETWORK,
                ARG_NETWORK,
                ARG_MOUNT,
                ARG_LABEL,
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
                { "volume", required_argument, NULL, 'v' },
                { "mount", required_argument, NULL, ARG_MOUNT },
                { "label", required_argument, NULL, ARG_LABEL },
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
        Quilt__CreateContainerRequest req = QUILT__CREATE_CONTAINER_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        _cleanup_arena_ Arena arena = {};
        const Quilt__CreateContainerResponse *reply;
        const char *unsupported = NULL, *network = NULL, *error;
        void **env;
        int32_t pids;
        size_t key_len;
        const char *value;
        bool no_network = false;
        double cpu;
        int c, r;

        /* Every repeatable option can occur at most argc times: size the arrays once. */
        env = arena_alloc0(&arena, argc * sizeof(void *));
        req.setup_commands = arena_alloc0(&arena, argc * sizeof(char *));
        req.mounts = arena_alloc0(&arena, argc * sizeof(Quilt__Mount *));
        if (!env || !req.setup_commands || !req.mounts)
                return cli_fail(cli, "out of memory");
        req.environment = (Quilt__CreateContainerRequest__EnvironmentEntry **) env;

        /* "+": the first non-option argument starts the command, whose own options
         * ("sh -c …") are not ours. */
        while ((c = getopt_long(argc, argv, "+:hn:e:w:v:u:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(create_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'n':
                        if (isempty(optarg))
                                return cli_usage(cli, "--name must not be empty");
                        req.name = optarg;
                        break;
                case ARG_IMAGE:
                        if (isempty(optarg))
                                return cli_usage(cli, "--image must not be empty");
                        req.image_path = optarg;
                        break;
                case 'e':
                        if (parse_assignment(optarg, &key_len, &value) < 0)
                                return cli_usage(cli, "invalid --env '%s' (expected KEY=VALUE with a non-empty KEY)",
                                                 optarg);
                        char *key = arena_strndup(&arena, optarg, key_len);
                        if (!key)
                                return cli_fail(cli, "out of memory");
                        r = arena_map_put(&arena, &quilt__create_container_request__environment_entry__descriptor,
                                          env, &req.n_environment, key, value);
                        if (r < 0)
                                return cli_fail(cli, "out of memory");
                        break;
                case 'w':
                        if (optarg[0] != '/')
                                return cli_usage(cli, "invalid --workdir '%s': must be an absolute path", optarg);
                        req.working_directory = optarg;
                        break;
                case ARG_MEMORY:
                        r = parse_int32(optarg, 1, INT32_MAX, &req.memory_limit_mb);
                        if (r < 0)
                                return cli_usage(cli, "invalid --memory '%s' (expected a positive number of MiB)",
                                                 optarg);
                        break;
                case ARG_CPU:
                        r = parse_double(optarg, 0, 100000, &cpu);
                        if (r < 0 || cpu <= 0)
                                return cli_usage(cli, "invalid --cpu '%s' (expected a percentage above 0)", optarg);
                        req.cpu_limit_percent = (float) cpu;
                        break;
                case ARG_PIDS:
                        r = parse_int32(optarg, 1, INT32_MAX, &pids);
                        if (r < 0)
                                return cli_usage(cli, "invalid --pids '%s' (expected a positive number)", optarg);
                        unsupported = "--pids";
                        break;
                case ARG_ASYNC:
                        req.async_mode = true;
                        break;
                case ARG_RM:
                        unsupported = "--rm";
                        break;
                case ARG_NO_NETWORK:
                        no_network = true;
                        break;
                case ARG_NETWORK:
                        if (!streq(optarg, "none") && !streq(optarg, "quilt"))
                                return cli_usage(cli, "invalid --network '%s' (expected none or quilt)", optarg);
                        network = optarg;
                        break;
                case 'v':
                case ARG_MOUNT: {
                        Quilt__Mount *mount = arena_alloc0(&arena, sizeof(Quilt__Mount));
                        if (!mount)
                                return cli_fail(cli, "out of memory");
                        quilt__mount__init(mount);
                        r = c == 'v' ? parse_volume_spec(&arena, optarg, mount, &error)
                                     : parse_mount_spec(&arena, optarg, mount, &error);
                        if (r == -ENOMEM)
                                return cli_fail(cli, "out of memory");
                        if (r < 0)
                                return cli_usage(cli, "invalid %s '%s': %s", c == 'v' ? "--volume" : "--mount",
                                                 optarg, error);
                        req.mounts[req.n_mounts++] = mount;
                        break;
                }
                case ARG_LABEL:
                        if (parse_assignment(optarg, &key_len, &value) < 0)
                                return cli_usage(cli, "invalid --label '%s' (expected KEY=VALUE with a non-empty KEY)",
                                                 optarg);
                        unsupported = "--label";
                        break;
                case 'u':
                        if (parse_user_spec(optarg) < 0)
                                return cli_usage(cli, "invalid --user '%s' (expected UID[:GID] or USER[:GROUP])",
                                                 optarg);
                        unsupported = "--user";
                        break;
                case ARG_SETUP:
                        if (isempty(optarg))
                                return cli_usage(cli, "--setup must not be empty");
                        req.setup_commands[req.n_setup_commands++] = optarg;
                        break;
                case ARG_NAMESPACE:
                        break;
                case ARG_JSON:
                        cli->json = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }

        if (no_network && streq_ptr(network, "quilt"))
                return cli_usage(cli, "--no-network conflicts with --network quilt");

        /* The argv after the options, verbatim. */
        req.command = argv + optind;
        req.n_command = argc - optind;

        /* Namespaces are not optional in Quilt; the fields exist for the original's wire
         * format, where false meant "off". The network namespace flag is what the
         * original used to mean "give this container a network". */
        req.enable_pid_namespace = req.enable_mount_namespace = true;
        req.enable_uts_namespace = req.enable_ipc_namespace = true;
        req.enable_network_namespace = !no_network && !streq_ptr(network, "none");

        /* Parsed and checked, but the request has no field to carry it yet. */
        if (unsupported)
                return cli_not_supported(cli, unsupported);

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

/* ---- start, stop, kill, rm ---------------------------------------------------- */

typedef enum Action {
        ACTION_START,
        ACTION_STOP,
        ACTION_KILL,
        ACTION_REMOVE,
} Action;

static int act_on_container(Cli *cli, Action action, const char *ref, bool by_name, int32_t timeout, bool force) {
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        char *id = by_name ? (char *) "" : (char *) ref, *name = by_name ? (char *) ref : (char *) "";

        switch (action) {
        case ACTION_START: {
                Quilt__StartContainerRequest req = QUILT__START_CONTAINER_REQUEST__INIT;
                req.container_id = id;
                req.container_name = name;
                return cli_call(cli, "StartContainer", &req.base, 0, &m);
        }
        case ACTION_STOP: {
                Quilt__StopContainerRequest req = QUILT__STOP_CONTAINER_REQUEST__INIT;
                req.container_id = id;
                req.container_name = name;
                req.timeout_seconds = timeout;
                return cli_call(cli, "StopContainer", &req.base, 0, &m);
        }
        case ACTION_KILL: {
                Quilt__KillContainerRequest req = QUILT__KILL_CONTAINER_REQUEST__INIT;
                req.container_id = id;
                req.container_name = name;
                return cli_call(cli, "KillContainer", &req.base, 0, &m);
        }
        case ACTION_REMOVE: {
                Quilt__RemoveContainerRequest req = QUILT__REMOVE_CONTAINER_REQUEST__INIT;
                req.container_id = id;
                req.container_name = name;
                req.force = force;
                return cli_call(cli, "RemoveContainer", &req.base, 0, &m);
        }
        }
        return CLI_EXIT_FAILURE;
}

static const char start_usage[] =
        "Usage: quilt start [OPTIONS] CONTAINER...\n"
        "\n"
        "Start created or exited containers; prints each one that was started.\n"
        "\n"
        "Options:\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility; names are\n"
        "                  always accepted)\n"
        "  -h, --help      show this help\n";

static const char stop_usage[] =
        "Usage: quilt stop [OPTIONS] CONTAINER...\n"
        "\n"
        "Stop running containers: SIGTERM, then SIGKILL after the grace period.\n"
        "\n"
        "Options:\n"
        "  -t, --time SECONDS  grace period before SIGKILL (default 10) (alias: --timeout)\n"
        "  -n, --by-name       CONTAINER is a name (accepted for compatibility)\n"
        "  -h, --help          show this help\n";

static const char kill_usage[] =
        "Usage: quilt kill [OPTIONS] CONTAINER...\n"
        "\n"
        "Kill running containers with SIGKILL.\n"
        "\n"
        "Options:\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility)\n"
        "  -h, --help      show this help\n";

static const char rm_usage[] =
        "Usage: quilt rm [OPTIONS] CONTAINER...\n"
        "\n"
        "Remove containers and everything they own (rootfs, cgroup, network, logs).\n"
        "\n"
        "Options:\n"
        "  -f, --force     stop a running container first\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility)\n"
        "  -h, --help      show this help\n";

static int verb_action(Cli *cli, int argc, char *argv[], Action action) {
        static const struct option common_options[] = {
                { "help", no_argument, NULL, 'h' },
                { "by-name", no_argument, NULL, 'n' },
                {},
        };
        static const struct option stop_options[] = {
                { "help", no_argument, NULL, 'h' },
                { "by-name", no_argument, NULL, 'n' },
                { "time", required_argument, NULL, 't' },
                { "timeout", required_argument, NULL, 't' },
                {},
        };
        static const struct option rm_options[] = {
                { "help", no_argument, NULL, 'h' },
                { "by-name", no_argument, NULL, 'n' },
                { "force", no_argument, NULL, 'f' },
                {},
        };
        static const struct {
                const char *usage;
                const char *optstring;
                const struct option *options;
        } table[] = {
                [ACTION_START] = { start_usage, ":hn", common_options },
                [ACTION_STOP] = { stop_usage, ":hnt:", stop_options },
                [ACTION_KILL] = { kill_usage, ":hn", common_options },
                [ACTION_REMOVE] = { rm_usage, ":hnf", rm_options },
        };
        bool by_name = false, force = false;
        int32_t timeout = 0;
        int c, r, ret = CLI_EXIT_SUCCESS;

        while ((c = getopt_long(argc, argv, table[action].optstring, table[action].options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(table[action].usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'n':
                        by_name = true;
                        break;
                case 't':
                        r = parse_int32(optarg, 0, INT32_MAX, &timeout);
                        if (r < 0)
                                return cli_usage(cli, "invalid --time '%s' (expected a number of seconds)", optarg);
                        break;
                case 'f':
                        force = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind >= argc)
                return cli_usage(cli, "missing CONTAINER (see 'quilt %s --help')", cli->verb);

        /* Stopping waits for the grace period on the daemon's side; the deadline must not
         * cut it short unless the user asked for one. */
        if (action == ACTION_STOP && !cli->timeout_set)
                cli->timeout_usec = CLI_DEFAULT_TIMEOUT_USEC + (uint64_t) (timeout ?: 10) * USEC_PER_SEC;

        for (int i = optind; i < argc; i++) {
                r = act_on_container(cli, action, argv[i], by_name, timeout, force);
                if (r != 0)
                        ret = r;
                else
                        printf("%s\n", argv[i]);
        }
        return ret;
}

int verb_start(Cli *cli, int argc, char *argv[]) {
        return verb_action(cli, argc, argv, ACTION_START);
}

int verb_stop(Cli *cli, int argc, char *argv[]) {
        return verb_action(cli, argc, argv, ACTION_STOP);
}

int verb_kill(Cli *cli, int argc, char *argv[]) {
        return verb_action(cli, argc, argv, ACTION_KILL);
}

int verb_rm(Cli *cli, int argc, char *argv[]) {
        return verb_action(cli, argc, argv, ACTION_REMOVE);
}

/* ---- status, inspect -------------------------------------------------------------- */

/* Options of the commands that take one CONTAINER and print something about it. */
/* Exit codes mean something only once the command has ended. */
static bool status_ended(Quilt__ContainerStatus s) {
        return s == QUILT__CONTAINER_STATUS__EXITED || s == QUILT__CONTAINER_STATUS__FAILED;
}

static int get_status(Cli *cli, const char *ref, bool by_name, ProtobufCMessage **ret) {
        Quilt__GetContainerStatusRequest req = QUILT__GET_CONTAINER_STATUS_REQUEST__INIT;

        if (by_name)
                req.container_name = (char *) ref;
        else
                req.container_id = (char *) ref;
        return cli_call(cli, "GetContainerStatus", &req.base, 0, ret);
}

static void print_status(const Quilt__GetContainerStatusResponse *s, const char *ref) {
        char a[CLI_TIME_MAX], b[CLI_TIME_MAX];
        bool ended = status_ended(s->status);

        printf("ID:          %s\n", isempty(s->container_id) ? ref : s->container_id);
        printf("Status:      %s\n", container_status_to_string(s->status));
        if (s->pid > 0)
                printf("PID:         %" PRIi32 "\n", s->pid);
        else
                printf("PID:         -\n");
        if (ended)
                printf("Exit code:   %" PRIi32 "\n", s->exit_code);
        else
                printf("Exit code:   -\n");
        if (!isempty(s->error_message))
                printf("Error:       %s\n", s->error_message);
        printf("Created:     %s (%s)\n", format_time_sec(a, s->created_at), format_time_ago(b, s->created_at));
        printf("Started:     %s\n", format_time_sec(a, s->started_at));
        printf("Exited:      %s\n", format_time_sec(a, s->exited_at));
        if (s->started_at && s->status == QUILT__CONTAINER_STATUS__RUNNING)
                printf("Uptime:      %s\n", format_duration(a, (uint64_t) time(NULL) - MIN(s->started_at, (uint64_t) time(NULL))));
        else if (s->started_at && s->exited_at >= s->started_at)
                printf("Ran for:     %s\n", format_duration(a, s->exited_at - s->started_at));
        printf("IP address:  %s\n", isempty(s->ip_address) ? "-" : s->ip_address);
        printf("Memory:      %s\n", s->memory_usage_bytes ? format_bytes(a, s->memory_usage_bytes) : "-");
        printf("Rootfs:      %s\n", isempty(s->rootfs_path) ? "-" : s->rootfs_path);
}

static const char status_usage[] =
        "Usage: quilt status [OPTIONS] CONTAINER\n"
        "\n"
        "Show a container's state, process, exit code, times, address and memory use.\n"
        "\n"
        "Options:\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility)\n"
        "      --json      print the reply as JSON\n"
        "  -h, --help      show this help\n";

int verb_status(Cli *cli, int argc, char *argv[]) {
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        const char *ref;
        bool by_name;
        int r;

        r = cli_parse_container_args(cli, argc, argv, status_usage, true, &ref, &by_name);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        r = get_status(cli, ref, by_name, &m);
        if (r != 0)
                return r;
        if (cli->json)
                return cli_print_json(cli, m);
        print_status((const Quilt__GetContainerStatusResponse *) m, ref);
        return CLI_EXIT_SUCCESS;
}

static const char inspect_usage[] =
        "Usage: quilt inspect [OPTIONS] CONTAINER\n"
        "\n"
        "Show everything quiltd knows about a container: its status and its network\n"
        "configuration.\n"
        "\n"
        "Options:\n"
        "  -n, --by-name   CONTAINER is a name (accepted for compatibility)\n"
        "      --json      print {\"status\": …, \"network\": …} as JSON\n"
        "  -h, --help      show this help\n";

int verb_inspect(Cli *cli, int argc, char *argv[]) {
        Quilt__GetContainerNetworkRequest net_req = QUILT__GET_CONTAINER_NETWORK_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *status = NULL, *network = NULL;
        const Quilt__GetContainerStatusResponse *s;
        const Quilt__ContainerNetworkConfig *n;
        const char *ref;
        bool by_name;
        int r;

        r = cli_parse_container_args(cli, argc, argv, inspect_usage, true, &ref, &by_name);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;

        r = get_status(cli, ref, by_name, &status);
        if (r != 0)
                return r;
        s = (const Quilt__GetContainerStatusResponse *) status;

        /* GetContainerNetwork has no name field; the id (or the name, which quiltd
         * resolves too) goes into container_id. */
        net_req.container_id = isempty(s->container_id) ? (char *) ref : s->container_id;
        r = cli_call(cli, "GetContainerNetwork", &net_req.base, 0, &network);
        if (r != 0)
                return r;
        n = ((const Quilt__GetContainerNetworkResponse *) network)->network_config;

        if (cli->json) {
                json_auto_t *j = json_object();
                json_t *js = proto_to_json(status), *jn = n ? proto_to_json(&n->base) : json_null();

                if (!j || !js || !jn || json_object_set_new(j, "status", js) < 0 ||
                    json_object_set_new(j, "network", jn) < 0)
                        return cli_fail(cli, "out of memory");
                if (json_dumpf(j, stdout, JSON_INDENT(2)) < 0)
                        return cli_fail(cli, "cannot write JSON output");
                fputc('\n', stdout);
                return CLI_EXIT_SUCCESS;
        }

        print_status(s, ref);
        printf("Network:\n");
        if (!n) {
                printf("  (none)\n");
                return CLI_EXIT_SUCCESS;
        }
        printf("  IP address:  %s\n", isempty(n->ip_address) ? "-" : n->ip_address);
        printf("  Bridge:      %s\n", isempty(n->bridge_interface) ? "-" : n->bridge_interface);
        printf("  Host veth:   %s\n", isempty(n->veth_host) ? "-" : n->veth_host);
        printf("  Inner veth:  %s\n", isempty(n->veth_container) ? "-" : n->veth_container);
        printf("  Set up:      %s\n", n->setup_completed ? "yes" : "no");
        printf("  State:       %s\n", isempty(n->status) ? "-" : n->status);
        return CLI_EXIT_SUCCESS;
}

/* ---- ps ----------------------------------------------------------------------- */

static const char ps_usage[] =
        "Usage: quilt ps [OPTIONS]\n"
        "\n"
        "List containers: running ones, or all with --all.\n"
        "\n"
        "Options:\n"
        "  -a, --all               all containers, not only running ones\n"
        "  -f, --filter KEY=VALUE  state=pending|running|exited|failed, name=SUBSTRING,\n"
        "                          label=KEY or label=KEY=VALUE (repeatable; all must match)\n"
        "  -q, --quiet             print only the container ids\n"
        "      --no-trunc          do not shorten the ids\n"
        "      --json              print the reply as JSON\n"
        "  -h, --help              show this help\n";

typedef struct PsFilter {
        const char *state;
        const char **names;
        size_t n_names;
        const char **labels; /* "KEY" or "KEY=VALUE" */
        size_t n_labels;
} PsFilter;

static bool ps_label_matches(const Quilt__ContainerInfo *ci, const char *filter) {
        const char *eq = strchr(filter, '=');
        size_t key_len = eq ? (size_t) (eq - filter) : strlen(filter);

        for (size_t i = 0; i < ci->n_labels; i++) {
                const char *k = ci->labels[i]->key;
                if (strlen(k) == key_len && strncmp(k, filter, key_len) == 0)
                        return !eq || streq(ci->labels[i]->value, eq + 1);
        }
        return false;
}

static bool ps_matches(const Quilt__ContainerInfo *ci, const PsFilter *f) {
        for (size_t i = 0; i < f->n_names; i++)
                if (!strstr(strempty(ci->name), f->names[i]))
                        return false;
        for (size_t i = 0; i < f->n_labels; i++)
                if (!ps_label_matches(ci, f->labels[i]))
                        return false;
        return true;
}

int verb_ps(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
                ARG_NO_TRUNC,
                ARG_NAMES,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "all", no_argument, NULL, 'a' },
                { "filter", required_argument, NULL, 'f' },
                { "quiet", no_argument, NULL, 'q' },
                { "no-trunc", no_argument, NULL, ARG_NO_TRUNC },
                { "json", no_argument, NULL, ARG_JSON },
                /* Hidden, for shell completion: names (ids of unnamed containers). */
                { "names", no_argument, NULL, ARG_NAMES },
                {},
        };
        static const char *const states[] = { "pending", "running", "exited", "failed" };
        Quilt__ListContainersRequest req = QUILT__LIST_CONTAINERS_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        _cleanup_arena_ Arena arena = {};
        _cleanup_table_ Table *t = NULL;
        const Quilt__ListContainersResponse *reply;
        bool all = false, quiet = false, no_trunc = false, names = false;
        PsFilter filter = {};
        int c, r;

        filter.names = arena_alloc0(&arena, argc * sizeof(char *));
        filter.labels = arena_alloc0(&arena, argc * sizeof(char *));
        if (!filter.names || !filter.labels)
                return cli_fail(cli, "out of memory");

        while ((c = getopt_long(argc, argv, ":haf:q", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(ps_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'a':
                        all = true;
                        break;
                case 'f': {
                        const char *v;
                        if ((v = startswith(optarg, "state=")) || (v = startswith(optarg, "status="))) {
                                bool known = false;
                                for (size_t i = 0; i < ELEMENTSOF(states); i++)
                                        known = known || streq(v, states[i]);
                                if (!known)
                                        return cli_usage(cli, "invalid --filter '%s' (state is pending, running, exited or failed)",
                                                         optarg);
                                if (filter.state && !streq(filter.state, v))
                                        return cli_usage(cli, "only one state= filter may be given");
                                filter.state = v;
                        } else if ((v = startswith(optarg, "name=")) && !isempty(v))
                                filter.names[filter.n_names++] = v;
                        else if ((v = startswith(optarg, "label=")) && !isempty(v) && v[0] != '=')
                                filter.labels[filter.n_labels++] = v;
                        else
                                return cli_usage(cli, "invalid --filter '%s' (expected state=, name= or label=)", optarg);
                        break;
                }
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
        if (optind < argc)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind]);

        /* Like podman: without --all only running containers; the state filter is
         * applied by quiltd, the others here. */
        if (filter.state || !all) {
                req.state_filter_present_case = QUILT__LIST_CONTAINERS_REQUEST__STATE_FILTER_PRESENT_STATE_FILTER;
                req.state_filter = (char *) (filter.state ?: "running");
        }

        r = cli_call(cli, "ListContainers", &req.base, 0, &m);
        if (r != 0)
                return r;
        reply = (const Quilt__ListContainersResponse *) m;

        if (cli->json) {
                json_auto_t *j = NULL;
                json_t *list;

                /* Print the reply's shape with the client-side filters applied. */
                j = proto_to_json(m);
                list = j ? json_object_get(j, "containers") : NULL;
                if (!j)
                        return cli_fail(cli, "out of memory");
                if (json_is_array(list))
                        for (size_t i = reply->n_containers; i > 0; i--)
                                if (!ps_matches(reply->containers[i - 1], &filter))
                                        json_array_remove(list, i - 1);
                if (json_dumpf(j, stdout, JSON_INDENT(2)) < 0)
                        return cli_fail(cli, "cannot write JSON output");
                fputc('\n', stdout);
                return CLI_EXIT_SUCCESS;
        }

        if (quiet || names) {
                for (size_t i = 0; i < reply->n_containers; i++) {
                        const Quilt__ContainerInfo *ci = reply->containers[i];
                        if (!ps_matches(ci, &filter))
                                continue;
                        printf("%s\n", names && !isempty(ci->name) ? ci->name : ci->container_id);
                }
                return CLI_EXIT_SUCCESS;
        }

        t = table_new(5, "CONTAINER ID", "NAME", "STATUS", "CREATED", "IP");
        if (!t)
                return cli_fail(cli, "out of memory");
        for (size_t i = 0; i < reply->n_containers; i++) {
                const Quilt__ContainerInfo *ci = reply->containers[i];
                char id[13], state[64], ago[CLI_TIME_MAX];

                if (!ps_matches(ci, &filter))
                        continue;
                snprintf(id, sizeof id, "%s", strempty(ci->container_id));
                if (status_ended(ci->status))
                        snprintf(state, sizeof state, "%s (%" PRIi32 ")", container_status_to_string(ci->status),
                                 ci->exit_code);
                else
                        snprintf(state, sizeof state, "%s", container_status_to_string(ci->status));
                if (table_add_row(t, no_trunc ? ci->container_id : id, isempty(ci->name) ? "-" : ci->name, state,
                                  format_time_ago(ago, ci->created_at),
                                  isempty(ci->ip_address) ? "-" : ci->ip_address) < 0)
                        return cli_fail(cli, "out of memory");
        }
        table_print(t, stdout);
        return CLI_EXIT_SUCCESS;
}

/* ---- logs ------------------------------------------------------------------------ */

static const char logs_usage[] =
        "Usage: quilt logs [OPTIONS] CONTAINER\n"
        "\n"
        "Show a container's output.\n"
        "\n"
        "Options:\n"
        "  -f, --follow        keep printing new output\n"
        "      --tail N        only the last N lines\n"
        "      --since TIME    only lines since TIME: a duration ago (\"10min\"), @UNIX-SECONDS,\n"
        "                      or \"YYYY-MM-DD[ HH:MM[:SS]]\" in local time\n"
        "  -t, --timestamps    prefix each line with its time\n"
        "  -n, --by-name       CONTAINER is a name (accepted for compatibility)\n"
        "      --json          print the reply as JSON\n"
        "  -h, --help          show this help\n";

static int parse_since(const char *s, uint64_t *ret_sec) {
        static const char *const formats[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
                                               "%Y-%m-%dT%H:%M", "%Y-%m-%d" };
        uint64_t usec;
        time_t now = time(NULL);

        if (s[0] == '@')
                return parse_uint64(s + 1, ret_sec);
        if (parse_duration_usec(s, &usec) >= 0) {
                uint64_t d = usec / USEC_PER_SEC;
                *ret_sec = (uint64_t) now > d ? (uint64_t) now - d : 0;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                struct tm tm = { .tm_isdst = -1 };
                const char *end = strptime(s, formats[i], &tm);
                time_t t;

                if (!end || *end != '\0')
                        continue;
                t = mktime(&tm);
                if (t == (time_t) -1)
                        return -EINVAL;
                *ret_sec = (uint64_t) t;
                return 0;
        }
        return -EINVAL;
}

int verb_logs(Cli *cli, int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
                ARG_TAIL,
                ARG_SINCE,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "follow", no_argument, NULL, 'f' },
                { "tail", required_argument, NULL, ARG_TAIL },
                { "since", required_argument, NULL, ARG_SINCE },
                { "timestamps", no_argument, NULL, 't' },
                { "by-name", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        Quilt__GetContainerLogsRequest req = QUILT__GET_CONTAINER_LOGS_REQUEST__INIT;
        _cleanup_reply_ ProtobufCMessage *m = NULL;
        Quilt__GetContainerLogsResponse *reply;
        bool follow = false, timestamps = false, by_name = false;
        uint64_t since = 0;
        int32_t tail = -1;
        size_t first = 0;
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
                        r = parse_int32(optarg, 0, INT32_MAX, &tail);
                        if (r < 0)
                                return cli_usage(cli, "invalid --tail '%s' (expected a number of lines)", optarg);
                        break;
                case ARG_SINCE:
                        if (parse_since(optarg, &since) < 0)
                                return cli_usage(cli, "invalid --since '%s' (expected a duration, @UNIX-SECONDS or YYYY-MM-DD[ HH:MM[:SS]])",
                                                 optarg);
                        break;
                case 't':
                        timestamps = true;
                        break;
                case 'n':
                        by_name = true;
                        break;
                case ARG_JSON:
                        cli->json = true;
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind >= argc)
                return cli_usage(cli, "missing CONTAINER (see 'quilt logs --help')");
        if (argc - optind > 1)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);

        /* GetContainerLogs is one reply with what exists now; following needs a stream. */
        if (follow)
                return cli_not_supported(cli, "--follow");

        if (by_name)
                req.container_name = argv[optind];
        else
                req.container_id = argv[optind];
        r = cli_call(cli, "GetContainerLogs", &req.base, 0, &m);
        if (r != 0)
                return r;
        reply = (Quilt__GetContainerLogsResponse *) m;

        /* --since and --tail are applied here: the request has no fields for them.
         * LogEntry.timestamp is taken as unix seconds, like every container time. */
        if (since > 0) {
                size_t k = 0;
                for (size_t i = 0; i < reply->n_logs; i++) {
                        if (reply->logs[i]->timestamp >= since)
                                reply->logs[k++] = reply->logs[i];
                        else
                                protobuf_c_message_free_unpacked(&reply->logs[i]->base, NULL);
                }
                reply->n_logs = k;
        }
        if (tail >= 0 && (size_t) tail < reply->n_logs) {
                first = reply->n_logs - (size_t) tail;
                for (size_t i = 0; i < first; i++)
                        protobuf_c_message_free_unpacked(&reply->logs[i]->base, NULL);
                memmove(reply->logs, reply->logs + first, (size_t) tail * sizeof(reply->logs[0]));
                reply->n_logs = (size_t) tail;
        }

        if (cli->json)
                return cli_print_json(cli, m);

        for (size_t i = 0; i < reply->n_logs; i++) {
                const char *msg = strempty(reply->logs[i]->message);
                size_t len = strlen(msg);

                if (timestamps) {
                        char buf[CLI_TIME_MAX];
                        printf("%s ", format_time_sec(buf, reply->logs[i]->timestamp));
                }
                fwrite(msg, 1, len, stdout);
                if (len == 0 || msg[len - 1] != '\n')
                        fputc('\n', stdout);
        }
        return CLI_EXIT_SUCCESS;
}

/* ---- shell, cp --------------------------------------------------------------------- */

static const char shell_usage[] =
        "Usage: quilt shell [OPTIONS] CONTAINER [SHELL]\n"
        "\n"
        "Open an interactive shell (default /bin/sh) on a terminal in a running container.\n"
        "\n"
        "Options:\n"
        "  -e, --env KEY=VALUE   set an environment variable (repeatable)\n"
        "  -w, --workdir DIR     start in DIR\n"
        "  -u, --user UID[:GID]  run the shell as this user\n"
        "  -n, --by-name         CONTAINER is a name (accepted for compatibility)\n"
        "  -h, --help            show this help\n";

int verb_shell(Cli *cli, int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "env", required_argument, NULL, 'e' },
                { "workdir", required_argument, NULL, 'w' },
                { "user", required_argument, NULL, 'u' },
                { "by-name", no_argument, NULL, 'n' },
                {},
        };
        size_t key_len;
        const char *value;
        int c;

        while ((c = getopt_long(argc, argv, ":he:w:u:n", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(shell_usage, stdout);
                        return CLI_EXIT_SUCCESS;
                case 'e':
                        if (parse_assignment(optarg, &key_len, &value) < 0)
                                return cli_usage(cli, "invalid --env '%s' (expected KEY=VALUE with a non-empty KEY)",
                                                 optarg);
                        break;
                case 'w':
                        if (optarg[0] != '/')
                                return cli_usage(cli, "invalid --workdir '%s': must be an absolute path", optarg);
                        break;
                case 'u':
                        if (parse_user_spec(optarg) < 0)
                                return cli_usage(cli, "invalid --user '%s' (expected UID[:GID] or USER[:GROUP])",
                                                 optarg);
                        break;
                case 'n':
                        break;
                default:
                        return cli_getopt_error(cli, c, argv);
                }
        if (optind >= argc)
                return cli_usage(cli, "missing CONTAINER (see 'quilt shell --help')");
        if (argc - optind > 2)
                return cli_usage(cli, "unexpected argument '%s'", argv[optind + 2]);

        /* A terminal session needs a bidirectional stream; the API has unary exec only. */
        return cli_not_supported(cli, "");
}

static const char cp_usage[] =
        "Usage: quilt cp [OPTIONS] CONTAINER:SRC DEST\n"
        "       quilt cp [OPTIONS] SRC CONTAINER:DEST\n"
        "\n"
        "Copy a file or directory out of or into a container.\n"
        "\n"
        "Options:\n"
        "  -h, --help   show this help\n";

/* "CONTAINER:PATH" has a colon before any slash; "./a:b" and "/x:y" are local paths. */
static bool is_container_path(const char *s) {
        const char *colon = strchr(s, ':');
        return colon && colon != s && !memchr(s, '/', (size_t) (colon - s));
}

int verb_cp(Cli *cli, int argc, char *argv[]) {
        int r;

        r = cli_parse_simple(cli, argc, argv, cp_usage, false, 2, 2);
        if (r == CLI_HELP_SHOWN)
                return CLI_EXIT_SUCCESS;
        if (r != 0)
                return r;
        if (is_container_path(argv[optind]) == is_container_path(argv[optind + 1]))
                return cli_usage(cli, "exactly one of SRC and DEST must be CONTAINER:PATH");
        return cli_not_supported(cli, "");
}
