/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The contract between quiltd and quilt-monitor: what a container is to run
 * (config.json), how the monitor reports progress while quiltd listens (a pipe), and the
 * exit record it leaves behind for a quiltd that may have restarted meanwhile (exit.json).
 *
 * Directories of a container <id> (/run/quilt and /var/lib/quilt are quiltd.conf's
 * RuntimeDirectory= and StateDirectory=):
 *   /run/quilt/containers/<id>/         (run_dir, mode 0700)
 *        config.json                    written by quiltd before spawning the monitor
 *        monitor.log                    the monitor's own stderr (diagnostics)
 *        exit.json                      written by the monitor, atomically, before it exits
 *        exec.sock                      the monitor runs execs for quiltd (exec-spec.h)
 *                                       while init lives
 *   /var/lib/quilt/containers/<id>/     (state_dir, mode 0700)
 *        upper/ work/                   the overlayfs upper and work dirs (kept until rm)
 *        rootfs/                        empty mount point; the overlay is mounted there
 *                                       inside the container's mount namespace only, so the
 *                                       host never sees a container mount
 *        container.log(.1)              output, when log.driver is "file" (container-log.h)
 *
 * Spawning (quiltd, with posix_spawn, a clean environment and these fds):
 *   argv   quilt-monitor <run_dir>
 *   fd 0   /dev/null
 *   fd 1,2 <run_dir>/monitor.log (O_APPEND)
 *   fd 3   control pipe, read end. quiltd writes "go\n" once the monitor's pid is in the
 *          container's cgroup (cgroupfs dir written, or the systemd scope's job done).
 *          EOF before "go" means quiltd gave up: the monitor exits 1 and starts nothing.
 *          With wait_network, quiltd later writes "net-ready\n" (see below); EOF instead
 *          means the network could not be set up: the monitor kills init and reports
 *          "failed".
 *   fd 4   report pipe, write end. The monitor writes one final line and closes it:
 *            "running <init-pid>\n"   the user's command has been exec()ed (or, with an
 *                                     empty argv, init is up and waiting)
 *            "failed <message>\n"     setup failed; nothing runs; exit.json says why too
 *          With wait_network, "init <init-pid>\n" comes first (see below).
 *          quiltd may have gone away by then: the monitor ignores EPIPE. A config.json
 *          that does not load is reported at once, without waiting for "go".
 *          The monitor exits 0 once exit.json is written (also after "failed").
 *
 * The network handshake (wait_network: a private network namespace that quiltd wires to
 * the bridge). Only quiltd can create the veth pair and give it its address, and only once
 * the namespace exists; the command must not start before that:
 *   monitor → quiltd  "init <pid>\n" on fd 4   init exists (in its namespaces, in payload/)
 *   quiltd            creates the veth pair, moves one end into init's network namespace as
 *                     eth0 with its address, lo up, default route (net/network.c)
 *   quiltd → monitor  "net-ready\n" on fd 3, then closes fd 3
 *   monitor → init    "net" on init's socket (init.h); init sets up the rest of the
 *                     container meanwhile and waits for it only before exec()ing the command
 * Without wait_network fd 3 carries only "go" and fd 4 only the final line.
 *
 * The monitor then holds the container's stdout/stderr, writes the log, reaps init (it is
 * a child subreaper), and when init has exited kills what is left in the payload cgroup,
 * drains the output, writes exit.json and exits 0. quiltd learns about the exit from a
 * pidfd of the monitor (also after a restart: the monitor's pid and start time are in
 * SQLite) and reads exit.json. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

#define CONTAINER_REPORT_RUNNING "running"
#define CONTAINER_REPORT_FAILED "failed"
#define CONTAINER_REPORT_INIT "init"
#define CONTAINER_CONTROL_GO "go\n"
#define CONTAINER_CONTROL_NET_READY "net-ready\n"

typedef enum ContainerNamespace {
        CONTAINER_NS_PID = 1 << 0,
        CONTAINER_NS_MOUNT = 1 << 1,
        CONTAINER_NS_UTS = 1 << 2,
        CONTAINER_NS_IPC = 1 << 3,
        CONTAINER_NS_NET = 1 << 4,
        CONTAINER_NS_CGROUP = 1 << 5,
        CONTAINER_NS_ALL = (1 << 6) - 1,
} ContainerNamespace;

/* "pid", "mount", "uts", "ipc", "network", "cgroup" ("net" is accepted too). */
const char *container_namespace_to_string(ContainerNamespace ns);
ContainerNamespace container_namespace_from_string(const char *s); /* 0 if unknown */

typedef struct ContainerRlimit {
        int resource; /* RLIMIT_NOFILE, ... */
        uint64_t soft;
        uint64_t hard;
} ContainerRlimit;

/* A mount of the container (besides its root, /proc, /sys and /dev), applied by init in
 * the order given, each one after its parent directories (quiltd sorts them). init opens
 * sources on the host side before pivot_root, without following symbolic links (bind) or
 * resolving them inside the volume (subpath), and attaches them onto the target resolved
 * inside the container's root after it, so that no symbolic link can lead out of either.
 * Bind and volume mounts are nosuid and nodev; tmpfs mounts also noexec unless exec. */
typedef enum ContainerMountType {
        CONTAINER_MOUNT_BIND,
        CONTAINER_MOUNT_VOLUME,
        CONTAINER_MOUNT_TMPFS,
        _CONTAINER_MOUNT_TYPE_MAX,
        _CONTAINER_MOUNT_TYPE_INVALID = -EINVAL,
} ContainerMountType;

const char *container_mount_type_to_string(ContainerMountType t); /* "bind", "volume", "tmpfs" */
ContainerMountType container_mount_type_from_string(const char *s);

typedef struct ContainerMount {
        ContainerMountType type;
        /* BIND: the canonical host path (no symbolic links, no ".."). VOLUME: in config.json
         * the volume's data directory, in the database the volume's name. TMPFS: NULL. */
        char *source;
        char *subpath;     /* VOLUME: a relative path inside the volume, or NULL */
        char *target;      /* absolute, simplified, inside the container */
        bool readonly;
        bool exec;         /* TMPFS: allow executing files */
        uint64_t size;     /* TMPFS: bytes */
        mode_t mode;       /* TMPFS: of its root directory */
} ContainerMount;

void container_mount_done(ContainerMount *m);
void container_mount_array_free(ContainerMount *a, size_t n);
int container_mount_copy(const ContainerMount *from, ContainerMount *to);

/* Where the container's output and lifecycle messages go; the formats are in
 * container-log.h. */
typedef enum ContainerLogDriver {
        CONTAINER_LOG_FILE,    /* <state_dir>/container.log, rotated to container.log.1 */
        CONTAINER_LOG_JOURNAL, /* native journal entries (systemd backend) */
        _CONTAINER_LOG_DRIVER_MAX,
        _CONTAINER_LOG_DRIVER_INVALID = -EINVAL,
} ContainerLogDriver;

const char *container_log_driver_to_string(ContainerLogDriver d); /* "file", "journal" */
ContainerLogDriver container_log_driver_from_string(const char *s);

typedef struct ContainerSpec {
        char *id;       /* the UUID */
        char *name;     /* also the hostname */
        char *run_dir;
        char *state_dir;

        /* The leaf cgroup quiltd put the monitor in: "quilt-<id>.scope" or "quilt-<id>". In
         * every hierarchy where the monitor's own cgroup path ends in this name, the monitor
         * creates "supervisor" (itself) and "payload" (init and the user's processes). */
        char *cgroup_leaf;

        /* overlayfs: lower is the image's read-only rootfs; upper, work and target are
         * under state_dir. */
        char *rootfs_lower;
        char *rootfs_upper;
        char *rootfs_work;
        char *rootfs_target;

        char **argv;          /* empty: init waits for a signal (async containers) */
        char **env;           /* complete "KEY=VALUE" list, PATH included */
        char *working_directory;
        char *user;           /* "uid[:gid]" or names from the image; NULL = root */

        unsigned namespaces;  /* ContainerNamespace bits to create */
        char **capabilities;  /* "CAP_CHOWN", ... : bounding, permitted, effective set */
        bool no_new_privileges;
        bool seccomp;         /* the default filter; false = unconfined */
        ContainerRlimit *rlimits;
        size_t n_rlimits;

        ContainerMount *mounts;
        size_t n_mounts;

        ContainerLogDriver log_driver;
        char *log_path;       /* CONTAINER_LOG_FILE */
        uint64_t log_max_bytes; /* rotated to <log_path>.1 beyond this */
        bool log_created;     /* the container's first start: log the "created" event */

        bool wait_network;    /* the network handshake above (needs CONTAINER_NS_NET) */
        /* Files init writes into the container's /etc after pivot_root, replacing what the
         * image has there (a symlink is replaced, not followed): name, content, name,
         * content, ..., NULL. Names: "hostname", "hosts", "resolv.conf". */
        char **etc_files;
} ContainerSpec;

/* Whether name may appear in etc_files. */
bool container_etc_file_is_valid(const char *name);

ContainerSpec *container_spec_free(ContainerSpec *spec);
DEFINE_TRIVIAL_CLEANUP_FUNC(ContainerSpec *, container_spec_free);

/* Docker's default capability set, NULL-terminated. */
extern const char *const container_default_capabilities[];

/* Writes spec to path atomically (temporary file + rename), mode 0600. */
int container_spec_save(const ContainerSpec *spec, const char *path);
/* Reads and validates a spec; -EINVAL (with a logged reason) for anything malformed. */
int container_spec_load(const char *path, ContainerSpec **ret);

/* What the monitor leaves in exit.json. */
typedef struct ContainerExit {
        bool started;        /* the command was exec()ed */
        int exit_code;       /* valid when exit_signal == 0; after a setup failure 125, or
                              * 127/126 when argv[0] was not found/not executable */
        int exit_signal;     /* the signal that killed the command, 0 if it exited */
        bool oom_killed;     /* the cgroup's oom_kill counter rose while it ran */
        uint64_t started_usec;
        uint64_t exited_usec;
        char *error;         /* setup failure (the "failed" report), or NULL */
} ContainerExit;

void container_exit_done(ContainerExit *e);
int container_exit_save(const ContainerExit *e, const char *path); /* atomic */
int container_exit_load(const char *path, ContainerExit *ret);      /* -ENOENT if absent */
