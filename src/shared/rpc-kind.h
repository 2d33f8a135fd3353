/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which RPCs stream. protobuf-c's descriptors do not record "stream" from the .proto, so
 * this table is where quiltd's transports and the client learn it; a streaming RPC added
 * to a service must be listed here too (rpc-kind.c). */

#include <stdbool.h>

#include <protobuf-c/protobuf-c.h>

typedef enum RpcKind {
        RPC_UNARY = 0,
        RPC_SERVER_STREAMING = 1 << 0, /* returns (stream …) */
        RPC_CLIENT_STREAMING = 1 << 1, /* takes (stream …) */
        RPC_BIDI = RPC_SERVER_STREAMING | RPC_CLIENT_STREAMING,
} RpcKind;

/* The kind of service's method called name; RPC_UNARY for everything not listed. */
RpcKind rpc_kind(const ProtobufCServiceDescriptor *service, const char *name);
