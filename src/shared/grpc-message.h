/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* protobuf-c messages in and out of grpc byte buffers, for the server and the client. */

#include <grpc/byte_buffer.h>
#include <protobuf-c/protobuf-c.h>

/* NULL on OOM. The caller destroys the buffer with grpc_byte_buffer_destroy(). */
grpc_byte_buffer *grpc_message_pack(const ProtobufCMessage *message);

/* NULL when bb is NULL or does not decode as descriptor's message. Freed with
 * protobuf_c_message_free_unpacked(m, NULL). */
ProtobufCMessage *grpc_message_unpack(const ProtobufCMessageDescriptor *descriptor, grpc_byte_buffer *bb);
