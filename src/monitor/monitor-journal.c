/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dlfcn.h>
#include <sys/uio.h>

#include "container-log.h"
#include "log.h"
#include "monitor-journal.h"

#define DOCKER_SHORT_ID 12

int log_journal_open(LogJournal *j, const char *id, const char *name) {
        *j = (LogJournal) {};

        j->dl = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!j->dl)
                return log_error_errno(EOPNOTSUPP, "The journal log driver needs libsystemd.so.0: %s", dlerror());
        /* The function, not the macro of the same name that adds CODE_* fields: those
         * would name this file, not the container. */
        j->sendv = (int (*)(const struct iovec *, int)) dlsym(j->dl, "sd_journal_sendv");
        if (!j->sendv) {
                log_journal_close(j);
                return log_error_errno(EOPNOTSUPP, "libsystemd.so.0 has no sd_journal_sendv().");
        }

        if (asprintf(&j->identifier, "SYSLOG_IDENTIFIER=%s", name) < 0 ||
            asprintf(&j->id, "QUILT_CONTAINER_ID=%s", id) < 0 ||
            asprintf(&j->name, "QUILT_CONTAINER_NAME=%s", name) < 0 ||
            asprintf(&j->docker_id, "CONTAINER_ID=%.*s", DOCKER_SHORT_ID, id) < 0 ||
            asprintf(&j->docker_id_full, "CONTAINER_ID_FULL=%s", id) < 0 ||
            asprintf(&j->docker_name, "CONTAINER_NAME=%s", name) < 0) {
                log_journal_close(j);
                return log_oom();
        }
        return 0;
}

void log_journal_close(LogJournal *j) {
        if (j->dl)
                (void) dlclose(j->dl);
        free(j->identifier);
        free(j->id);
        free(j->name);
        free(j->docker_id);
        free(j->docker_id_full);
        free(j->docker_name);
        *j = (LogJournal) {};
}

#define IOVEC_STRING(s) ((struct iovec) { .iov_base = (void *) (s), .iov_len = strlen(s) })

int log_journal_write(LogJournal *j, const char *stream, int priority, bool partial, const char *event,
                      char *const *extra, const char *text, size_t n) {
        char prio[16], stream_field[32], event_field[64];
        _cleanup_free_ char *message = NULL;
        struct iovec iov[16];
        size_t k = 0;
        int r;

        if (!j->sendv)
                return -EBADF;

        /* MESSAGE may hold any bytes; libsystemd switches to its binary-safe encoding
         * when it has to. */
        message = malloc(n + sizeof "MESSAGE=");
        if (!message)
                return log_oom();
        memcpy(message, "MESSAGE=", sizeof "MESSAGE=" - 1);
        memcpy(message + sizeof "MESSAGE=" - 1, text, n);

        (void) snprintf(prio, sizeof prio, "PRIORITY=%i", priority);
        (void) snprintf(stream_field, sizeof stream_field, CONTAINER_LOG_FIELD_STREAM "=%s", stream);

        iov[k++] = (struct iovec) { .iov_base = message, .iov_len = n + sizeof "MESSAGE=" - 1 };
        iov[k++] = IOVEC_STRING(prio);
        iov[k++] = IOVEC_STRING(j->identifier);
        iov[k++] = IOVEC_STRING(j->id);
        iov[k++] = IOVEC_STRING(j->name);
        iov[k++] = IOVEC_STRING(stream_field);
        iov[k++] = IOVEC_STRING(j->docker_id);
        iov[k++] = IOVEC_STRING(j->docker_id_full);
        iov[k++] = IOVEC_STRING(j->docker_name);
        if (partial)
                iov[k++] = IOVEC_STRING(CONTAINER_LOG_FIELD_PARTIAL "=true");
        if (event) {
                (void) snprintf(event_field, sizeof event_field, CONTAINER_LOG_FIELD_EVENT "=%s", event);
                iov[k++] = IOVEC_STRING(event_field);
        }
        for (char *const *e = extra; e && *e && k < ELEMENTSOF(iov); e++)
                iov[k++] = IOVEC_STRING(*e);

        r = j->sendv(iov, (int) k);
        if (r < 0) {
                /* Once: a journald that is away would otherwise fill monitor.log. */
                if (!j->warned)
                        log_warning_errno(r, "Failed to send a log entry to the journal: %m");
                j->warned = true;
                return r;
        }
        return 0;
}
