/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <math.h>
#include <stddef.h>

#include "macro.h"
#include "proto-json.h"
#include "quilt.pb-c.h"
#include "tests.h"

/* ---- a hand-made message for the types quilt.proto does not use ---------------------- */

/* quilt.proto has no bytes, sint/fixed types, doubles outside arrays, int-keyed maps or
 * multi-member oneofs; this descriptor (what protoc-c would emit for the message below)
 * covers them.
 *
 *   message AllTypes {
 *     int32 i32 = 1; sint32 s32 = 2; sfixed32 sf32 = 3; uint32 u32 = 4; fixed32 f32 = 5;
 *     int64 i64 = 6; sint64 s64 = 7; sfixed64 sf64 = 8; uint64 u64 = 9; fixed64 f64 = 10;
 *     float fl = 11; double db = 12; bool flag = 13; bytes blob = 14;
 *     repeated bytes blobs = 15; repeated double doubles = 16;
 *     map<int64, quilt.Mount> by_id = 17; map<bool, uint64> by_flag = 18;
 *     oneof choice { string label = 19; quilt.Mount mount = 20; int32 number = 21; }
 *     quilt.MountType kind = 22;
 *   }
 */

typedef struct ByIdEntry {
        ProtobufCMessage base;
        int64_t key;
        Quilt__Mount *value;
} ByIdEntry;

typedef struct ByFlagEntry {
        ProtobufCMessage base;
        protobuf_c_boolean key;
        uint64_t value;
} ByFlagEntry;

typedef struct AllTypes {
        ProtobufCMessage base;
        int32_t i32, s32, sf32;
        uint32_t u32, f32;
        int64_t i64, s64, sf64;
        uint64_t u64, f64;
        float fl;
        double db;
        protobuf_c_boolean flag;
        ProtobufCBinaryData blob;
        size_t n_blobs;
        ProtobufCBinaryData *blobs;
        size_t n_doubles;
        double *doubles;
        size_t n_by_id;
        ByIdEntry **by_id;
        size_t n_by_flag;
        ByFlagEntry **by_flag;
        uint32_t choice_case;
        union {
                char *label;
                Quilt__Mount *mount;
                int32_t number;
        };
        Quilt__MountType kind;
} AllTypes;

static const ProtobufCMessageDescriptor by_id_entry_descriptor, by_flag_entry_descriptor,
        all_types_descriptor;

static void by_id_entry_init(ProtobufCMessage *m) {
        *(ByIdEntry *) m = (ByIdEntry){ .base = PROTOBUF_C_MESSAGE_INIT(&by_id_entry_descriptor) };
}

static void by_flag_entry_init(ProtobufCMessage *m) {
        *(ByFlagEntry *) m = (ByFlagEntry){ .base = PROTOBUF_C_MESSAGE_INIT(&by_flag_entry_descriptor) };
}

static void all_types_init(ProtobufCMessage *m) {
        *(AllTypes *) m = (AllTypes){ .base = PROTOBUF_C_MESSAGE_INIT(&all_types_descriptor) };
}

#define FIELD(n, id, label, type, q, o, d) \
        { n, id, PROTOBUF_C_LABEL_##label, PROTOBUF_C_TYPE_##type, q, o, d, NULL, 0, 0, NULL, NULL }
#define ONEOF_FIELD(n, id, type, o, d)                                                                    \
        {                                                                                                 \
                n, id, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_##type, offsetof(AllTypes, choice_case), o, \
                        d, NULL, PROTOBUF_C_FIELD_FLAG_ONEOF, 0, NULL, NULL                               \
        }

static const ProtobufCFieldDescriptor by_id_entry_fields[] = {
        FIELD("key", 1, NONE, INT64, 0, offsetof(ByIdEntry, key), NULL),
        FIELD("value", 2, NONE, MESSAGE, 0, offsetof(ByIdEntry, value), &quilt__mount__descriptor),
};
static const ProtobufCFieldDescriptor by_flag_entry_fields[] = {
        FIELD("key", 1, NONE, BOOL, 0, offsetof(ByFlagEntry, key), NULL),
        FIELD("value", 2, NONE, UINT64, 0, offsetof(ByFlagEntry, value), NULL),
};
static const unsigned entry_fields_by_name[] = { 0, 1 };
static const ProtobufCIntRange entry_ranges[] = { { 1, 0 }, { 3, 2 } };

static const ProtobufCMessageDescriptor by_id_entry_descriptor = {
        .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
        .name = "test.AllTypes.ByIdEntry",
        .short_name = "ByIdEntry",
        .c_name = "ByIdEntry",
        .package_name = "test",
        .sizeof_message = sizeof(ByIdEntry),
        .n_fields = 2,
        .fields = by_id_entry_fields,
        .fields_sorted_by_name = entry_fields_by_name,
        .n_field_ranges = 1,
        .field_ranges = entry_ranges,
        .message_init = by_id_entry_init,
};
static const ProtobufCMessageDescriptor by_flag_entry_descriptor = {
        .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
        .name = "test.AllTypes.ByFlagEntry",
        .short_name = "ByFlagEntry",
        .c_name = "ByFlagEntry",
        .package_name = "test",
        .sizeof_message = sizeof(ByFlagEntry),
        .n_fields = 2,
        .fields = by_flag_entry_fields,
        .fields_sorted_by_name = entry_fields_by_name,
        .n_field_ranges = 1,
        .field_ranges = entry_ranges,
        .message_init = by_flag_entry_init,
};

static const ProtobufCFieldDescriptor all_types_fields[] = {
        FIELD("i32", 1, NONE, INT32, 0, offsetof(AllTypes, i32), NULL),
        FIELD("s32", 2, NONE, SINT32, 0, offsetof(AllTypes, s32), NULL),
        FIELD("sf32", 3, NONE, SFIXED32, 0, offsetof(AllTypes, sf32), NULL),
        FIELD("u32", 4, NONE, UINT32, 0, offsetof(AllTypes, u32), NULL),
        FIELD("f32", 5, NONE, FIXED32, 0, offsetof(AllTypes, f32), NULL),
        FIELD("i64", 6, NONE, INT64, 0, offsetof(AllTypes, i64), NULL),
        FIELD("s64", 7, NONE, SINT64, 0, offsetof(AllTypes, s64), NULL),
        FIELD("sf64", 8, NONE, SFIXED64, 0, offsetof(AllTypes, sf64), NULL),
        FIELD("u64", 9, NONE, UINT64, 0, offsetof(AllTypes, u64), NULL),
        FIELD("f64", 10, NONE, FIXED64, 0, offsetof(AllTypes, f64), NULL),
        FIELD("fl", 11, NONE, FLOAT, 0, offsetof(AllTypes, fl), NULL),
        FIELD("db", 12, NONE, DOUBLE, 0, offsetof(AllTypes, db), NULL),
        FIELD("flag", 13, NONE, BOOL, 0, offsetof(AllTypes, flag), NULL),
        FIELD("blob", 14, NONE, BYTES, 0, offsetof(AllTypes, blob), NULL),
        FIELD("blobs", 15, REPEATED, BYTES, offsetof(AllTypes, n_blobs), offsetof(AllTypes, blobs), NULL),
        FIELD("doubles", 16, REPEATED, DOUBLE, offsetof(AllTypes, n_doubles), offsetof(AllTypes, doubles),
              NULL),
        FIELD("by_id", 17, REPEATED, MESSAGE, offsetof(AllTypes, n_by_id), offsetof(AllTypes, by_id),
              &by_id_entry_descriptor),
        FIELD("by_flag", 18, REPEATED, MESSAGE, offsetof(AllTypes, n_by_flag), offsetof(AllTypes, by_flag),
              &by_flag_entry_descriptor),
        ONEOF_FIELD("label", 19, STRING, offsetof(AllTypes, label), NULL),
        ONEOF_FIELD("mount", 20, MESSAGE, offsetof(AllTypes, mount), &quilt__mount__descriptor),
        ONEOF_FIELD("number", 21, INT32, offsetof(AllTypes, number), NULL),
        FIELD("kind", 22, NONE, ENUM, 0, offsetof(AllTypes, kind), &quilt__mount_type__descriptor),
};
/* Indexes into all_types_fields in name order, as protoc-c emits them. */
static const unsigned all_types_fields_by_name[] = {
        13, 14, 17, 16, 11, 15, 4, 9, 12, 10, 0, 5, 21, 18, 19, 20, 1, 6, 2, 7, 3, 8,
};
static const ProtobufCIntRange all_types_ranges[] = { { 1, 0 }, { 23, 22 } };

static const ProtobufCMessageDescriptor all_types_descriptor = {
        .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
        .name = "test.AllTypes",
        .short_name = "AllTypes",
        .c_name = "AllTypes",
        .package_name = "test",
        .sizeof_message = sizeof(AllTypes),
        .n_fields = ELEMENTSOF(all_types_fields),
        .fields = all_types_fields,
        .fields_sorted_by_name = all_types_fields_by_name,
        .n_field_ranges = 1,
        .field_ranges = all_types_ranges,
        .message_init = all_types_init,
};

/* ---- helpers --------------------------------------------------------------------------- */

static void proto_freep(void *p) {
        ProtobufCMessage **m = p;
        if (*m)
                protobuf_c_message_free_unpacked(*m, NULL);
}
#define _cleanup_proto_ _cleanup_(proto_freep)

static json_t *parse(const char *text) {
        json_error_t e;
        json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);

        if (!j)
                printf("# test bug: cannot parse %s: %s\n", text, e.text);
        return j;
}

/* Decodes text into d; NULL (and a failed check) when that fails. */
static void *decode(const ProtobufCMessageDescriptor *d, const char *text) {
        json_auto_t *j = parse(text);
        _cleanup_free_ char *error = NULL;
        ProtobufCMessage *m = NULL;
        int r;

        r = proto_from_json(d, j, &m, &error);
        if (r < 0) {
                printf("# decoding %s failed: %s\n", text, error ?: strerror(-r));
                return NULL;
        }
        return m;
}

static void decode_fails(const ProtobufCMessageDescriptor *d, const char *text, const char *expected) {
        json_auto_t *j = parse(text);
        _cleanup_free_ char *error = NULL, *name = NULL;
        ProtobufCMessage *m = NULL;
        int r;

        r = proto_from_json(d, j, &m, &error);
        if (asprintf(&name, "%s rejects %s", d->short_name, text) < 0)
                abort();

        is_int(r, -EINVAL, name);
        ok(!m, "no message is returned on error");
        is_str(error, expected, "error message names the problem");
        if (m)
                protobuf_c_message_free_unpacked(m, NULL);
}

/* Checks that m encodes to exactly the JSON in text. */
static void encodes_to(const ProtobufCMessage *m, const char *text, const char *name) {
        json_auto_t *expected = parse(text), *got = proto_to_json(m);
        int equal = got && expected && json_equal(got, expected);

        ok(equal, name);
        if (!equal) {
                _cleanup_free_ char *s = got ? json_dumps(got, JSON_SORT_KEYS) : NULL;
                printf("#   got      %s\n#   expected %s\n", s ?: "(null)", text);
        }
}

/* Packs m to the wire format, unpacks it again and checks that the JSON did not change:
 * proves that the decoder built a message protobuf-c itself fully understands. */
static void wire_round_trip(const ProtobufCMessage *m, const char *name) {
        size_t size = protobuf_c_message_get_packed_size(m);
        _cleanup_free_ uint8_t *buf = malloc(size ?: 1);
        _cleanup_proto_ ProtobufCMessage *copy = NULL;
        json_auto_t *a = NULL, *b = NULL;

        ok(buf && protobuf_c_message_pack(m, buf) == size, "packs");
        copy = protobuf_c_message_unpack(m->descriptor, NULL, size, buf);
        ok(copy, "unpacks");
        a = proto_to_json(m);
        b = copy ? proto_to_json(copy) : NULL;
        ok(a && b && json_equal(a, b), name);
}

static const char *map_get(void **entries, size_t n, const char *key) {
        for (size_t i = 0; i < n; i++) {
                Quilt__CreateContainerRequest__EnvironmentEntry *e = entries[i];
                if (streq(e->key, key))
                        return e->value;
        }
        return NULL;
}

/* ---- tests ------------------------------------------------------------------------------ */

static const char create_request_json[] =
        "{\"image_path\": \"busybox\", \"command\": [\"sh\", \"-c\", \"echo 'a b'\"],"
        " \"environment\": {\"FOO\": \"bar\", \"EMPTY\": \"\"}, \"working_directory\": \"/tmp\","
        " \"setup_commands\": [], \"memory_limit_mb\": 256, \"cpu_limit_percent\": 12.5,"
        " \"enable_pid_namespace\": true, \"enable_mount_namespace\": false, \"enable_uts_namespace\": true,"
        " \"enable_ipc_namespace\": true, \"enable_network_namespace\": false, \"name\": \"web-1\","
        " \"async_mode\": true,"
        " \"mounts\": [{\"source\": \"data\", \"target\": \"/data\", \"type\": \"VOLUME\", \"readonly\": "
        "true,"
        "              \"options\": {}},"
        "             {\"source\": \"\", \"target\": \"/scratch\", \"type\": \"TMPFS\", \"readonly\": false,"
        "              \"options\": {\"size\": \"64m\", \"mode\": \"1777\"}}],"
        " \"pids_limit\": 0, \"auto_remove\": false, \"labels\": {}, \"user\": \"\","
        " \"host_namespaces\": [], \"network\": \"\", \"volumes\": []}";

static void test_create_request(void) {
        _cleanup_proto_ Quilt__CreateContainerRequest *r = NULL, *c = NULL;

        r = decode(&quilt__create_container_request__descriptor, create_request_json);
        ok(r, "CreateContainerRequest decodes");
        if (!r)
                return;

        is_str(r->image_path, "busybox", "image_path");
        is_int(r->n_command, 3, "command has three elements");
        is_str(r->command[2], "echo 'a b'", "argv element kept as given");
        is_int(r->n_environment, 2, "environment has two entries");
        is_str(map_get((void **) r->environment, r->n_environment, "FOO"), "bar", "environment FOO");
        is_str(map_get((void **) r->environment, r->n_environment, "EMPTY"), "", "environment EMPTY");
        is_int(r->n_setup_commands, 0, "empty array");
        ok(!r->setup_commands, "empty array allocates nothing");
        is_int(r->memory_limit_mb, 256, "memory_limit_mb");
        ok(r->cpu_limit_percent == 12.5f, "cpu_limit_percent");
        ok(r->enable_pid_namespace && !r->enable_mount_namespace && r->async_mode, "bools");
        is_int(r->n_mounts, 2, "two mounts");
        is_int(r->mounts[0]->type, QUILT__MOUNT_TYPE__VOLUME, "enum by name");
        ok(r->mounts[0]->readonly, "mount readonly");
        is_int(r->mounts[1]->n_options, 2, "mount options map");
        is_str(map_get((void **) r->mounts[1]->options, r->mounts[1]->n_options, "size"), "64m",
               "mount option");

        encodes_to(&r->base, create_request_json, "CreateContainerRequest encodes back to the same JSON");
        wire_round_trip(&r->base, "CreateContainerRequest survives the wire format");

        /* camelCase names, enums by number, and fields left out. */
        c = decode(&quilt__create_container_request__descriptor,
                   "{\"imagePath\": \"busybox\", \"memoryLimitMb\": 256, \"cpuLimitPercent\": 12.5,"
                   " \"asyncMode\": true, \"enablePidNamespace\": true,"
                   " \"mounts\": [{\"source\": \"data\", \"target\": \"/data\", \"type\": 1, \"readonly\": "
                   "true}]}");
        ok(c, "camelCase input decodes");
        if (c) {
                is_str(c->image_path, "busybox", "imagePath");
                is_int(c->memory_limit_mb, 256, "memoryLimitMb");
                ok(c->cpu_limit_percent == 12.5f, "cpuLimitPercent");
                ok(c->async_mode && c->enable_pid_namespace, "asyncMode, enablePidNamespace");
                is_int(c->mounts[0]->type, QUILT__MOUNT_TYPE__VOLUME, "enum by number");
                is_str(c->working_directory, "", "omitted string is empty");
                is_int(c->n_command, 0, "omitted array is empty");
        }
}

static void test_defaults_and_null(void) {
        _cleanup_proto_ Quilt__CreateContainerRequest *r = NULL;
        _cleanup_proto_ Quilt__CreateVolumeResponse *v = NULL;
        _cleanup_proto_ Quilt__GetHealthRequest *h = NULL;

        r = decode(&quilt__create_container_request__descriptor,
                   "{\"name\": null, \"command\": null, \"environment\": null, \"mounts\": null,"
                   " \"memory_limit_mb\": null, \"cpu_limit_percent\": null, \"async_mode\": null}");
        ok(r, "null is accepted for every kind of field");
        if (r) {
                is_str(r->name, "", "null string is empty");
                ok(r->n_command == 0 && r->n_environment == 0 && r->n_mounts == 0,
                   "null arrays and maps are empty");
                ok(r->memory_limit_mb == 0 && r->cpu_limit_percent == 0 && !r->async_mode,
                   "null numbers are 0");
                encodes_to(&r->base,
                           "{\"image_path\": \"\", \"command\": [], \"environment\": {}, "
                           "\"working_directory\": \"\","
                           " \"setup_commands\": [], \"memory_limit_mb\": 0, \"cpu_limit_percent\": 0.0,"
                           " \"enable_pid_namespace\": false, \"enable_mount_namespace\": false,"
                           " \"enable_uts_namespace\": false, \"enable_ipc_namespace\": false,"
                           " \"enable_network_namespace\": false, \"name\": \"\", \"async_mode\": false,"
                           " \"mounts\": [], \"pids_limit\": 0, \"auto_remove\": false, \"labels\": {},"
                           " \"user\": \"\", \"host_namespaces\": [], \"network\": \"\", \"volumes\": []}",
                           "every field is emitted, defaults included");
        }

        v = decode(&quilt__create_volume_response__descriptor, "{\"volume\": null, \"success\": true}");
        ok(v && !v->volume, "null message stays unset");
        if (v)
                encodes_to(&v->base, "{\"success\": true, \"error_message\": \"\", \"volume\": null}",
                           "unset message encodes as null");

        h = decode(&quilt__get_health_request__descriptor, "{}");
        ok(h, "empty message from {}");
        if (h)
                encodes_to(&h->base, "{}", "empty message encodes as {}");
}

static void test_system_info(void) {
        Quilt__GetSystemInfoResponse__FeaturesEntry
                f1 = QUILT__GET_SYSTEM_INFO_RESPONSE__FEATURES_ENTRY__INIT,
                f2 = QUILT__GET_SYSTEM_INFO_RESPONSE__FEATURES_ENTRY__INIT;
        Quilt__GetSystemInfoResponse__LimitsEntry l1 = QUILT__GET_SYSTEM_INFO_RESPONSE__LIMITS_ENTRY__INIT;
        Quilt__GetSystemInfoResponse__FeaturesEntry *features[] = { &f1, &f2 };
        Quilt__GetSystemInfoResponse__LimitsEntry *limits[] = { &l1 };
        Quilt__GetSystemInfoResponse info = QUILT__GET_SYSTEM_INFO_RESPONSE__INIT;
        _cleanup_proto_ Quilt__GetSystemInfoResponse *back = NULL;
        json_auto_t *j = NULL;

        /* A reply as a handler builds it (here on the stack: proto_to_json only reads). */
        f1.key = (char *) "cgroup";
        f1.value = (char *) "v1";
        f2.key = (char *) "backend";
        f2.value = (char *) "standalone";
        l1.key = (char *) "max_containers";
        l1.value = (char *) "1000";
        info.version = (char *) "0.1.0";
        info.runtime = (char *) "linux/x86_64";
        info.start_time = UINT64_C(1700000000123);
        info.n_features = 2;
        info.features = features;
        info.n_limits = 1;
        info.limits = limits;

        encodes_to(&info.base,
                   "{\"version\": \"0.1.0\", \"runtime\": \"linux/x86_64\", \"start_time\": 1700000000123,"
                   " \"features\": {\"cgroup\": \"v1\", \"backend\": \"standalone\"},"
                   " \"limits\": {\"max_containers\": \"1000\"}}",
                   "GetSystemInfoResponse encodes maps as objects");

        j = proto_to_json(&info.base);
        ok(j && proto_from_json(&quilt__get_system_info_response__descriptor, j, (ProtobufCMessage **) &back,
                                NULL) == 0,
           "GetSystemInfoResponse decodes its own encoding");
        if (back) {
                ok(back->start_time == UINT64_C(1700000000123), "start_time survives");
                wire_round_trip(&back->base, "GetSystemInfoResponse survives the wire format");
        }
}

static void test_oneof(void) {
        _cleanup_proto_ Quilt__ListContainersRequest *a = NULL, *b = NULL, *c = NULL;

        a = decode(&quilt__list_containers_request__descriptor, "{\"state_filter\": \"running\"}");
        ok(a && a->state_filter_present_case ==
                           QUILT__LIST_CONTAINERS_REQUEST__STATE_FILTER_PRESENT_STATE_FILTER,
           "oneof member sets the case");
        if (a) {
                is_str(a->state_filter, "running", "oneof value");
                encodes_to(&a->base,
                           "{\"state_filter\": \"running\", \"name_filter\": \"\", \"label_filter\": {}}",
                           "set oneof member is emitted");
                wire_round_trip(&a->base, "oneof survives the wire format");
        }

        b = decode(&quilt__list_containers_request__descriptor, "{}");
        ok(b && b->state_filter_present_case ==
                           QUILT__LIST_CONTAINERS_REQUEST__STATE_FILTER_PRESENT__NOT_SET,
           "absent oneof is not set");
        /* The other fields are there (defaults are always emitted); only the oneof is not. */
        if (b)
                encodes_to(&b->base, "{\"name_filter\": \"\", \"label_filter\": {}}",
                           "unset oneof member is not emitted");

        c = decode(&quilt__list_containers_request__descriptor, "{\"stateFilter\": null}");
        ok(c && c->state_filter_present_case ==
                           QUILT__LIST_CONTAINERS_REQUEST__STATE_FILTER_PRESENT__NOT_SET,
           "null oneof member (camelCase) is not set");

        /* "" is a value, not absence: the oneof exists to tell them apart. */
        protobuf_c_message_free_unpacked(&a->base, NULL);
        a = decode(&quilt__list_containers_request__descriptor, "{\"state_filter\": \"\"}");
        ok(a && a->state_filter_present_case ==
                           QUILT__LIST_CONTAINERS_REQUEST__STATE_FILTER_PRESENT_STATE_FILTER,
           "empty string still sets the oneof");
}

static void test_64bit(void) {
        _cleanup_proto_ Quilt__ContainerInfo *i = NULL, *k = NULL;
        _cleanup_proto_ Quilt__ProcessMonitor *p = NULL, *q = NULL;
        Quilt__ContainerInfo info = QUILT__CONTAINER_INFO__INIT;
        json_auto_t *j = NULL;

        /* 2^53 + 1: a double would round it to 2^53. */
        i = decode(&quilt__container_info__descriptor,
                   "{\"created_at\": 9007199254740993, \"started_at\": \"18446744073709551615\","
                   " \"exited_at\": \"9223372036854775808\"}");
        ok(i, "uint64 from numbers and strings");
        if (i) {
                ok(i->created_at == UINT64_C(9007199254740993), "uint64 above 2^53 is exact");
                ok(i->started_at == UINT64_MAX, "uint64 max from string");
                ok(i->exited_at == UINT64_C(9223372036854775808), "uint64 above INT64_MAX from string");
        }

        info.created_at = UINT64_C(9007199254740993);
        info.started_at = UINT64_MAX;
        info.exited_at = (uint64_t) INT64_MAX;
        j = proto_to_json(&info.base);
        ok(j && json_is_integer(json_object_get(j, "created_at")) &&
                   json_integer_value(json_object_get(j, "created_at")) == INT64_C(9007199254740993),
           "uint64 above 2^53 encodes as an exact integer");
        is_str(j ? json_string_value(json_object_get(j, "started_at")) : NULL, "18446744073709551615",
               "uint64 above INT64_MAX encodes as a decimal string");
        ok(j && json_integer_value(json_object_get(j, "exited_at")) == INT64_MAX,
           "INT64_MAX stays an integer");
        ok(j &&
                   proto_from_json(&quilt__container_info__descriptor, j, (ProtobufCMessage **) &k, NULL) ==
                           0 &&
                   k->started_at == UINT64_MAX && k->created_at == info.created_at,
           "encoded uint64 decodes back");

        p = decode(&quilt__process_monitor__descriptor, "{\"pid\": \"-9223372036854775808\"}");
        ok(p && p->pid == INT64_MIN, "int64 min from string");
        q = decode(&quilt__process_monitor__descriptor,
                   "{\"pid\": -9223372036854775807, \"check_count\": 5.0}");
        ok(q && q->pid == -INT64_MAX, "int64 from number");
        ok(q && q->check_count == 5, "integral real accepted for int32");

        decode_fails(&quilt__process_monitor__descriptor, "{\"pid\": \"9223372036854775808\"}",
                     "pid: '9223372036854775808' is out of range for int64");
        decode_fails(&quilt__process_monitor__descriptor, "{\"pid\": \"12abc\"}",
                     "pid: invalid int64 '12abc'");
        decode_fails(&quilt__process_monitor__descriptor, "{\"pid\": \" 12\"}", "pid: invalid int64 ' 12'");
        decode_fails(&quilt__process_monitor__descriptor, "{\"pid\": \"+12\"}", "pid: invalid int64 '+12'");
        decode_fails(&quilt__process_monitor__descriptor, "{\"pid\": \"\"}", "pid: invalid int64 ''");
        decode_fails(&quilt__process_monitor__descriptor, "{\"pid\": 1e19}",
                     "pid: 1e+19 is out of range for int64");
        decode_fails(&quilt__process_monitor__descriptor, "{\"pid\": true}",
                     "pid: expected an integer, got boolean");
        decode_fails(&quilt__container_info__descriptor, "{\"created_at\": -1}",
                     "created_at: -1 is out of range for uint64");
        decode_fails(&quilt__container_info__descriptor, "{\"created_at\": \"-1\"}",
                     "created_at: '-1' is out of range for uint64");
        decode_fails(&quilt__container_info__descriptor, "{\"created_at\": \"18446744073709551616\"}",
                     "created_at: '18446744073709551616' is out of range for uint64");
        decode_fails(&quilt__container_info__descriptor, "{\"created_at\": \"0x10\"}",
                     "created_at: invalid uint64 '0x10'");
        decode_fails(&quilt__container_info__descriptor, "{\"created_at\": 1.5}",
                     "created_at: expected an integer, got 1.5");
}

static void test_errors(void) {
        const ProtobufCMessageDescriptor *d = &quilt__create_container_request__descriptor;
        _cleanup_proto_ Quilt__CreateContainerRequest *r = NULL;

        decode_fails(d, "[]", "expected an object, got array");
        decode_fails(d, "\"x\"", "expected an object, got string");
        decode_fails(d, "{\"bogus\": 1}", "unknown field 'bogus' in quilt.CreateContainerRequest");
        decode_fails(d, "{\"ImagePath\": \"x\"}",
                     "unknown field 'ImagePath' in quilt.CreateContainerRequest");
        decode_fails(d, "{\"image_path\": \"a\", \"imagePath\": \"b\"}",
                     "image_path: field given more than once");
        decode_fails(d, "{\"mounts\": [{\"target\": \"/a\", \"bogus\": 1}]}",
                     "mounts[0]: unknown field 'bogus' in quilt.Mount");
        decode_fails(d, "{\"mounts\": [{\"target\": \"/a\"}, {\"type\": \"FOO\"}]}",
                     "mounts[1].type: unknown enum value 'FOO' for quilt.MountType (expected one of BIND, "
                     "VOLUME, TMPFS)");
        decode_fails(d, "{\"mounts\": [{\"type\": 7}]}",
                     "mounts[0].type: unknown enum value 7 for quilt.MountType (expected one of BIND, "
                     "VOLUME, TMPFS)");
        decode_fails(d, "{\"mounts\": [{\"type\": \"bind\"}]}",
                     "mounts[0].type: unknown enum value 'bind' for quilt.MountType (expected one of BIND, "
                     "VOLUME, TMPFS)");
        decode_fails(d, "{\"mounts\": [{\"type\": 1.0}]}",
                     "mounts[0].type: expected an enum value name or number, got number");
        decode_fails(d, "{\"mounts\": [{\"options\": {\"size\": 64}}]}",
                     "mounts[0].options['size']: expected a string, got integer");
        decode_fails(d, "{\"mounts\": [{\"options\": [\"size\"]}]}",
                     "mounts[0].options: expected an object (map), got array");
        decode_fails(d, "{\"mounts\": [\"/a:/b\"]}", "mounts[0]: expected an object, got string");
        decode_fails(d, "{\"mounts\": {\"target\": \"/a\"}}", "mounts: expected an array, got object");
        decode_fails(d, "{\"memory_limit_mb\": \"512\"}",
                     "memory_limit_mb: expected an integer, got string");
        decode_fails(d, "{\"memory_limit_mb\": 2147483648}",
                     "memory_limit_mb: 2147483648 is out of range for int32");
        decode_fails(d, "{\"memory_limit_mb\": -2147483649}",
                     "memory_limit_mb: -2147483649 is out of range for int32");
        decode_fails(d, "{\"memory_limit_mb\": 1.5}", "memory_limit_mb: expected an integer, got 1.5");
        decode_fails(d, "{\"memory_limit_mb\": [1]}", "memory_limit_mb: expected an integer, got array");
        decode_fails(d, "{\"cpu_limit_percent\": \"50\"}",
                     "cpu_limit_percent: expected a number, got string '50'");
        decode_fails(d, "{\"cpu_limit_percent\": 1e39}",
                     "cpu_limit_percent: 1e+39 is out of range for float");
        decode_fails(d, "{\"cpu_limit_percent\": {}}", "cpu_limit_percent: expected a number, got object");
        decode_fails(d, "{\"async_mode\": \"true\"}", "async_mode: expected true or false, got string");
        decode_fails(d, "{\"async_mode\": 1}", "async_mode: expected true or false, got integer");
        decode_fails(d, "{\"name\": 5}", "name: expected a string, got integer");
        decode_fails(d, "{\"name\": \"a\\u0000b\"}", "name: string contains a NUL character");
        decode_fails(d, "{\"command\": \"ls -l\"}", "command: expected an array, got string");
        decode_fails(d, "{\"command\": [\"ls\", 5]}", "command[1]: expected a string, got integer");
        decode_fails(d, "{\"command\": [null]}", "command[0]: null is not allowed in an array");
        decode_fails(d, "{\"environment\": [\"A=B\"]}", "environment: expected an object (map), got array");
        decode_fails(d, "{\"environment\": {\"A\": false}}",
                     "environment['A']: expected a string, got boolean");
        decode_fails(&quilt__get_health_response__descriptor, "{\"containers_running\": -1}",
                     "containers_running: -1 is out of range for uint32");
        decode_fails(&quilt__get_health_response__descriptor, "{\"containers_total\": 4294967296}",
                     "containers_total: 4294967296 is out of range for uint32");
        decode_fails(&quilt__get_health_response__descriptor,
                     "{\"checks\": [{\"name\": \"db\", \"healthy\": \"yes\"}]}",
                     "checks[0].healthy: expected true or false, got string");

        /* The error is optional, and null environment values are defaults. */
        json_auto_t *j = parse("{\"bogus\": 1}");
        ProtobufCMessage *m = NULL;
        is_int(proto_from_json(d, j, &m, NULL), -EINVAL, "ret_error may be NULL");

        /* jansson's parser refuses NUL in keys, but an object built in code may have one. */
        json_auto_t *nul = json_pack("{s:o}", "environment", json_object());
        _cleanup_free_ char *nul_error = NULL;
        json_object_setn_new(json_object_get(nul, "environment"), "A\0B", 3, json_string("x"));
        is_int(proto_from_json(d, nul, &m, &nul_error), -EINVAL, "map key with NUL is rejected");
        is_str(nul_error, "environment['A']: map key contains a NUL character", "NUL key error");

        _cleanup_free_ char *null_error = NULL;
        is_int(proto_from_json(d, NULL, &m, &null_error), -EINVAL, "NULL JSON is rejected");
        is_str(null_error, "expected an object, got nothing", "NULL JSON error");

        r = decode(d, "{\"environment\": {\"A\": null}}");
        ok(r && r->n_environment == 1 && streq(r->environment[0]->value, ""),
           "null map value is the default");

        ok(!proto_to_json(NULL), "proto_to_json(NULL) is NULL");
}

static void test_encoding_details(void) {
        Quilt__ExecContainerResponse e = QUILT__EXEC_CONTAINER_RESPONSE__INIT;
        Quilt__GetContainerStatusResponse s = QUILT__GET_CONTAINER_STATUS_RESPONSE__INIT;
        Quilt__CreateContainerRequest c = QUILT__CREATE_CONTAINER_REQUEST__INIT;
        json_auto_t *je = NULL, *js = NULL, *jc = NULL, *jn = NULL;

        /* Process output is not necessarily UTF-8: broken bytes become U+FFFD. */
        e.stdout = (char *) "ok \xff\xfe done \xc3\xa9 \xed\xa0\x80";
        e.stderr = NULL;
        je = proto_to_json(&e.base);
        is_str(je ? json_string_value(json_object_get(je, "stdout")) : NULL,
               "ok \xef\xbf\xbd\xef\xbf\xbd done \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
               "invalid UTF-8 is replaced, valid UTF-8 kept");
        is_str(je ? json_string_value(json_object_get(je, "stderr")) : NULL, "",
               "NULL string encodes as \"\"");

        s.status = QUILT__CONTAINER_STATUS__RUNNING;
        js = proto_to_json(&s.base);
        is_str(js ? json_string_value(json_object_get(js, "status")) : NULL, "RUNNING",
               "enum encodes by name");
        json_decref(js);
        s.status = 42;
        js = proto_to_json(&s.base);
        ok(js && json_integer_value(json_object_get(js, "status")) == 42,
           "unknown enum value encodes as a number");

        /* 33.3f is 33.299999237060547 as a double; the JSON says what the user wrote. */
        c.cpu_limit_percent = 33.3f;
        jc = proto_to_json(&c.base);
        ok(jc && json_real_value(json_object_get(jc, "cpu_limit_percent")) == 33.3,
           "float encodes as its shortest decimal");
        c.cpu_limit_percent = NAN;
        jn = proto_to_json(&c.base);
        is_str(jn ? json_string_value(json_object_get(jn, "cpu_limit_percent")) : NULL, "NaN",
               "NaN float as string");
}

static const char all_types_json[] =
        "{\"i32\": -2147483648, \"s32\": -5, \"sf32\": 2147483647, \"u32\": 4294967295, \"f32\": 7,"
        " \"i64\": -9223372036854775808, \"s64\": 9223372036854775807, \"sf64\": -1,"
        " \"u64\": \"18446744073709551615\", \"f64\": 9007199254740993, \"fl\": 0.1, \"db\": -2.5e-300,"
        " \"flag\": true, \"blob\": \"AAEC/f7/\", \"blobs\": [\"aGVsbG8=\", \"\", \"YQ==\"],"
        " \"doubles\": [1.5, \"Infinity\", \"-Infinity\", 0.0],"
        " \"by_id\": {\"-5\": {\"source\": \"\", \"target\": \"/a\", \"type\": \"TMPFS\", \"readonly\": "
        "false,"
        "                     \"options\": {}}, \"7\": null},"
        " \"by_flag\": {\"true\": 1, \"false\": \"18446744073709551615\"},"
        " \"mount\": {\"source\": \"v\", \"target\": \"/v\", \"type\": \"VOLUME\", \"readonly\": true, "
        "\"options\": {}},"
        " \"kind\": \"BIND\"}";

static void test_all_types(void) {
        _cleanup_proto_ AllTypes *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        a = decode(&all_types_descriptor, all_types_json);
        ok(a, "every scalar type decodes");
        if (a) {
                ok(a->i32 == INT32_MIN && a->s32 == -5 && a->sf32 == INT32_MAX, "signed 32-bit types");
                ok(a->u32 == UINT32_MAX && a->f32 == 7, "unsigned 32-bit types");
                ok(a->i64 == INT64_MIN && a->s64 == INT64_MAX && a->sf64 == -1, "signed 64-bit types");
                ok(a->u64 == UINT64_MAX && a->f64 == UINT64_C(9007199254740993), "unsigned 64-bit types");
                ok(a->fl == 0.1f && a->db == -2.5e-300, "float and double");
                ok(a->blob.len == 6 && memcmp(a->blob.data, "\x00\x01\x02\xfd\xfe\xff", 6) == 0,
                   "bytes from base64");
                ok(a->n_blobs == 3 && a->blobs[0].len == 5 && memcmp(a->blobs[0].data, "hello", 5) == 0 &&
                           a->blobs[1].len == 0 && a->blobs[2].len == 1,
                   "repeated bytes");
                ok(a->n_doubles == 4 && isinf(a->doubles[1]) && a->doubles[1] > 0 && isinf(a->doubles[2]) &&
                           a->doubles[2] < 0,
                   "Infinity strings");
                ok(a->n_by_id == 2, "int64-keyed map");
                ok(a->n_by_flag == 2, "bool-keyed map");
                ok(a->choice_case == 20 && a->mount && a->mount->readonly, "message member of a oneof");

                encodes_to(&a->base, all_types_json, "every type encodes back to the same JSON");
                wire_round_trip(&a->base, "the hand-made message survives the wire format");
        }

        /* Base64 variants: URL-safe alphabet and missing padding. */
        b = decode(&all_types_descriptor,
                   "{\"blob\": \"_-8\", \"label\": \"x\", \"db\": \"NaN\", \"fl\": 3}");
        ok(b && b->blob.len == 2 && b->blob.data[0] == 0xff && b->blob.data[1] == 0xef,
           "URL-safe unpadded base64");
        ok(b && b->choice_case == 19 && streq(b->label, "x"), "string member of a oneof");
        ok(b && isnan(b->db) && b->fl == 3.0f, "NaN string and integer for floating point");
        if (b)
                encodes_to(&b->base,
                           "{\"i32\": 0, \"s32\": 0, \"sf32\": 0, \"u32\": 0, \"f32\": 0, \"i64\": 0, "
                           "\"s64\": 0,"
                           " \"sf64\": 0, \"u64\": 0, \"f64\": 0, \"fl\": 3.0, \"db\": \"NaN\", \"flag\": "
                           "false,"
                           " \"blob\": \"/+8=\", \"blobs\": [], \"doubles\": [], \"by_id\": {}, "
                           "\"by_flag\": {},"
                           " \"label\": \"x\", \"kind\": \"BIND\"}",
                           "only the set oneof member is emitted");

        c = decode(&all_types_descriptor, "{\"number\": 0}");
        ok(c && c->choice_case == 21 && c->number == 0, "zero still sets the oneof");

        d = decode(&all_types_descriptor, "{\"byId\": {\"1\": {}}, \"byFlag\": {}}");
        ok(d && d->n_by_id == 1 && d->by_id[0]->key == 1 && d->by_id[0]->value,
           "camelCase map field, empty message value");

        decode_fails(&all_types_descriptor, "{\"label\": \"x\", \"number\": 1}",
                     "number: cannot be set together with 'label' (members of one oneof)");
        /* The message member is attached before its body fails: must still be freed (valgrind). */
        decode_fails(&all_types_descriptor, "{\"mount\": {\"type\": \"NOPE\"}}",
                     "mount.type: unknown enum value 'NOPE' for quilt.MountType (expected one of BIND, "
                     "VOLUME, TMPFS)");
        decode_fails(&all_types_descriptor, "{\"by_id\": {\"2\": {}, \"3\": {\"bogus\": 1}}}",
                     "by_id['3']: unknown field 'bogus' in quilt.Mount");
        decode_fails(&all_types_descriptor, "{\"by_id\": {\"x\": {}}}", "by_id['x']: invalid int64 map key");
        decode_fails(&all_types_descriptor, "{\"by_id\": {\"9223372036854775808\": {}}}",
                     "by_id['9223372036854775808']: map key is out of range for int64");
        decode_fails(&all_types_descriptor, "{\"by_flag\": {\"yes\": 1}}",
                     "by_flag['yes']: invalid bool map key, expected \"true\" or \"false\"");
        decode_fails(&all_types_descriptor, "{\"by_flag\": {\"true\": -1}}",
                     "by_flag['true']: -1 is out of range for uint64");
        decode_fails(&all_types_descriptor, "{\"blob\": \"a\"}", "blob: invalid base64");
        decode_fails(&all_types_descriptor, "{\"blob\": \"!!!!\"}", "blob: invalid base64");
        decode_fails(&all_types_descriptor, "{\"blob\": \"aGVsbG9=\"}", "blob: invalid base64");
        decode_fails(&all_types_descriptor, "{\"blob\": \"aGVs bG8=\"}", "blob: invalid base64");
        decode_fails(&all_types_descriptor, "{\"blob\": \"YQ===\"}", "blob: invalid base64");
        decode_fails(&all_types_descriptor, "{\"blob\": 5}", "blob: expected a base64 string, got integer");
        decode_fails(&all_types_descriptor, "{\"blobs\": [\"YQ==\", \"?\"]}", "blobs[1]: invalid base64");
        decode_fails(&all_types_descriptor, "{\"doubles\": [1, \"inf\"]}",
                     "doubles[1]: expected a number, got string 'inf'");
        decode_fails(&all_types_descriptor, "{\"s32\": 2147483648}",
                     "s32: 2147483648 is out of range for sint32");
        decode_fails(&all_types_descriptor, "{\"f32\": -1}", "f32: -1 is out of range for fixed32");
        decode_fails(&all_types_descriptor, "{\"sf64\": \"1.0\"}", "sf64: invalid sfixed64 '1.0'");
        decode_fails(&all_types_descriptor, "{\"kind\": null, \"flag\": null, \"mount\": {\"readonly\": 0}}",
                     "mount.readonly: expected true or false, got integer");
}

int main(void) {
        test_create_request();
        test_defaults_and_null();
        test_system_info();
        test_oneof();
        test_64bit();
        test_errors();
        test_encoding_details();
        test_all_types();
        return tap_finish();
}
