/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Unpacks a rootfs tarball with libarchive into an existing, empty directory. Every entry
 * is checked (image-check.h) before anything of it is written, and the first bad entry
 * fails the whole unpack; what was written so far stays for the caller to remove (it
 * unpacks into a temporary directory).
 *
 * Errors: -EINVAL for a bad or corrupt archive, with *ret_error naming the entry or
 * quoting libarchive; -ENOSPC and friends when writing fails for reasons of the host.
 * *ret_error is malloc()ed and may be NULL on OOM. */

#include <stdint.h>

/* fd: the tarball, open for reading (not closed). root: an absolute path without symlinks
 * (realpath()ed), which libarchive's own symlink checks walk. ret_size: the sum of the
 * regular files' sizes. */
int image_unpack(int fd, const char *root, uint64_t *ret_size, char **ret_error);
