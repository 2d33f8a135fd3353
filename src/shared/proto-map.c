/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "macro.h"
#include "proto-map.h"

/* A map entry is a message with string fields "key" and "value"; their offsets come from
 * the descriptor, so one function serves every map<string,string> in the proto. */
int proto_map_put(void ***entries, size_t *n, const ProtobufCMessageDescriptor *entry_descriptor, const char *key,
                  const char *value) {
        const ProtobufCFieldDescriptor *fk, *fv;
        ProtobufCMessage *entry;
        void **grown;

        fk = protobuf_c_message_descriptor_get_field_by_name(entry_descriptor, "key");
        fv = protobuf_c_message_descriptor_get_field_by_name(entry_descriptor, "value");
        if (!fk || !fv || fk->type != PROTOBUF_C_TYPE_STRING || fv->type != PROTOBUF_C_TYPE_STRING)
                return -EINVAL;

        grown = realloc(*entries, (*n + 1) * sizeof(void *));
        if (!grown)
                return -ENOMEM;
        *entries = grown;

        entry = malloc(entry_descriptor->sizeof_message);
        if (!entry)
                return -ENOMEM;
        protobuf_c_message_init(entry_descriptor, entry);

        *(char **) ((char *) entry + fk->offset) = strdup(key);
        *(char **) ((char *) entry + fv->offset) = strdup(value);
        if (!*(char **) ((char *) entry + fk->offset) || !*(char **) ((char *) entry + fv->offset)) {
                protobuf_c_message_free_unpacked(entry, NULL);
                return -ENOMEM;
        }

        grown[(*n)++] = entry;
        return 0;
}
