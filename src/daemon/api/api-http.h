/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The HTTP/JSON transport: libmicrohttpd driven from the sd-event loop through its epoll
 * fd. JSON bodies are the proto messages with snake_case field names (camelCase accepted
 * on input); REST routes and "POST /quilt.QuiltService/<Method>" map onto the same
 * handlers as gRPC. Errors are {"error": "<message>", "details": {"code": "NOT_FOUND",
 * ...}} with the matching HTTP status. */

#include <stdbool.h>

typedef struct Manager Manager;
typedef struct ApiHttp ApiHttp;

int api_http_new(Manager *m, ApiHttp **ret);

/* Serves a listening socket (unix or TCP), taking ownership of fd. With require_token,
 * every request except GET /health needs "Authorization: Bearer <m->config->token>". */
int api_http_add_listener(ApiHttp *h, int fd, bool require_token);

/* Stops serving, drops connections and frees everything. Safe to call with NULL. */
ApiHttp *api_http_free(ApiHttp *h);
