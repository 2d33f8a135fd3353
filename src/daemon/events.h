/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The event log: what happened to containers, stored (store-events.c, the last
 * EVENTS_KEEP events) and delivered to live subscribers (StreamEvents), in order, each
 * once. An event is stored before it is delivered, and both happen on the sd-event thread
 * in one go, so a subscriber that reads the store up to its newest cursor and then takes
 * live events from there misses nothing and sees nothing twice.
 *
 * Types and their attributes (all values are strings):
 *   created       image
 *   started       pid
 *   died          state (exited|failed), exit_code, signal (0 or the number), signal_name
 *                 (when signal), oom_killed (true|false), error (when failed)
 *   stopped       (a StopContainer ended it; comes after its died)
 *   killed        signal, signal_name (a KillContainer delivered the signal)
 *   removed
 *   exec_started  pid (in the container), command (argv[0]), detached (true|false)
 *   exec_died     pid, command, exit_code, signal (0 or the number), signal_name (when
 *                 signal), timed_out (true|false); not for detached commands, whose end
 *                 quiltd does not see, nor for commands that never started */

#include <stdbool.h>
#include <stdint.h>

#include "store-events.h"

typedef struct Manager Manager;
typedef struct Events Events;
typedef struct EventSubscription EventSubscription;

#define EVENTS_KEEP 10000U

#define EVENT_CREATED      "created"
#define EVENT_STARTED      "started"
#define EVENT_DIED         "died"
#define EVENT_STOPPED      "stopped"
#define EVENT_KILLED       "killed"
#define EVENT_REMOVED      "removed"
#define EVENT_EXEC_STARTED "exec_started"
#define EVENT_EXEC_DIED    "exec_died"
#define EVENT_TYPES_LIST   "created, started, died, stopped, killed, removed, exec_started, exec_died"

/* Whether type is one of the above (filters refuse others). */
bool event_type_known(const char *type);

int events_new(Manager *m, Events **ret);
/* Subscriptions must be gone by then. */
Events *events_free(Events *e);

/* Stores an event and delivers it to the subscribers. container_id and container_name may
 * be NULL; attributes is key, value, key, value, ..., NULL (or NULL), copied. Returns 0 or
 * a negative errno (logged; the event is then lost, which must not fail the operation
 * that it tells of). */
int manager_event_emit(Manager *m, const char *type, const char *container_id, const char *container_name,
                       char **attributes);

/* For an emitter that stores the event inside its own transaction (so that the event and
 * the state change it tells of are recorded together, or neither): manager_event_append()
 * within the transaction, then manager_event_deliver() once it is committed. *ret borrows
 * type, container_id, container_name and attributes, which must stay valid until then;
 * its cursor stays 0 when storing failed (logged), and delivering it then does nothing. */
int manager_event_append(Manager *m, const char *type, const char *container_id, const char *container_name,
                         char **attributes, StoredEvent *ret);
void manager_event_deliver(Manager *m, const StoredEvent *event);
void events_deliver(Events *e, const StoredEvent *event);

/* Live delivery: callback runs for each event after it was stored, until the
 * subscription is freed. A callback may free subscriptions, its own too. */
typedef void (*EventCallback)(const StoredEvent *event, void *userdata);
int events_subscribe(Events *e, EventCallback callback, void *userdata, EventSubscription **ret);
EventSubscription *event_subscription_free(EventSubscription *s);
/* How many there are (GetSystemInfo reports it); 0 for NULL. */
unsigned events_count_subscriptions(Events *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(EventSubscription *, event_subscription_free);
