/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* CreateVolume, RemoveVolume, ListVolumes, InspectVolume, PruneVolumes: volume-store.c
 * does the work. Errors keep their errno's status (-EINVAL INVALID_ARGUMENT, -EEXIST
 * ALREADY_EXISTS, -ENOENT NOT_FOUND, -EBUSY FAILED_PRECONDITION) with the store's
 * message. InspectVolume answers an unknown name with found=false, as the original did,
 * so that its clients keep working. */

#include "api-handlers.h"
#include "manager.h"
#include "proto-map.h"
#include "quilt.pb-c.h"
#include "strv.h"
#include "time-util.h"
#include "volume-store.h"

static int map_put_pairs(void ***entries, size_t *n, const ProtobufCMessageDescriptor *d, char **pairs) {
        for (char **i = pairs; i && i[0] && i[1]; i += 2)
                if (proto_map_put(entries, n, d, i[0], i[1]) < 0)
                        return -ENOMEM;
        return 0;
}

static Quilt__Volume *volume_to_proto(const Volume *v) {
        _cleanup_proto_ ProtobufCMessage *owned = NULL;
        Quilt__Volume *p;

        p = malloc(sizeof *p);
        if (!p)
                return NULL;
        quilt__volume__init(p);
        owned = &p->base;

        p->created_at = v->created_usec / USEC_PER_SEC;
        if (!(p->name = strdup(strempty(v->name))) || !(p->driver = strdup(strempty(v->driver))) ||
            !(p->mount_point = strdup(strempty(v->mount_point))))
                return NULL;
        if (map_put_pairs((void ***) &p->labels, &p->n_labels, &quilt__volume__labels_entry__descriptor, v->labels) <
                    0 ||
            map_put_pairs((void ***) &p->options, &p->n_options, &quilt__volume__options_entry__descriptor,
                          v->options) < 0)
                return NULL;
        if (!(p->containers = strv_copy(v->containers)))
                return NULL;
        p->n_containers = strv_length(p->containers);

        TAKE_PTR(owned);
        return p;
}

/* A map<string,string> request field as key, value, ... (NULL-terminated). */
static char **map_to_pairs(void *const *entries, size_t n) {
        _cleanup_strv_free_ char **l = new0(char *, 2 * n + 1);

        if (!l)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                /* Every map entry type has the same layout: base, key, value. */
                const Quilt__CreateVolumeRequest__LabelsEntry *e = entries[i];

                if (!(l[2 * i] = strdup(strempty(e->key))) || !(l[2 * i + 1] = strdup(strempty(e->value))))
                        return NULL;
        }
        return TAKE_PTR(l);
}

static int fail_volume(ApiCall *call, int r, const char *error, const char *what) {
        if (error)
                return api_call_fail_errno(call, r, "%s", error);
        return api_call_fail_errno(call, r, "%s: %m", what);
}

int api_create_volume(Manager *m, ApiCall *call) {
        const Quilt__CreateVolumeRequest *req = (const Quilt__CreateVolumeRequest *) call->request;
        _cleanup_proto_ ProtobufCMessage *reply_base = NULL;
        _cleanup_strv_free_ char **labels = NULL, **options = NULL;
        _cleanup_(volume_done) Volume v = {};
        _cleanup_free_ char *error = NULL;
        Quilt__CreateVolumeResponse *reply;
        int r;

        labels = map_to_pairs((void *const *) req->labels, req->n_labels);
        options = map_to_pairs((void *const *) req->options, req->n_options);
        if (!labels || !options)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");

        r = volume_store_create(m->volumes, req->name, req->driver, labels, options, &v, &error);
        if (r < 0)
                return fail_volume(call, r, error, "failed to create the volume");

        reply = malloc(sizeof *reply);
        if (!reply)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        quilt__create_volume_response__init(reply);
        reply_base = &reply->base;
        reply->success = true;
        reply->error_message = strdup("");
        reply->volume = volume_to_proto(&v);
        if (!reply->error_message || !reply->volume)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");

        api_call_reply(call, TAKE_PTR(reply_base));
        return 0;
}

int api_remove_volume(Manager *m, ApiCall *call) {
        const Quilt__RemoveVolumeRequest *req = (const Quilt__RemoveVolumeRequest *) call->request;
        _cleanup_free_ char *error = NULL;
        Quilt__RemoveVolumeResponse *reply;
        int r;

        if (isempty(req->name))
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "name is required");

        r = volume_store_remove(m->volumes, req->name, req->force, &error);
        if (r < 0)
                return fail_volume(call, r, error, "failed to remove the volume");

        reply = malloc(sizeof *reply);
        if (!reply)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        quilt__remove_volume_response__init(reply);
        reply->success = true;
        reply->error_message = strdup("");
        if (!reply->error_message) {
                free(reply);
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }
        api_call_reply(call, &reply->base);
        return 0;
}

int api_list_volumes(Manager *m, ApiCall *call) {
        const Quilt__ListVolumesRequest *req = (const Quilt__ListVolumesRequest *) call->request;
        _cleanup_proto_ ProtobufCMessage *reply_base = NULL;
        _cleanup_strv_free_ char **filters = NULL;
        Quilt__ListVolumesResponse *reply;
        Volume *vols = NULL;
        size_t n = 0;
        int r;

        filters = map_to_pairs((void *const *) req->filters, req->n_filters);
        if (!filters)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        for (char **i = filters; *i; i += 2)
                if (isempty(i[0]))
                        return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "a filter has an empty label key");

        r = volume_store_list(m->volumes, filters, &vols, &n);
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to list volumes: %m");

        reply = malloc(sizeof *reply);
        if (!reply)
                goto oom;
        quilt__list_volumes_response__init(reply);
        reply_base = &reply->base;
        reply->volumes = new0(Quilt__Volume *, MAX(n, (size_t) 1));
        if (!reply->volumes)
                goto oom;
        for (size_t i = 0; i < n; i++) {
                reply->volumes[i] = volume_to_proto(vols + i);
                if (!reply->volumes[i])
                        goto oom;
                reply->n_volumes++;
        }
        volume_array_free(vols, n);
        api_call_reply(call, TAKE_PTR(reply_base));
        return 0;

oom:
        volume_array_free(vols, n);
        return api_call_fail_errno(call, -ENOMEM, "out of memory");
}

int api_inspect_volume(Manager *m, ApiCall *call) {
        const Quilt__InspectVolumeRequest *req = (const Quilt__InspectVolumeRequest *) call->request;
        _cleanup_proto_ ProtobufCMessage *reply_base = NULL;
        _cleanup_(volume_done) Volume v = {};
        Quilt__InspectVolumeResponse *reply;
        int r;

        if (isempty(req->name))
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "name is required");

        r = volume_store_get(m->volumes, req->name, &v);
        if (r < 0 && r != -ENOENT)
                return api_call_fail_errno(call, r, "failed to look up volume '%s': %m", req->name);

        reply = malloc(sizeof *reply);
        if (!reply)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        quilt__inspect_volume_response__init(reply);
        reply_base = &reply->base;
        reply->found = r >= 0;
        if (r >= 0) {
                reply->volume = volume_to_proto(&v);
                reply->error_message = strdup("");
        } else if (asprintf(&reply->error_message, "Volume '%s' not found", req->name) < 0)
                reply->error_message = NULL;
        if (!reply->error_message || (r >= 0 && !reply->volume))
                return api_call_fail_errno(call, -ENOMEM, "out of memory");

        api_call_reply(call, TAKE_PTR(reply_base));
        return 0;
}

int api_prune_volumes(Manager *m, ApiCall *call) {
        const Quilt__PruneVolumesRequest *req = (const Quilt__PruneVolumesRequest *) call->request;
        _cleanup_strv_free_ char **filters = NULL, **removed = NULL;
        Quilt__PruneVolumesResponse *reply;
        int r;

        filters = map_to_pairs((void *const *) req->filters, req->n_filters);
        if (!filters)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");

        r = volume_store_prune(m->volumes, filters, &removed);
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to prune volumes: %m");

        reply = malloc(sizeof *reply);
        if (!reply)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        quilt__prune_volumes_response__init(reply);
        reply->n_volumes_deleted = strv_length(removed);
        reply->volumes_deleted = TAKE_PTR(removed);
        api_call_reply(call, &reply->base);
        return 0;
}
