/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small filesystem helpers. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* mkdir -p: parents get 0755, the last component mode. An existing directory is fine. */
int mkdir_p(const char *path, mode_t mode);

/* Reads a whole (small) file into a NUL-terminated buffer. */
int read_full_file(const char *path, char **ret, size_t *ret_size);

/* Writes contents to path through a temporary file in the same directory and rename(),
 * so readers see the old or the new file, never half of one. */
int write_file_atomic(const char *path, const char *contents, mode_t mode);

/* openat2(2), which glibc 2.36 does not wrap; resolve is RESOLVE_* (linux/openat2.h).
 * Returns the fd or a negative errno. */
int openat2_fd(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve);

/* Opens the file an fd (typically O_PATH) refers to anew with flags, through
 * /proc/self/fd: the same inode, whatever happened to its name meanwhile. That makes
 * "look at the type with an O_PATH fd, then open for I/O" race-free, and keeps open()
 * from ever acting on a device or fifo the caller did not mean to open. */
int fd_reopen(int fd, int flags);

/* Opens the directory path (absolute or relative to root, without "..") with every symbolic
 * link resolved inside root (RESOLVE_IN_ROOT, no magic links), creating each missing
 * directory with mode on the way; path "" or "/" is root itself. Returns an O_PATH fd.
 * Creation never follows a link: a dangling one in the way is -EEXIST. */
int open_mkdir_p_in_root(int root, const char *path, mode_t mode);
/* Writes all of buf to fd, retrying after EINTR and short writes. */
int loop_write(int fd, const void *buf, size_t n);
