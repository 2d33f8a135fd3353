/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "proto-json.h"
#include "utf8.h"

/* Everything here walks ProtobufCMessageDescriptor.fields[] and touches a message only
 * through each field's offset and quantifier_offset, the same way protobuf-c's own
 * unpacker does, so a decoded message has exactly the layout that
 * protobuf_c_message_free_unpacked() expects. */

#define STRUCT_MEMBER_P(m, offset)     ((void *) ((uint8_t *) (m) + (offset)))
#define STRUCT_MEMBER(type, m, offset) (*(type *) STRUCT_MEMBER_P((m), (offset)))

/* json_decrefp() comes with jansson (it is what json_auto_t uses). */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* ---- field classification ------------------------------------------------ */

static const ProtobufCFieldDescriptor *field_by_id(const ProtobufCMessageDescriptor *d, unsigned id) {
        for (unsigned i = 0; i < d->n_fields; i++)
                if (d->fields[i].id == id)
                        return &d->fields[i];
        return NULL;
}

static bool endswith(const char *s, const char *suffix) {
        size_t l = strlen(s), k = strlen(suffix);
        return l >= k && streq(s + l - k, suffix);
}

/* protobuf-c records no "map entry" option, but protoc always lowers map<K,V> to a repeated
 * nested message "<Field>Entry" with exactly key = 1 and value = 2, which is what we look
 * for. A user-written message of that exact shape would be encoded as a map as well; the
 * JSON mapping of the two is the same as far as the wire format goes. */
static bool field_is_map(const ProtobufCFieldDescriptor *f) {
        const ProtobufCMessageDescriptor *e;
        const ProtobufCFieldDescriptor *k, *v;

        if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE || !f->descriptor)
                return false;

        e = f->descriptor;
        if (e->n_fields != 2 || !endswith(e->name, "Entry"))
                return false;

        k = field_by_id(e, 1);
        v = field_by_id(e, 2);
        return k && v && streq(k->name, "key") && streq(v->name, "value") &&
               k->label != PROTOBUF_C_LABEL_REPEATED && v->label != PROTOBUF_C_LABEL_REPEATED;
}

static size_t field_element_size(ProtobufCType type) {
        switch (type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
        case PROTOBUF_C_TYPE_FLOAT:
        case PROTOBUF_C_TYPE_ENUM:
                return 4;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
        case PROTOBUF_C_TYPE_DOUBLE:
                return 8;
        case PROTOBUF_C_TYPE_BOOL:
                return sizeof(protobuf_c_boolean);
        case PROTOBUF_C_TYPE_STRING:
                return sizeof(char *);
        case PROTOBUF_C_TYPE_BYTES:
                return sizeof(ProtobufCBinaryData);
        case PROTOBUF_C_TYPE_MESSAGE:
                return sizeof(ProtobufCMessage *);
        }
        return 0;
}

/* proto2 "optional" scalars carry a has_ flag at quantifier_offset; strings and messages
 * (and everything in proto3) use the value itself. */
static bool field_has_presence_flag(const ProtobufCFieldDescriptor *f) {
        return f->label == PROTOBUF_C_LABEL_OPTIONAL && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
               f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE;
}

/* Compares a JSON key with the lowerCamelCase form of a proto field name ("memory_limit_mb"
 * → "memoryLimitMb") without building the camelCase string. */
static bool name_matches_camel(const char *field, const char *key) {
        bool upper = false;

        for (; *field; field++) {
                char c = *field;

                if (c == '_') {
                        upper = true;
                        continue;
                }
                if (upper && c >= 'a' && c <= 'z')
                        c = (char) (c - 'a' + 'A');
                upper = false;

                if (*key != c)
                        return false;
                key++;
        }
        return *key == 0;
}

static int field_index_by_json_name(const ProtobufCMessageDescriptor *d, const char *key) {
        for (unsigned i = 0; i < d->n_fields; i++)
                if (streq(d->fields[i].name, key))
                        return (int) i;
        for (unsigned i = 0; i < d->n_fields; i++)
                if (name_matches_camel(d->fields[i].name, key))
                        return (int) i;
        return -1;
}

/* ---- base64 --------------------------------------------------------------- */

static const char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const uint8_t *data, size_t len) {
        char *out, *o;

        out = o = malloc((len + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;

        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t) data[i] << 16;
                size_t n = MIN(len - i, (size_t) 3);

                if (n > 1)
                        v |= (uint32_t) data[i + 1] << 8;
                if (n > 2)
                        v |= data[i + 2];

                *o++ = base64_alphabet[(v >> 18) & 63];
                *o++ = base64_alphabet[(v >> 12) & 63];
                *o++ = n > 1 ? base64_alphabet[(v >> 6) & 63] : '=';
                *o++ = n > 2 ? base64_alphabet[v & 63] : '=';
        }
        *o = 0;
        return out;
}

static int base64_char_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        /* Both the standard and the URL-safe alphabet, as the proto3 JSON mapping asks. */
        if (c == '+' || c == '-')
                return 62;
        if (c == '/' || c == '_')
                return 63;
        return -1;
}

/* Accepts padded and unpadded input; rejects anything else (whitespace included), and
 * non-zero trailing bits, so that every accepted string has exactly one meaning. */
static int base64_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ uint8_t *out = NULL;
        size_t n = 0, pad = 0;
        uint32_t acc = 0;
        unsigned bits = 0;

        while (len > 0 && s[len - 1] == '=' && pad < 2) {
                len--;
                pad++;
        }
        if (pad > 0 && (len + pad) % 4 != 0)
                return -EINVAL;
        if (len % 4 == 1)
                return -EINVAL;

        out = malloc(len / 4 * 3 + 3);
        if (!out)
                return -ENOMEM;

        for (size_t i = 0; i < len; i++) {
                int v = base64_char_value(s[i]);
                if (v < 0)
                        return -EINVAL;

                acc = (acc << 6) | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[n++] = (uint8_t) (acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        if (acc != 0)
                return -EINVAL;

        *ret = TAKE_PTR(out);
        *ret_len = n;
        return 0;
}

/* ---- UTF-8 ------------------------------------------------------------------ */

/* Handlers fill strings such as an exec's stdout with whatever a process wrote, which need
 * not be UTF-8; JSON cannot carry that, so each invalid byte becomes U+FFFD rather than
 * failing the whole reply. */
static json_t *json_string_lossy(const char *s) {
        _cleanup_free_ char *fixed = NULL;
        size_t len = strlen(s);

        if (utf8_is_clean(s, len))
                return json_stringn(s, len);
        fixed = utf8_make_clean(s, len);
        return fixed ? json_string(fixed) : NULL;
}

/* ---- encoding --------------------------------------------------------------- */

static json_t *encode_message(const ProtobufCMessage *m);

/* Widening a float to double exposes its binary expansion (12.3f → 12.300000190734863);
 * pick the shortest decimal that reads back as the same float instead. */
static double float_to_double(float f) {
        char buf[64];

        for (int precision = 1; precision <= 9; precision++) {
                double d;

                (void) snprintf(buf, sizeof(buf), "%.*g", precision, (double) f);
                d = strtod(buf, NULL);
                if ((float) d == f)
                        return d;
        }
        return (double) f;
}

static json_t *encode_real(double d) {
        /* JSON has no NaN or infinities; the proto3 JSON mapping spells them as strings. */
        if (isnan(d))
                return json_string("NaN");
        if (isinf(d))
                return json_string(d > 0 ? "Infinity" : "-Infinity");
        return json_real(d);
}

static json_t *encode_value(const ProtobufCFieldDescriptor *f, const void *p) {
        switch (f->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
                return json_integer(*(const int32_t *) p);
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                return json_integer(*(const uint32_t *) p);
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
                return json_integer(*(const int64_t *) p);
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64: {
                uint64_t v = *(const uint64_t *) p;
                char buf[32];

                /* jansson's integers are signed 64-bit; larger values go out as a decimal
                 * string, which the decoder accepts for every 64-bit field. */
                if (v <= INT64_MAX)
                        return json_integer((json_int_t) v);
                (void) snprintf(buf, sizeof(buf), "%" PRIu64, v);
                return json_string(buf);
        }
        case PROTOBUF_C_TYPE_FLOAT:
                return encode_real(float_to_double(*(const float *) p));
        case PROTOBUF_C_TYPE_DOUBLE:
                return encode_real(*(const double *) p);
        case PROTOBUF_C_TYPE_BOOL:
                return json_boolean(*(const protobuf_c_boolean *) p);
        case PROTOBUF_C_TYPE_ENUM: {
                int v = *(const int *) p;
                const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);

                /* A value this build does not know (a newer peer) stays a number, so that
                 * it survives a round trip. */
                return ev ? json_string(ev->name) : json_integer(v);
        }
        case PROTOBUF_C_TYPE_STRING: {
                const char *s = *(char *const *) p;
                return json_string_lossy(s ?: "");
        }
        case PROTOBUF_C_TYPE_BYTES: {
                const ProtobufCBinaryData *b = p;
                _cleanup_free_ char *s = base64_encode(b->data, b->data ? b->len : 0);

                return s ? json_string(s) : NULL;
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
                const ProtobufCMessage *sub = *(ProtobufCMessage *const *) p;
                return sub ? encode_message(sub) : json_null();
        }
        }
        return NULL;
}

static int format_map_key(const ProtobufCFieldDescriptor *k, const void *p, char *buf, size_t size,
                          const char **ret) {
        switch (k->type) {
        case PROTOBUF_C_TYPE_STRING:
                *ret = *(char *const *) p ?: "";
                return 0;
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
                (void) snprintf(buf, size, "%" PRIi32, *(const int32_t *) p);
                break;
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                (void) snprintf(buf, size, "%" PRIu32, *(const uint32_t *) p);
                break;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
                (void) snprintf(buf, size, "%" PRIi64, *(const int64_t *) p);
                break;
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                (void) snprintf(buf, size, "%" PRIu64, *(const uint64_t *) p);
                break;
        case PROTOBUF_C_TYPE_BOOL:
                (void) snprintf(buf, size, "%s", *(const protobuf_c_boolean *) p ? "true" : "false");
                break;
        default:
                /* protoc allows no other key types. */
                return -EINVAL;
        }
        *ret = buf;
        return 0;
}

static json_t *encode_map(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *const *entries,
                          size_t n) {
        const ProtobufCFieldDescriptor *kf = field_by_id(f->descriptor, 1),
                                       *vf = field_by_id(f->descriptor, 2);
        _cleanup_json_ json_t *o = json_object();

        if (!o)
                return NULL;

        for (size_t i = 0; i < n; i++) {
                const ProtobufCMessage *e = entries[i];
                _cleanup_json_ json_t *key_json = NULL;
                const char *key;
                char buf[32];
                json_t *v;

                if (!e)
                        continue;

                if (format_map_key(kf, STRUCT_MEMBER_P(e, kf->offset), buf, sizeof(buf), &key) < 0)
                        return NULL;

                /* Keys must be valid UTF-8 as well; reuse the lossy string conversion. */
                key_json = json_string_lossy(key);
                if (!key_json)
                        return NULL;

                v = encode_value(vf, STRUCT_MEMBER_P(e, vf->offset));
                if (!v || json_object_set_new(o, json_string_value(key_json), v) < 0)
                        return NULL;
        }

        return TAKE_PTR(o);
}

static json_t *encode_repeated(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m) {
        size_t n = STRUCT_MEMBER(size_t, m, f->quantifier_offset);
        const uint8_t *array = STRUCT_MEMBER(const uint8_t *, m, f->offset);
        size_t size = field_element_size(f->type);
        _cleanup_json_ json_t *a = NULL;

        if (!array)
                n = 0;

        if (field_is_map(f))
                return encode_map(f, (const ProtobufCMessage *const *) array, n);

        a = json_array();
        if (!a)
                return NULL;

        for (size_t i = 0; i < n; i++)
                if (json_array_append_new(a, encode_value(f, array + i * size)) < 0)
                        return NULL;

        return TAKE_PTR(a);
}

static json_t *encode_message(const ProtobufCMessage *m) {
        const ProtobufCMessageDescriptor *d = m->descriptor;
        _cleanup_json_ json_t *o = json_object();

        if (!o)
                return NULL;

        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = &d->fields[i];
                json_t *v;

                if (f->label == PROTOBUF_C_LABEL_REPEATED)
                        v = encode_repeated(f, m);
                else {
                        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                            STRUCT_MEMBER(uint32_t, m, f->quantifier_offset) != f->id)
                                continue;
                        if (field_has_presence_flag(f) &&
                            !STRUCT_MEMBER(protobuf_c_boolean, m, f->quantifier_offset))
                                continue;

                        v = encode_value(f, STRUCT_MEMBER_P(m, f->offset));
                }

                /* json_object_set_new() consumes v even when it fails. */
                if (!v || json_object_set_new(o, f->name, v) < 0)
                        return NULL;
        }

        return TAKE_PTR(o);
}

json_t *proto_to_json(const ProtobufCMessage *m) {
        if (!m)
                return NULL;
        return encode_message(m);
}

/* ---- decoding: errors ------------------------------------------------------------- */

typedef enum PathKind {
        PATH_FIELD,
        PATH_INDEX,
        PATH_KEY,
} PathKind;

/* Where in the document we are, as a chain of stack frames, turned into text only when
 * an error has to be reported: "mounts[0].options['size']". */
typedef struct Path {
        const struct Path *parent;
        PathKind kind;
        const char *name; /* PATH_FIELD: field name; PATH_KEY: map key */
        size_t index;     /* PATH_INDEX */
} Path;

static void path_print(FILE *f, const Path *p) {
        if (!p)
                return;

        path_print(f, p->parent);
        switch (p->kind) {
        case PATH_FIELD:
                fprintf(f, "%s%s", p->parent ? "." : "", p->name);
                break;
        case PATH_INDEX:
                fprintf(f, "[%zu]", p->index);
                break;
        case PATH_KEY:
                fprintf(f, "['%s']", p->name);
                break;
        }
}

typedef struct Decoder {
        char *error;
} Decoder;

static int fail(Decoder *dec, const Path *path, const char *format, ...) _printf_(3, 4);
static int fail(Decoder *dec, const Path *path, const char *format, ...) {
        _cleanup_fclose_ FILE *f = NULL;
        char *buf = NULL;
        size_t size = 0;
        va_list ap;

        /* Only the first error is kept: it is the one closest to the cause. */
        if (dec->error)
                return -EINVAL;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        if (path) {
                path_print(f, path);
                fputs(": ", f);
        }
        va_start(ap, format);
        vfprintf(f, format, ap);
        va_end(ap);

        if (fclose(TAKE_PTR(f)) != 0) {
                free(buf);
                return -ENOMEM;
        }

        dec->error = buf;
        return -EINVAL;
}

static const char *json_type_name(const json_t *j) {
        switch (json_typeof(j)) {
        case JSON_OBJECT:
                return "object";
        case JSON_ARRAY:
                return "array";
        case JSON_STRING:
                return "string";
        case JSON_INTEGER:
                return "integer";
        case JSON_REAL:
                return "number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "boolean";
        case JSON_NULL:
                return "null";
        }
        return "unknown";
}

/* ---- decoding: numbers --------------------------------------------------------------- */

static bool is_decimal_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* Strict decimal: optional '-', digits, nothing else (no spaces, '+', hex or exponent). */
static int parse_int64_string(const char *s, int64_t *ret) {
        long long v;
        char *end;

        if (!is_decimal_digits(s[0] == '-' ? s + 1 : s))
                return -EINVAL;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end)
                return -EINVAL;

        *ret = v;
        return 0;
}

static int parse_uint64_string(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        /* strtoull() would quietly accept "-1" as 2^64-1. */
        if (!is_decimal_digits(s))
                return s[0] == '-' && is_decimal_digits(s + 1) ? -ERANGE : -EINVAL;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end)
                return -EINVAL;

        *ret = v;
        return 0;
}

/* A JSON number that is a whole number, as the proto3 JSON mapping allows for integer
 * fields ("5.0", "1e3"). ±2^63 bound the double range that converts exactly. */
static int real_to_int64(double d, int64_t *ret) {
        if (d != floor(d) || isnan(d))
                return -EINVAL;
        if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
                return -ERANGE;
        *ret = (int64_t) d;
        return 0;
}

static int decode_signed(Decoder *dec, const Path *path, const json_t *j, bool allow_string, int64_t min,
                         int64_t max, const char *type, int64_t *ret) {
        int64_t v;
        int r;

        if (json_is_integer(j))
                v = json_integer_value(j);
        else if (json_is_real(j)) {
                r = real_to_int64(json_real_value(j), &v);
                if (r == -EINVAL)
                        return fail(dec, path, "expected an integer, got %g", json_real_value(j));
                if (r < 0)
                        return fail(dec, path, "%g is out of range for %s", json_real_value(j), type);
        } else if (allow_string && json_is_string(j)) {
                r = parse_int64_string(json_string_value(j), &v);
                if (r == -ERANGE)
                        return fail(dec, path, "'%s' is out of range for %s", json_string_value(j), type);
                if (r < 0)
                        return fail(dec, path, "invalid %s '%s'", type, json_string_value(j));
        } else
                return fail(dec, path, "expected an integer, got %s", json_type_name(j));

        if (v < min || v > max)
                return fail(dec, path, "%" PRIi64 " is out of range for %s", v, type);

        *ret = v;
        return 0;
}

static int decode_unsigned(Decoder *dec, const Path *path, const json_t *j, bool allow_string, uint64_t max,
                           const char *type, uint64_t *ret) {
        uint64_t v;
        int r;

        if (json_is_integer(j)) {
                json_int_t i = json_integer_value(j);
                if (i < 0)
                        return fail(dec, path, "%" JSON_INTEGER_FORMAT " is out of range for %s", i, type);
                v = (uint64_t) i;
        } else if (json_is_real(j)) {
                double d = json_real_value(j);

                if (d != floor(d) || isnan(d))
                        return fail(dec, path, "expected an integer, got %g", d);
                if (d < 0 || d >= 18446744073709551616.0)
                        return fail(dec, path, "%g is out of range for %s", d, type);
                v = (uint64_t) d;
        } else if (allow_string && json_is_string(j)) {
                r = parse_uint64_string(json_string_value(j), &v);
                if (r == -ERANGE)
                        return fail(dec, path, "'%s' is out of range for %s", json_string_value(j), type);
                if (r < 0)
                        return fail(dec, path, "invalid %s '%s'", type, json_string_value(j));
        } else
                return fail(dec, path, "expected an integer, got %s", json_type_name(j));

        if (v > max)
                return fail(dec, path, "%" PRIu64 " is out of range for %s", v, type);

        *ret = v;
        return 0;
}

static int decode_real(Decoder *dec, const Path *path, const json_t *j, bool is_float, double *ret) {
        double d;

        if (json_is_integer(j))
                d = (double) json_integer_value(j);
        else if (json_is_real(j))
                d = json_real_value(j);
        else if (json_is_string(j)) {
                const char *s = json_string_value(j);

                if (streq(s, "NaN"))
                        d = NAN;
                else if (streq(s, "Infinity"))
                        d = INFINITY;
                else if (streq(s, "-Infinity"))
                        d = -INFINITY;
                else
                        return fail(dec, path, "expected a number, got string '%s'", s);
        } else
                return fail(dec, path, "expected a number, got %s", json_type_name(j));

        if (is_float && isfinite(d) && fabs(d) > FLT_MAX)
                return fail(dec, path, "%g is out of range for float", d);

        *ret = d;
        return 0;
}

/* ---- decoding: values ------------------------------------------------------------------ */

static int decode_message(Decoder *dec, const Path *path, const json_t *j, ProtobufCMessage *m);

static const char *field_type_name(ProtobufCType type) {
        switch (type) {
        case PROTOBUF_C_TYPE_INT32:
                return "int32";
        case PROTOBUF_C_TYPE_SINT32:
                return "sint32";
        case PROTOBUF_C_TYPE_SFIXED32:
                return "sfixed32";
        case PROTOBUF_C_TYPE_INT64:
                return "int64";
        case PROTOBUF_C_TYPE_SINT64:
                return "sint64";
        case PROTOBUF_C_TYPE_SFIXED64:
                return "sfixed64";
        case PROTOBUF_C_TYPE_UINT32:
                return "uint32";
        case PROTOBUF_C_TYPE_FIXED32:
                return "fixed32";
        case PROTOBUF_C_TYPE_UINT64:
                return "uint64";
        case PROTOBUF_C_TYPE_FIXED64:
                return "fixed64";
        case PROTOBUF_C_TYPE_FLOAT:
                return "float";
        case PROTOBUF_C_TYPE_DOUBLE:
                return "double";
        case PROTOBUF_C_TYPE_BOOL:
                return "bool";
        case PROTOBUF_C_TYPE_ENUM:
                return "enum";
        case PROTOBUF_C_TYPE_STRING:
                return "string";
        case PROTOBUF_C_TYPE_BYTES:
                return "bytes";
        case PROTOBUF_C_TYPE_MESSAGE:
                return "message";
        }
        return "unknown";
}

static int fail_unknown_enum(Decoder *dec, const Path *path, const ProtobufCEnumDescriptor *ed,
                             const json_t *j) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *names = NULL;
        size_t size = 0;
        int r;

        /* List the valid names: the caller is often an agent that can correct itself. */
        f = open_memstream(&names, &size);
        if (!f)
                return -ENOMEM;
        for (unsigned i = 0; i < ed->n_values; i++)
                fprintf(f, "%s%s", i > 0 ? ", " : "", ed->values[i].name);
        if (fclose(TAKE_PTR(f)) != 0)
                return -ENOMEM;

        if (json_is_string(j))
                r = fail(dec, path, "unknown enum value '%s' for %s (expected one of %s)",
                         json_string_value(j), ed->name, names);
        else
                r = fail(dec, path,
                         "unknown enum value %" JSON_INTEGER_FORMAT " for %s (expected one of %s)",
                         json_integer_value(j), ed->name, names);
        return r;
}

static int decode_enum(Decoder *dec, const Path *path, const ProtobufCEnumDescriptor *ed, const json_t *j,
                       int *ret) {
        const ProtobufCEnumValue *ev;

        if (json_is_string(j))
                ev = protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(j));
        else if (json_is_integer(j)) {
                json_int_t i = json_integer_value(j);
                ev = i >= INT32_MIN && i <= INT32_MAX ? protobuf_c_enum_descriptor_get_value(ed, (int) i)
                                                      : NULL;
        } else
                return fail(dec, path, "expected an enum value name or number, got %s", json_type_name(j));

        if (!ev)
                return fail_unknown_enum(dec, path, ed, j);

        *ret = ev->value;
        return 0;
}

static int decode_string(Decoder *dec, const Path *path, const json_t *j, char **ret) {
        char *s;

        if (!json_is_string(j))
                return fail(dec, path, "expected a string, got %s", json_type_name(j));

        /* jansson has already rejected invalid UTF-8 and, unless asked otherwise, \u0000;
         * check the latter anyway because a C string would silently truncate there. */
        if (strlen(json_string_value(j)) != json_string_length(j))
                return fail(dec, path, "string contains a NUL character");

        s = strdup(json_string_value(j));
        if (!s)
                return -ENOMEM;

        *ret = s;
        return 0;
}

/* Decodes one value into p, which points at the field (or at an array element). p holds
 * the initialised default, so nothing needs to be freed before it is overwritten. */
static int decode_value(Decoder *dec, const Path *path, const ProtobufCFieldDescriptor *f, const json_t *j,
                        void *p) {
        const char *type = field_type_name(f->type);
        int64_t i;
        uint64_t u;
        double d;
        int r;

        switch (f->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
                r = decode_signed(dec, path, j, false, INT32_MIN, INT32_MAX, type, &i);
                if (r < 0)
                        return r;
                *(int32_t *) p = (int32_t) i;
                return 0;

        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                r = decode_unsigned(dec, path, j, false, UINT32_MAX, type, &u);
                if (r < 0)
                        return r;
                *(uint32_t *) p = (uint32_t) u;
                return 0;

        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
                /* Strings too: JavaScript numbers cannot hold every 64-bit value. */
                r = decode_signed(dec, path, j, true, INT64_MIN, INT64_MAX, type, &i);
                if (r < 0)
                        return r;
                *(int64_t *) p = i;
                return 0;

        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
                r = decode_unsigned(dec, path, j, true, UINT64_MAX, type, &u);
                if (r < 0)
                        return r;
                *(uint64_t *) p = u;
                return 0;

        case PROTOBUF_C_TYPE_FLOAT:
                r = decode_real(dec, path, j, true, &d);
                if (r < 0)
                        return r;
                *(float *) p = (float) d;
                return 0;

        case PROTOBUF_C_TYPE_DOUBLE:
                r = decode_real(dec, path, j, false, &d);
                if (r < 0)
                        return r;
                *(double *) p = d;
                return 0;

        case PROTOBUF_C_TYPE_BOOL:
                /* Strictly true/false: "false" as a string or 0 would be truthy elsewhere. */
                if (!json_is_boolean(j))
                        return fail(dec, path, "expected true or false, got %s", json_type_name(j));
                *(protobuf_c_boolean *) p = json_is_true(j);
                return 0;

        case PROTOBUF_C_TYPE_ENUM:
                return decode_enum(dec, path, f->descriptor, j, (int *) p);

        case PROTOBUF_C_TYPE_STRING:
                return decode_string(dec, path, j, (char **) p);

        case PROTOBUF_C_TYPE_BYTES: {
                ProtobufCBinaryData *b = p;
                uint8_t *data;
                size_t len;

                if (!json_is_string(j))
                        return fail(dec, path, "expected a base64 string, got %s", json_type_name(j));

                r = base64_decode(json_string_value(j), json_string_length(j), &data, &len);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return fail(dec, path, "invalid base64");

                *b = (ProtobufCBinaryData){ .len = len, .data = data };
                return 0;
        }

        case PROTOBUF_C_TYPE_MESSAGE: {
                const ProtobufCMessageDescriptor *md = f->descriptor;
                ProtobufCMessage *sub;

                if (!json_is_object(j))
                        return fail(dec, path, "expected an object, got %s", json_type_name(j));

                sub = malloc(md->sizeof_message);
                if (!sub)
                        return -ENOMEM;
                md->message_init(sub);

                /* Attach first, so that a failure further down is freed with the parent. */
                *(ProtobufCMessage **) p = sub;
                return decode_message(dec, path, j, sub);
        }
        }

        return fail(dec, path, "unsupported field type %d", (int) f->type);
}

static int decode_map_key(Decoder *dec, const Path *path, const ProtobufCFieldDescriptor *kf,
                          const char *key, void *p) {
        const char *type = field_type_name(kf->type);
        int64_t i;
        uint64_t u;
        int r;

        switch (kf->type) {
        case PROTOBUF_C_TYPE_STRING: {
                char *s = strdup(key);
                if (!s)
                        return -ENOMEM;
                *(char **) p = s;
                return 0;
        }
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64: {
                bool is64 = field_element_size(kf->type) == 8;

                r = parse_int64_string(key, &i);
                if (r == -EINVAL)
                        return fail(dec, path, "invalid %s map key", type);
                if (r < 0 || (!is64 && (i < INT32_MIN || i > INT32_MAX)))
                        return fail(dec, path, "map key is out of range for %s", type);
                if (is64)
                        *(int64_t *) p = i;
                else
                        *(int32_t *) p = (int32_t) i;
                return 0;
        }
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64: {
                bool is64 = field_element_size(kf->type) == 8;

                r = parse_uint64_string(key, &u);
                if (r == -EINVAL)
                        return fail(dec, path, "invalid %s map key", type);
                if (r < 0 || (!is64 && u > UINT32_MAX))
                        return fail(dec, path, "map key is out of range for %s", type);
                if (is64)
                        *(uint64_t *) p = u;
                else
                        *(uint32_t *) p = (uint32_t) u;
                return 0;
        }
        case PROTOBUF_C_TYPE_BOOL:
                if (!streq(key, "true") && !streq(key, "false"))
                        return fail(dec, path, "invalid bool map key, expected \"true\" or \"false\"");
                *(protobuf_c_boolean *) p = streq(key, "true");
                return 0;
        default:
                return fail(dec, path, "unsupported map key type %s", type);
        }
}

/* Object keys may hold \u0000 when the caller parsed with JSON_ALLOW_NUL; a C string
 * would silently cut them short. */
static bool key_has_nul(const char *key) {
        return strlen(key) != json_object_iter_key_len(json_object_key_to_iter(key));
}

static int decode_map(Decoder *dec, const Path *path, const ProtobufCFieldDescriptor *f, const json_t *j,
                      ProtobufCMessage *m) {
        const ProtobufCMessageDescriptor *ed = f->descriptor;
        const ProtobufCFieldDescriptor *kf = field_by_id(ed, 1), *vf = field_by_id(ed, 2);
        ProtobufCMessage **entries;
        const char *key;
        json_t *value;
        size_t n, i = 0;
        int r;

        if (!json_is_object(j))
                return fail(dec, path, "expected an object (map), got %s", json_type_name(j));

        n = json_object_size(j);
        if (n == 0)
                return 0;

        /* The array is attached with its full count at once: NULL entries are fine for
         * protobuf_c_message_free_unpacked(), so an error half-way leaves it freeable. */
        entries = calloc(n, sizeof(ProtobufCMessage *));
        if (!entries)
                return -ENOMEM;
        STRUCT_MEMBER(ProtobufCMessage **, m, f->offset) = entries;
        STRUCT_MEMBER(size_t, m, f->quantifier_offset) = n;

        json_object_foreach((json_t *) j, key, value) {
                Path p = { .parent = path, .kind = PATH_KEY, .name = key };
                ProtobufCMessage *e;

                e = malloc(ed->sizeof_message);
                if (!e)
                        return -ENOMEM;
                ed->message_init(e);
                entries[i++] = e;

                if (key_has_nul(key))
                        return fail(dec, &p, "map key contains a NUL character");

                r = decode_map_key(dec, &p, kf, key, STRUCT_MEMBER_P(e, kf->offset));
                if (r < 0)
                        return r;

                /* null means the value type's default, as for any field. */
                if (json_is_null(value))
                        continue;

                r = decode_value(dec, &p, vf, value, STRUCT_MEMBER_P(e, vf->offset));
                if (r < 0)
                        return r;
        }

        return 0;
}

static int decode_repeated(Decoder *dec, const Path *path, const ProtobufCFieldDescriptor *f,
                           const json_t *j, ProtobufCMessage *m) {
        size_t size = field_element_size(f->type);
        size_t n;
        uint8_t *array;
        int r;

        if (field_is_map(f))
                return decode_map(dec, path, f, j, m);

        if (!json_is_array(j))
                return fail(dec, path, "expected an array, got %s", json_type_name(j));

        n = json_array_size(j);
        if (n == 0)
                return 0;

        /* Zeroed and attached with the full count up front, for the same reason as maps:
         * NULL strings and messages are skipped by protobuf_c_message_free_unpacked(). */
        array = calloc(n, size);
        if (!array)
                return -ENOMEM;
        STRUCT_MEMBER(uint8_t *, m, f->offset) = array;
        STRUCT_MEMBER(size_t, m, f->quantifier_offset) = n;

        for (size_t i = 0; i < n; i++) {
                Path p = { .parent = path, .kind = PATH_INDEX, .index = i };
                const json_t *e = json_array_get(j, i);

                if (json_is_null(e))
                        return fail(dec, &p, "null is not allowed in an array");

                r = decode_value(dec, &p, f, e, array + i * size);
                if (r < 0)
                        return r;
        }

        return 0;
}

static int decode_message(Decoder *dec, const Path *path, const json_t *j, ProtobufCMessage *m) {
        const ProtobufCMessageDescriptor *d = m->descriptor;
        _cleanup_free_ bool *seen = NULL;
        const char *key;
        json_t *value;
        int r;

        if (!j)
                return fail(dec, path, "expected an object, got nothing");
        if (!json_is_object(j))
                return fail(dec, path, "expected an object, got %s", json_type_name(j));

        seen = calloc(d->n_fields ?: 1, sizeof(bool));
        if (!seen)
                return -ENOMEM;

        json_object_foreach((json_t *) j, key, value) {
                const ProtobufCFieldDescriptor *f;
                int idx;

                idx = key_has_nul(key) ? -1 : field_index_by_json_name(d, key);
                if (idx < 0)
                        return fail(dec, path, "unknown field '%s' in %s", key, d->name);

                f = &d->fields[idx];
                Path p = { .parent = path, .kind = PATH_FIELD, .name = f->name };

                /* "image_path" and "imagePath" in one object: which one was meant? */
                if (seen[idx])
                        return fail(dec, &p, "field given more than once");
                seen[idx] = true;

                if (json_is_null(value))
                        continue;

                if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                        r = decode_repeated(dec, &p, f, value, m);
                        if (r < 0)
                                return r;
                        continue;
                }

                if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                        uint32_t *oneof_case = STRUCT_MEMBER_P(m, f->quantifier_offset);

                        if (*oneof_case != 0 && *oneof_case != f->id) {
                                const ProtobufCFieldDescriptor *other = field_by_id(d, *oneof_case);
                                return fail(dec, &p,
                                            "cannot be set together with '%s' (members of one oneof)",
                                            other ? other->name : "?");
                        }
                }

                r = decode_value(dec, &p, f, value, STRUCT_MEMBER_P(m, f->offset));
                if (r < 0) {
                        /* A message member of a oneof is attached before it is decoded; mark
                         * it as the active member so that it is freed with the parent. */
                        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                            STRUCT_MEMBER(void *, m, f->offset))
                                STRUCT_MEMBER(uint32_t, m, f->quantifier_offset) = f->id;
                        return r;
                }

                if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                        STRUCT_MEMBER(uint32_t, m, f->quantifier_offset) = f->id;
                else if (field_has_presence_flag(f))
                        STRUCT_MEMBER(protobuf_c_boolean, m, f->quantifier_offset) = true;
        }

        return 0;
}

int proto_from_json(const ProtobufCMessageDescriptor *d, const json_t *j, ProtobufCMessage **ret,
                    char **ret_error) {
        Decoder dec = {};
        ProtobufCMessage *m;
        int r;

        if (ret_error)
                *ret_error = NULL;

        m = malloc(d->sizeof_message);
        if (!m)
                return -ENOMEM;
        d->message_init(m);

        r = decode_message(&dec, NULL, j, m);
        if (r >= 0 && !protobuf_c_message_check(m))
                /* Not reachable for proto3 input; proto2 required fields would end here. */
                r = fail(&dec, NULL, "%s: a required field is missing", d->name);
        if (r < 0) {
                protobuf_c_message_free_unpacked(m, NULL);
                if (r == -EINVAL && ret_error)
                        *ret_error = TAKE_PTR(dec.error);
                free(dec.error);
                return r;
        }

        free(dec.error);
        *ret = m;
        return 0;
}
