/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include "grpc-message.h"

grpc_byte_buffer *grpc_message_pack(const ProtobufCMessage *message) {
        grpc_byte_buffer *bb;
        grpc_slice slice;

        slice = grpc_slice_malloc(protobuf_c_message_get_packed_size(message));
        protobuf_c_message_pack(message, GRPC_SLICE_START_PTR(slice));
        bb = grpc_raw_byte_buffer_create(&slice, 1);
        grpc_slice_unref(slice);
        return bb;
}

ProtobufCMessage *grpc_message_unpack(const ProtobufCMessageDescriptor *descriptor, grpc_byte_buffer *bb) {
        grpc_byte_buffer_reader reader;
        ProtobufCMessage *message;
        grpc_slice slice;

        if (!bb || !grpc_byte_buffer_reader_init(&reader, bb))
                return NULL;
        /* One contiguous copy: protobuf-c unpacks from a flat buffer. */
        slice = grpc_byte_buffer_reader_readall(&reader);
        grpc_byte_buffer_reader_destroy(&reader);

        message = protobuf_c_message_unpack(descriptor, NULL, GRPC_SLICE_LENGTH(slice), GRPC_SLICE_START_PTR(slice));
        grpc_slice_unref(slice);
        return message;
}
