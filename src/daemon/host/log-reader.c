/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <string.h>

#include "log-reader-internal.h"

bool log_filter_match(const LogFilter *f, const ContainerLogRecord *rec) {
        if (f->streams != 0 && !(f->streams & (1U << rec->stream)))
                return false;
        if (f->since_usec > 0 && rec->usec < f->since_usec)
                return false;
        if (f->until_usec > 0 && rec->usec >= f->until_usec)
                return false;
        return true;
}

int log_reader_open(ContainerLogDriver driver, const char *id, const char *state_dir, const LogFilter *filter,
                    LogReader **ret) {
        if (driver == CONTAINER_LOG_JOURNAL)
                return log_reader_open_journal(id, filter, ret);
        return log_reader_open_file(state_dir, filter, ret);
}

LogReader *log_reader_free(LogReader *r) {
        if (!r)
                return NULL;
        r->vtable->free(r);
        return NULL;
}

typedef struct ReadContext {
        LogReader *reader;
        LogReaderCallback callback;
        void *userdata;
        size_t passed;
        bool done;
} ReadContext;

static int read_one(const ContainerLogRecord *rec, void *userdata) {
        ReadContext *ctx = userdata;
        LogReader *r = ctx->reader;

        if (rec->stream == CONTAINER_LOG_SYSTEM && rec->event && rec->usec >= r->last_terminal_usec) {
                char event[33];

                (void) snprintf(event, sizeof event, "%.*s", (int) MIN(rec->event_len, (size_t) 32), rec->event);
                if (container_event_is_terminal(event))
                        r->last_terminal_usec = rec->usec;
        }

        /* Entries come in time order (near enough: the monitor stamps them as it writes), so
         * the first one at or after until_usec ends the read. */
        if (r->filter.until_usec > 0 && rec->usec >= r->filter.until_usec) {
                ctx->done = true;
                return 1;
        }
        if (!log_filter_match(&r->filter, rec))
                return 0;
        ctx->passed++;
        return ctx->callback(rec, ctx->userdata);
}

int log_reader_read(LogReader *r, size_t max_entries, LogReaderCallback callback, void *userdata) {
        ReadContext ctx = { .reader = r, .callback = callback, .userdata = userdata };
        size_t budget = max_entries;
        int k;

        k = r->vtable->read(r, &budget, read_one, &ctx);
        if (k < 0)
                return k;
        if (ctx.done)
                return LOG_READER_DONE;
        return k;
}

int log_reader_watch(LogReader *r, sd_event *event, void (*on_change)(LogReader *r, void *userdata),
                     void *userdata) {
        r->on_change = on_change;
        r->on_change_userdata = userdata;
        return r->vtable->watch(r, event);
}

void log_reader_changed(LogReader *r) {
        if (r->on_change)
                r->on_change(r, r->on_change_userdata);
}

uint64_t log_reader_last_terminal_usec(LogReader *r) {
        return r->last_terminal_usec;
}
