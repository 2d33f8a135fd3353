/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "log.h"
#include "monitor-log.h"
#include "time-util.h"
#include "utf8.h"

static int log_file_reopen(LogFile *f) {
        struct stat st;

        f->fd = safe_close(f->fd);
        f->fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
        if (f->fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", f->path);
        if (fstat(f->fd, &st) < 0)
                return log_error_errno(errno, "Failed to stat %s: %m", f->path);
        f->size = (uint64_t) st.st_size;
        return 0;
}

static int log_file_open(LogFile *f, const char *path, uint64_t max_bytes) {
        *f = (LogFile) { .fd = -EBADF, .max_bytes = max_bytes };
        f->path = strdup(path);
        if (!f->path)
                return log_oom();
        return log_file_reopen(f);
}

static void log_file_close(LogFile *f) {
        f->fd = safe_close(f->fd);
        f->path = mfree(f->path);
}

static int log_file_rotate(LogFile *f) {
        _cleanup_free_ char *old = NULL;

        if (asprintf(&old, "%s.1", f->path) < 0)
                return log_oom();
        if (rename(f->path, old) < 0)
                return log_error_errno(errno, "Failed to rotate %s: %m", f->path);
        return log_file_reopen(f);
}

static int log_file_write(LogFile *f, ContainerLogStream kind, bool partial, const char *event, const char *text,
                          size_t n) {
        char prefix[CONTAINER_LOG_PREFIX_MAX];
        struct iovec iov[3];
        size_t total;
        ssize_t k;
        int len;

        if (f->fd < 0)
                return -EBADF;

        len = container_log_format_prefix(prefix, sizeof prefix, now_usec(CLOCK_REALTIME), kind, partial, event);
        if (len < 0)
                return len;
        total = (size_t) len + n + 1;

        if (f->max_bytes > 0 && f->size > 0 && f->size + total > f->max_bytes) {
                int r = log_file_rotate(f);
                if (r < 0)
                        return r;
        }

        /* One writev() per record: with O_APPEND a record is never interleaved with
         * another writer's, and readers see whole records except while one is written. */
        iov[0] = (struct iovec) { prefix, (size_t) len };
        iov[1] = (struct iovec) { (void *) text, n };
        iov[2] = (struct iovec) { (void *) "\n", 1 };
        k = writev(f->fd, iov, ELEMENTSOF(iov));
        if (k < 0)
                return log_error_errno(errno, "Failed to write %s: %m", f->path);
        f->size += (uint64_t) k;
        if ((size_t) k != total)
                return log_error_errno(EIO, "Short write to %s.", f->path);
        return 0;
}

int log_sink_open(LogSink *s, const ContainerSpec *spec) {
        int r = -EINVAL;

        *s = (LogSink) { .driver = spec->log_driver, .file.fd = -EBADF };

        if (spec->log_driver == CONTAINER_LOG_FILE)
                r = log_file_open(&s->file, spec->log_path, spec->log_max_bytes);
        else if (spec->log_driver == CONTAINER_LOG_JOURNAL)
                r = log_journal_open(&s->journal, spec->id, spec->name);
        s->open = r >= 0;
        return r;
}

void log_sink_close(LogSink *s) {
        if (s->driver == CONTAINER_LOG_FILE)
                log_file_close(&s->file);
        else
                log_journal_close(&s->journal);
        s->open = false;
}

int log_sink_write(LogSink *s, ContainerLogStream kind, bool partial, const char *text, size_t n) {
        if (s->driver == CONTAINER_LOG_JOURNAL)
                return log_journal_write(&s->journal, container_log_stream_to_string(kind),
                                         kind == CONTAINER_LOG_STDERR ? LOG_ERR : LOG_INFO, partial, NULL, NULL,
                                         text, n);
        return log_file_write(&s->file, kind, partial, NULL, text, n);
}

int log_sink_event(LogSink *s, const char *event, int priority, char *const *extra, const char *format, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;
        int r;

        if (!s->open)
                return 0;

        va_start(ap, format);
        r = vasprintf(&text, format, ap);
        va_end(ap);
        if (r < 0)
                return log_oom();

        /* A message is one record: a newline in it (from a failure's text) would end it. */
        for (char *p = text; *p; p++)
                if (*p == '\n')
                        *p = ' ';

        if (s->driver == CONTAINER_LOG_JOURNAL)
                return log_journal_write(&s->journal, container_log_stream_to_string(CONTAINER_LOG_SYSTEM), priority,
                                         false, event, extra, text, strlen(text));
        return log_file_write(&s->file, CONTAINER_LOG_SYSTEM, false, event, text, strlen(text));
}

void log_stream_flush(LogStream *s, LogSink *f) {
        /* What is left has no newline (yet): a partial line. */
        if (s->n > 0)
                (void) log_sink_write(f, s->kind, true, s->buf, s->n);
        s->n = 0;
}

/* Writes each complete line in buf and keeps the rest; a full buffer is written as a
 * partial line, keeping back a UTF-8 character that it would cut in two. */
static void emit_lines(LogStream *s, LogSink *f) {
        size_t start = 0;

        for (;;) {
                char *nl = memchr(s->buf + start, '\n', s->n - start);

                if (!nl)
                        break;
                (void) log_sink_write(f, s->kind, false, s->buf + start, (size_t) (nl - (s->buf + start)));
                start = (size_t) (nl - s->buf) + 1;
        }
        if (start > 0) {
                memmove(s->buf, s->buf + start, s->n - start);
                s->n -= start;
        }
        if (s->n == sizeof s->buf) {
                size_t keep = utf8_incomplete_tail(s->buf, s->n);

                (void) log_sink_write(f, s->kind, true, s->buf, s->n - keep);
                memmove(s->buf, s->buf + s->n - keep, keep);
                s->n = keep;
        }
}

int log_stream_process(LogStream *s, LogSink *f) {
        /* Bounded, so that a chatty stream cannot starve the other one or signals; poll()
         * reports the rest again. */
        for (unsigned i = 0; i < 16; i++) {
                ssize_t k;

                if (s->fd < 0)
                        return 0;
                k = read(s->fd, s->buf + s->n, sizeof s->buf - s->n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 1;
                        log_warning_errno(errno, "Failed to read the container's %s: %m",
                                          container_log_stream_to_string(s->kind));
                        k = 0;
                }
                if (k == 0) {
                        log_stream_flush(s, f);
                        s->fd = safe_close(s->fd);
                        return 0;
                }
                s->n += (size_t) k;
                emit_lines(s, f);
        }
        return 1;
}
