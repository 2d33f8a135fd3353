/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "macro.h"
#include "rpc-kind.h"

static const struct {
        const char *service; /* full name, "quilt.QuiltService" */
        const char *method;
        RpcKind kind;
} rpc_kinds[] = {
        /* quilt.proto. Keep in step with the "stream" keywords there. */
        { "quilt.QuiltService", "StreamEvents", RPC_SERVER_STREAMING },
        { "quilt.QuiltService", "ExecContainerStream", RPC_SERVER_STREAMING },
        { "quilt.QuiltService", "ExecInteractive", RPC_BIDI },
        { "quilt.QuiltService", "StreamContainerLogs", RPC_SERVER_STREAMING },

        /* src/daemon/api/test-api-stream.proto: the transports' own unit test. */
        { "quilt.test.StreamTest", "Count", RPC_SERVER_STREAMING },
        { "quilt.test.StreamTest", "Echo", RPC_BIDI },
        { "quilt.test.StreamTest", "Upload", RPC_CLIENT_STREAMING },
};

RpcKind rpc_kind(const ProtobufCServiceDescriptor *service, const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(rpc_kinds); i++)
                if (streq(rpc_kinds[i].service, service->name) && streq(rpc_kinds[i].method, name))
                        return rpc_kinds[i].kind;
        return RPC_UNARY;
}
