/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* ExecContainer: runs a command in a running container through an ExecSession and answers
 * with its exit status and output once it has ended. */

#include <signal.h>
#include <string.h>

#include "api-handlers.h"
#include "handler-container-exec.h"
#include "handler-container-util.h"
#include "log.h"
#include "manager.h"
#include "name-util.h"
#include "runtime-exec.h"
#include "runtime.h"
#include "signal-util.h"

/* What one reply carries; the streaming RPC has no limit. gRPC's message limit is above it. */
#define EXEC_REPLY_OUTPUT_MAX (32U * 1024U * 1024U)

void exec_request_done(ExecRequest *x) {
        strv_free(x->argv);
        strv_free(x->env);
        free(x->container_id);
        free(x->container_name);
        *x = (ExecRequest) {};
}

int exec_request_parse(ApiCall *call, const Quilt__ExecContainerRequest *req, ExecRequest *ret) {
        _cleanup_(container_record_done) ContainerRecord c = {};
        _cleanup_(exec_request_done) ExecRequest x = {};

        if (req->n_command == 0 || isempty(req->command[0]))
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "no command given: set command to the argv to run (e.g. [\"sh\", \"-c\", \"...\"])");
        if (!isempty(req->working_directory) && req->working_directory[0] != '/')
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "invalid working_directory '%s': must be an absolute path", req->working_directory);
        if (!isempty(req->user) && !container_user_is_valid(req->user))
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "invalid user '%s': expected UID[:GID] or NAME[:GROUP]", req->user);
        if (req->tty && req->detach)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "tty and detach do not go together: a detached command has no terminal");
        if ((req->tty_rows > 0) != (req->tty_columns > 0) || req->tty_rows > UINT16_MAX ||
            req->tty_columns > UINT16_MAX)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "invalid window size %ux%u: give both rows and columns (1-65535)",
                                     req->tty_rows, req->tty_columns);

        x.argv = new0(char *, req->n_command + 1);
        x.env = new0(char *, req->n_environment + 1);
        if (!x.argv || !x.env)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        for (size_t i = 0; i < req->n_command; i++)
                if (!(x.argv[i] = strdup(strempty(req->command[i]))))
                        return api_call_fail_errno(call, -ENOMEM, "out of memory");
        for (size_t i = 0; i < req->n_environment; i++) {
                const char *key = req->environment[i]->key, *value = req->environment[i]->value;

                if (!env_name_is_valid(key))
                        return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                             "invalid environment variable name '%s'", strempty(key));
                if (asprintf(&x.env[i], "%s=%s", key, strempty(value)) < 0) {
                        x.env[i] = NULL;
                        return api_call_fail_errno(call, -ENOMEM, "out of memory");
                }
        }

        x.options = (ExecOptions) {
                .argv = x.argv,
                .env = x.env,
                .working_directory = isempty(req->working_directory) ? NULL : req->working_directory,
                .user = isempty(req->user) ? NULL : req->user,
                .tty = req->tty,
                .rows = req->tty_rows,
                .cols = req->tty_columns,
                .detach = req->detach,
                .timeout_usec = req->timeout_ms > 0 ? (uint64_t) req->timeout_ms * USEC_PER_MSEC
                                                    : (uint64_t) req->timeout_seconds * USEC_PER_SEC,
        };

        if (container_lookup(call, req->container_id, req->container_name, &c) < 0)
                return -ENOENT;
        if (!runtime_is_live(call->manager->runtime, c.id) || c.state != CONTAINER_RUNNING)
                return api_call_fail(call, QUILT_STATUS_FAILED_PRECONDITION,
                                     "container '%s' is not running (%s): start it before exec", c.name,
                                     container_state_to_string(c.state));
        x.container_id = strdup(c.id);
        x.container_name = strdup(c.name);
        if (!x.container_id || !x.container_name)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");

        *ret = x;
        x = (ExecRequest) {};
        return 0;
}

int exec_request_start(ApiCall *call, ExecRequest *x, const ExecCallbacks *callbacks, void *userdata,
                       ExecSession **ret) {
        int r;

        r = runtime_exec(call->manager->runtime, x->container_id, &x->options, callbacks, userdata, ret);
        if (r == -ESRCH)
                return api_call_fail(call, QUILT_STATUS_FAILED_PRECONDITION,
                                     "container '%s' is not running: start it before exec", x->container_name);
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to exec in container '%s': %m", x->container_name);
        return 0;
}

char *exec_result_message(const ExecResult *result, uint64_t timeout_usec) {
        char *m = NULL;
        int r;

        if (result->error)
                r = asprintf(&m, "%s", result->error);
        else if (result->timed_out)
                r = asprintf(&m, "timed out after %.3gs; the command and everything it started were killed",
                             (double) timeout_usec / (double) USEC_PER_SEC);
        else if (result->exit_signal)
                r = asprintf(&m, "command killed by signal %s", signal_name(result->exit_signal) ?: "?");
        else if (result->exit_code != 0)
                r = asprintf(&m, "command failed with exit code %i", result->exit_code);
        else
                r = asprintf(&m, "%s", "");
        return r < 0 ? NULL : m;
}

/* ---- the unary call ---------------------------------------------------------------- */

typedef struct ExecBuffer {
        char *data;
        size_t size, allocated;
} ExecBuffer;

typedef struct ExecContext {
        ApiCall *call;
        ExecSession *session;
        ExecRequest request;
        ExecBuffer output[_EXEC_STREAM_MAX];
        size_t captured;
        bool truncated;
} ExecContext;

static void exec_context_free(ExecContext *ctx) {
        exec_session_free(ctx->session);
        exec_request_done(&ctx->request);
        for (ExecStream i = 0; i < _EXEC_STREAM_MAX; i++)
                free(ctx->output[i].data);
        free(ctx);
}

static void on_output(ExecSession *s, ExecStream stream, const void *data, size_t size, void *userdata) {
        ExecContext *ctx = userdata;
        ExecBuffer *b = &ctx->output[stream];

        /* Beyond what a reply carries, the command still runs to its end; we only stop keeping. */
        if (ctx->captured + size > EXEC_REPLY_OUTPUT_MAX) {
                ctx->truncated = true;
                size = EXEC_REPLY_OUTPUT_MAX - ctx->captured;
        }
        if (size == 0)
                return;
        if (b->size + size + 1 > b->allocated) {
                size_t n = MAX(MAX(b->allocated * 2, b->size + size + 1), (size_t) 4096);
                char *p = realloc(b->data, n);

                if (!p) {
                        ctx->truncated = true;
                        return;
                }
                b->data = p;
                b->allocated = n;
        }
        memcpy(b->data + b->size, data, size);
        b->size += size;
        b->data[b->size] = 0;
        ctx->captured += size;
}

static char *take_output(ExecBuffer *b) {
        return b->data ? TAKE_PTR(b->data) : strdup("");
}

static void on_unary_cancel(ApiCall *call) {
        ExecContext *ctx = call->handler_data;

        /* Nobody waits for the result any more: the command ends (freeing the session
         * kills it and everything it started). */
        exec_context_free(ctx);
        api_call_fail(call, QUILT_STATUS_CANCELLED, "the client went away");
}

static void on_exit_reply(ExecSession *s, const ExecResult *result, void *userdata) {
        ExecContext *ctx = userdata;
        Quilt__ExecContainerResponse *reply;

        reply = new0(Quilt__ExecContainerResponse, 1);
        if (!reply) {
                api_call_fail_errno(ctx->call, -ENOMEM, "out of memory");
                exec_context_free(ctx);
                return;
        }
        quilt__exec_container_response__init(reply);
        reply->success = result->started && !result->error && result->exit_code == 0 && result->exit_signal == 0 &&
                         !result->timed_out;
        reply->exit_code = result->exit_code;
        reply->exit_signal = result->exit_signal;
        reply->timed_out = result->timed_out;
        reply->pid = result->started ? (int32_t) result->pid : 0;
        reply->output_truncated = ctx->truncated;
        reply->execution_time_ms = result->duration_usec / USEC_PER_MSEC;
        reply->stdout = take_output(&ctx->output[EXEC_STREAM_STDOUT]);
        reply->stderr = take_output(&ctx->output[EXEC_STREAM_STDERR]);
        reply->error_message = exec_result_message(result, ctx->request.options.timeout_usec);
        if (!reply->stdout || !reply->stderr || !reply->error_message) {
                protobuf_c_message_free_unpacked(&reply->base, NULL);
                api_call_fail_errno(ctx->call, -ENOMEM, "out of memory");
        } else
                api_call_reply(ctx->call, &reply->base);
        exec_context_free(ctx);
}

int api_exec_container(Manager *m, ApiCall *call) {
        const Quilt__ExecContainerRequest *req = (const Quilt__ExecContainerRequest *) call->request;
        static const ExecCallbacks callbacks = {
                .on_output = on_output,
                .on_exit = on_exit_reply,
        };
        ExecContext *ctx;
        int r;

        ctx = new0(ExecContext, 1);
        if (!ctx)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        ctx->call = call;

        r = exec_request_parse(call, req, &ctx->request);
        if (r < 0) {
                exec_context_free(ctx);
                return 0;
        }
        ctx->request.options.discard_output = !req->capture_output && !req->tty;
        ctx->request.options.stdin_open = req->stdin.len > 0;

        r = exec_request_start(call, &ctx->request, &callbacks, ctx, &ctx->session);
        if (r < 0) {
                exec_context_free(ctx);
                return 0;
        }
        call->handler_data = ctx;
        call->on_cancel = on_unary_cancel;

        /* All of stdin is in the request: EOF after it (with a tty: the EOF character, so that
         * a shell reading the terminal ends instead of waiting for a user). */
        if (req->stdin.len > 0 && exec_session_write_stdin(ctx->session, req->stdin.data, req->stdin.len) < 0)
                log_debug("Exec in container %s: its stdin was closed early.", ctx->request.container_name);
        if (req->stdin.len > 0 || req->tty)
                (void) exec_session_close_stdin(ctx->session);
        return 0;
}

/* ---- the streaming calls ----------------------------------------------------------- */

/* ExecContainerStream and ExecInteractive: each ExecOutput goes out as it happens; the
 * output pauses while the client is more than API_CALL_QUEUE_HIGH behind. */
typedef struct ExecStreamContext {
        ApiCall *call;
        ExecSession *session;
        ExecRequest request;
} ExecStreamContext;

static void exec_stream_context_free(ExecStreamContext *ctx) {
        if (!ctx)
                return;
        exec_session_free(ctx->session);
        exec_request_done(&ctx->request);
        free(ctx);
}

static Quilt__ExecOutput *exec_output_new(Quilt__ExecOutput__Kind kind) {
        Quilt__ExecOutput *o = new0(Quilt__ExecOutput, 1);

        if (!o)
                return NULL;
        quilt__exec_output__init(o);
        o->kind = kind;
        o->error_message = strdup("");
        if (!o->error_message)
                return mfree(o);
        return o;
}

static int exec_stream_send(ExecStreamContext *ctx, Quilt__ExecOutput *o) {
        int r;

        if (!o)
                return -ENOMEM;
        r = api_call_send(ctx->call, &o->base);
        if (r < 0 || api_call_queued_bytes(ctx->call) >= API_CALL_QUEUE_HIGH)
                /* A slow client, or one that is gone (on_cancel follows): stop reading. */
                exec_session_pause_output(ctx->session, true);
        return r;
}

static void on_stream_started(ExecSession *s, pid_t pid, void *userdata) {
        ExecStreamContext *ctx = userdata;
        Quilt__ExecOutput *o = exec_output_new(QUILT__EXEC_OUTPUT__KIND__STARTED);

        if (o)
                o->pid = (int32_t) pid;
        (void) exec_stream_send(ctx, o);
}

static void on_stream_output(ExecSession *s, ExecStream stream, const void *data, size_t size, void *userdata) {
        ExecStreamContext *ctx = userdata;
        Quilt__ExecOutput *o = exec_output_new(stream == EXEC_STREAM_STDERR ? QUILT__EXEC_OUTPUT__KIND__STDERR
                                                                           : QUILT__EXEC_OUTPUT__KIND__STDOUT);

        if (o) {
                o->data.data = malloc(size);
                if (!o->data.data) {
                        protobuf_c_message_free_unpacked(&o->base, NULL);
                        o = NULL;
                } else {
                        memcpy(o->data.data, data, size);
                        o->data.len = size;
                }
        }
        if (exec_stream_send(ctx, o) == -ENOMEM)
                log_warning("Exec in container %s: out of memory, %zu bytes of output lost.",
                            ctx->request.container_name, size);
}

static void on_stream_exit(ExecSession *s, const ExecResult *result, void *userdata) {
        ExecStreamContext *ctx = userdata;
        Quilt__ExecOutput *o = exec_output_new(QUILT__EXEC_OUTPUT__KIND__EXIT);

        if (o) {
                o->pid = result->started ? (int32_t) result->pid : 0;
                o->exit_code = result->exit_code;
                o->exit_signal = result->exit_signal;
                o->timed_out = result->timed_out;
                o->execution_time_ms = result->duration_usec / USEC_PER_MSEC;
                free(o->error_message);
                o->error_message = exec_result_message(result, ctx->request.options.timeout_usec);
                if (!o->error_message) {
                        protobuf_c_message_free_unpacked(&o->base, NULL);
                        o = NULL;
                }
        }
        /* The last message goes out before the status. Once answered, the call is not
         * ours to touch. */
        if (!o) {
                api_call_fail_errno(ctx->call, -ENOMEM, "out of memory");
                exec_stream_context_free(ctx);
        } else if (api_call_send(ctx->call, &o->base) >= 0) {
                api_call_reply(ctx->call, NULL);
                exec_stream_context_free(ctx);
        } else {
                /* The client is gone and on_cancel (which has not run, or there would be no
                 * session calling us) answers: keep the context for it, not the session. */
                exec_session_free(ctx->session);
                ctx->session = NULL;
        }
}

static void on_stream_drained(ApiCall *call) {
        ExecStreamContext *ctx = call->handler_data;

        exec_session_pause_output(ctx->session, false);
}

static void on_stream_cancel(ApiCall *call) {
        ExecStreamContext *ctx = call->handler_data;

        /* The client is gone: so is the command it ran (freeing the session kills it). */
        call->handler_data = NULL;
        exec_stream_context_free(ctx);
        api_call_fail(call, QUILT_STATUS_CANCELLED, "the client went away");
}

static const ExecCallbacks stream_callbacks = {
        .on_started = on_stream_started,
        .on_output = on_stream_output,
        .on_exit = on_stream_exit,
};

/* Starts req for the call; answers the call on failure. */
static int exec_stream_start(ApiCall *call, const Quilt__ExecContainerRequest *req) {
        ExecStreamContext *ctx;
        int r;

        ctx = new0(ExecStreamContext, 1);
        if (!ctx)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        ctx->call = call;

        r = exec_request_parse(call, req, &ctx->request);
        if (r < 0) {
                exec_stream_context_free(ctx);
                return r;
        }
        ctx->request.options.stdin_open = call->method->client_streaming || req->stdin.len > 0;

        r = exec_request_start(call, &ctx->request, &stream_callbacks, ctx, &ctx->session);
        if (r < 0) {
                exec_stream_context_free(ctx);
                return r;
        }
        call->handler_data = ctx;
        call->on_cancel = on_stream_cancel;
        call->on_drained = on_stream_drained;

        if (req->stdin.len > 0 && exec_session_write_stdin(ctx->session, req->stdin.data, req->stdin.len) < 0)
                log_debug("Exec in container %s: its stdin was closed early.", ctx->request.container_name);
        /* Without a client stream all of stdin was in the request. */
        if (!call->method->client_streaming && (req->stdin.len > 0 || req->tty))
                (void) exec_session_close_stdin(ctx->session);
        return 0;
}

int api_exec_container_stream(Manager *m, ApiCall *call) {
        (void) exec_stream_start(call, (const Quilt__ExecContainerRequest *) call->request);
        return 0;
}

static void on_interactive_message(ApiCall *call, ProtobufCMessage *message) {
        _cleanup_proto_ ProtobufCMessage *m = message;
        const Quilt__ExecInput *in = (const Quilt__ExecInput *) message;
        ExecStreamContext *ctx = call->handler_data;
        int r;

        if (!ctx || !ctx->session)
                return; /* it ended; the status is on its way */
        if (in->start) {
                log_debug("ExecInteractive: a second start message, ignored.");
                return;
        }
        if (in->stdin.len > 0 && exec_session_write_stdin(ctx->session, in->stdin.data, in->stdin.len) < 0)
                log_debug("Exec in container %s: input after stdin was closed, dropped.", ctx->request.container_name);
        if (in->tty_rows > 0 && in->tty_columns > 0) {
                r = exec_session_resize(ctx->session, in->tty_rows, in->tty_columns);
                if (r < 0)
                        log_debug_errno(r, "Exec in container %s: resize to %ux%u failed: %m",
                                        ctx->request.container_name, in->tty_rows, in->tty_columns);
        }
        if (in->close_stdin)
                (void) exec_session_close_stdin(ctx->session);
}

static void on_interactive_half_close(ApiCall *call) {
        ExecStreamContext *ctx = call->handler_data;

        /* The client sends nothing more: the end of stdin (the command decides whether it
         * ends too). */
        if (ctx && ctx->session)
                (void) exec_session_close_stdin(ctx->session);
}

int api_exec_interactive(Manager *m, ApiCall *call) {
        const Quilt__ExecInput *first = (const Quilt__ExecInput *) call->request;

        if (!first->start)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "the first ExecInput must carry the exec request in \"start\"");
        if (exec_stream_start(call, first->start) < 0)
                return 0;

        call->on_message = on_interactive_message;
        call->on_half_close = on_interactive_half_close;
        /* What the first message carried besides the request. */
        if (first->tty_rows > 0 && first->tty_columns > 0)
                (void) exec_session_resize(((ExecStreamContext *) call->handler_data)->session, first->tty_rows,
                                           first->tty_columns);
        if (first->stdin.len > 0)
                (void) exec_session_write_stdin(((ExecStreamContext *) call->handler_data)->session,
                                                first->stdin.data, first->stdin.len);
        if (first->close_stdin)
                (void) exec_session_close_stdin(((ExecStreamContext *) call->handler_data)->session);
        return 0;
}
