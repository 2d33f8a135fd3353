/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "fs-util.h" /* loop_write() */

/* Writes s to an existing (kernel) file in one write(), as cgroupfs and procfs want. */
int write_string_file(const char *path, const char *s);

/* Reads up to size-1 bytes of a small file into buf, NUL-terminated. */
int read_small_file(const char *path, char *buf, size_t size);

