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
        /* All of stdin is in the request: EOF after it (with a tty: the EOF character, so that
         * a shell reading the terminal ends instead of waiting for a user). */
        if (req->stdin.len > 0 && exec_session_write_stdin(ctx->session, req->stdin.data, req->stdin.len) < 0)
                log_debug("Exec in container %s: its stdin was closed early.", ctx->request.container_name);
        if (req->stdin.len > 0 || req->tty)
                (void) exec_session_close_stdin(ctx->session);
        return 0;
}
