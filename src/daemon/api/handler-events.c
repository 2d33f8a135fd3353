/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* StreamEvents: the stored events after the client's cursor, then live ones.
 *
 * No gap, no duplicate: events are stored before they are delivered, on this thread, so
 * the stream reads the store up to its newest event and from then on takes live events,
 * remembering the last cursor it has looked at and skipping anything at or below it.
 * The store is also the buffer for a slow client: when the call's send queue is over its
 * high mark, live events are left in the store, and once the queue has drained the stream
 * catches up from there. Memory stays bounded; only a client that falls behind by more
 * than the events kept (EVENTS_KEEP) loses its place, and is told so (OUT_OF_RANGE). */

#include <inttypes.h>

#include "api-handlers.h"
#include "events.h"
#include "handler-container-util.h"
#include "log.h"
#include "manager.h"
#include "proto-map.h"
#include "quilt.pb-c.h"
#include "store.h"
#include "strv.h"

/* Events read from the store per query while catching up. */
#define EVENTS_PAGE 256

typedef struct EventStream {
        ApiCall *call;
        EventSubscription *subscription;
        char **ids;       /* containers the filter resolved to */
        char **refs;      /* filter entries that name no existing container (removed ones) */
        char **types;
        bool filter_containers;
        uint64_t last;    /* every event up to this cursor has been looked at */
        uint64_t until;   /* until_now: the newest cursor to send; 0: follow */
        bool catching_up; /* reading the store; live events wait there */
} EventStream;

static void event_stream_free(EventStream *st) {
        if (!st)
                return;
        if (st->call)
                st->call->handler_data = NULL;
        event_subscription_free(st->subscription);
        strv_free(st->ids);
        strv_free(st->refs);
        strv_free(st->types);
        free(st);
}

static bool strv_contains(char *const *l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

static bool event_stream_matches(const EventStream *st, const StoredEvent *e) {
        if (st->types && !strv_contains(st->types, e->type))
                return false;
        if (!st->filter_containers)
                return true;
        if (e->container_id && strv_contains(st->ids, e->container_id))
                return true;
        for (char **r = st->refs; r && *r; r++)
                if ((e->container_id && startswith(e->container_id, *r)) ||
                    (e->container_name && streq(e->container_name, *r)))
                        return true;
        return false;
}

static Quilt__ContainerEvent *event_to_proto(const StoredEvent *e) {
        Quilt__ContainerEvent *m;

        m = new0(Quilt__ContainerEvent, 1);
        if (!m)
                return NULL;
        quilt__container_event__init(m);
        m->event_type = strdup(e->type);
        m->container_id = strdup(strempty(e->container_id));
        m->container_name = strdup(strempty(e->container_name));
        m->timestamp = e->time_usec / USEC_PER_MSEC;
        m->time_usec = e->time_usec;
        m->cursor = e->cursor;
        if (!m->event_type || !m->container_id || !m->container_name)
                goto fail;
        for (char **a = e->attributes; a && a[0] && a[1]; a += 2)
                if (proto_map_put((void ***) &m->attributes, &m->n_attributes,
                                  &quilt__container_event__attributes_entry__descriptor, a[0], a[1]) < 0)
                        goto fail;
        return m;

fail:
        protobuf_c_message_free_unpacked(&m->base, NULL);
        return NULL;
}

/* Sends e if it matches; 0, or < 0 when the stream cannot go on (-ECANCELED: the client
 * is gone, on_cancel follows; else failed here already). */
static int event_stream_send(EventStream *st, const StoredEvent *e) {
        Quilt__ContainerEvent *m;
        int r;

        if (!event_stream_matches(st, e))
                return 0;

        m = event_to_proto(e);
        if (!m)
                r = -ENOMEM;
        else
                r = api_call_send(st->call, &m->base);
        if (r < 0 && r != -ECANCELED) {
                ApiCall *call = st->call;

                event_stream_free(st);
                api_call_fail_errno(call, r, "failed to send an event: %m");
        }
        return r;
}

static void event_stream_finish(EventStream *st) {
        ApiCall *call = st->call;

        event_stream_free(st);
        api_call_reply(call, NULL);
}

/* Reads the store from st->last on, while the client takes what is sent. */
static void event_stream_catch_up(EventStream *st) {
        Store *store = st->call->manager->store;
        int r;

        while (api_call_queued_bytes(st->call) < API_CALL_QUEUE_HIGH) {
                StoredEvent *events = NULL;
                uint64_t oldest = 0;
                size_t n = 0;

                r = store_event_bounds(store, &oldest, NULL);
                if (r >= 0 && oldest > st->last + 1) {
                        ApiCall *call = st->call;
                        uint64_t last = st->last;

                        event_stream_free(st);
                        api_call_fail(call, QUILT_STATUS_OUT_OF_RANGE,
                                      "the events after cursor %" PRIu64 " are no longer kept (the oldest is %" PRIu64
                                      "); the client fell behind by more than %u events",
                                      last, oldest, EVENTS_KEEP);
                        return;
                }
                if (r >= 0)
                        r = store_event_list(store, st->last, st->until, EVENTS_PAGE, &events, &n);
                if (r < 0) {
                        ApiCall *call = st->call;

                        event_stream_free(st);
                        api_call_fail_errno(call, r, "failed to read stored events: %m");
                        return;
                }

                if (n == 0) {
                        /* Caught up: from here on live events come straight through. */
                        st->catching_up = false;
                        if (st->until > 0 || !st->subscription)
                                event_stream_finish(st);
                        return;
                }

                for (size_t i = 0; i < n; i++) {
                        st->last = events[i].cursor;
                        if (event_stream_send(st, &events[i]) < 0) {
                                stored_event_array_free(events, n);
                                return;
                        }
                }
                stored_event_array_free(events, n);
        }
        /* Over the high mark: on_drained goes on. */
}

static void on_live_event(const StoredEvent *e, void *userdata) {
        EventStream *st = userdata;

        if (st->catching_up || e->cursor <= st->last)
                return;
        if (api_call_queued_bytes(st->call) >= API_CALL_QUEUE_HIGH) {
                /* Leave it (and what follows) in the store until the client has room. */
                st->catching_up = true;
                return;
        }
        st->last = e->cursor;
        (void) event_stream_send(st, e);
}

static void on_drained(ApiCall *call) {
        EventStream *st = call->handler_data;

        if (st && st->catching_up)
                event_stream_catch_up(st);
}

static void on_cancel(ApiCall *call) {
        event_stream_free(call->handler_data);
        api_call_fail(call, QUILT_STATUS_CANCELLED, "the client went away");
}

/* Resolves the container filter: existing containers by id, prefix or name; a reference
 * to nothing that exists is kept as is, to match the events of removed containers. */
static int event_stream_resolve(EventStream *st, Manager *m, char **refs, size_t n) {
        size_t n_ids = 0, n_refs = 0;

        st->filter_containers = n > 0;
        st->ids = new0(char *, n + 1);
        st->refs = new0(char *, n + 1);
        if (!st->ids || !st->refs)
                return api_call_fail_errno(st->call, -ENOMEM, "out of memory");

        for (size_t i = 0; i < n; i++) {
                char *id = NULL;
                int r;

                if (isempty(refs[i]))
                        return api_call_fail(st->call, QUILT_STATUS_INVALID_ARGUMENT,
                                             "empty container in the event filter");
                r = store_container_resolve(m->store, refs[i], &id);
                if (r == -ENOTUNIQ)
                        return api_call_fail(st->call, QUILT_STATUS_INVALID_ARGUMENT,
                                             "'%s' matches more than one container id; give more of the id",
                                             refs[i]);
                if (r == -ENOENT) {
                        st->refs[n_refs] = strdup(refs[i]);
                        if (!st->refs[n_refs++])
                                return api_call_fail_errno(st->call, -ENOMEM, "out of memory");
                        continue;
                }
                if (r < 0)
                        return api_call_fail_errno(st->call, r, "failed to look up container '%s': %m", refs[i]);
                st->ids[n_ids++] = id;
        }
        return 0;
}

int api_stream_events(Manager *m, ApiCall *call) {
        const Quilt__StreamEventsRequest *req = (const Quilt__StreamEventsRequest *) call->request;
        bool since = req->since_present_case == QUILT__STREAM_EVENTS_REQUEST__SINCE_PRESENT_SINCE;
        uint64_t oldest = 0, newest = 0;
        EventStream *st;
        int r;

        for (size_t i = 0; i < req->n_event_types; i++)
                if (!event_type_known(req->event_types[i]))
                        return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                             "unknown event type '%s' (known: %s)", req->event_types[i],
                                             EVENT_TYPES_LIST);

        r = store_event_bounds(m->store, &oldest, &newest);
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to read the event log: %m");
        if (since && req->since > newest)
                return api_call_fail(call, QUILT_STATUS_OUT_OF_RANGE,
                                     "cursor %" PRIu64 " is ahead of the newest event %" PRIu64
                                     " (is it from another quiltd's database?)",
                                     req->since, newest);
        if (since && req->since > 0 && req->since < newest && (oldest == 0 || oldest > req->since + 1))
                return api_call_fail(call, QUILT_STATUS_OUT_OF_RANGE,
                                     "the events after cursor %" PRIu64 " are no longer kept (the oldest is %" PRIu64
                                     "); resume from 0 for all that are kept",
                                     req->since, oldest);

        st = new0(EventStream, 1);
        if (!st)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        st->call = call;
        call->handler_data = st;

        if (req->n_event_types > 0) {
                st->types = strv_copy_n(req->event_types, req->n_event_types);
                if (!st->types) {
                        event_stream_free(st);
                        return api_call_fail_errno(call, -ENOMEM, "out of memory");
                }
        }
        if (event_stream_resolve(st, m, req->container_ids, req->n_container_ids) < 0) {
                call->handler_data = NULL; /* answered: st is ours to free */
                st->call = NULL;
                event_stream_free(st);
                return 0;
        }

        st->last = since ? req->since : newest;
        st->until = req->until_now ? newest : 0;
        st->catching_up = true;

        if (!req->until_now) {
                r = events_subscribe(m->events, on_live_event, st, &st->subscription);
                if (r < 0) {
                        event_stream_free(st);
                        return api_call_fail_errno(call, r, "failed to subscribe to events: %m");
                }
        }
        call->on_cancel = on_cancel;
        call->on_drained = on_drained;

        /* Live only: nothing stored to read, but the same path finds that out. An until_now
         * stream without since has nothing to send and ends here. */
        if (!since && req->until_now) {
                event_stream_finish(st);
                return 0;
        }
        event_stream_catch_up(st);
        return 0;
}
