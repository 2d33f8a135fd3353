/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The allocations behind a hand-built request, released together. */

#include <errno.h>
#include <string.h>

#include "cli.h"

static void *arena_track(Arena *a, void *p) {
        if (!p)
                return NULL;
        if (a->n >= a->allocated) {
                size_t k = MAX(a->allocated * 2, (size_t) 16);
                void **l = realloc(a->ptrs, k * sizeof(void *));
                if (!l) {
                        free(p);
                        return NULL;
                }
                a->ptrs = l;
                a->allocated = k;
        }
        a->ptrs[a->n++] = p;
        return p;
}

void *arena_alloc0(Arena *a, size_t size) {
        return arena_track(a, calloc(1, MAX(size, (size_t) 1)));
}

char *arena_strdup(Arena *a, const char *s) {
        return arena_track(a, strdup(s));
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
        return arena_track(a, strndup(s, n));
}

void arena_done(Arena *a) {
        for (size_t i = 0; i < a->n; i++)
                free(a->ptrs[i]);
        a->ptrs = mfree(a->ptrs);
        a->n = a->allocated = 0;
}

/* A map<string, string> entry is a message with two string fields, "key" and "value";
 * going through the descriptor's offsets keeps this independent of the entry type. */
static char **entry_field(void *entry, const ProtobufCMessageDescriptor *d, const char *name) {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, name);

        if (!f || f->type != PROTOBUF_C_TYPE_STRING)
                return NULL;
        return (char **) ((char *) entry + f->offset);
}

int arena_map_put(Arena *a, const ProtobufCMessageDescriptor *d, void **entries, size_t *n, const char *key,
                  const char *value) {
        char **k, **v;
        void *e;

        for (size_t i = 0; i < *n; i++) {
                k = entry_field(entries[i], d, "key");
                if (k && streq(*k, key)) {
                        v = entry_field(entries[i], d, "value");
                        if (!v)
                                return -EINVAL;
                        *v = (char *) value;
                        return 0;
                }
        }

        e = arena_alloc0(a, d->sizeof_message);
        if (!e)
                return -ENOMEM;
        protobuf_c_message_init(d, e);
        k = entry_field(e, d, "key");
        v = entry_field(e, d, "value");
        if (!k || !v)
                return -EINVAL;
        *k = (char *) key;
        *v = (char *) value;
        entries[(*n)++] = e;
        return 0;
}
