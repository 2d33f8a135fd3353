/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A synchronous gRPC client for QuiltService (grpc C core, a pluck completion queue),
 * used by the CLI. */

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "status.h"

#define QUILT_DEFAULT_HOST "unix:/run/quilt/quilt.sock"

typedef struct QuiltClient QuiltClient;

/* host: "unix:/path" or "tcp:HOST:PORT" (plain "HOST:PORT" is accepted too); NULL means
 * $QUILT_HOST, else QUILT_DEFAULT_HOST. token: sent as "authorization: Bearer <token>";
 * NULL means $QUILT_TOKEN (may be unset). -EINVAL for a malformed host. */
int quilt_client_new(const char *host, const char *token, QuiltClient **ret);
QuiltClient *quilt_client_free(QuiltClient *c);

/* Calls a unary RPC by name ("GetHealth"). Returns 0 when the call completed, with the
 * status in *ret_code and, when not OK, a message in *ret_message (malloc()ed); the reply
 * (OK only) is freed with protobuf_c_message_free_unpacked(m, NULL). A daemon that cannot
 * be reached completes with QUILT_STATUS_UNAVAILABLE. timeout_usec 0 means no deadline.
 * Returns -EINVAL for an unknown method name. */
int quilt_client_call(QuiltClient *c, const char *method, const ProtobufCMessage *request, uint64_t timeout_usec,
                      ProtobufCMessage **ret_reply, QuiltStatusCode *ret_code, char **ret_message);
