/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The status of an API call. The numbers are gRPC's status codes, so the gRPC transport
 * passes them through unchanged; the HTTP transport maps them to HTTP statuses. */

typedef enum QuiltStatusCode {
        QUILT_STATUS_OK = 0,
        QUILT_STATUS_CANCELLED = 1,
        QUILT_STATUS_UNKNOWN = 2,
        QUILT_STATUS_INVALID_ARGUMENT = 3,
        QUILT_STATUS_DEADLINE_EXCEEDED = 4,
        QUILT_STATUS_NOT_FOUND = 5,
        QUILT_STATUS_ALREADY_EXISTS = 6,
        QUILT_STATUS_PERMISSION_DENIED = 7,
        QUILT_STATUS_RESOURCE_EXHAUSTED = 8,
        QUILT_STATUS_FAILED_PRECONDITION = 9,
        QUILT_STATUS_ABORTED = 10,
        QUILT_STATUS_OUT_OF_RANGE = 11,
        QUILT_STATUS_UNIMPLEMENTED = 12,
        QUILT_STATUS_INTERNAL = 13,
        QUILT_STATUS_UNAVAILABLE = 14,
        QUILT_STATUS_DATA_LOSS = 15,
        QUILT_STATUS_UNAUTHENTICATED = 16,
        _QUILT_STATUS_MAX,
} QuiltStatusCode;

/* "NOT_FOUND", or NULL for an unknown code. */
const char *quilt_status_code_to_string(QuiltStatusCode code);

/* The HTTP status for a code, as grpc-gateway maps them (NOT_FOUND → 404, …). */
int quilt_status_code_to_http(QuiltStatusCode code);

/* Maps a negative errno to the closest status code (ENOENT → NOT_FOUND, EEXIST →
 * ALREADY_EXISTS, EINVAL → INVALID_ARGUMENT, EBUSY → FAILED_PRECONDITION, …). */
QuiltStatusCode quilt_status_code_from_errno(int error);
