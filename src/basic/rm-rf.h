/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Removes path and everything below it, depth first, without following symbolic links and
 * without crossing into other file systems: a mount point below path makes the removal
 * fail (-EBUSY or -ENOTEMPTY) rather than empty whatever is mounted there. A missing path
 * is not an error. Returns the first error, having removed what it could. */
int rm_rf(const char *path);
