/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NULL-terminated string arrays (strv_free() is in macro.h). */

#include <stddef.h>

size_t strv_length(char *const *l);

/* A deep copy of the first n strings of l (all of them for n == SIZE_MAX; l may be NULL),
 * NULL-terminated. NULL on allocation failure. */
char **strv_copy_n(char *const *l, size_t n);
static inline char **strv_copy(char *const *l) {
        return strv_copy_n(l, (size_t) -1);
}
