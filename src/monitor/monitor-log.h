/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "container-spec.h"
#include "monitor-journal.h"

/* The container's output, line by line, to the log driver the spec names.
 *
 * The file log driver: one line per line of output, "<usec> <stdout|stderr> <text>\n",
 * where usec is CLOCK_REALTIME in µs when the monitor read it. A line longer than
 * LOG_LINE_MAX is cut into several records, and so is an unterminated line at EOF. The
 * file is renamed to <path>.1 (replacing the previous one) before it would grow beyond
 * max_bytes (0: never). */

#define LOG_LINE_MAX (16U * 1024U)

typedef enum LogStreamKind {
        LOG_STREAM_STDOUT,
        LOG_STREAM_STDERR,
        _LOG_STREAM_MAX,
} LogStreamKind;

typedef struct LogFile {
        int fd;
        char *path;
        uint64_t max_bytes;
        uint64_t size;
} LogFile;

typedef struct LogStream {
        LogStreamKind kind;
        int fd;         /* read end of the container's pipe; -EBADF after EOF */
        size_t n;       /* bytes of a partial line in buf */
        char buf[LOG_LINE_MAX];
} LogStream;

typedef struct LogSink {
        ContainerLogDriver driver;
        LogFile file;
        LogJournal journal;
} LogSink;

int log_sink_open(LogSink *s, const ContainerSpec *spec);
void log_sink_close(LogSink *s);

/* Writes one record; text has no trailing newline. */
int log_sink_write(LogSink *s, LogStreamKind kind, const char *text, size_t n);

/* Reads what is available from s->fd (non-blocking) and writes every complete line.
 * Returns 0 at EOF (the partial line flushed and s->fd closed), 1 otherwise. */
int log_stream_process(LogStream *s, LogSink *sink);

/* Writes out a partial line, e.g. when giving up on a stream that does not reach EOF. */
void log_stream_flush(LogStream *s, LogSink *sink);
