/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The container's log as quilt-monitor writes it and quiltd reads it back: the streams, the
 * lifecycle events, the journal fields and the file driver's record format. Both sides use
 * these definitions, so the format is written down once.
 *
 * Streams: "stdout" and "stderr" are the container's output, one entry per line (a line
 * longer than the monitor's line limit, or unterminated when the stream ends, is written in
 * pieces marked partial: the next entry of the same stream continues it). "system" entries
 * are quilt's own lifecycle messages about the container, each naming an event.
 *
 * Journal driver: one native entry per line with MESSAGE, PRIORITY (6 stdout, 3 stderr,
 * system by severity), SYSLOG_IDENTIFIER=<name>, QUILT_CONTAINER_ID, QUILT_CONTAINER_NAME,
 * QUILT_STREAM, QUILT_EVENT (system), Docker's CONTAINER_ID (12 characters),
 * CONTAINER_ID_FULL, CONTAINER_NAME and CONTAINER_PARTIAL_MESSAGE=true (partial lines).
 * quiltd reads them back with matches on QUILT_CONTAINER_ID and _UID=0.
 *
 * File driver: <state_dir>/container.log, rotated to container.log.1 (one old file kept),
 * one record per line:
 *     "<usec> <stream> <tag> <text>\n"
 * usec is CLOCK_REALTIME in µs when the monitor read the line; tag is "F" (a full line) or
 * "P" (partial) for stdout and stderr, and the event for system records; text is the line
 * without its newline, any bytes but '\n'. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ContainerLogStream {
        CONTAINER_LOG_STDOUT,
        CONTAINER_LOG_STDERR,
        CONTAINER_LOG_SYSTEM,
        _CONTAINER_LOG_STREAM_MAX,
        _CONTAINER_LOG_STREAM_INVALID = -EINVAL,
} ContainerLogStream;

const char *container_log_stream_to_string(ContainerLogStream s);
ContainerLogStream container_log_stream_from_string(const char *s);

/* Lifecycle events, in the order a container goes through them. "exited" and "failed" end
 * a run: nothing of that run is logged after them. */
#define CONTAINER_EVENT_CREATED "created" /* its first start */
#define CONTAINER_EVENT_STARTED "started" /* the command was executed */
#define CONTAINER_EVENT_OOM     "oom"     /* the memory limit's OOM killer killed a process */
#define CONTAINER_EVENT_EXITED  "exited"  /* the command ended: exit code or signal */
#define CONTAINER_EVENT_FAILED  "failed"  /* it could not be started */

bool container_event_is_terminal(const char *event);
/* Lowercase letters and '_', 1 to 32 of them: a word that fits a record's tag. */
bool container_event_is_valid(const char *event, size_t n);

/* Journal fields beyond MESSAGE, PRIORITY and SYSLOG_IDENTIFIER. */
#define CONTAINER_LOG_FIELD_ID        "QUILT_CONTAINER_ID"
#define CONTAINER_LOG_FIELD_NAME      "QUILT_CONTAINER_NAME"
#define CONTAINER_LOG_FIELD_STREAM    "QUILT_STREAM"
#define CONTAINER_LOG_FIELD_EVENT     "QUILT_EVENT"
#define CONTAINER_LOG_FIELD_EXIT_CODE "QUILT_EXIT_CODE"
#define CONTAINER_LOG_FIELD_SIGNAL    "QUILT_EXIT_SIGNAL"
#define CONTAINER_LOG_FIELD_PARTIAL   "CONTAINER_PARTIAL_MESSAGE"

/* The file driver's file name in the state directory, and the rotated one. */
#define CONTAINER_LOG_FILE_NAME         "container.log"
#define CONTAINER_LOG_FILE_NAME_ROTATED "container.log.1"

/* Room for "<usec> <stream> <tag> ". */
#define CONTAINER_LOG_PREFIX_MAX 80

typedef struct ContainerLogRecord {
        uint64_t usec;
        ContainerLogStream stream;
        bool partial;
        const char *event; /* system records; points into the line, event_len bytes */
        size_t event_len;
        const char *text;  /* points into the line */
        size_t text_len;
} ContainerLogRecord;

/* Writes the record prefix into buf (CONTAINER_LOG_PREFIX_MAX bytes), returns its length or
 * -EINVAL (bad stream or event). */
int container_log_format_prefix(char *buf, size_t size, uint64_t usec, ContainerLogStream stream, bool partial,
                                const char *event);

/* Parses one record, line[0..n) without its newline. -EBADMSG when it is not one. */
int container_log_record_parse(const char *line, size_t n, ContainerLogRecord *ret);
