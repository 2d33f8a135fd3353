/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The two implementations of log-reader.h and what they share. */

#include "log-reader.h"

typedef struct LogReaderVTable {
        /* Like log_reader_read(), but hands over every entry in order, filtered or not;
         * the common code filters. Backends apply the filter themselves only to find where
         * to start (tail, since). *budget is decremented for each entry handed over (and
         * the tail search counts against it too); at 0 the backend returns
         * LOG_READER_MORE, and so it does when the callback returns > 0. */
        int (*read)(LogReader *r, size_t *budget, LogReaderCallback callback, void *userdata);
        int (*watch)(LogReader *r, sd_event *event);
        void (*free)(LogReader *r);
} LogReaderVTable;

struct LogReader {
        const LogReaderVTable *vtable;
        LogFilter filter;
        uint64_t last_terminal_usec;

        void (*on_change)(LogReader *r, void *userdata);
        void *on_change_userdata;
};

/* For backends: tell the watcher. */
void log_reader_changed(LogReader *r);
