/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* GetContainerLogs and StreamContainerLogs: a container's output and lifecycle messages,
 * read back with a LogReader (host/log-reader.h) from where its log driver put them.
 *
 * A LogSession pumps the reader from a defer event source, a bounded number of entries per
 * loop iteration, so that a big log never holds up the loop. GetContainerLogs collects the
 * entries into one reply (at most REPLY_MAX bytes of text, the newest kept);
 * StreamContainerLogs sends what each iteration read as one chunk (a GetContainerLogsResponse
 * of at most about CHUNK_MAX) and, with follow, waits for more until the container has
 * exited and its output is drained:
 *   - the file driver: the monitor writes synchronously, so once it has exited, the end of
 *     the file is the end of the output;
 *   - the journal driver: journald stores entries a moment after the monitor sent them, so
 *     the end is the run's "exited"/"failed" entry, or JOURNAL_GRACE_USEC after the exit
 *     when there is none (a monitor that was killed). A GetContainerLogs right after an
 *     exit waits for that entry the same way, so that "quilt run" prints the last lines. */

#include <string.h>

#include "api-handlers.h"
#include "container-log.h"
#include "handler-container-util.h"
#include "log-reader.h"
#include "log.h"
#include "manager.h"
#include "quilt.pb-c.h"
#include "runtime.h"
#include "time-util.h"
#include "utf8.h"

/* Entries read per loop iteration. */
#define PUMP_BUDGET 256
/* GetContainerLogs keeps its reply under the transports' 16 MiB message limit. */
#define REPLY_MAX (8U * 1024U * 1024U)
/* StreamContainerLogs sends what it read in chunks of about this size: a message per entry
 * would cost a transport round trip per line. */
#define CHUNK_MAX (64U * 1024U)
#define JOURNAL_GRACE_USEC (2 * USEC_PER_SEC)

typedef struct LogSession {
        Manager *manager;
        ApiCall *call;
        char *id;
        ContainerLogDriver driver;
        LogReader *reader;
        bool follow;

        sd_event_source *pump;
        sd_event_source *grace_timer;
        sd_event_source *until_timer;

        bool streaming;    /* StreamContainerLogs: entries are sent as they are read */
        bool throttled;    /* the client's queue is full: wait for on_drained */
        bool waiting_exit; /* registered with runtime_wait() */
        bool exited;       /* the container does not run (any more) */
        bool grace_over;   /* stop waiting for the journal to catch up */
        bool until_passed;
        uint64_t run_since; /* the run's end is a terminal entry at or after this */

        /* GetContainerLogs: the reply being built; entries [first, n_logs) are kept.
         * StreamContainerLogs: the chunk being built (first is 0). */
        Quilt__GetContainerLogsResponse *reply;
        size_t allocated, first;
        uint64_t reply_bytes;
} LogSession;

static void on_container_exit(int error, const char *message, void *userdata);

static LogSession *log_session_free(LogSession *s) {
        if (!s)
                return NULL;
        if (s->waiting_exit)
                (void) runtime_unwait(s->manager->runtime, s->id, on_container_exit, s);
        sd_event_source_disable_unref(s->pump);
        sd_event_source_disable_unref(s->grace_timer);
        sd_event_source_disable_unref(s->until_timer);
        log_reader_free(s->reader);
        if (s->reply) {
                /* Entries before first were dropped already. */
                for (size_t i = s->first; i < s->reply->n_logs; i++)
                        protobuf_c_message_free_unpacked(&s->reply->logs[i]->base, NULL);
                s->reply->n_logs = 0;
                protobuf_c_message_free_unpacked(&s->reply->base, NULL);
        }
        free(s->id);
        return mfree(s);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(LogSession *, log_session_free);

/* Answers the call and frees the session. */
static void log_session_finish(LogSession *s, int error) {
        ApiCall *call = TAKE_PTR(s->call);

        call->handler_data = NULL;
        call->on_cancel = NULL;
        call->on_drained = NULL;
        if (error < 0) {
                (void) api_call_fail_errno(call, error, "failed to read the log of container %s: %m", s->id);
        } else if (s->reply && !s->streaming) {
                Quilt__GetContainerLogsResponse *reply = TAKE_PTR(s->reply);

                /* Close the gap left by dropped entries. */
                memmove(reply->logs, reply->logs + s->first, (reply->n_logs - s->first) * sizeof *reply->logs);
                reply->n_logs -= s->first;
                api_call_reply(call, &reply->base);
        } else
                api_call_reply(call, NULL);
        log_session_free(s);
}

/* The client went away: stop reading, and answer so that the call is freed. */
static void on_call_cancel(ApiCall *call) {
        LogSession *s = call->handler_data;

        call->handler_data = NULL;
        s->call = NULL;
        log_session_free(s);
        (void) api_call_fail(call, QUILT_STATUS_CANCELLED, "the client went away");
}

/* ---- entries ------------------------------------------------------------------------------ */

static Quilt__LogEntry *entry_from_record(const ContainerLogRecord *rec) {
        _cleanup_proto_ ProtobufCMessage *owned = NULL;
        Quilt__LogEntry *e;

        e = new0(Quilt__LogEntry, 1);
        if (!e)
                return NULL;
        quilt__log_entry__init(e);
        owned = &e->base;

        e->timestamp = rec->usec / USEC_PER_MSEC;
        e->timestamp_usec = rec->usec;
        e->partial = rec->partial;
        if (!(e->stream = strdup(container_log_stream_to_string(rec->stream))) ||
            !(e->event = rec->event ? strndup(rec->event, rec->event_len) : strdup("")))
                return NULL;

        /* Protobuf strings are UTF-8 (grpc clients refuse anything else) and C strings end
         * at NUL: a line that is not clean text also comes as raw bytes. */
        if (utf8_is_clean(rec->text, rec->text_len))
                e->message = strndup(rec->text, rec->text_len);
        else {
                e->message = utf8_make_clean(rec->text, rec->text_len);
                e->raw.data = malloc(MAX(rec->text_len, (size_t) 1));
                if (!e->raw.data)
                        return NULL;
                memcpy(e->raw.data, rec->text, rec->text_len);
                e->raw.len = rec->text_len;
        }
        if (!e->message)
                return NULL;

        TAKE_PTR(owned);
        return e;
}

static int reply_new(LogSession *s) {
        s->reply = new0(Quilt__GetContainerLogsResponse, 1);
        if (!s->reply)
                return -ENOMEM;
        quilt__get_container_logs_response__init(s->reply);
        s->allocated = s->first = 0;
        s->reply_bytes = 0;
        s->reply->container_id = strdup(s->id);
        return s->reply->container_id ? 0 : -ENOMEM;
}

/* GetContainerLogs: keeps the newest entries within REPLY_MAX. StreamContainerLogs: the
 * chunk just grows, and is sent when it is full and at the end of each read. */
static int reply_append(LogSession *s, Quilt__LogEntry *e) {
        Quilt__GetContainerLogsResponse *reply = s->reply;
        uint64_t size = strlen(e->message) + e->raw.len + 64;

        if (reply->n_logs == s->allocated) {
                size_t n = reply->n_logs - s->first;
                Quilt__LogEntry **logs;

                /* Reuse the room of dropped entries before growing. */
                if (s->first > 0 && s->first >= n) {
                        memmove(reply->logs, reply->logs + s->first, n * sizeof *reply->logs);
                        reply->n_logs = n;
                        s->first = 0;
                } else {
                        size_t allocated = MAX(s->allocated * 2, (size_t) 64);

                        logs = realloc(reply->logs, allocated * sizeof *logs);
                        if (!logs) {
                                protobuf_c_message_free_unpacked(&e->base, NULL);
                                return -ENOMEM;
                        }
                        reply->logs = logs;
                        s->allocated = allocated;
                }
        }
        reply->logs[reply->n_logs++] = e;
        s->reply_bytes += size;

        while (!s->streaming && s->reply_bytes > REPLY_MAX && s->first < reply->n_logs - 1) {
                Quilt__LogEntry *old = reply->logs[s->first++];

                s->reply_bytes -= strlen(old->message) + old->raw.len + 64;
                protobuf_c_message_free_unpacked(&old->base, NULL);
                reply->truncated = true;
        }
        return 0;
}

/* StreamContainerLogs: sends the chunk, if it has entries. */
static int chunk_flush(LogSession *s) {
        int r;

        if (!s->reply || s->reply->n_logs == 0)
                return 0;
        r = api_call_send(s->call, &TAKE_PTR(s->reply)->base);
        if (r < 0)
                return r;
        /* Backpressure: no more reading while the client has a full queue to take. */
        if (api_call_queued_bytes(s->call) >= API_CALL_QUEUE_HIGH)
                s->throttled = true;
        return 0;
}

static int on_record(const ContainerLogRecord *rec, void *userdata) {
        LogSession *s = userdata;
        Quilt__LogEntry *e;
        int r;

        if (!s->reply) {
                r = reply_new(s);
                if (r < 0)
                        return r;
        }
        e = entry_from_record(rec);
        if (!e)
                return -ENOMEM;
        r = reply_append(s, e);
        if (r < 0 || !s->streaming || s->reply_bytes < CHUNK_MAX)
                return r;

        r = chunk_flush(s);
        if (r < 0)
                return r;
        return s->throttled ? 1 : 0;
}

/* ---- the pump ------------------------------------------------------------------------------ */

static void log_session_wake(LogSession *s) {
        (void) sd_event_source_set_enabled(s->pump, SD_EVENT_ONESHOT);
}

/* At the end of what is written: is this the end of the output? */
static bool log_session_drained(LogSession *s) {
        if (s->until_passed)
                return true;
        if (!s->exited)
                return !s->follow;
        /* The monitor has exited. A file is complete then; the journal once it has the
         * run's last entry, or when it has had time enough. */
        if (s->driver == CONTAINER_LOG_FILE || s->grace_over)
                return true;
        return log_reader_last_terminal_usec(s->reader) >= MAX(s->run_since, (uint64_t) 1);
}

static int on_pump(sd_event_source *source, void *userdata) {
        LogSession *s = userdata;
        int r;

        if (s->throttled)
                return 0; /* on_drained wakes us */

        r = log_reader_read(s->reader, PUMP_BUDGET, on_record, s);
        if (r >= 0 && s->streaming) {
                /* What was read goes out now, not when the chunk happens to fill. */
                int k = chunk_flush(s);
                if (k < 0)
                        r = k;
        }
        if (r == -ECANCELED)
                return 0; /* the client is gone: on_cancel ends the session */
        if (r < 0) {
                log_session_finish(s, r);
                return 0;
        }
        switch (r) {
        case LOG_READER_MORE:
                if (!s->throttled)
                        log_session_wake(s);
                break;
        case LOG_READER_DONE:
                log_session_finish(s, 0);
                break;
        default:
                /* Idle: done, or wait for the reader, the exit or a timer to wake us. */
                if (log_session_drained(s))
                        log_session_finish(s, 0);
        }
        return 0;
}

static void on_reader_change(LogReader *r, void *userdata) {
        log_session_wake(userdata);
}

static void on_call_drained(ApiCall *call) {
        LogSession *s = call->handler_data;

        s->throttled = false;
        log_session_wake(s);
}

static int on_grace(sd_event_source *source, uint64_t usec, void *userdata) {
        LogSession *s = userdata;

        s->grace_over = true;
        log_session_wake(s);
        return 0;
}

static int on_until(sd_event_source *source, uint64_t usec, void *userdata) {
        LogSession *s = userdata;

        s->until_passed = true;
        log_session_wake(s);
        return 0;
}

static int log_session_arm_grace(LogSession *s, uint64_t deadline) {
        if (s->driver != CONTAINER_LOG_JOURNAL) {
                s->grace_over = true;
                return 0;
        }
        if (deadline <= now_usec(CLOCK_MONOTONIC)) {
                s->grace_over = true;
                return 0;
        }
        return sd_event_add_time(s->manager->event, &s->grace_timer, CLOCK_MONOTONIC, deadline, USEC_PER_MSEC,
                                 on_grace, s);
}

static void on_container_exit(int error, const char *message, void *userdata) {
        LogSession *s = userdata;

        s->waiting_exit = false;
        s->exited = true;
        if (log_session_arm_grace(s, now_usec(CLOCK_MONOTONIC) + JOURNAL_GRACE_USEC) < 0)
                s->grace_over = true;
        log_session_wake(s);
}

/* ---- the calls ------------------------------------------------------------------------------ */

static int parse_request(ApiCall *call, const Quilt__GetContainerLogsRequest *req, LogFilter *ret) {
        LogFilter f = {
                .since_usec = req->since_usec,
                .until_usec = req->until_usec,
                .tail_set = req->tail_present_case == QUILT__GET_CONTAINER_LOGS_REQUEST__TAIL_PRESENT_TAIL,
                .tail = req->tail,
        };

        for (size_t i = 0; i < req->n_streams; i++) {
                ContainerLogStream st = container_log_stream_from_string(req->streams[i]);

                if (st < 0)
                        return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                             "unknown stream '%s' (expected stdout, stderr or system)",
                                             req->streams[i]);
                f.streams |= 1U << st;
        }
        if (f.since_usec > 0 && f.until_usec > 0 && f.until_usec <= f.since_usec)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "until must be later than since");

        *ret = f;
        return 0;
}

static int log_session_start(Manager *m, ApiCall *call, bool streaming) {
        const Quilt__GetContainerLogsRequest *req = (const Quilt__GetContainerLogsRequest *) call->request;
        _cleanup_(container_record_done) ContainerRecord c = {};
        _cleanup_(log_session_freep) LogSession *s = NULL;
        _cleanup_free_ char *state_dir = NULL;
        LogFilter filter;
        uint64_t now = now_usec(CLOCK_REALTIME);
        bool live;
        int r;

        if (container_lookup(call, req->container_id, req->container_name, &c) < 0)
                return 0;
        if (parse_request(call, req, &filter) < 0)
                return 0;

        s = new0(LogSession, 1);
        if (!s || !(s->id = strdup(c.id)))
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        s->manager = m;
        s->streaming = streaming;
        s->driver = c.log_driver;
        s->follow = streaming && req->follow;
        live = runtime_is_live(m->runtime, c.id);
        s->exited = !live;
        s->run_since = c.state == CONTAINER_RUNNING || !live ? c.started_usec : now;

        /* GetContainerLogs always answers with a reply, be it empty. */
        if (!streaming && reply_new(s) < 0)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");

        r = runtime_state_dir(m->runtime, c.id, &state_dir);
        if (r >= 0)
                r = log_reader_open(c.log_driver, c.id, state_dir, &filter, &s->reader);
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to open the log of container '%s': %m", c.name);

        if (live && s->follow) {
                r = runtime_wait(m->runtime, c.id, on_container_exit, s);
                if (r < 0)
                        return api_call_fail_errno(call, r, "failed to watch container '%s': %m", c.name);
                s->waiting_exit = true;
        } else if (!live && c.log_driver == CONTAINER_LOG_JOURNAL && c.exited_usec + JOURNAL_GRACE_USEC > now) {
                /* It just ended: its last entries may not be in the journal yet. */
                r = log_session_arm_grace(s, now_usec(CLOCK_MONOTONIC) + c.exited_usec + JOURNAL_GRACE_USEC - now);
                if (r < 0)
                        return api_call_fail_errno(call, r, "failed to set up a timer: %m");
        } else
                s->grace_over = true;

        /* Watch before the first read: nothing written in between may go unnoticed. */
        if (s->follow || !s->grace_over) {
                r = log_reader_watch(s->reader, m->event, on_reader_change, s);
                if (r < 0)
                        return api_call_fail_errno(call, r, "failed to watch the log of container '%s': %m", c.name);
        }
        if (s->follow && filter.until_usec > now) {
                r = sd_event_add_time(m->event, &s->until_timer, CLOCK_REALTIME, filter.until_usec, USEC_PER_MSEC,
                                      on_until, s);
                if (r < 0)
                        return api_call_fail_errno(call, r, "failed to set up a timer: %m");
        } else if (filter.until_usec > 0 && filter.until_usec <= now)
                s->until_passed = true;

        r = sd_event_add_defer(m->event, &s->pump, on_pump, s);
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to read the log: %m");
        (void) sd_event_source_set_description(s->pump, "log-session");

        /* From here on the session answers the call. */
        s->call = call;
        call->handler_data = s;
        call->on_cancel = on_call_cancel;
        call->on_drained = on_call_drained;
        TAKE_PTR(s);
        return 0;
}

int api_get_container_logs(Manager *m, ApiCall *call) {
        return log_session_start(m, call, /* streaming= */ false);
}

int api_stream_container_logs(Manager *m, ApiCall *call) {
        return log_session_start(m, call, /* streaming= */ true);
}
