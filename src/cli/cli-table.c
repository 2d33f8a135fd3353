/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Aligned text tables for list commands, in the style of podman's: a header row in
 * capitals, left-aligned columns separated by at least two spaces. */

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "cli.h"

struct Table {
        size_t n_columns;
        char **cells; /* row-major, header first */
        size_t n_rows, allocated_rows;
};

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                free(t->cells[i]);
        free(t->cells);
        return mfree(t);
}

static int table_add_row_va(Table *t, va_list ap) {
        if (t->n_rows >= t->allocated_rows) {
                size_t k = MAX(t->allocated_rows * 2, (size_t) 8);
                char **c = realloc(t->cells, k * t->n_columns * sizeof(char *));
                if (!c)
                        return -ENOMEM;
                t->cells = c;
                t->allocated_rows = k;
        }

        char **row = t->cells + t->n_rows * t->n_columns;
        for (size_t i = 0; i < t->n_columns; i++) {
                const char *s = va_arg(ap, const char *);
                row[i] = strdup(strempty(s));
                if (!row[i]) {
                        for (size_t j = 0; j < i; j++)
                                free(row[j]);
                        return -ENOMEM;
                }
        }
        t->n_rows++;
        return 0;
}

Table *table_new(size_t n, ...) {
        _cleanup_table_ Table *t = NULL;
        va_list ap;
        int r;

        t = calloc(1, sizeof(Table));
        if (!t)
                return NULL;
        t->n_columns = n;

        va_start(ap, n);
        r = table_add_row_va(t, ap);
        va_end(ap);
        if (r < 0)
                return NULL;
        return TAKE_PTR(t);
}

int table_add_row(Table *t, ...) {
        va_list ap;
        int r;

        va_start(ap, t);
        r = table_add_row_va(t, ap);
        va_end(ap);
        return r;
}

void table_print(Table *t, FILE *f) {
        _cleanup_free_ size_t *width = calloc(t->n_columns, sizeof(size_t));

        if (!width)
                return;
        for (size_t r = 0; r < t->n_rows; r++)
                for (size_t c = 0; c < t->n_columns; c++)
                        width[c] = MAX(width[c], strlen(t->cells[r * t->n_columns + c]));

        for (size_t r = 0; r < t->n_rows; r++) {
                for (size_t c = 0; c < t->n_columns; c++) {
                        const char *s = t->cells[r * t->n_columns + c];
                        if (c + 1 < t->n_columns)
                                fprintf(f, "%-*s  ", (int) width[c], s);
                        else
                                fputs(s, f);
                }
                fputc('\n', f);
        }
}
