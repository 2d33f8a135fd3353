/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Building map<string,string> fields of heap-built messages (freed with
 * protobuf_c_message_free_unpacked(m, NULL)), for any map entry type. */

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* Appends key → value to the map field held in entries and n, whose entry type
 * is entry_descriptor (e.g. &quilt__get_system_info_response__features_entry__descriptor),
 * growing the array. 0, or -ENOMEM with the field unchanged. */
int proto_map_put(void ***entries, size_t *n, const ProtobufCMessageDescriptor *entry_descriptor, const char *key,
                  const char *value);
