/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "container-log.h"
#include "container-spec.h"
#include "macro.h"
#include "monitor-journal.h"

/* The container's output, line by line, and quilt's lifecycle messages about it, to the log
 * driver the spec names (formats and fields in container-log.h).
 *
 * stdout and stderr are read from separate pipes into separate buffers, so their lines are
 * never mixed. A line longer than LOG_LINE_MAX (Docker's limit; journald's LineMax is
 * larger) is written in pieces marked partial, cut before a UTF-8 character that does not
 * fit, and so is an unterminated line when the stream ends. The file is renamed to
 * <path>.1 (replacing the previous one) before it would grow beyond max_bytes (0: never). */

#define LOG_LINE_MAX (16U * 1024U)

typedef struct LogFile {
        int fd;
        char *path;
        uint64_t max_bytes;
        uint64_t size;
} LogFile;

typedef struct LogStream {
        ContainerLogStream kind; /* stdout or stderr */
        int fd;         /* read end of the container's pipe; -EBADF after EOF */
        size_t n;       /* bytes of a partial line in buf */
        char buf[LOG_LINE_MAX];
} LogStream;

typedef struct LogSink {
        ContainerLogDriver driver;
        bool open;
        LogFile file;
        LogJournal journal;
} LogSink;

int log_sink_open(LogSink *s, const ContainerSpec *spec);
void log_sink_close(LogSink *s);

/* Writes one line of output; text has no trailing newline. */
int log_sink_write(LogSink *s, ContainerLogStream kind, bool partial, const char *text, size_t n);

/* Writes a lifecycle message: event is one of container-log.h's, priority a syslog level,
 * extra NULL or "FIELD=value" strings for the journal. Does nothing before the sink is
 * open. */
int log_sink_event(LogSink *s, const char *event, int priority, char *const *extra, const char *format, ...)
        _printf_(5, 6);

/* Reads what is available from s->fd (non-blocking) and writes every complete line.
 * Returns 0 at EOF (the partial line flushed and s->fd closed), 1 otherwise. */
int log_stream_process(LogStream *s, LogSink *sink);

/* Writes out a partial line, e.g. when giving up on a stream that does not reach EOF. */
void log_stream_flush(LogStream *s, LogSink *sink);
