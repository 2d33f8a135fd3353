/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <systemd/sd-event.h>

#include "api-http.h"
#include "bearer-token.h"
#include "api.h"
#include "log.h"
#include "manager.h"
#include "proto-json.h"
#include "quilt.pb-c.h"
#include "status.h"

/* libmicrohttpd runs without threads of its own: each listener is one MHD daemon in
 * external-epoll mode, its epoll fd watched by sd-event and its timeouts by an sd-event
 * timer, so requests are handled on the sd-event thread like everything else.
 *
 * A request is decoded into its protobuf-c message and dispatched as an ApiCall. While the
 * handler works, the MHD connection is suspended; the call's complete() builds the
 * response, resumes the connection and "kicks" MHD, because in external-poll mode MHD
 * 0.9.75 has no inter-thread channel and a resume on its own wakes nothing.
 *
 * Server-streaming RPCs answer "200 OK", "Content-Type: application/x-ndjson", chunked:
 * one JSON object per line per message (the same conversion as unary replies), and as
 * the last line the call's status:
 *
 *     {"status":"OK"}
 *     {"status":"NOT_FOUND","error":"<message>","grpc_code":5}
 *
 * A line with a "status" member is the end of the stream and nothing else is (streamed
 * messages have no top-level "status" field; test-api-stream checks quilt.proto for it).
 * An error found before the stream began (bad request, unknown container) is an ordinary
 * error response with its HTTP status instead. The headers go out as soon as the handler
 * has accepted the call. The response is fed from a per-request buffer that holds what
 * the connection has not taken yet, which is the call's queued_bytes for backpressure;
 * when the buffer is empty the connection is suspended until the handler sends more.
 * Client-streaming and bidirectional RPCs are gRPC only (501).
 *
 * A suspended connection is not polled by MHD, so a client that goes away would not be
 * noticed; while a call is in flight we watch the connection's socket for EPOLLRDHUP
 * ourselves and cancel the call (on_cancel) when the peer hangs up. EPOLLRDHUP is also
 * what a client that only shut down its sending side looks like; HTTP/1.1 clients do not
 * do that while they wait for a response, so it is taken as the client going away. */

#define BODY_MAX               (16U * 1024U * 1024U)
#define CONNECTION_TIMEOUT_SEC 60U

/* ---- the REST routes ------------------------------------------------------------------- */

/* One table: each route names the RPC it calls. ":field" path segments fill the request
 * field of that name; "query" maps URL parameters onto request fields (a repeated field
 * takes a comma-separated list); "defaults" are request fields set unless the body sets
 * them; "follow_rpc" is the server-streaming RPC that "?follow=1" switches to (GET
 * /containers/:id/logs?follow=1 streams the log as NDJSON). Nothing else happens in the
 * transport. */
typedef struct RouteQuery {
        const char *parameter;
        const char *field;
} RouteQuery;

typedef struct Route {
        const char *method;
        const char *pattern;
        const char *rpc;
        RouteQuery query[6];
        const char *defaults; /* JSON object */
        /* Reshapes a body that older clients send in a shape the message cannot hold; -EINVAL
         * with a message for the client. */
        int (*compat)(json_t *body, char **ret_error);
        const char *follow_rpc; /* with "?follow=1" (or true): this server-streaming RPC instead */
} Route;

static int exec_body_compat(json_t *body, char **ret_error);

/* One route per line reads best as a table. */
/* clang-format off */
static const Route routes[] = {
        { "GET", "/health", "GetHealth" },
        { "GET", "/system/info", "GetSystemInfo" },
        { "GET", "/system/metrics", "GetMetrics", { { "container_id", "container_id" } }, "{\"include_system\": true}" },
        { "POST", "/containers", "CreateContainer" },
        { "GET", "/containers", "ListContainers", { { "state", "state_filter" } } },
        { "GET", "/containers/by-name/:name", "GetContainerByName" },
        { "GET", "/containers/:container_id", "GetContainerStatus" },
        { "DELETE", "/containers/:container_id", "RemoveContainer", { { "force", "force" } } },
        { "POST", "/containers/:container_id/start", "StartContainer" },
        { "POST", "/containers/:container_id/stop", "StopContainer", { { "timeout", "timeout_seconds" } } },
        { "POST", "/containers/:container_id/kill", "KillContainer", { { "signal", "signal" } } },
        { "POST", "/containers/:container_id/wait", "WaitContainer" },
        { "POST", "/containers/:container_id/exec", "ExecContainer", {}, "{\"capture_output\": true}", exec_body_compat },
        { "POST", "/containers/:container_id/exec/stream", "ExecContainerStream", {}, NULL, exec_body_compat },
        { "GET", "/containers/:container_id/logs", "GetContainerLogs",
          { { "tail", "tail" }, { "since", "since_usec" }, { "until", "until_usec" }, { "stream", "streams" },
            { "follow", "follow" } }, NULL, NULL, "StreamContainerLogs" },
        { "GET", "/containers/:container_id/files", "ReadFile",
          { { "path", "path" }, { "offset", "offset" }, { "length", "length" } } },
        { "PUT", "/containers/:container_id/files", "WriteFile", { { "path", "path" } } },
        { "POST", "/containers/:container_id/files", "WriteFile", { { "path", "path" } } },
        { "GET", "/containers/:container_id/files/list", "ListFiles",
          { { "path", "path" }, { "recursive", "recursive" }, { "follow_symlinks", "follow_symlinks" },
            { "max_entries", "max_entries" }, { "skip", "skip" } } },
        { "POST", "/volumes", "CreateVolume" },
        { "GET", "/volumes", "ListVolumes" },
        { "GET", "/volumes/:name", "InspectVolume" },
        { "GET", "/volumes/:name/inspect", "InspectVolume" },
        { "POST", "/volumes/prune", "PruneVolumes" },
        { "DELETE", "/volumes/:name", "RemoveVolume", { { "force", "force" } } },
        { "GET", "/images", "ListImages" },
        { "POST", "/images", "ImportImage" },
        { "DELETE", "/images/:name", "RemoveImage" },
        { "GET", "/network/allocations", "ListNetworkAllocations" },
        { "GET", "/containers/:container_id/network", "GetContainerNetwork" },
        { "POST", "/admin/network/cleanup", "ComprehensiveNetworkCleanup" },
        { "GET", "/dns/entries", "ListDnsEntries" },
        /* streams/events: NDJSON */
        { "GET", "/events", "StreamEvents",
          { { "since", "since" }, { "type", "event_types" }, { "container", "container_ids" }, { "until_now", "until_now" } } },
};
/* clang-format on */

/* The SDK's exec body: "command" may be a shell line (run with sh -c), {"cmd_b64": <base64
 * shell line>} or {"parts_b64": [<base64 argv word>, ...]}, besides the argv array of the
 * message; "workdir" and "capture" are its short names. Rewritten into the message's shape. */
static int base64_decode_json(const json_t *v, json_t **ret) {
        static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        _cleanup_free_ char *out = NULL;
        const char *in;
        size_t len, n = 0;
        uint32_t acc = 0;
        int bits = 0;

        if (!json_is_string(v))
                return -EINVAL;
        in = json_string_value(v);
        len = json_string_length(v);
        out = malloc(len / 4 * 3 + 4);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                const char *p;

                if (in[i] == '=' || in[i] == '\n' || in[i] == '\r')
                        continue;
                /* The URL-safe alphabet too. */
                p = strchr(table, in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i]);
                if (!p || !in[i])
                        return -EINVAL;
                acc = (acc << 6) | (uint32_t) (p - table);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[n++] = (char) ((acc >> bits) & 0xff);
                }
        }
        if (memchr(out, 0, n))
                return -EINVAL; /* an argv word cannot hold NUL */
        *ret = json_stringn(out, n);
        return *ret ? 0 : -EINVAL; /* not UTF-8 */
}

static json_t *shell_argv(json_t *line) {
        return json_pack("[s, s, o]", "/bin/sh", "-c", line);
}

static int exec_body_compat(json_t *body, char **ret_error) {
        json_t *command = json_object_get(body, "command"), *argv = NULL, *v;
        int r;

        if (!json_object_get(body, "working_directory") && !json_object_get(body, "workingDirectory") &&
            (v = json_object_get(body, "workdir")) && json_object_set(body, "working_directory", v) < 0)
                return -ENOMEM;
        (void) json_object_del(body, "workdir");
        if ((v = json_object_get(body, "capture")) && json_object_set(body, "capture_output", v) < 0)
                return -ENOMEM;
        (void) json_object_del(body, "capture");

        if (json_is_string(command))
                argv = shell_argv(json_incref(command));
        else if (json_is_object(command) && (v = json_object_get(command, "cmd_b64"))) {
                json_t *line;

                r = base64_decode_json(v, &line);
                if (r == -EINVAL) {
                        *ret_error = strdup("command.cmd_b64: not base64 of a UTF-8 shell line");
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
                argv = shell_argv(line);
        } else if (json_is_object(command) && (v = json_object_get(command, "parts_b64"))) {
                size_t i;
                json_t *part;

                argv = json_array();
                if (!argv || !json_is_array(v)) {
                        json_decref(argv);
                        *ret_error = strdup("command.parts_b64: expected an array of base64 strings");
                        return -EINVAL;
                }
                json_array_foreach(v, i, part) {
                        json_t *word;

                        r = base64_decode_json(part, &word);
                        if (r < 0 || json_array_append_new(argv, word) < 0) {
                                json_decref(argv);
                                if (asprintf(ret_error, "command.parts_b64[%zu]: not base64 of a UTF-8 word", i) < 0)
                                        *ret_error = NULL;
                                return -EINVAL;
                        }
                }
        } else
                return 0;

        if (!argv)
                return -ENOMEM;
        return json_object_set_new(body, "command", argv) < 0 ? -ENOMEM : 0;
}

#define ROUTE_PARAMS_MAX 4

typedef struct RouteMatch {
        const char *fields[ROUTE_PARAMS_MAX];
        char *values[ROUTE_PARAMS_MAX];
        size_t n;
} RouteMatch;

static void route_match_clear(RouteMatch *match) {
        for (size_t i = 0; i < match->n; i++)
                free(match->values[i]);
        *match = (RouteMatch){};
}

/* Matches a decoded request path against a pattern, segment by segment. 1 on a match
 * (parameters in *match), 0 if not, -ENOMEM. */
static int route_match_path(const char *pattern, const char *path, RouteMatch *match) {
        const char *p = pattern, *s = path;

        *match = (RouteMatch){};

        while (*p && *s) {
                size_t pl, sl;

                if (*p != '/' || *s != '/')
                        goto no;
                p++, s++;

                pl = strcspn(p, "/");
                sl = strcspn(s, "/");

                if (*p == ':') {
                        if (sl == 0 || match->n >= ROUTE_PARAMS_MAX)
                                goto no;
                        match->values[match->n] = strndup(s, sl);
                        if (!match->values[match->n]) {
                                route_match_clear(match);
                                return -ENOMEM;
                        }
                        /* Points into the static pattern; the name ends at the next '/'. */
                        match->fields[match->n] = p + 1;
                        match->n++;
                } else if (pl != sl || strncmp(p, s, pl) != 0)
                        goto no;

                p += pl;
                s += sl;
        }
        if (*p || *s)
                goto no;
        return 1;

no:
        route_match_clear(match);
        return 0;
}

/* Pattern segments end at '/' or NUL; field names from patterns are compared with this. */
static size_t pattern_segment_length(const char *s) {
        return strcspn(s, "/");
}

/* ---- objects -------------------------------------------------------------------------------- */

typedef struct HttpListener HttpListener;
typedef struct HttpRequest HttpRequest;

struct ApiHttp {
        Manager *manager;
        const ApiService *service;
        bool routes;      /* the REST routes apply: service is quiltd's */
        char *rpc_prefix; /* "/quilt.QuiltService/" */
        HttpListener **listeners;
        size_t n_listeners;
        HttpRequest *requests; /* every request MHD knows about, for shutdown */
};

struct HttpListener {
        ApiHttp *http;
        struct MHD_Daemon *daemon;
        sd_event_source *io;
        sd_event_source *timer;
        bool require_token;
        bool tcp;
        bool is_unix;
};

struct HttpRequest {
        HttpListener *listener;
        struct MHD_Connection *connection;
        HttpRequest *prev, *next;

        ApiPeer peer;
        const ApiMethod *method;
        const Route *route; /* NULL for "POST /quilt.QuiltService/<Method>" */
        RouteMatch match;

        char *body;
        size_t body_size, body_allocated;
        bool body_too_large;

        /* From dispatch until the request is freed; the handler's until it answers. */
        ApiCall *call;
        bool suspended;
        bool queued; /* a response was handed to MHD */
        bool client_gone;
        sd_event_source *hangup_source;

        /* The answer, waiting to be queued from the access handler. */
        struct MHD_Response *response;
        unsigned status;

        /* A server stream: NDJSON lines the connection has not taken yet. */
        bool streaming;
        char *out;
        size_t out_size, out_offset, out_allocated;
        bool out_finished; /* the status line is in out */
        sd_event_source *drain_source;
};

static void listener_kick(HttpListener *l);

/* ---- responses ------------------------------------------------------------------------------- */

static int response_new_json(json_t *j, struct MHD_Response **ret) {
        struct MHD_Response *response;
        char *text;
        size_t len;

        text = json_dumps(j, JSON_COMPACT);
        if (!text)
                return -ENOMEM;

        /* A trailing newline keeps curl output and NDJSON tools tidy. */
        len = strlen(text);
        char *t = realloc(text, len + 2);
        if (!t) {
                free(text);
                return -ENOMEM;
        }
        text = t;
        text[len++] = '\n';
        text[len] = 0;

        response = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        if (!response) {
                free(text);
                return -ENOMEM;
        }
        if (MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") == MHD_NO) {
                MHD_destroy_response(response);
                return -ENOMEM;
        }

        *ret = response;
        return 0;
}

/* Sets the request's pending answer; replaces an earlier one (only the last is sent). */
static void request_set_response(HttpRequest *req, unsigned status, struct MHD_Response *response) {
        if (req->response)
                MHD_destroy_response(req->response);
        req->response = response;
        req->status = status;
}

static struct MHD_Response *response_new_fallback(void) {
        static const char body[] =
                "{\"error\":\"out of memory\",\"details\":{\"code\":\"RESOURCE_EXHAUSTED\"}}\n";

        return MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_PERSISTENT);
}

/* Error messages may quote the URL, which arrives percent-decoded and so may hold any
 * bytes; JSON strings must be UTF-8. */
static json_t *json_string_sanitized(const char *s) {
        _cleanup_free_ char *copy = NULL;
        json_t *j;

        j = json_string(s);
        if (j)
                return j;

        copy = strdup(s);
        if (!copy)
                return NULL;
        for (char *p = copy; *p; p++)
                if ((unsigned char) *p >= 0x80 || (unsigned char) *p < 0x20)
                        *p = '?';
        return json_string(copy);
}

/* {"error": message, "details": {"code": "NOT_FOUND", "grpc_code": 5, "method": "…"}} */
static void request_set_error(HttpRequest *req, unsigned http_status, QuiltStatusCode code,
                              const char *message) {
        json_auto_t *j = NULL;
        json_t *error;
        struct MHD_Response *response = NULL;
        const char *name = quilt_status_code_to_string(code) ?: "UNKNOWN";

        error = json_string_sanitized(message ?: name);
        if (error) /* "o" takes the reference, also when packing fails */
                j = json_pack("{s:o, s:{s:s, s:i}}", "error", error, "details", "code", name, "grpc_code",
                              (int) code);
        if (j && req->method)
                (void) json_object_set_new(json_object_get(j, "details"), "method",
                                           json_string(req->method->name));

        if (!j || response_new_json(j, &response) < 0) {
                response = response_new_fallback();
                http_status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        }
        request_set_response(req, http_status, response);
}

static void request_set_errorf(HttpRequest *req, unsigned http_status, QuiltStatusCode code,
                               const char *format, ...) _printf_(4, 5);
static void request_set_errorf(HttpRequest *req, unsigned http_status, QuiltStatusCode code,
                               const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);

        request_set_error(req, http_status, code, message ?: "out of memory");
}

static void request_set_header(HttpRequest *req, const char *name, const char *value) {
        if (req->response)
                (void) MHD_add_response_header(req->response, name, value);
}

static enum MHD_Result request_queue_response(HttpRequest *req) {
        struct MHD_Response *response = TAKE_PTR(req->response);
        enum MHD_Result r;

        if (!response)
                return MHD_NO;

        r = MHD_queue_response(req->connection, req->status, response);
        MHD_destroy_response(response); /* MHD holds its own reference */
        req->queued = true;
        return r;
}

/* ---- requests -------------------------------------------------------------------------------- */

static HttpRequest *http_request_free(HttpRequest *req) {
        ApiHttp *h;

        if (!req)
                return NULL;

        h = req->listener->http;
        if (req->prev)
                req->prev->next = req->next;
        else if (h->requests == req)
                h->requests = req->next;
        if (req->next)
                req->next->prev = req->prev;

        sd_event_source_disable_unref(req->hangup_source);
        sd_event_source_disable_unref(req->drain_source);

        if (req->call) {
                ApiCall *call = TAKE_PTR(req->call);

                /* With no userdata, complete() only frees the call. */
                call->userdata = NULL;
                call->send = NULL;
                if (call->answered)
                        api_call_free(call);
                else
                        /* The connection is gone before the answer: the handler lets go
                         * (on_cancel) or answers some day. */
                        api_call_cancel(call);
        }

        if (req->response)
                MHD_destroy_response(req->response);
        route_match_clear(&req->match);
        free(req->body);
        free(req->out);
        return mfree(req);
}

static int http_request_new(HttpListener *l, struct MHD_Connection *connection, HttpRequest **ret) {
        HttpRequest *req;
        ApiHttp *h = l->http;

        req = calloc(1, sizeof(HttpRequest));
        if (!req)
                return -ENOMEM;

        req->listener = l;
        req->connection = connection;
        req->peer = (ApiPeer){
                .transport = API_TRANSPORT_HTTP,
                .tcp = l->tcp,
        };

        /* On a unix socket the kernel tells us who is calling; handlers may use it. */
        if (l->is_unix) {
                const union MHD_ConnectionInfo *info =
                        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
                struct ucred ucred;
                socklen_t len = sizeof(ucred);

                if (info && getsockopt(info->connect_fd, SOL_SOCKET, SO_PEERCRED, &ucred, &len) >= 0 &&
                    len == sizeof(ucred)) {
                        req->peer.has_credentials = true;
                        req->peer.pid = ucred.pid;
                        req->peer.uid = ucred.uid;
                        req->peer.gid = ucred.gid;
                }
        }

        req->next = h->requests;
        if (h->requests)
                h->requests->prev = req;
        h->requests = req;

        *ret = req;
        return 0;
}

static bool request_authorized(HttpRequest *req) {
        const char *header;

        if (!req->listener->require_token)
                return true;

        header = MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        return bearer_token_check(req->listener->http->manager->config->token, header,
                                  header ? strlen(header) : 0) == BEARER_TOKEN_OK;
}

static bool content_type_is_json(const char *value) {
        size_t n;

        /* "application/json", optionally with parameters ("; charset=utf-8"). */
        value += strspn(value, " \t");
        n = strcspn(value, "; \t");
        return n == strlen("application/json") && strncasecmp(value, "application/json", n) == 0;
}

/* Routes the request and checks what can be checked before the body arrives: answering
 * early means an unauthorised or misdirected client cannot make us buffer 16 MiB. Sets
 * req->response on error. */
static int http_request_begin(HttpRequest *req, const char *url, const char *method) {
        _cleanup_free_ char *path = NULL, *allow = NULL;
        const char *rpc, *value;
        bool authorized, path_known = false;
        size_t allow_len = 0;
        int r;

        path = strdup(url);
        if (!path)
                return -ENOMEM;
        /* "/containers/" means "/containers". */
        for (size_t l = strlen(path); l > 1 && path[l - 1] == '/'; l--)
                path[l - 1] = 0;

        authorized = request_authorized(req);
        if (!authorized && !(streq(method, "GET") && streq(path, "/health"))) {
                request_set_error(
                        req, MHD_HTTP_UNAUTHORIZED, QUILT_STATUS_UNAUTHENTICATED,
                        "missing or invalid bearer token (send \"Authorization: Bearer <token>\")");
                request_set_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"quilt\"");
                return 0;
        }

        rpc = startswith(path, req->listener->http->rpc_prefix);
        if (rpc) {
                req->method = api_service_find_method(req->listener->http->service, rpc);
                if (!req->method) {
                        request_set_errorf(req, MHD_HTTP_NOT_FOUND, QUILT_STATUS_NOT_FOUND,
                                           "unknown method '%s' in %s", rpc,
                                           req->listener->http->service->descriptor->name);
                        return 0;
                }
                if (!streq(method, "POST")) {
                        request_set_errorf(req, MHD_HTTP_METHOD_NOT_ALLOWED, QUILT_STATUS_UNIMPLEMENTED,
                                           "%s %s: RPCs are called with POST", method, path);
                        request_set_header(req, MHD_HTTP_HEADER_ALLOW, "POST");
                        return 0;
                }
        } else {
                for (size_t i = 0; req->listener->http->routes && i < ELEMENTSOF(routes); i++) {
                        RouteMatch match;

                        r = route_match_path(routes[i].pattern, path, &match);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                continue;

                        path_known = true;
                        if (!streq(routes[i].method, method)) {
                                /* Collected for 405's Allow header. */
                                char *a = realloc(allow, allow_len + strlen(routes[i].method) + 3);
                                route_match_clear(&match);
                                if (!a)
                                        return -ENOMEM;
                                allow = a;
                                allow_len += sprintf(allow + allow_len, "%s%s", allow_len > 0 ? ", " : "",
                                                     routes[i].method);
                                continue;
                        }

                        req->route = &routes[i];
                        req->match = match;
                        req->method = api_service_find_method(req->listener->http->service, routes[i].rpc);
                        if (routes[i].follow_rpc) {
                                const char *follow = MHD_lookup_connection_value(req->connection,
                                                                                 MHD_GET_ARGUMENT_KIND, "follow");

                                if (follow && (streq(follow, "1") || streq(follow, "true") || streq(follow, "")))
                                        req->method = api_service_find_method(req->listener->http->service,
                                                                              routes[i].follow_rpc);
                        }
                        break;
                }

                if (!req->route) {
                        if (path_known) {
                                request_set_errorf(req, MHD_HTTP_METHOD_NOT_ALLOWED,
                                                   QUILT_STATUS_UNIMPLEMENTED,
                                                   "method %s is not allowed on %s", method, path);
                                request_set_header(req, MHD_HTTP_HEADER_ALLOW, allow);
                        } else
                                request_set_errorf(req, MHD_HTTP_NOT_FOUND, QUILT_STATUS_NOT_FOUND,
                                                   "no such API endpoint: %s %s", method, path);
                        return 0;
                }
                /* api_http_new() checked that every route names an existing RPC. */
                assert(req->method);
        }

        value = MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND,
                                            MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (value) {
                char *end;
                unsigned long long l;

                errno = 0;
                l = strtoull(value, &end, 10);
                if (errno == 0 && *end == 0 && l > BODY_MAX) {
                        request_set_errorf(req, MHD_HTTP_CONTENT_TOO_LARGE, QUILT_STATUS_RESOURCE_EXHAUSTED,
                                           "request body too large (limit %u bytes)", BODY_MAX);
                        return 0;
                }
        }

        return 0;
}

static int http_request_append_body(HttpRequest *req, const char *data, size_t size) {
        char *b;

        if (req->body_too_large)
                return 0;
        if (size > BODY_MAX - req->body_size) {
                /* Chunked uploads have no Content-Length: discard and answer 413 at the end. */
                req->body_too_large = true;
                req->body = mfree(req->body);
                req->body_size = req->body_allocated = 0;
                return 0;
        }

        /* Grow geometrically: MHD hands the body over in small pieces. */
        if (req->body_size + size + 1 > req->body_allocated) {
                size_t n = MAX(req->body_allocated * 2, req->body_size + size + 1);

                n = MAX(n, (size_t) 4096);
                b = realloc(req->body, n);
                if (!b)
                        return -ENOMEM;
                req->body = b;
                req->body_allocated = n;
        }
        memcpy(req->body + req->body_size, data, size);
        req->body_size += size;
        req->body[req->body_size] = 0;
        return 0;
}

static void lower_camel_case(const char *name, char *buf, size_t size) {
        size_t n = 0;
        bool upper = false;

        for (; *name && n + 1 < size; name++) {
                if (*name == '_') {
                        upper = true;
                        continue;
                }
                buf[n++] = upper && *name >= 'a' && *name <= 'z' ? (char) (*name - 'a' + 'A') : *name;
                upper = false;
        }
        buf[n] = 0;
}

/* Sets a request field from a URL string, typed by the request message's descriptor, so
 * that "?force=true" becomes a JSON boolean and a path segment a string. The spelling is
 * snake_case; a camelCase spelling of the same field in the body is dropped. */
static int request_json_set(HttpRequest *req, json_t *j, const char *field, size_t field_len,
                            const char *value, bool overwrite) {
        const ProtobufCMessageDescriptor *d = req->method->descriptor->input;
        const ProtobufCFieldDescriptor *f = NULL;
        char name[128], camel[128];
        json_t *v;

        if (field_len >= sizeof(name))
                return -EINVAL;
        memcpy(name, field, field_len);
        name[field_len] = 0;

        for (unsigned i = 0; i < d->n_fields; i++)
                if (streq(d->fields[i].name, name))
                        f = &d->fields[i];
        if (!f) {
                /* A route naming a field its RPC does not have is a bug in the table. */
                log_error("BUG: route %s names field '%s' that %s does not have.", req->route->pattern, name,
                          d->name);
                return -EINVAL;
        }

        lower_camel_case(name, camel, sizeof(camel));
        if (!overwrite && (json_object_get(j, name) || json_object_get(j, camel)))
                return 0;

        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                /* "?type=died,stopped": a list of strings. */
                if (f->type != PROTOBUF_C_TYPE_STRING) {
                        log_error("BUG: route %s maps a URL parameter onto repeated non-string field '%s'.",
                                  req->route->pattern, name);
                        return -EINVAL;
                }
                v = json_array();
                if (!v)
                        return -ENOMEM;
                for (const char *p = value; *p;) {
                        size_t n = strcspn(p, ",");
                        _cleanup_free_ char *item = strndup(p, n);

                        if (!item || json_array_append_new(v, json_string(item)) < 0) {
                                json_decref(v);
                                request_set_errorf(req, MHD_HTTP_BAD_REQUEST, QUILT_STATUS_INVALID_ARGUMENT,
                                                   "%s: invalid value in URL", name);
                                return -EINVAL;
                        }
                        p += n;
                        if (*p == ',')
                                p++;
                }
                (void) json_object_del(j, camel);
                return json_object_set_new(j, name, v) < 0 ? -ENOMEM : 0;
        }

        switch (f->type) {
        case PROTOBUF_C_TYPE_BOOL:
                if (streq(value, "true") || streq(value, "1") || streq(value, ""))
                        v = json_true();
                else if (streq(value, "false") || streq(value, "0"))
                        v = json_false();
                else {
                        request_set_errorf(req, MHD_HTTP_BAD_REQUEST, QUILT_STATUS_INVALID_ARGUMENT,
                                           "%s: expected true or false, got '%s'", name, value);
                        return -EINVAL;
                }
                break;
        case PROTOBUF_C_TYPE_STRING:
        case PROTOBUF_C_TYPE_ENUM:
        case PROTOBUF_C_TYPE_BYTES:
                v = json_string(value);
                break;
        default: {
                /* Numbers: let the converter range-check; a non-number stays a string and is
                 * reported by it with the field's name. */
                char *end;
                long long ll;

                errno = 0;
                ll = strtoll(value, &end, 10);
                v = errno == 0 && *value && *end == 0 ? json_integer(ll) : json_string(value);
        }
        }
        if (!v) {
                /* json_string() refuses invalid UTF-8. */
                request_set_errorf(req, MHD_HTTP_BAD_REQUEST, QUILT_STATUS_INVALID_ARGUMENT,
                                   "%s: invalid value in URL", name);
                return -EINVAL;
        }

        (void) json_object_del(j, camel);
        return json_object_set_new(j, name, v) < 0 ? -ENOMEM : 0;
}

/* Builds the request JSON: body, then route defaults (unless the body sets them), query
 * parameters, and path parameters, which overwrite body fields of the same name. */
static int request_build_json(HttpRequest *req, json_t **ret) {
        json_auto_t *j = NULL;
        json_error_t error;
        int r;

        if (req->body_size == 0)
                j = json_object();
        else {
                j = json_loadb(req->body, req->body_size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &error);
                if (!j) {
                        request_set_errorf(req, MHD_HTTP_BAD_REQUEST, QUILT_STATUS_INVALID_ARGUMENT,
                                           "malformed JSON body: %s at %d:%d", error.text, error.line,
                                           error.column);
                        return -EINVAL;
                }
        }
        if (!j)
                return -ENOMEM;

        /* Not an object: the converter says so ("expected an object, got array"). */
        if (req->route && json_is_object(j)) {
                const Route *route = req->route;

                if (route->compat) {
                        _cleanup_free_ char *message = NULL;

                        r = route->compat(j, &message);
                        if (r == -EINVAL) {
                                request_set_error(req, MHD_HTTP_BAD_REQUEST, QUILT_STATUS_INVALID_ARGUMENT,
                                                  message ?: "invalid request");
                                return r;
                        }
                        if (r < 0)
                                return r;
                }

                if (route->defaults) {
                        json_auto_t *defaults = json_loads(route->defaults, 0, NULL);
                        const char *key;
                        json_t *value;

                        if (!defaults)
                                return -ENOMEM;
                        json_object_foreach(defaults, key, value) {
                                char camel[128];

                                lower_camel_case(key, camel, sizeof(camel));
                                if (!json_object_get(j, key) && !json_object_get(j, camel) &&
                                    json_object_set(j, key, value) < 0)
                                        return -ENOMEM;
                        }
                }

                for (size_t i = 0; i < ELEMENTSOF(route->query) && route->query[i].parameter; i++) {
                        const char *value = MHD_lookup_connection_value(
                                req->connection, MHD_GET_ARGUMENT_KIND, route->query[i].parameter);
                        if (!value)
                                continue;
                        r = request_json_set(req, j, route->query[i].field, strlen(route->query[i].field),
                                             value, true);
                        if (r < 0)
                                return r;
                }

                for (size_t i = 0; i < req->match.n; i++) {
                        r = request_json_set(req, j, req->match.fields[i],
                                             pattern_segment_length(req->match.fields[i]),
                                             req->match.values[i], true);
                        if (r < 0)
                                return r;
                }
        }

        *ret = TAKE_PTR(j);
        return 0;
}

/* ---- server streams -------------------------------------------------------------------------- */

static size_t request_out_pending(const HttpRequest *req) {
        return req->out_size - req->out_offset;
}

/* Appends j as one NDJSON line. */
static int request_append_json(HttpRequest *req, const json_t *j) {
        _cleanup_free_ char *text = NULL;
        size_t len;

        text = json_dumps(j, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        len = strlen(text);

        if (req->out_offset > 0 && req->out_offset >= req->out_allocated / 2) {
                /* Reclaim what the connection has taken before growing. */
                memmove(req->out, req->out + req->out_offset, request_out_pending(req));
                req->out_size -= req->out_offset;
                req->out_offset = 0;
        }
        if (req->out_size + len + 1 > req->out_allocated) {
                size_t n = MAX(MAX(req->out_allocated * 2, req->out_size + len + 1), (size_t) 4096);
                char *p = realloc(req->out, n);

                if (!p)
                        return -ENOMEM;
                req->out = p;
                req->out_allocated = n;
        }
        memcpy(req->out + req->out_size, text, len);
        req->out[req->out_size + len] = '\n';
        req->out_size += len + 1;
        return 0;
}

/* {"status":"OK"} or {"status":"NOT_FOUND","error":"…","grpc_code":5}: the last line. */
static int request_append_status(HttpRequest *req, QuiltStatusCode code, const char *message) {
        const char *name = quilt_status_code_to_string(code) ?: "UNKNOWN";
        json_auto_t *j = NULL;

        if (code == QUILT_STATUS_OK)
                j = json_pack("{s:s}", "status", "OK");
        else {
                json_t *error = json_string_sanitized(message ?: name);

                if (error)
                        j = json_pack("{s:s, s:o, s:i}", "status", name, "error", error, "grpc_code", (int) code);
        }
        if (!j)
                return -ENOMEM;
        return request_append_json(req, j);
}

/* More to send (or the end): let a connection that waits for it go on. */
static void request_wake(HttpRequest *req) {
        if (!req->suspended || !req->queued)
                return;
        req->suspended = false;
        MHD_resume_connection(req->connection);
        listener_kick(req->listener);
}

static int on_drain(sd_event_source *s, void *userdata) {
        HttpRequest *req = userdata;

        if (req->call && !req->call->answered)
                api_call_queue_changed(req->call, request_out_pending(req)); /* may send more */
        return 0;
}

/* The connection took data: update the call's queue size, and tell a producer that waits
 * for room, from the loop rather than from inside MHD. */
static void request_drained(HttpRequest *req) {
        ApiCall *call = req->call;
        int r;

        if (!call || call->answered)
                return;
        call->queued_bytes = request_out_pending(req);
        if (!call->throttled || call->queued_bytes > API_CALL_QUEUE_LOW)
                return;

        if (!req->drain_source) {
                r = sd_event_add_defer(req->listener->http->manager->event, &req->drain_source, on_drain, req);
                if (r < 0) {
                        log_warning_errno(r, "Failed to schedule the stream's producer: %m");
                        return;
                }
                (void) sd_event_source_set_description(req->drain_source, "http-stream-drain");
        }
        (void) sd_event_source_set_enabled(req->drain_source, SD_EVENT_ONESHOT);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
        HttpRequest *req = cls;
        size_t n;

        if (req->client_gone)
                return MHD_CONTENT_READER_END_WITH_ERROR;

        n = MIN(request_out_pending(req), max);
        if (n > 0) {
                memcpy(buf, req->out + req->out_offset, n);
                req->out_offset += n;
                if (req->out_offset == req->out_size)
                        req->out_offset = req->out_size = 0;
                request_drained(req);
                return (ssize_t) n;
        }

        if (req->out_finished)
                return MHD_CONTENT_READER_END_OF_STREAM;

        /* Nothing to send yet. Returning 0 without suspending would make MHD spin. */
        req->suspended = true;
        MHD_suspend_connection(req->connection);
        return 0;
}

static enum MHD_Result request_queue_stream(HttpRequest *req) {
        struct MHD_Response *response;
        enum MHD_Result r;

        response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, req, NULL);
        if (!response)
                return MHD_NO;
        if (MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson") == MHD_NO ||
            MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_NO) {
                MHD_destroy_response(response);
                return MHD_NO;
        }

        /* A stream may be quiet for long (events, logs -f); it ends when the call does. */
        (void) MHD_set_connection_option(req->connection, MHD_CONNECTION_OPTION_TIMEOUT, 0u);

        r = MHD_queue_response(req->connection, MHD_HTTP_OK, response);
        MHD_destroy_response(response);
        req->queued = true;
        return r;
}

/* ApiCall.send of a server stream: one NDJSON line. */
static int on_call_send(ApiCall *call, ProtobufCMessage *message) {
        HttpRequest *req = call->userdata;
        json_auto_t *j = NULL;
        int r;

        if (!req || req->client_gone) {
                protobuf_c_message_free_unpacked(message, NULL);
                return -ECANCELED;
        }

        j = proto_to_json(message);
        protobuf_c_message_free_unpacked(message, NULL);
        if (!j)
                return -ENOMEM;

        r = request_append_json(req, j);
        if (r < 0)
                return r;

        req->streaming = true;
        call->queued_bytes = request_out_pending(req);
        request_wake(req);
        return 0;
}

static int on_hangup(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        HttpRequest *req = userdata;

        /* Level-triggered: once is enough. */
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);

        log_debug("HTTP client of %s hung up.", req->method ? req->method->name : "(unrouted)");
        req->client_gone = true;
        if (req->call)
                api_call_cancel(req->call); /* may answer */

        /* Let MHD see it: the stream reader ends with an error, on_access refuses. */
        if (req->suspended) {
                req->suspended = false;
                MHD_resume_connection(req->connection);
                listener_kick(req->listener);
        }
        return 0;
}

/* While a call is in flight, the connection may sit suspended, where MHD does not look at
 * it: watch for the peer's hang-up ourselves. */
static void request_watch_hangup(HttpRequest *req) {
        const union MHD_ConnectionInfo *info;
        int r;

        if (req->hangup_source)
                return;
        info = MHD_get_connection_info(req->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!info)
                return;

        r = sd_event_add_io(req->listener->http->manager->event, &req->hangup_source, info->connect_fd,
                            EPOLLRDHUP, on_hangup, req);
        if (r < 0) {
                log_debug_errno(r, "Failed to watch HTTP connection for hang-up, continuing without: %m");
                return;
        }
        (void) sd_event_source_set_description(req->hangup_source, "http-hangup");
}

static void on_call_complete(ApiCall *call) {
        HttpRequest *req = call->userdata;
        struct MHD_Response *response = NULL;
        int r;

        if (!req) {
                /* The connection went away (or the transport shut down) meanwhile. */
                api_call_free(call);
                return;
        }

        /* The call stays with the request (in flight) until the request is freed. */

        if (call->method->server_streaming && (req->streaming || call->status == QUILT_STATUS_OK)) {
                json_auto_t *j = NULL;

                /* The end of a stream: a last message if the handler gave one, the status. */
                r = 0;
                if (call->status == QUILT_STATUS_OK && call->reply) {
                        j = proto_to_json(call->reply);
                        r = j ? request_append_json(req, j) : -ENOMEM;
                }
                if (r >= 0)
                        r = request_append_status(req, call->status, call->status_message);
                if (r < 0) {
                        /* Ending without a status line tells the client something broke. */
                        log_oom();
                        req->client_gone = true;
                }
                req->streaming = true;
                req->out_finished = true;
                request_wake(req);
                return;
        }

        if (call->status == QUILT_STATUS_OK) {
                json_auto_t *j = call->reply ? proto_to_json(call->reply) : json_object();

                if (j && response_new_json(j, &response) >= 0)
                        request_set_response(req, MHD_HTTP_OK, response);
                else
                        request_set_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, QUILT_STATUS_INTERNAL,
                                          "failed to encode the reply");
        } else
                request_set_error(req, quilt_status_code_to_http(call->status), call->status,
                                  call->status_message);

        if (req->suspended) {
                req->suspended = false;
                MHD_resume_connection(req->connection);
                listener_kick(req->listener);
        }
}

/* The body is complete: decode it and hand the call to its handler. Sets req->response
 * when the answer (or an error) is already known. */
static int http_request_dispatch(HttpRequest *req) {
        _cleanup_free_ char *error = NULL;
        json_auto_t *j = NULL;
        ProtobufCMessage *request = NULL;
        ApiCall *call;
        int r;

        if (req->body_too_large) {
                request_set_errorf(req, MHD_HTTP_CONTENT_TOO_LARGE, QUILT_STATUS_RESOURCE_EXHAUSTED,
                                   "request body too large (limit %u bytes)", BODY_MAX);
                return 0;
        }

        if (req->method->client_streaming) {
                request_set_errorf(req, MHD_HTTP_NOT_IMPLEMENTED, QUILT_STATUS_UNIMPLEMENTED,
                                   "%s streams from the client and is served over gRPC only",
                                   req->method->name);
                return 0;
        }

        if (req->body_size > 0) {
                const char *type = MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND,
                                                               MHD_HTTP_HEADER_CONTENT_TYPE);
                /* No Content-Type is fine (plain clients); a different one is a mistake. */
                if (type && !content_type_is_json(type)) {
                        request_set_errorf(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                           QUILT_STATUS_INVALID_ARGUMENT,
                                           "unsupported Content-Type '%s', expected application/json", type);
                        return 0;
                }
        }

        r = request_build_json(req, &j);
        if (r == -EINVAL && req->response)
                return 0;
        if (r < 0)
                return r;

        r = proto_from_json(req->method->descriptor->input, j, &request, &error);
        if (r == -EINVAL) {
                request_set_error(req, MHD_HTTP_BAD_REQUEST, QUILT_STATUS_INVALID_ARGUMENT,
                                  error ?: "invalid request");
                return 0;
        }
        if (r < 0)
                return r;

        r = api_call_new(req->listener->http->manager, req->method, request, &req->peer, &call);
        if (r < 0) {
                protobuf_c_message_free_unpacked(request, NULL);
                return r;
        }

        call->complete = on_call_complete;
        call->send = on_call_send;
        call->userdata = req;
        req->call = call;

        /* May answer right away (then complete() has set req->response, or finished the
         * stream), or later. */
        api_call_dispatch(call);

        if (!call->answered) {
                request_watch_hangup(req);
                /* Accepted: a stream's headers go out now. */
                if (req->method->server_streaming)
                        req->streaming = true;
        }
        return 0;
}

/* ---- MHD callbacks --------------------------------------------------------------------------- */

static enum MHD_Result on_access(void *cls, struct MHD_Connection *connection, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
        HttpListener *l = cls;
        HttpRequest *req = *con_cls;
        int r;

        if (!req) {
                /* Headers are in, the body (if any) is not. */
                r = http_request_new(l, connection, &req);
                if (r < 0) {
                        log_oom();
                        return MHD_NO; /* closes the connection */
                }
                *con_cls = req;

                r = http_request_begin(req, url, method);
                if (r < 0) {
                        log_error_errno(r, "Failed to process HTTP request %s %s: %m", method, url);
                        return MHD_NO;
                }
                return req->response ? request_queue_response(req) : MHD_YES;
        }

        if (*upload_data_size > 0) {
                size_t size = *upload_data_size;

                *upload_data_size = 0;
                if (req->queued)
                        return MHD_YES;
                if (http_request_append_body(req, upload_data, size) < 0) {
                        log_oom();
                        return MHD_NO;
                }
                return MHD_YES;
        }

        if (req->queued)
                return MHD_YES;
        if (req->client_gone) /* resumed after the peer hung up */
                return MHD_NO;
        if (req->response) /* resumed with the answer */
                return request_queue_response(req);
        if (req->call) {
                /* Called again while the handler still works: spurious, wait for it. */
                if (!req->suspended) {
                        req->suspended = true;
                        MHD_suspend_connection(connection);
                }
                return MHD_YES;
        }

        r = http_request_dispatch(req);
        if (r < 0) {
                log_error_errno(r, "Failed to dispatch HTTP request %s %s: %m", method, url);
                request_set_errorf(req, MHD_HTTP_INTERNAL_SERVER_ERROR, QUILT_STATUS_INTERNAL,
                                   "internal error: %s", strerror(-r));
        }

        if (req->response)
                return request_queue_response(req);
        if (req->streaming)
                return request_queue_stream(req);

        /* The handler answers later; park the connection until on_call_complete(). */
        req->suspended = true;
        MHD_suspend_connection(connection);
        return MHD_YES;
}

static void on_request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                                 enum MHD_RequestTerminationCode toe) {
        HttpRequest *req = *con_cls;

        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && req)
                log_debug("HTTP request %s ended early (reason %d).",
                          req->method ? req->method->name : "(unrouted)", (int) toe);

        http_request_free(req);
        *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *format, va_list ap) {
        _cleanup_free_ char *message = NULL;

        /* MHD reports peers that go away and the like; useful when debugging only. */
        if (vasprintf(&message, format, ap) < 0)
                return;
        message[strcspn(message, "\n")] = 0;
        log_debug("libmicrohttpd: %s", message);
}

/* ---- sd-event glue ----------------------------------------------------------------------------- */

static void listener_rearm(HttpListener *l) {
        MHD_UNSIGNED_LONG_LONG timeout_ms;
        int r;

        if (MHD_get_timeout(l->daemon, &timeout_ms) == MHD_YES) {
                r = sd_event_source_set_time_relative(l->timer, (uint64_t) timeout_ms * USEC_PER_MSEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
        if (r < 0)
                log_warning_errno(r, "Failed to arm the HTTP timer: %m");
}

/* MHD 0.9.75 drops its inter-thread channel in external-poll mode, so a resumed connection
 * waits until something else wakes MHD: run it from the loop at once. Never call MHD_run()
 * here directly, this may be inside an MHD callback. */
static void listener_kick(HttpListener *l) {
        int r;

        r = sd_event_source_set_time_relative(l->timer, 0);
        if (r >= 0)
                r = sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
        /* ESTALE: the loop is over (shutdown), and listener_free() lets MHD finish. */
        if (r < 0 && r != -ESTALE)
                log_warning_errno(r, "Failed to schedule the HTTP server: %m");
}

static void listener_run(HttpListener *l) {
        if (MHD_run(l->daemon) == MHD_NO)
                log_debug("MHD_run() failed.");
        listener_rearm(l);
}

static int on_listener_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        listener_run(userdata);
        return 0;
}

static int on_listener_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        listener_run(userdata);
        return 0;
}

/* ---- setup and teardown ------------------------------------------------------------------------ */

static HttpListener *listener_free(HttpListener *l) {
        ApiHttp *h;

        if (!l)
                return NULL;

        h = l->http;
        if (l->daemon) {
                /* Handlers let go of their calls (on_cancel), answering them if they can;
                 * the rest are detached and freed when their handlers answer. Rescanning
                 * after each, because a handler may answer other calls too. */
                for (;;) {
                        HttpRequest *req = h->requests;

                        while (req && !(req->listener == l && req->call && !req->call->answered &&
                                        !req->call->cancelled))
                                req = req->next;
                        if (!req)
                                break;
                        req->client_gone = true;
                        api_call_cancel(req->call);
                }

                /* Stopping MHD with suspended connections is an API violation (it panics):
                 * resume them, so that MHD closes them. */
                for (HttpRequest *req = h->requests; req; req = req->next) {
                        if (req->listener != l)
                                continue;
                        req->client_gone = true;
                        if (req->call && !req->call->answered) {
                                req->call->userdata = NULL;
                                req->call->send = NULL;
                                req->call = NULL;
                        }
                        if (req->suspended) {
                                req->suspended = false;
                                MHD_resume_connection(req->connection);
                        }
                }
                /* Closes the listening socket and every connection; on_request_completed()
                 * frees their requests. */
                MHD_stop_daemon(l->daemon);
        }

        sd_event_source_disable_unref(l->io);
        sd_event_source_disable_unref(l->timer);
        return mfree(l);
}

int api_http_new(Manager *m, const ApiService *service, ApiHttp **ret) {
        bool use_routes = service->descriptor == &quilt__quilt_service__descriptor;
        ApiHttp *h;

        /* A route naming an RPC that quilt.proto does not have is a programming error; find
         * it at start-up rather than on the first request. */
        for (size_t i = 0; use_routes && i < ELEMENTSOF(routes); i++) {
                if (!api_service_find_method(service, routes[i].rpc))
                        return log_error_errno(EINVAL, "HTTP route %s %s names unknown RPC %s.",
                                               routes[i].method, routes[i].pattern, routes[i].rpc);
                if (routes[i].follow_rpc && !api_service_find_method(service, routes[i].follow_rpc))
                        return log_error_errno(EINVAL, "HTTP route %s %s names unknown RPC %s.",
                                               routes[i].method, routes[i].pattern, routes[i].follow_rpc);
        }

        h = calloc(1, sizeof(ApiHttp));
        if (!h)
                return -ENOMEM;

        h->manager = m;
        h->service = service;
        h->routes = use_routes;
        if (asprintf(&h->rpc_prefix, "/%s/", service->descriptor->name) < 0) {
                free(h);
                return -ENOMEM;
        }
        *ret = h;
        return 0;
}

int api_http_add_listener(ApiHttp *h, int fd, bool require_token) {
        _cleanup_close_ int owned_fd = fd;
        struct sockaddr_storage sa;
        socklen_t salen = sizeof(sa);
        const union MHD_DaemonInfo *info;
        HttpListener *l, **a;
        int flags, r;

        assert(h);
        assert(fd >= 0);

        if (getsockname(fd, (struct sockaddr *) &sa, &salen) < 0)
                return log_error_errno(errno, "Failed to query HTTP listening socket: %m");

        /* MHD accepts from its epoll loop and must never block there. */
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return log_error_errno(errno, "Failed to make HTTP listening socket non-blocking: %m");

        l = calloc(1, sizeof(HttpListener));
        if (!l)
                return log_oom();
        l->http = h;
        l->require_token = require_token;
        l->is_unix = sa.ss_family == AF_UNIX;
        l->tcp = sa.ss_family == AF_INET || sa.ss_family == AF_INET6;

        a = realloc(h->listeners, (h->n_listeners + 1) * sizeof(HttpListener *));
        if (!a) {
                free(l);
                return log_oom();
        }
        h->listeners = a;
        h->listeners[h->n_listeners++] = l;

        /* From here MHD owns the socket: it closes it in MHD_stop_daemon() and on most of its
         * failure paths. A failure here makes quiltd exit anyway. */
        l->daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL,
                                     NULL, on_access, l,
                                     /* First, or MHD logs its option parsing to stderr. */
                                     MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET,
                                     TAKE_FD(owned_fd), MHD_OPTION_NOTIFY_COMPLETED, on_request_completed, l,
                                     MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_SEC, MHD_OPTION_END);
        if (!l->daemon)
                return log_error_errno(EIO, "Failed to start the HTTP server on fd %d.", fd);

        info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return log_error_errno(EIO, "Failed to get the HTTP server's epoll fd.");

        r = sd_event_add_io(h->manager->event, &l->io, info->epoll_fd, EPOLLIN, on_listener_io, l);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the HTTP server: %m");
        (void) sd_event_source_set_description(l->io, "http-io");

        /* Accuracy 1 µs: 0 would mean sd-event's default of 250 ms, which delays every
         * resumed request. */
        r = sd_event_add_time_relative(h->manager->event, &l->timer, CLOCK_MONOTONIC, 0, 1,
                                       on_listener_timer, l);
        if (r < 0)
                return log_error_errno(r, "Failed to add the HTTP timer: %m");
        (void) sd_event_source_set_description(l->timer, "http-timer");

        listener_rearm(l);

        log_debug("Serving HTTP on fd %d (%s%s).", fd,
                  l->is_unix ? "unix"
                  : l->tcp   ? "TCP"
                             : "other",
                  require_token ? ", token required" : "");
        return 0;
}

ApiHttp *api_http_free(ApiHttp *h) {
        if (!h)
                return NULL;

        for (size_t i = 0; i < h->n_listeners; i++)
                listener_free(h->listeners[i]);
        free(h->listeners);

        /* Every request belonged to some listener's MHD daemon and is gone with it. */
        assert(!h->requests);
        free(h->rpc_prefix);
        return mfree(h);
}
