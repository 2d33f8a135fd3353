/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

static int max_level = LOG_INFO;
static int stderr_is_journal = -1;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_parse_environment(void) {
        static const struct {
                const char *name;
                int level;
        } levels[] = {
                { "debug", LOG_DEBUG },   { "info", LOG_INFO }, { "notice", LOG_NOTICE },
                { "warning", LOG_WARNING }, { "err", LOG_ERR },  { "error", LOG_ERR },
        };
        const char *e = getenv("QUILT_LOG_LEVEL");

        if (!e)
                return;
        for (size_t i = 0; i < ELEMENTSOF(levels); i++)
                if (streq(e, levels[i].name)) {
                        max_level = levels[i].level;
                        return;
                }
}

/* JOURNAL_STREAM=dev:ino is set by systemd when stderr is connected to journald. */
static bool detect_journal_stream(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...) {
        char buf[2048];
        va_list ap;

        (void) file;
        (void) line;
        (void) func;

        if (stderr_is_journal < 0)
                stderr_is_journal = detect_journal_stream();

        /* Make %m print the passed error rather than whatever errno happens to be. */
        errno = abs(error);
        va_start(ap, format);
        (void) vsnprintf(buf, sizeof buf, format, ap);
        va_end(ap);

        if (stderr_is_journal)
                fprintf(stderr, "<%d>%s\n", level, buf);
        else
                fprintf(stderr, "%s\n", buf);

        return -abs(error);
}
