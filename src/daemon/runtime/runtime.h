/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The container lifecycle: turns rows of the containers table into running containers
 * (a quilt-monitor in the container's cgroup, init under it) and back, and keeps the
 * table in step with what really runs, also across quiltd restarts.
 *
 * Every container with a live monitor has a Container object here (runtime-container.c);
 * every other container is only a row. Operations finish through callbacks, because
 * starting and stopping wait for the monitor and the cgroup backend on the event loop.
 * Everything runs on the sd-event thread. */

#include <stdbool.h>
#include <stdint.h>

#include "container-spec.h"
#include "macro.h"
#include "store-containers.h"

typedef struct Manager Manager;
typedef struct Runtime Runtime;

/* error: 0, or a negative errno with a message for the user. For an exit wait, the
 * container's row (reloaded by the caller) has the result. */
typedef void (*RuntimeCallback)(int error, const char *message, void *userdata);

#define RUNTIME_STOP_GRACE_DEFAULT_USEC (10 * USEC_PER_SEC)

int runtime_new(Manager *m, Runtime **ret);
/* Leaves every container running: monitors do not depend on quiltd. */
Runtime *runtime_free(Runtime *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Runtime *, runtime_free);

/* At start-up: adopts the monitors of containers that still run, records the exit of
 * those that ended while quiltd was away, and cleans up after interrupted creates. */
int runtime_reconcile(Runtime *r);

/* Creates a container from a validated record (id, name, image, limits, ...) and its
 * validated mounts (mounts_resolve()): inserts the row and the mounts in one transaction,
 * creating the named volumes that do not exist yet (-EEXIST for a taken name, and then
 * nothing is left), and starts it. callback runs once the command runs, or with the reason
 * it could not start. When remove_on_failure is set, a container that fails to start is
 * removed again (a synchronous create leaves nothing behind but the volumes it created:
 * volumes are only ever removed explicitly); otherwise it stays FAILED with the reason
 * (--async-mode). */
int runtime_create(Runtime *r, const ContainerRecord *record, const ContainerMount *mounts, size_t n_mounts,
                   bool remove_on_failure, RuntimeCallback callback, void *userdata);

/* Starts an EXITED or FAILED container again, with its filesystem as it left it and its
 * mounts applied anew (a named volume removed meanwhile is created again, empty). */
int runtime_start(Runtime *r, const char *id, RuntimeCallback callback, void *userdata);

/* SIGTERM to the container's init, SIGKILL to everything in its cgroup after grace_usec
 * (0: at once). callback runs once it has exited; at once if it is not running. */
int runtime_stop(Runtime *r, const char *id, uint64_t grace_usec, RuntimeCallback callback, void *userdata);

/* Sends sig: SIGKILL to every process of the container, any other signal to init, which
 * forwards it to the command. -ESRCH when not running. */
int runtime_kill(Runtime *r, const char *id, int sig);

/* callback runs when the container is not running any more (at once if it is not). */
int runtime_wait(Runtime *r, const char *id, RuntimeCallback callback, void *userdata);
/* Drops a wait that is no longer wanted (its client went away): the waiter registered with
 * this callback and userdata is removed without being called. 0, or -ENOENT when there is
 * none (it has run already). */
int runtime_unwait(Runtime *r, const char *id, RuntimeCallback callback, void *userdata);
/* How many exit waits are pending, over all containers (GetSystemInfo reports it). */
unsigned runtime_count_waiters(Runtime *r);

/* Removes the container: row, directories, cgroup. A running one is refused (-EBUSY)
 * unless force, which kills it first. */
int runtime_remove(Runtime *r, const char *id, bool force, RuntimeCallback callback, void *userdata);

/* Whether a monitor runs for id; its init pid when so. */
bool runtime_is_live(Runtime *r, const char *id);

/* Paths of a container. malloc()ed. */
int runtime_state_dir(Runtime *r, const char *id, char **ret);
int runtime_run_dir(Runtime *r, const char *id, char **ret);

/* An O_PATH fd of a running container's root directory ("/" as the container sees it,
 * its mounts included), for resolving paths inside it with RESOLVE_IN_ROOT. -ESRCH when it
 * is not running, -EBUSY while it starts. */
int runtime_open_root(Runtime *r, const char *id, int *ret_fd);
