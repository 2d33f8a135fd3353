/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The option lines that quilt create and quilt run share in their --help. */
#define CLI_CREATE_OPTIONS_HELP                                                                      \
        "  -n, --name NAME            container name (unique; generated when omitted)\n"             \
        "      --image NAME|PATH      image name, or a directory or tarball (a path has a '/':\n"    \
        "                             ./rootfs.tar; relative paths are made absolute here)\n"        \
        "                             (default: the built-in BusyBox image) (alias: --image-path)\n" \
        "  -e, --env KEY=VALUE        set an environment variable (repeatable)\n"                    \
        "  -w, --workdir DIR          working directory of COMMAND (alias: --working-directory)\n"   \
        "      --memory MB            memory limit in MiB, or with a unit: 512m, 2g (default 512)\n" \
        "                             (alias: --memory-limit)\n"                                     \
        "      --cpu PERCENT          CPU limit in percent of one CPU (default 50)\n"                \
        "                             (alias: --cpu-limit)\n"                                        \
        "      --pids N               maximum number of processes (default 1024)\n"                  \
        "      --rm                   remove the container once its command has exited\n"            \
        "      --network MODE         quilt (default: the container network), none (only\n"          \
        "                             loopback, in a network namespace of its own) or host\n"        \
        "      --no-network           same as --network none\n"                                      \
        "      --pid host             share the host's PID namespace\n"                              \
        "      --uts host             share the host's hostname (UTS namespace)\n"                   \
        "      --ipc host             share the host's IPC namespace\n"                              \
        "      --cgroupns host        share the host's cgroup namespace\n"                           \
        "                             (\"private\", the default, is accepted by all four)\n"         \
        "  -v, --volume SRC:DST[:ro]  mount a host path (absolute SRC), or a named volume\n"         \
        "                             (NAME, or NAME/PATH for a directory inside it; created\n"      \
        "                             if missing) (repeatable)\n"                                    \
        "      --mount SPEC           type=bind|volume|tmpfs,source=…,target=…[,readonly]\n"     \
        "                             [,size=64m][,mode=1777][,exec] (repeatable; tmpfs is\n"        \
        "                             noexec unless exec, 1m to 10g, default 64m)\n"                 \
        "  -l, --label KEY=VALUE      set a label (repeatable)\n"                                    \
        "  -u, --user USER[:GROUP]    run COMMAND as this user: numeric ids, or names from the\n"    \
        "                             image's /etc/passwd and /etc/group (default: root)\n"          \
        "      --setup SPEC           setup command run before COMMAND, such as\n"                   \
        "                             \"pip: requests\" (repeatable)\n"

#define CLI_CREATE_NAMESPACES_HELP                                                            \
        "Every container gets its own pid, mount, uts, ipc, network and cgroup namespace\n"   \
        "unless --pid/--uts/--ipc/--cgroupns/--network host says otherwise. The original's\n" \
        "--enable-*-namespace options are accepted and have no effect.\n"
