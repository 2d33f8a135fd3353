/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>

#include "events.h"
#include "log.h"
#include "manager.h"
#include "strv.h"
#include "time-util.h"

struct EventSubscription {
        Events *events;
        EventCallback callback;
        void *userdata;
        EventSubscription *prev, *next;
};

struct Events {
        Manager *manager;
        EventSubscription *subscriptions;
        EventSubscription *dispatch_next; /* the next to call while delivering */
};

bool event_type_known(const char *type) {
        static const char *const types[] = {
                EVENT_CREATED, EVENT_STARTED, EVENT_DIED,         EVENT_STOPPED,
                EVENT_KILLED,  EVENT_REMOVED, EVENT_EXEC_STARTED, EVENT_EXEC_DIED,
        };

        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (streq(types[i], type))
                        return true;
        return false;
}

int events_new(Manager *m, Events **ret) {
        Events *e;

        e = new0(Events, 1);
        if (!e)
                return -ENOMEM;
        e->manager = m;
        *ret = e;
        return 0;
}

Events *events_free(Events *e) {
        if (!e)
                return NULL;
        /* A subscription left over would point at freed memory; cut it loose. */
        while (e->subscriptions) {
                log_warning("BUG: event subscription left at shutdown.");
                event_subscription_free(e->subscriptions);
        }
        return mfree(e);
}

void events_deliver(Events *e, const StoredEvent *event) {
        /* Subscribers are called oldest first; each may free itself meanwhile. */
        for (EventSubscription *s = e->subscriptions; s; s = e->dispatch_next) {
                e->dispatch_next = s->next;
                s->callback(event, s->userdata);
        }
        e->dispatch_next = NULL;
}

int manager_event_append(Manager *m, const char *type, const char *container_id, const char *container_name,
                         char **attributes, StoredEvent *ret) {
        static char *empty[] = { NULL };
        int r;

        *ret = (StoredEvent) {
                .time_usec = now_usec(CLOCK_REALTIME),
                .type = (char *) type,
                .container_id = (char *) container_id,
                .container_name = (char *) container_name,
                .attributes = attributes ?: empty,
        };

        if (!m->events || !m->store)
                return log_debug_errno(ENXIO, "Event %s of %s before the event log is up, dropped.", type,
                                       container_name ?: "-");

        r = store_event_append(m->store, ret->time_usec, type, container_id, container_name, attributes,
                               EVENTS_KEEP, &ret->cursor);
        if (r < 0) {
                ret->cursor = 0;
                return log_error_errno(r, "Failed to record event %s of container %s: %s", type,
                                       container_name ?: "-", store_errmsg(m->store));
        }
        return 0;
}

void manager_event_deliver(Manager *m, const StoredEvent *event) {
        if (event->cursor == 0 || !m->events)
                return;
        log_debug("Event %" PRIu64 ": %s %s", event->cursor, event->type, event->container_name ?: "-");
        events_deliver(m->events, event);
}

int manager_event_emit(Manager *m, const char *type, const char *container_id, const char *container_name,
                       char **attributes) {
        StoredEvent event;
        int r;

        r = manager_event_append(m, type, container_id, container_name, attributes, &event);
        if (r < 0)
                return r;
        manager_event_deliver(m, &event);
        return 0;
}

int events_subscribe(Events *e, EventCallback callback, void *userdata, EventSubscription **ret) {
        EventSubscription *s, *last;

        s = new0(EventSubscription, 1);
        if (!s)
                return -ENOMEM;
        s->events = e;
        s->callback = callback;
        s->userdata = userdata;

        /* Appended, so that delivery order is subscription order. */
        for (last = e->subscriptions; last && last->next; last = last->next)
                ;
        s->prev = last;
        if (last)
                last->next = s;
        else
                e->subscriptions = s;

        *ret = s;
        return 0;
}

EventSubscription *event_subscription_free(EventSubscription *s) {
        Events *e;

        if (!s)
                return NULL;
        e = s->events;
        if (e->dispatch_next == s)
                e->dispatch_next = s->next;
        if (s->prev)
                s->prev->next = s->next;
        else
                e->subscriptions = s->next;
        if (s->next)
                s->next->prev = s->prev;
        return mfree(s);
}

unsigned events_count_subscriptions(Events *e) {
        unsigned n = 0;

        for (EventSubscription *s = e ? e->subscriptions : NULL; s; s = s->next)
                n++;
        return n;
}
