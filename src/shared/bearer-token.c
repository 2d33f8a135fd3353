/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdint.h>
#include <strings.h>

#include "bearer-token.h"
#include "macro.h"

static bool secret_equal(const char *expected, const char *given, size_t given_length) {
        size_t expected_length = strlen(expected);
        uint8_t d = expected_length != given_length;

        for (size_t i = 0; i < expected_length; i++)
                d |= (uint8_t) expected[i] ^ (uint8_t) (i < given_length ? given[i] : 0);
        return d == 0;
}

BearerTokenResult bearer_token_check(const char *expected, const char *value, size_t length) {
        if (!value)
                return BEARER_TOKEN_MISSING;
        if (length < 7 || strncasecmp(value, "Bearer ", 7) != 0)
                return BEARER_TOKEN_MALFORMED;

        value += 7;
        length -= 7;
        while (length > 0 && *value == ' ') {
                value++;
                length--;
        }

        if (isempty(expected) || !secret_equal(expected, value, length))
                return BEARER_TOKEN_WRONG;
        return BEARER_TOKEN_OK;
}

const char *bearer_token_result_to_string(BearerTokenResult r) {
        switch (r) {
        case BEARER_TOKEN_OK:
                return "authenticated";
        case BEARER_TOKEN_MISSING:
                return "authentication required: this listener needs a bearer token (set QUILT_TOKEN, or send "
                       "'Authorization: Bearer <token>')";
        case BEARER_TOKEN_MALFORMED:
                return "authentication failed: the authorization is not 'Bearer <token>'";
        default:
                return "authentication failed: invalid bearer token";
        }
}
