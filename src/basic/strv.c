/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strv.h"

size_t strv_length(char *const *l) {
        size_t n = 0;

        for (; l && l[n]; n++)
                ;
        return n;
}

char **strv_copy_n(char *const *l, size_t n) {
        char **copy;

        if (n == (size_t) -1)
                n = strv_length(l);
        copy = new0(char *, n + 1);
        if (!copy)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(copy[i] = strdup(l[i])))
                        return strv_free(copy);
        return copy;
}
