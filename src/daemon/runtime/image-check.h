/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pure checks on image names and on the paths inside rootfs tarballs: no I/O, so that the
 * rules that keep an import inside its root are unit-tested on their own
 * (test-image-check.c). image-unpack.c applies them to every entry before libarchive
 * writes anything.
 *
 * Failures return -EINVAL and set *ret_reason to a static phrase that completes
 * "entry 'x' …" ("climbs out of the image with '..'"). */

#include <stdbool.h>

/* The file name without its directory and a known tarball extension (.tar, .tar.gz, .tgz,
 * .tar.xz, .txz, .tar.zst, .tar.bz2): "/srv/ubuntu-24.04.tar.gz" → "ubuntu-24.04". -EINVAL
 * when nothing valid is left (the caller then asks for an explicit name). */
int image_name_from_file(const char *path, char **ret);

/* An entry's path made relative to the image root: a leading "./" and "." components
 * dropped, repeated slashes collapsed, no trailing slash; "" is the root itself.
 * Refused: absolute paths and any ".." component. */
int image_entry_path_normalize(const char *path, char **ret, const char **ret_reason);

/* A symbolic link at the normalized path entry pointing at target: absolute targets are
 * fine (they resolve inside the container), relative ones must not climb above the root
 * counting from the link's directory. Empty targets are refused. */
int image_symlink_target_check(const char *entry, const char *target, const char **ret_reason);

/* s with every byte outside printable ASCII written as \xNN, so that hostile entry names
 * cannot mangle a terminal or an error message (which must be valid UTF-8 in JSON).
 * NULL on OOM. */
char *image_escape_name(const char *s);
