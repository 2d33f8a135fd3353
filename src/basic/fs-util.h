/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small filesystem helpers. */

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: parents get 0755, the last component mode. An existing directory is fine. */
int mkdir_p(const char *path, mode_t mode);

/* Reads a whole (small) file into a NUL-terminated buffer. */
int read_full_file(const char *path, char **ret, size_t *ret_size);

/* Writes contents to path through a temporary file in the same directory and rename(),
 * so readers see the old or the new file, never half of one. */
int write_file_atomic(const char *path, const char *contents, mode_t mode);

/* Writes all of buf to fd, retrying after EINTR and short writes. */
int loop_write(int fd, const void *buf, size_t n);
