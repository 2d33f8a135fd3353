/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* UTF-8 as RFC 3629 defines it (no overlong forms, no surrogates, nothing above U+10FFFF),
 * the rules jansson and protobuf's string checks enforce. */

/* Length of the well-formed sequence at s (1-4), or 0 when s[0..left) does not start with
 * one. */
size_t utf8_sequence_length(const uint8_t *s, size_t left);

/* Whether s[0..n) is well-formed UTF-8 without NUL bytes: text that survives a C string, a
 * protobuf string field and JSON unchanged. */
bool utf8_is_clean(const char *s, size_t n);

/* s[0..n) as a NUL-terminated string in which every byte that is not part of a well-formed
 * sequence, and every NUL byte, is U+FFFD. NULL on OOM; free() it. */
char *utf8_make_clean(const char *s, size_t n);

/* How many bytes at the end of s[0..n) are the start of a sequence that s cuts short (0-3),
 * so that a writer splitting a long line can keep a character whole. */
size_t utf8_incomplete_tail(const char *s, size_t n);
