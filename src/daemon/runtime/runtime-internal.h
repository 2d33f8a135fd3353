/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private to src/daemon/runtime/: the Runtime and the Container it keeps for every
 * container whose monitor is alive. */

#include <stdbool.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "cgroup-backend.h"
#include "runtime.h"

typedef struct Container Container;

typedef struct Waiter {
        RuntimeCallback callback;
        void *userdata;
        struct Waiter *next;
} Waiter;

struct Container {
        Runtime *runtime;
        char *id;
        char *name;

        ContainerState state;   /* PENDING until the monitor reports "running", then RUNNING */
        bool remove_on_failure; /* a synchronous create: failing to start removes it */
        bool remove_on_exit;    /* --rm, or rm --force waiting for the exit */
        bool stop_requested;    /* a StopContainer is under way: its end is "stopped" too */

        pid_t monitor_pid;
        int monitor_pidfd;
        sd_event_source *monitor_source;

        pid_t init_pid;
        int init_pidfd;

        int control_fd;         /* "go" (and "net-ready") to the monitor; closed once sent */
        int report_fd;          /* the monitor's report ("init <pid>" lines, then the last) */
        bool wait_network;      /* the network handshake of container-spec.h */
        sd_event_source *report_source;
        char report[512];
        size_t report_len;

        char *failure;          /* why it did not start, when known before the monitor exits */
        CgroupAttach *attach;
        sd_event_source *kill_timer;

        Waiter *start_waiters;  /* told when it runs or could not start */
        Waiter *exit_waiters;   /* told when it no longer runs */

        Container *next, *prev;
};

typedef struct ExecSession ExecSession;

struct Runtime {
        Manager *manager;
        sd_event *event;
        Container *containers;
        ExecSession *execs; /* runtime-exec.c */
        char *monitor_path;
};

/* The live container id, or NULL. */
Container *runtime_find(Runtime *r, const char *id);

/* runtime-spawn.c: writes config.json and spawns quilt-monitor for record. The monitor
 * waits on *ret_control_fd for "go" and reports on *ret_report_fd (both O_CLOEXEC, the
 * report end non-blocking). first_run: the container was just created (its log says so). */
int runtime_spawn_monitor(Runtime *r, const ContainerRecord *record, bool first_run, pid_t *ret_pid,
                          int *ret_control_fd, int *ret_report_fd);

/* runtime-spawn.c: posix_spawn()s path with a clean environment, in a session of its own,
 * with exactly the fds given: fds[i] becomes fd i (-EBADF: /dev/null for 0-2, closed
 * otherwise); every other fd is closed. */
int runtime_spawn(const char *path, char *const argv[], const int *fds, size_t n_fds, pid_t *ret_pid);

/* runtime-spawn.c: removes the container's directories. */
int runtime_remove_directories(Runtime *r, const char *id);
