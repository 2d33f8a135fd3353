/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Container rows: what exists. The kernel is the truth for what runs; runtime.c keeps the
 * two in step. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "container-spec.h"
#include "macro.h"

typedef struct Store Store;

typedef enum ContainerState {
        CONTAINER_PENDING,
        CONTAINER_RUNNING,
        CONTAINER_EXITED,
        CONTAINER_FAILED,
        _CONTAINER_STATE_MAX,
        _CONTAINER_STATE_INVALID = -EINVAL,
} ContainerState;

const char *container_state_to_string(ContainerState s); /* "pending", ... */
ContainerState container_state_from_string(const char *s);

/* How a container is networked (the containers.network column, CreateContainerRequest's
 * network field). */
typedef enum ContainerNetwork {
        CONTAINER_NETWORK_QUILT, /* own namespace, a veth on the bridge, an address (default) */
        CONTAINER_NETWORK_NONE,  /* own namespace, loopback only */
        CONTAINER_NETWORK_HOST,  /* the host's namespace ("network" in host_namespaces) */
        _CONTAINER_NETWORK_MAX,
        _CONTAINER_NETWORK_INVALID = -EINVAL,
} ContainerNetwork;

const char *container_network_to_string(ContainerNetwork n); /* "quilt", "none", "host" */
ContainerNetwork container_network_from_string(const char *s);

typedef struct ContainerRecord {
        char *id;
        char *name;
        char *image;           /* the image name, or a directory path */
        char *image_rootfs;    /* the resolved lower layer */
        char **command;        /* argv; may be empty (async containers) */
        char **environment;    /* "KEY=VALUE" as given by the user */
        char **labels;         /* key, value, key, value, ... */
        char *working_directory;
        char *user;
        char **host_namespaces; /* "pid", "uts", ... shared with the host */
        ContainerNetwork network;

        ContainerState state;
        int exit_code;
        int exit_signal;
        bool oom_killed;
        char *error_message;

        pid_t pid;             /* the container's init, while running */
        pid_t monitor_pid;
        uint64_t monitor_start_time; /* clock ticks since boot, see pid_get_start_time() */

        uint64_t memory_limit_bytes;
        double cpu_quota_percent;
        int64_t pids_limit;
        bool async_mode;
        bool ephemeral;
        char *rootfs_path;

        uint64_t created_usec;
        uint64_t started_usec;
        uint64_t exited_usec;

        ContainerLogDriver log_driver; /* where its output goes; fixed at create */
} ContainerRecord;

void container_record_done(ContainerRecord *c);
void container_record_array_free(ContainerRecord *a, size_t n);

/* -EEXIST when the id or the name is taken. */
int store_container_insert(Store *s, const ContainerRecord *c);
/* -ENOENT if there is no such id. */
int store_container_get(Store *s, const char *id, ContainerRecord *ret);
/* What users type: a full id, a name, or a unique id prefix, in that order. -ENOENT if
 * nothing matches, -ENOTUNIQ if a prefix matches several. */
int store_container_resolve(Store *s, const char *ref, char **ret_id);
/* state < 0: every state. Ordered by creation. */
int store_container_list(Store *s, ContainerState state, ContainerRecord **ret, size_t *ret_n);
int store_container_delete(Store *s, const char *id);

/* State transitions. Each changes exactly one row or returns -ENOENT. */
int store_container_set_pending(Store *s, const char *id); /* (re)start: clears the last exit */
int store_container_set_monitor(Store *s, const char *id, pid_t monitor_pid, uint64_t monitor_start_time);
int store_container_set_running(Store *s, const char *id, pid_t pid, uint64_t started_usec);
int store_container_set_exited(Store *s, const char *id, ContainerState state, int exit_code, int exit_signal,
                               bool oom_killed, const char *error_message, uint64_t exited_usec);
