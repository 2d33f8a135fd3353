/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

size_t utf8_sequence_length(const uint8_t *s, size_t left) {
        uint8_t c, lo = 0x80, hi = 0xBF;
        size_t n;

        if (left == 0)
                return 0;
        c = s[0];
        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF)
                n = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
                n = 3;
                if (c == 0xE0)
                        lo = 0xA0;
                else if (c == 0xED)
                        hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
                n = 4;
                if (c == 0xF0)
                        lo = 0x90;
                else if (c == 0xF4)
                        hi = 0x8F;
        } else
                return 0;

        if (left < n)
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if (s[i] < 0x80 || s[i] > 0xBF)
                        return 0;
        return n;
}

bool utf8_is_clean(const char *s, size_t n) {
        const uint8_t *p = (const uint8_t *) s;

        for (size_t i = 0; i < n;) {
                size_t k = utf8_sequence_length(p + i, n - i);

                if (k == 0 || p[i] == 0)
                        return false;
                i += k;
        }
        return true;
}

char *utf8_make_clean(const char *s, size_t n) {
        const uint8_t *p = (const uint8_t *) s;
        char *out;
        size_t m = 0;

        /* Each bad byte grows to three. */
        out = malloc(n * 3 + 1);
        if (!out)
                return NULL;

        for (size_t i = 0; i < n;) {
                size_t k = utf8_sequence_length(p + i, n - i);

                if (k == 0 || p[i] == 0) {
                        memcpy(out + m, "\xEF\xBF\xBD", 3);
                        m += 3;
                        i++;
                } else {
                        memcpy(out + m, s + i, k);
                        m += k;
                        i += k;
                }
        }
        out[m] = 0;
        return out;
}

size_t utf8_incomplete_tail(const char *s, size_t n) {
        const uint8_t *p = (const uint8_t *) s;

        /* Look back over at most three continuation bytes for the lead byte. */
        for (size_t back = 1; back <= 3 && back <= n; back++) {
                uint8_t c = p[n - back];
                size_t need;

                if ((c & 0xC0) == 0x80)
                        continue;
                if (c >= 0xC2 && c <= 0xDF)
                        need = 2;
                else if (c >= 0xE0 && c <= 0xEF)
                        need = 3;
                else if (c >= 0xF0 && c <= 0xF4)
                        need = 4;
                else
                        return 0;
                return need > back ? back : 0;
        }
        return 0;
}
