/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Checks "Authorization: Bearer <token>" (an HTTP header or gRPC metadata) for the TCP
 * listeners of both transports. */

#include <stddef.h>

typedef enum BearerTokenResult {
        BEARER_TOKEN_OK,
        BEARER_TOKEN_MISSING,   /* no authorization at all */
        BEARER_TOKEN_MALFORMED, /* not "Bearer <token>" */
        BEARER_TOKEN_WRONG,
} BearerTokenResult;

/* value/length: the header's value (not NUL-terminated), NULL when absent. expected: the
 * configured token; an empty or NULL one matches nothing. The scheme is case-insensitive
 * (RFC 7235), the token is not, and the comparison takes time that depends only on the
 * expected token's length, so refusals do not reveal how much of a guess was right. */
BearerTokenResult bearer_token_check(const char *expected, const char *value, size_t length);

/* A message for the client, e.g. "authentication failed: invalid bearer token". */
const char *bearer_token_result_to_string(BearerTokenResult r);
