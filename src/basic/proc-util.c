/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs-util.h"
#include "macro.h"
#include "proc-util.h"

int pid_get_start_time(pid_t pid, uint64_t *ret) {
        _cleanup_free_ char *stat = NULL;
        char path[64];
        const char *p;
        uint64_t v;
        int r;

        (void) snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        r = read_full_file(path, &stat, NULL);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;

        /* comm (field 2) may contain spaces and parentheses: count fields after the last ')'. */
        p = strrchr(stat, ')');
        if (!p)
                return -EBADMSG;
        p++;
        /* After ')' come fields 3..; the start time is field 22, the 20th of those. */
        for (int field = 3; field < 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EBADMSG;
        }
        if (sscanf(p, " %" SCNu64, &v) != 1)
                return -EBADMSG;
        *ret = v;
        return 0;
}

int pidfd_open_pid(pid_t pid) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        return fd < 0 ? -errno : fd;
}

int pidfd_signal(int pidfd, int sig) {
        return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int pidfd_get_pid(int pidfd, pid_t *ret) {
        _cleanup_free_ char *info = NULL;
        char path[64];
        const char *p;
        int pid, r;

        (void) snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
        r = read_full_file(path, &info, NULL);
        if (r < 0)
                return r;
        p = strstr(info, "\nPid:");
        if (!p || sscanf(p + 5, "%d", &pid) != 1)
                return -ENOTTY; /* not a pidfd */
        if (pid <= 0)
                return -ESRCH; /* -1: exited (0: in a pid namespace we cannot see) */
        *ret = (pid_t) pid;
        return 0;
}

int pidfd_get_fd(int pidfd, int targetfd) {
        int fd = (int) syscall(SYS_pidfd_getfd, pidfd, targetfd, 0);
        return fd < 0 ? -errno : fd;
}

pid_t pid_get_ppid(pid_t pid) {
        _cleanup_free_ char *status = NULL;
        char path[64];
        const char *p;
        int v, r;

        (void) snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        r = read_full_file(path, &status, NULL);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        p = strstr(status, "\nPPid:");
        if (!p || sscanf(p + strlen("\nPPid:"), "%d", &v) != 1)
                return -EBADMSG;
        return (pid_t) v;
}

int pid_get_ns_pid(pid_t pid, pid_t *ret) {
        _cleanup_free_ char *status = NULL;
        char path[64];
        const char *p, *last;
        int v, r;

        (void) snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        r = read_full_file(path, &status, NULL);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        p = strstr(status, "\nNSpid:");
        if (!p)
                return -EBADMSG;
        p += strlen("\nNSpid:");
        last = p;
        for (const char *q = p; *q && *q != '\n'; q++)
                if ((*q == ' ' || *q == '\t') && q[1] != ' ' && q[1] != '\t' && q[1] != '\n')
                        last = q + 1;
        if (sscanf(last, "%d", &v) != 1 || v <= 0)
                return -EBADMSG;
        *ret = (pid_t) v;
        return 0;
}
