/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The gRPC transport: grpc C core, fed with connections that quiltd accept()s itself
 * (grpc 1.51 has no listen-fd API and would unlink a systemd-owned socket path), with a
 * completion-queue thread that hands completions to the sd-event thread. */

#include <stdbool.h>

typedef struct ApiService ApiService;
typedef struct Manager Manager;
typedef struct ApiGrpc ApiGrpc;

/* Serves service (which must outlive the transport), normally api_quilt_service(). */
int api_grpc_new(Manager *m, const ApiService *service, ApiGrpc **ret);

/* Serves a listening socket (unix or TCP), taking ownership of fd. With require_token,
 * every call must carry metadata "authorization: Bearer <m->config->token>", else it is
 * answered UNAUTHENTICATED. */
int api_grpc_add_listener(ApiGrpc *g, int fd, bool require_token);

/* Stops accepting, cancels calls in flight, joins the completion-queue thread and frees
 * everything. Safe to call with NULL. */
ApiGrpc *api_grpc_free(ApiGrpc *g);
