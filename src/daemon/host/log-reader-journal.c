/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The journal driver's log: the container's entries in the system journal, matched by
 * QUILT_CONTAINER_ID and _UID=0 (the monitor runs as root; an unprivileged sender could put
 * any QUILT_CONTAINER_ID in its own entries). Streams and times are filtered here, not with
 * matches, so that the end of a run ("exited") is seen whatever the filter. */

#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "log-reader-internal.h"
#include "log.h"

typedef enum JournalPhase {
        PHASE_SEEK,    /* position the journal */
        PHASE_TAIL,    /* step back over the last N entries */
        PHASE_FORWARD, /* read on from there */
} JournalPhase;

typedef struct JournalReader {
        LogReader base;
        sd_journal *journal;
        JournalPhase phase;
        uint64_t tail_count;
        sd_event_source *io, *timer;
} JournalReader;

/* The value of field in the current entry: data points after "FIELD=". -ENOENT if absent. */
static int get_field(sd_journal *j, const char *field, const char **ret, size_t *ret_len) {
        size_t flen = strlen(field), len;
        const void *data;
        int r;

        r = sd_journal_get_data(j, field, &data, &len);
        if (r < 0)
                return r;
        if (len < flen + 1)
                return -EBADMSG;
        *ret = (const char *) data + flen + 1;
        *ret_len = len - flen - 1;
        return 0;
}

static bool field_equals(const char *v, size_t n, const char *s) {
        return strlen(s) == n && memcmp(v, s, n) == 0;
}

/* The current entry as a record; -EBADMSG for entries that are not one of ours. The event
 * is copied to event_buf: the next sd_journal_get_data() may unmap what it points to. */
static int current_record(sd_journal *j, char event_buf[static 33], ContainerLogRecord *ret) {
        ContainerLogRecord rec = {};
        const char *v;
        size_t n;
        int r;

        r = sd_journal_get_realtime_usec(j, &rec.usec);
        if (r < 0)
                return r;

        r = get_field(j, CONTAINER_LOG_FIELD_STREAM, &v, &n);
        if (r < 0)
                return r == -ENOENT ? -EBADMSG : r;
        if (field_equals(v, n, "stdout"))
                rec.stream = CONTAINER_LOG_STDOUT;
        else if (field_equals(v, n, "stderr"))
                rec.stream = CONTAINER_LOG_STDERR;
        else if (field_equals(v, n, "system"))
                rec.stream = CONTAINER_LOG_SYSTEM;
        else
                return -EBADMSG;

        if (rec.stream == CONTAINER_LOG_SYSTEM) {
                r = get_field(j, CONTAINER_LOG_FIELD_EVENT, &v, &n);
                if (r < 0 || !container_event_is_valid(v, n))
                        return -EBADMSG;
                memcpy(event_buf, v, n);
                event_buf[n] = 0;
                rec.event = event_buf;
                rec.event_len = n;
        } else if (get_field(j, CONTAINER_LOG_FIELD_PARTIAL, &v, &n) >= 0)
                rec.partial = field_equals(v, n, "true");

        /* Last: each sd_journal_get_data() may invalidate what the previous one returned. */
        r = get_field(j, "MESSAGE", &rec.text, &rec.text_len);
        if (r == -ENOENT) {
                rec.text = "";
                rec.text_len = 0;
        } else if (r < 0)
                return r;

        *ret = rec;
        return 0;
}

static int journal_seek(JournalReader *jr) {
        const LogFilter *f = &jr->base.filter;
        sd_journal *j = jr->journal;
        int r;

        if (f->tail_set) {
                if (f->tail == 0) {
                        /* Only what comes: stand on the last entry, so that next() moves to new
                         * ones. */
                        r = sd_journal_seek_tail(j);
                        if (r >= 0)
                                r = sd_journal_previous(j);
                        jr->phase = PHASE_FORWARD;
                        return r < 0 ? r : 0;
                }
                r = f->until_usec > 0 ? sd_journal_seek_realtime_usec(j, f->until_usec) : sd_journal_seek_tail(j);
                jr->phase = PHASE_TAIL;
        } else if (f->since_usec > 0) {
                r = sd_journal_seek_realtime_usec(j, f->since_usec);
                jr->phase = PHASE_FORWARD;
        } else {
                r = sd_journal_seek_head(j);
                jr->phase = PHASE_FORWARD;
        }
        return r < 0 ? r : 0;
}

/* Steps back until tail entries that pass the filter are behind us. Returns 1 when the
 * position is found, 0 when the budget ran out. */
static int journal_tail(JournalReader *jr, size_t *budget) {
        const LogFilter *f = &jr->base.filter;
        sd_journal *j = jr->journal;
        int r;

        while (*budget > 0) {
                ContainerLogRecord rec;
                char event[33];

                (*budget)--;
                r = sd_journal_previous(j);
                if (r < 0)
                        return r;
                if (r == 0) {
                        /* The head: everything there is. */
                        r = sd_journal_seek_head(j);
                        jr->phase = PHASE_FORWARD;
                        return r < 0 ? r : 1;
                }
                if (current_record(j, event, &rec) < 0)
                        continue;
                if (f->until_usec > 0 && rec.usec >= f->until_usec)
                        continue;
                if (f->since_usec > 0 && rec.usec < f->since_usec) {
                        /* Standing on the last entry that is too old: next() moves past it. */
                        jr->phase = PHASE_FORWARD;
                        return 1;
                }
                if (log_filter_match(f, &rec) && ++jr->tail_count >= f->tail) {
                        _cleanup_free_ char *cursor = NULL;

                        /* Stand just before this entry, so that next() returns it. */
                        r = sd_journal_get_cursor(j, &cursor);
                        if (r >= 0)
                                r = sd_journal_seek_cursor(j, cursor);
                        jr->phase = PHASE_FORWARD;
                        return r < 0 ? r : 1;
                }
        }
        return 0;
}

static int journal_reader_read(LogReader *base, size_t *budget, LogReaderCallback callback, void *userdata) {
        JournalReader *jr = (JournalReader *) base;
        sd_journal *j = jr->journal;
        int r;

        if (jr->phase == PHASE_SEEK) {
                r = journal_seek(jr);
                if (r < 0)
                        return r;
        }
        if (jr->phase == PHASE_TAIL) {
                r = journal_tail(jr, budget);
                if (r <= 0)
                        return r < 0 ? r : LOG_READER_MORE;
        }

        while (*budget > 0) {
                ContainerLogRecord rec;
                char event[33];

                r = sd_journal_next(j);
                if (r < 0)
                        return r;
                if (r == 0)
                        return LOG_READER_IDLE;
                (*budget)--;
                if (current_record(j, event, &rec) < 0)
                        continue;
                r = callback(&rec, userdata);
                if (r != 0)
                        return r < 0 ? r : LOG_READER_MORE;
        }
        return LOG_READER_MORE;
}

/* ---- watching --------------------------------------------------------------------------- */

static int journal_arm_timer(JournalReader *jr);

static void journal_process(JournalReader *jr) {
        int r;

        /* Picks up new and rotated journal files; anything but NOP may mean new entries. */
        r = sd_journal_process(jr->journal);
        if (r < 0)
                log_debug_errno(r, "sd_journal_process() failed: %m");
        if (r != SD_JOURNAL_NOP)
                log_reader_changed(&jr->base);
        (void) journal_arm_timer(jr);
}

static int on_journal_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        journal_process(userdata);
        return 0;
}

static int on_journal_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        journal_process(userdata);
        return 0;
}

/* Some journals (on network file systems) cannot be watched with inotify: then
 * sd_journal_get_timeout() asks to be polled. */
static int journal_arm_timer(JournalReader *jr) {
        uint64_t timeout;
        int r;

        r = sd_journal_get_timeout(jr->journal, &timeout);
        if (r < 0 || timeout == UINT64_MAX)
                return sd_event_source_set_enabled(jr->timer, SD_EVENT_OFF);
        r = sd_event_source_set_time(jr->timer, timeout);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(jr->timer, SD_EVENT_ONESHOT);
}

static int journal_reader_watch(LogReader *base, sd_event *event) {
        JournalReader *jr = (JournalReader *) base;
        int fd, events, r;

        if (jr->io)
                return 0;
        fd = sd_journal_get_fd(jr->journal);
        if (fd < 0)
                return fd;
        events = sd_journal_get_events(jr->journal);
        if (events < 0)
                return events;
        r = sd_event_add_io(event, &jr->io, fd, (uint32_t) events, on_journal_io, jr);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(jr->io, "log-reader-journal");
        r = sd_event_add_time(event, &jr->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_journal_timer, jr);
        if (r < 0)
                return r;
        return journal_arm_timer(jr);
}

static void journal_reader_free(LogReader *base) {
        JournalReader *jr = (JournalReader *) base;

        sd_event_source_disable_unref(jr->io);
        sd_event_source_disable_unref(jr->timer);
        sd_journal_close(jr->journal);
        free(jr);
}

static const LogReaderVTable journal_vtable = {
        .read = journal_reader_read,
        .watch = journal_reader_watch,
        .free = journal_reader_free,
};

int log_reader_open_journal(const char *id, const LogFilter *filter, LogReader **ret) {
        _cleanup_free_ char *match = NULL;
        JournalReader *jr;
        int r;

        jr = new0(JournalReader, 1);
        if (!jr)
                return -ENOMEM;
        jr->base.vtable = &journal_vtable;
        jr->base.filter = *filter;
        _cleanup_(log_reader_freep) LogReader *owned = &jr->base;

        /* The system journal only: the monitor runs as root, and user journals are
         * writable by their users. */
        r = sd_journal_open(&jr->journal, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return log_error_errno(r, "Failed to open the journal: %m");
        /* Whole messages: a line is at most 16 KiB, far below journald's limits. */
        (void) sd_journal_set_data_threshold(jr->journal, 0);

        if (asprintf(&match, CONTAINER_LOG_FIELD_ID "=%s", id) < 0)
                return -ENOMEM;
        r = sd_journal_add_match(jr->journal, match, 0);
        if (r >= 0)
                r = sd_journal_add_match(jr->journal, "_UID=0", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to add journal matches: %m");

        *ret = TAKE_PTR(owned);
        return 0;
}
