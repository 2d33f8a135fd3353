/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The built-in "minimal" image: a BusyBox root file system generated from the host's
 * statically linked busybox, so that containers work offline without any image. */

#include <stdint.h>

#define IMAGE_MINIMAL_BUSYBOX "/bin/busybox"
#define IMAGE_MINIMAL_SOURCE  "builtin:busybox-static"

/* Fills the existing, empty directory root: bin/busybox (a copy, so that the image does
 * not change under running containers when the host's package is upgraded) and one
 * relative symlink per applet in bin/ (sbin, usr/bin and usr/sbin point at bin), etc/passwd,
 * etc/group, etc/hosts, tmp (1777), and empty proc, sys, dev, root and run. busybox must be
 * statically linked: nothing else of the host is copied. ret_size: the regular files'
 * sizes. *ret_error is malloc()ed (or NULL). */
int image_minimal_build(const char *busybox, const char *root, uint64_t *ret_size, char **ret_error);
