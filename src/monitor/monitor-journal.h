/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The journal log driver: one native journal entry per line, with the fields DESIGN.md
 * lists (MESSAGE, PRIORITY 6 for stdout and 3 for stderr, SYSLOG_IDENTIFIER, QUILT_*,
 * and Docker's CONTAINER_* for existing tools). journald attributes the entries to the
 * container's scope because the monitor sends them from inside it.
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
int log_journal_write(LogJournal *j, const char *stream, int priority, const char *text, size_t n);
