/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A synchronous gRPC client for QuiltService (grpc C core, a pluck completion queue),
 * used by the CLI: unary calls, and streams (server, client and bidirectional). */

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "status.h"

#define QUILT_DEFAULT_HOST "unix:/run/quilt/quilt.sock"

typedef struct QuiltClient QuiltClient;

/* Calls (unary or streams) may be made from several threads at once on one client.
 *
 * host: "unix:/path" or "tcp:HOST:PORT" (plain "HOST:PORT" is accepted too); NULL means
 * $QUILT_HOST, else QUILT_DEFAULT_HOST. token: sent as "authorization: Bearer <token>";
 * NULL means $QUILT_TOKEN (may be unset). -EINVAL for a malformed host. */
int quilt_client_new(const char *host, const char *token, QuiltClient **ret);
/* The same for another service (the transports' unit test). */
int quilt_client_new_for_service(const char *host, const char *token, const ProtobufCServiceDescriptor *service,
                                 QuiltClient **ret);
QuiltClient *quilt_client_free(QuiltClient *c);

/* Calls a unary RPC by name ("GetHealth"). Returns 0 when the call completed, with the
 * status in *ret_code and, when not OK, a message in *ret_message (malloc()ed); the reply
 * (OK only) is freed with protobuf_c_message_free_unpacked(m, NULL). A daemon that cannot
 * be reached completes with QUILT_STATUS_UNAVAILABLE. timeout_usec 0 means no deadline.
 * Returns -EINVAL for an unknown method name. */
int quilt_client_call(QuiltClient *c, const char *method, const ProtobufCMessage *request, uint64_t timeout_usec,
                      ProtobufCMessage **ret_reply, QuiltStatusCode *ret_code, char **ret_message);

/* ---- streams ----
 *
 * A streaming call (which methods stream is declared in src/shared/rpc-kind.c):
 *
 *     r = quilt_client_stream_open(c, "StreamEvents", &req.base, &s);
 *     while ((r = quilt_client_stream_recv(s, NULL, 0, &m)) > 0) { use m; free m; }
 *     r == 0: ended OK; r == -EREMOTEIO: ended with quilt_client_stream_status(); else local.
 *     quilt_client_stream_free(s);
 *
 * open sends the first request message; for a method that does not stream from the client,
 * it also half-closes. For client-streaming and bidirectional methods, further messages
 * go with quilt_client_stream_send() and the end of them with
 * quilt_client_stream_close_send(). Threads: one thread may send (send, close_send) while
 * another receives (recv); quilt_client_stream_cancel() may be called from any thread
 * (not from a signal handler); free only when neither sends nor receives any more. The
 * stream has no deadline: the caller cancels it, or passes a timeout to each recv. The
 * client must outlive its streams, and unary calls may run on it meanwhile. */

typedef struct QuiltStream QuiltStream;

/* 0 with the stream (also when the daemon cannot be reached: the first recv reports
 * UNAVAILABLE), -EINVAL for an unknown method or a first message of the wrong type,
 * -ENOMEM. */
int quilt_client_stream_open(QuiltClient *c, const char *method, const ProtobufCMessage *first,
                             QuiltStream **ret);

/* Waits for the next message, of type (NULL: the method's output type). 1 with the message
 * in *ret (freed with protobuf_c_message_free_unpacked(m, NULL)); 0 when the stream ended
 * with OK; -EREMOTEIO when it ended with an error status (quilt_client_stream_status());
 * -ETIMEDOUT when timeout_usec (0: none) passed first, the stream goes on and recv may be
 * called again; -EBADMSG when a message did not decode (the call is cancelled). */
int quilt_client_stream_recv(QuiltStream *s, const ProtobufCMessageDescriptor *type, uint64_t timeout_usec,
                             ProtobufCMessage **ret);

/* Sends one more message; waits while flow control holds it back. 0, -EPIPE when the call
 * is over (recv tells how it ended), -EINVAL for a message of the wrong type. */
int quilt_client_stream_send(QuiltStream *s, const ProtobufCMessage *message);
/* The client sends nothing more (half-close). 0 or -EPIPE. */
int quilt_client_stream_close_send(QuiltStream *s);

/* Ends the call from the client's side; recv then returns -EREMOTEIO with CANCELLED. */
void quilt_client_stream_cancel(QuiltStream *s);

/* The final status, once recv returned 0 or -EREMOTEIO: *ret_message is valid until free. */
void quilt_client_stream_status(QuiltStream *s, QuiltStatusCode *ret_code, const char **ret_message);

/* Cancels the call if it has not ended, and frees the stream. */
QuiltStream *quilt_client_stream_free(QuiltStream *s);
static inline void quilt_client_stream_freep(QuiltStream **s) {
        quilt_client_stream_free(*s);
}
