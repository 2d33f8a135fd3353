/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>

#include "macro.h"
#include "status.h"

static const char *const status_names[_QUILT_STATUS_MAX] = {
        [QUILT_STATUS_OK] = "OK",
        [QUILT_STATUS_CANCELLED] = "CANCELLED",
        [QUILT_STATUS_UNKNOWN] = "UNKNOWN",
        [QUILT_STATUS_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
        [QUILT_STATUS_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
        [QUILT_STATUS_NOT_FOUND] = "NOT_FOUND",
        [QUILT_STATUS_ALREADY_EXISTS] = "ALREADY_EXISTS",
        [QUILT_STATUS_PERMISSION_DENIED] = "PERMISSION_DENIED",
        [QUILT_STATUS_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
        [QUILT_STATUS_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
        [QUILT_STATUS_ABORTED] = "ABORTED",
        [QUILT_STATUS_OUT_OF_RANGE] = "OUT_OF_RANGE",
        [QUILT_STATUS_UNIMPLEMENTED] = "UNIMPLEMENTED",
        [QUILT_STATUS_INTERNAL] = "INTERNAL",
        [QUILT_STATUS_UNAVAILABLE] = "UNAVAILABLE",
        [QUILT_STATUS_DATA_LOSS] = "DATA_LOSS",
        [QUILT_STATUS_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

/* grpc-gateway's mapping (runtime/errors.go HTTPStatusFromCode). */
static const int status_http[_QUILT_STATUS_MAX] = {
        [QUILT_STATUS_OK] = 200,
        [QUILT_STATUS_CANCELLED] = 499,
        [QUILT_STATUS_UNKNOWN] = 500,
        [QUILT_STATUS_INVALID_ARGUMENT] = 400,
        [QUILT_STATUS_DEADLINE_EXCEEDED] = 504,
        [QUILT_STATUS_NOT_FOUND] = 404,
        [QUILT_STATUS_ALREADY_EXISTS] = 409,
        [QUILT_STATUS_PERMISSION_DENIED] = 403,
        [QUILT_STATUS_RESOURCE_EXHAUSTED] = 429,
        [QUILT_STATUS_FAILED_PRECONDITION] = 400,
        [QUILT_STATUS_ABORTED] = 409,
        [QUILT_STATUS_OUT_OF_RANGE] = 400,
        [QUILT_STATUS_UNIMPLEMENTED] = 501,
        [QUILT_STATUS_INTERNAL] = 500,
        [QUILT_STATUS_UNAVAILABLE] = 503,
        [QUILT_STATUS_DATA_LOSS] = 500,
        [QUILT_STATUS_UNAUTHENTICATED] = 401,
};

const char *quilt_status_code_to_string(QuiltStatusCode code) {
        if ((unsigned) code >= _QUILT_STATUS_MAX)
                return NULL;
        return status_names[code];
}

int quilt_status_code_to_http(QuiltStatusCode code) {
        if ((unsigned) code >= _QUILT_STATUS_MAX)
                return 500;
        return status_http[code];
}

QuiltStatusCode quilt_status_code_from_errno(int error) {
        switch (abs(error)) {
        case 0:
                return QUILT_STATUS_OK;
        case ENOENT:
        case ESRCH:
        case ENXIO:
                return QUILT_STATUS_NOT_FOUND;
        case EEXIST:
                return QUILT_STATUS_ALREADY_EXISTS;
        case EINVAL:
        case ENAMETOOLONG:
        case EDOM:
        case ERANGE:
        case ELOOP:
        case EXDEV:
                return QUILT_STATUS_INVALID_ARGUMENT;
        case EPERM:
        case EACCES:
                return QUILT_STATUS_PERMISSION_DENIED;
        case EBUSY:
        case ENOTEMPTY:
        case ESTALE:
        case EISDIR:  /* the file is of the wrong kind for the operation */
        case ENOTDIR:
        case EROFS:
                return QUILT_STATUS_FAILED_PRECONDITION;
        case ENOSPC:
        case EDQUOT:
        case EFBIG:
        case EMFILE:
        case ENFILE:
        case EAGAIN:
        case ENOMEM:
                return QUILT_STATUS_RESOURCE_EXHAUSTED;
        case ETIMEDOUT:
        case ETIME:
                return QUILT_STATUS_DEADLINE_EXCEEDED;
        case EOPNOTSUPP:
        case ENOSYS:
                return QUILT_STATUS_UNIMPLEMENTED;
        case ECANCELED:
                return QUILT_STATUS_CANCELLED;
        default:
                return QUILT_STATUS_INTERNAL;
        }
}
