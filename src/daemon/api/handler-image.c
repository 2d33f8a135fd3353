/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* ListImages, ImportImage, RemoveImage: image-store.c does the work; errors keep their
 * errno's status (-ENOENT NOT_FOUND, -EEXIST ALREADY_EXISTS, -EINVAL INVALID_ARGUMENT,
 * -EBUSY FAILED_PRECONDITION) and the store's message. */

#include "api-handlers.h"
#include "image-store.h"
#include "log.h"
#include "manager.h"
#include "quilt.pb-c.h"
#include "time-util.h"

static Quilt__Image *image_to_proto(const Image *image) {
        Quilt__Image *p;

        p = malloc(sizeof *p);
        if (!p)
                return NULL;
        quilt__image__init(p);

        p->name = strdup(strempty(image->name));
        p->source = strdup(strempty(image->source));
        p->rootfs_path = strdup(strempty(image->rootfs_path));
        p->size_bytes = image->size_bytes;
        p->created_at = image->created_usec / USEC_PER_SEC;
        p->builtin = image->builtin;
        if (!p->name || !p->source || !p->rootfs_path) {
                protobuf_c_message_free_unpacked(&p->base, NULL);
                return NULL;
        }
        return p;
}

static int fail_image(ApiCall *call, int r, char *error, const char *what) {
        if (error)
                return api_call_fail_errno(call, r, "%s", error);
        return api_call_fail_errno(call, r, "%s: %m", what);
}

int api_list_images(Manager *m, ApiCall *call) {
        _cleanup_proto_ ProtobufCMessage *reply_base = NULL;
        Quilt__ListImagesResponse *reply;
        Image *images = NULL;
        size_t n = 0;
        int r;

        r = image_store_list(m->images, &images, &n);
        if (r < 0)
                return api_call_fail_errno(call, r, "Failed to list images: %m");

        reply = malloc(sizeof *reply);
        if (!reply)
                goto oom;
        quilt__list_images_response__init(reply);
        reply_base = &reply->base;

        reply->images = calloc(MAX(n, (size_t) 1), sizeof(Quilt__Image *));
        if (!reply->images)
                goto oom;
        for (size_t i = 0; i < n; i++) {
                reply->images[i] = image_to_proto(&images[i]);
                if (!reply->images[i])
                        goto oom;
                reply->n_images++;
        }

        image_array_free(images, n);
        api_call_reply(call, TAKE_PTR(reply_base));
        return 0;

oom:
        image_array_free(images, n);
        return api_call_fail_errno(call, ENOMEM, "Out of memory.");
}

int api_import_image(Manager *m, ApiCall *call) {
        const Quilt__ImportImageRequest *req = (const Quilt__ImportImageRequest *) call->request;
        _cleanup_proto_ ProtobufCMessage *reply_base = NULL;
        _cleanup_(image_done) Image image = {};
        _cleanup_free_ char *error = NULL;
        Quilt__ImportImageResponse *reply;
        int r;

        if (isempty(req->source_path))
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "source_path is required.");

        r = image_store_import(m->images, req->name, req->source_path, &image, &error);
        if (r < 0)
                return fail_image(call, r, error, "Failed to import the image");

        reply = malloc(sizeof *reply);
        if (!reply)
                return api_call_fail_errno(call, ENOMEM, "Out of memory.");
        quilt__import_image_response__init(reply);
        reply_base = &reply->base;
        reply->image = image_to_proto(&image);
        if (!reply->image)
                return api_call_fail_errno(call, ENOMEM, "Out of memory.");

        api_call_reply(call, TAKE_PTR(reply_base));
        return 0;
}

int api_remove_image(Manager *m, ApiCall *call) {
        const Quilt__RemoveImageRequest *req = (const Quilt__RemoveImageRequest *) call->request;
        _cleanup_free_ char *error = NULL;
        Quilt__RemoveImageResponse *reply;
        int r;

        if (isempty(req->name))
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "name is required.");

        r = image_store_remove(m->images, req->name, &error);
        if (r < 0)
                return fail_image(call, r, error, "Failed to remove the image");

        reply = malloc(sizeof *reply);
        if (!reply)
                return api_call_fail_errno(call, ENOMEM, "Out of memory.");
        quilt__remove_image_response__init(reply);
        reply->success = true;
        api_call_reply(call, &reply->base);
        return 0;
}
