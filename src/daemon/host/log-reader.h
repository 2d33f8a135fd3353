/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading a container's log back: its container.log(.1) files or its journal entries
 * (formats in container-log.h), filtered, from the start, from a time or the last N
 * entries, and then following what is written next.
 *
 * Work is bounded per call: log_reader_read() examines a limited number of entries and
 * bytes and says whether there is more right now, so that a big log never holds up the
 * event loop; the caller calls again from the next iteration. Tail reads from the end
 * (backwards through the file, sd_journal_previous()), never from the start.
 *
 * Everything runs on the sd-event thread. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "container-log.h"
#include "container-spec.h"
#include "macro.h"

typedef struct LogReader LogReader;

typedef struct LogFilter {
        uint64_t since_usec; /* only entries at or after it; 0: from the start */
        uint64_t until_usec; /* only entries before it; 0: no end */
        unsigned streams;    /* 1 << ContainerLogStream for each stream wanted; 0: all */
        bool tail_set;
        uint64_t tail;       /* with tail_set: only the last N entries that pass the rest */
} LogFilter;

bool log_filter_match(const LogFilter *f, const ContainerLogRecord *rec);

typedef enum LogReaderState {
        LOG_READER_MORE, /* the budget ran out: call again */
        LOG_READER_IDLE, /* everything written so far was read; more may come (watch) */
        LOG_READER_DONE, /* nothing that passes the filter can come any more (until_usec) */
} LogReaderState;

/* Called for each entry that passes the filter, in order. rec points into the reader's
 * buffers, valid during the call. Returns 0 to go on, > 0 to stop here (the read returns
 * LOG_READER_MORE; the next one continues after this entry), < 0 to fail the read. */
typedef int (*LogReaderCallback)(const ContainerLogRecord *rec, void *userdata);

/* The file driver's log in state_dir. Missing files are an empty log that may appear. */
int log_reader_open_file(const char *state_dir, const LogFilter *filter, LogReader **ret);
/* The journal entries of container id (QUILT_CONTAINER_ID=, sent by root). */
int log_reader_open_journal(const char *id, const LogFilter *filter, LogReader **ret);
int log_reader_open(ContainerLogDriver driver, const char *id, const char *state_dir, const LogFilter *filter,
                    LogReader **ret);

LogReader *log_reader_free(LogReader *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(LogReader *, log_reader_free);

/* Reads up to max_entries entries that pass the filter. Returns a LogReaderState, or a
 * negative errno (an I/O error, or the callback's). */
int log_reader_read(LogReader *r, size_t max_entries, LogReaderCallback callback, void *userdata);

/* Calls on_change from the event loop whenever new entries may have been written (the
 * file changed or rotated, the journal got entries). Set it up before the first read, so
 * that nothing written meanwhile goes unnoticed. */
int log_reader_watch(LogReader *r, sd_event *event, void (*on_change)(LogReader *r, void *userdata),
                     void *userdata);

/* The time of the last "exited" or "failed" entry read so far, whether or not the filter
 * let it through (0 if none): the end of a run, after which its monitor writes nothing. */
uint64_t log_reader_last_terminal_usec(LogReader *r);
