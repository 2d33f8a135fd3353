/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "bearer-token.h"
#include "macro.h"
#include "tests.h"

static BearerTokenResult check(const char *expected, const char *value) {
        return bearer_token_check(expected, value, value ? strlen(value) : 0);
}

int main(void) {
        is_int(check("s3cret", "Bearer s3cret"), BEARER_TOKEN_OK, "exact token");
        is_int(check("s3cret", "bearer s3cret"), BEARER_TOKEN_OK, "scheme is case-insensitive");
        is_int(check("s3cret", "Bearer   s3cret"), BEARER_TOKEN_OK, "spaces after the scheme");
        is_int(check("s3cret", NULL), BEARER_TOKEN_MISSING, "no header");
        is_int(check("s3cret", "Basic czNjcmV0"), BEARER_TOKEN_MALFORMED, "another scheme");
        is_int(check("s3cret", "Bearer"), BEARER_TOKEN_MALFORMED, "scheme only");
        is_int(check("s3cret", "Bearer S3CRET"), BEARER_TOKEN_WRONG, "token is case-sensitive");
        is_int(check("s3cret", "Bearer s3cre"), BEARER_TOKEN_WRONG, "a prefix of the token");
        is_int(check("s3cret", "Bearer s3crett"), BEARER_TOKEN_WRONG, "the token plus a byte");
        is_int(check("s3cret", "Bearer "), BEARER_TOKEN_WRONG, "empty token");
        is_int(check("", "Bearer "), BEARER_TOKEN_WRONG, "an empty configured token matches nothing");
        is_int(check(NULL, "Bearer x"), BEARER_TOKEN_WRONG, "no configured token matches nothing");
        is_int(bearer_token_check("ab", "Bearer ab\0cd", 12), BEARER_TOKEN_WRONG, "bytes after a NUL count");
        ok(strstr(bearer_token_result_to_string(BEARER_TOKEN_MISSING), "QUILT_TOKEN"),
           "the missing-token message says how to send one");
        return tap_finish();
}
