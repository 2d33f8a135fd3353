/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* The start time of pid in clock ticks since boot (field 22 of /proc/<pid>/stat): with the
 * pid, it names one process for the lifetime of the system, so a recorded pid that has
 * been reused by something else is told apart. -ESRCH if pid does not exist. */
int pid_get_start_time(pid_t pid, uint64_t *ret);

/* pidfd_open(2) and pidfd_send_signal(2), which glibc 2.36 wraps but older ones do not. */
int pidfd_open_pid(pid_t pid);
int pidfd_signal(int pidfd, int sig);

/* The pid a pidfd refers to, from /proc/self/fdinfo; -ESRCH once the process is gone. */
int pidfd_get_pid(int pidfd, pid_t *ret);

/* pidfd_getfd(2): a duplicate (close-on-exec) of fd number targetfd of the process. */
int pidfd_get_fd(int pidfd, int targetfd);

/* The parent of pid (PPid of /proc/<pid>/status), or a negative errno (-ESRCH if gone). */
pid_t pid_get_ppid(pid_t pid);

/* pid as the innermost pid namespace it is in sees it (the last NSpid of /proc/<pid>/status). */
int pid_get_ns_pid(pid_t pid, pid_t *ret);
