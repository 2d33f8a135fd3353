/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A minimal TAP producer for meson test(protocol: 'tap'). Each check prints "ok N - ..."
 * or "not ok N - ..." with the failing expression; tap_finish() prints the plan and
 * returns the exit status. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static unsigned tap_count, tap_failed;

static inline _unused_ void tap_ok(int cond, const char *expr, const char *file, int line, const char *name) {
        tap_count++;
        if (cond)
                printf("ok %u - %s\n", tap_count, name);
        else {
                tap_failed++;
                printf("not ok %u - %s\n#   %s:%d: %s\n", tap_count, name, file, line, expr);
        }
        fflush(stdout);
}

#define ok(cond, name) tap_ok(!!(cond), #cond, __FILE__, __LINE__, name)

#define is_int(a, b, name)                                                                      \
        do {                                                                                    \
                long long _a_ = (long long) (a), _b_ = (long long) (b);                         \
                tap_ok(_a_ == _b_, #a " == " #b, __FILE__, __LINE__, name);                     \
                if (_a_ != _b_)                                                                 \
                        printf("#   got %lld, expected %lld\n", _a_, _b_);                      \
        } while (0)

#define is_str(a, b, name)                                                                      \
        do {                                                                                    \
                const char *_a_ = (a), *_b_ = (b);                                              \
                int _eq_ = _a_ && _b_ ? strcmp(_a_, _b_) == 0 : _a_ == _b_;                     \
                tap_ok(_eq_, #a " == " #b, __FILE__, __LINE__, name);                           \
                if (!_eq_)                                                                      \
                        printf("#   got \"%s\", expected \"%s\"\n", _a_ ?: "(null)", _b_ ?: "(null)"); \
        } while (0)

static inline _unused_ int tap_finish(void) {
        printf("1..%u\n", tap_count);
        return tap_failed == 0 ? 0 : 1;
}
