/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the exec handlers (unary, streaming, interactive) share: turning an
 * ExecContainerRequest into ExecOptions for a running container, and the words for how a
 * command ended. */

#include "api.h"
#include "quilt.pb-c.h"
#include "runtime-exec.h"

typedef struct ExecRequest {
        ExecOptions options; /* points into argv/env here and strings of the request */
        char **argv;
        char **env;
        char *container_id;
        char *container_name;
} ExecRequest;

void exec_request_done(ExecRequest *x);

/* Validates req and finds its container, which must be running. On failure answers the
 * call (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION) and returns < 0. The request
 * message must outlive *ret. */
int exec_request_parse(ApiCall *call, const Quilt__ExecContainerRequest *req, ExecRequest *ret);

/* runtime_exec() for x; on failure answers the call and returns < 0. */
int exec_request_start(ApiCall *call, ExecRequest *x, const ExecCallbacks *callbacks, void *userdata,
                       ExecSession **ret);

/* "command failed with exit code 3", the reason it did not start, a timeout, or "". */
char *exec_result_message(const ExecResult *result, uint64_t timeout_usec);
