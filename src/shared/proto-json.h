/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Generic protobuf-c ⇄ JSON conversion driven by the message descriptors, so that no
 * message needs conversion code of its own.
 *
 * Encoding: every field is emitted, defaults included, under its proto (snake_case) name;
 * enums by value name ("RUNNING"); 64-bit integers as JSON integers (uint64 above INT64_MAX
 * as a decimal string); bytes as base64; map<K,V> fields as JSON objects; oneof members
 * only when set; float/double as reals.
 *
 * Decoding: snake_case and lowerCamelCase names are accepted; unknown fields, wrong types,
 * out-of-range numbers and unknown enum names are rejected with a message that names the
 * field path ("memory_limit_mb: expected an integer, got string"). 64-bit integers may be
 * given as numbers or decimal strings, enums by name or number. JSON null means "default".
 * The result is freed with protobuf_c_message_free_unpacked(m, NULL). */

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* Returns a new reference, or NULL on OOM. */
json_t *proto_to_json(const ProtobufCMessage *m);

/* 0 on success; -EINVAL with *ret_error set (malloc()ed, may be passed as NULL) when the
 * JSON does not match the message; -ENOMEM. */
int proto_from_json(const ProtobufCMessageDescriptor *d, const json_t *j, ProtobufCMessage **ret, char **ret_error);
