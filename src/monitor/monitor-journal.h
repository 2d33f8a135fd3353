/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The journal log driver: one native journal entry per line, with the fields of
 * container-log.h. journald attributes the entries to the container's scope because the
 * monitor sends them from inside it.
 *
 * libsystemd is loaded with dlopen() only for this driver, so that monitors writing a
 * file do not carry it. */

typedef struct LogJournal {
        void *dl;
        int (*sendv)(const struct iovec *iov, int n);
        char *identifier; /* SYSLOG_IDENTIFIER=<name> */
        char *id;         /* QUILT_CONTAINER_ID=<id> */
        char *name;       /* QUILT_CONTAINER_NAME=<name> */
        char *docker_id;  /* CONTAINER_ID=<first 12 characters> */
        char *docker_id_full;
        char *docker_name;
        bool warned;
} LogJournal;

int log_journal_open(LogJournal *j, const char *id, const char *name);
void log_journal_close(LogJournal *j);

/* One entry. event is NULL for output; extra is a NULL-terminated list of further
 * "FIELD=value" strings, or NULL. */
int log_journal_write(LogJournal *j, const char *stream, int priority, bool partial, const char *event,
                      char *const *extra, const char *text, size_t n);
