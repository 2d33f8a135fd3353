/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The HTTP/JSON transport: libmicrohttpd driven from the sd-event loop through its epoll
 * fd. JSON bodies are the proto messages with snake_case field names (camelCase accepted
 * on input); REST routes and "POST /quilt.QuiltService/<Method>" map onto the same
 * handlers as gRPC. Errors are {"error": "<message>", "details": {"code": "NOT_FOUND",
 * ...}} with the matching HTTP status. */

#include <stdbool.h>

typedef struct ApiService ApiService;
typedef struct Manager Manager;
typedef struct ApiHttp ApiHttp;

/* Serves service (which must outlive the transport), normally api_quilt_service(); the
 * REST routes exist for that one only, other services are served as "POST
 * /<package>.<Service>/<Method>". */
int api_http_new(Manager *m, const ApiService *service, ApiHttp **ret);

/* Serves a listening socket (unix or TCP), taking ownership of fd. With require_token,
 * every request except GET /health needs "Authorization: Bearer <m->config->token>". */
int api_http_add_listener(ApiHttp *h, int fd, bool require_token);

/* Stops serving, drops connections and frees everything. Safe to call with NULL. */
ApiHttp *api_http_free(ApiHttp *h);
