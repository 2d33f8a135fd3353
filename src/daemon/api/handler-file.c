/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* ReadFile, WriteFile, ListFiles: files of a running container, through its init's root
 * (runtime_open_root()) and container-files.c, which resolves every path inside it.
 *
 * A stopped container is refused: its root file system is an overlay mounted only in its
 * own mount namespace, and its volumes and bind mounts exist only while it runs, so the
 * files a client would see are not the ones the container sees. Start it first. Each call
 * moves at most CONTAINER_FILE_CHUNK_MAX (4 MiB less 64 KiB: every message fits in gRPC's
 * default 4 MiB, though quiltd itself takes 16 MiB) and stays short, which keeps the event
 * loop responsive: larger files take several calls with offsets. */

#include <string.h>

#include "api-handlers.h"
#include "container-files.h"
#include "handler-container-util.h"
#include "manager.h"
#include "runtime.h"

static int open_root(ApiCall *call, const char *container_id, const char *container_name, const char *path,
                     int *ret_fd) {
        _cleanup_(container_record_done) ContainerRecord c = {};
        const char *error = NULL;
        int r;

        if (container_file_check_path(path, &error) < 0)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "invalid path '%s': %s", strempty(path),
                                     error);

        r = container_lookup(call, container_id, container_name, &c);
        if (r < 0)
                return r;

        r = runtime_open_root(call->manager->runtime, c.id, ret_fd);
        if (r == -ESRCH)
                return api_call_fail(call, QUILT_STATUS_FAILED_PRECONDITION,
                                     "container '%s' is not running: files can be read and written only while it "
                                     "runs (start it first)",
                                     c.name);
        if (r == -EBUSY)
                return api_call_fail(call, QUILT_STATUS_UNAVAILABLE, "container '%s' is still starting, try again",
                                     c.name);
        if (r < 0)
                return api_call_fail_errno(call, r, "cannot reach the files of container '%s': %m", c.name);
        return 0;
}

static const char *file_error(int r) {
        switch (-r) {
        case EISDIR:
                return "is a directory";
        case EINVAL:
                return "not a regular file, or an invalid request";
        case EPERM:
                return "/proc and /sys are not accessible through the file API";
        case ELOOP:
                return "a symbolic link on the way leads nowhere or loops";
        case ERANGE:
                return "the offset is beyond the end of the file";
        case EFBIG:
                return "too much data in one call (write in chunks with offsets)";
        case EEXIST:
                return "exists already";
        default:
                return strerror(-r);
        }
}

static int fail_file(ApiCall *call, int r, const char *path) {
        return api_call_fail_errno(call, r, "%s: %s", path, file_error(r));
}

static Quilt__FileInfo *info_to_proto(const ContainerFileInfo *i) {
        Quilt__FileInfo *p;

        p = new0(Quilt__FileInfo, 1);
        if (!p)
                return NULL;
        quilt__file_info__init(p);
        p->type = (Quilt__FileType) i->type;
        p->size = i->size;
        p->mode = i->mode;
        p->uid = i->uid;
        p->gid = i->gid;
        p->mtime = i->mtime_sec;
        p->path = strdup(strempty(i->path));
        p->link_target = strdup(strempty(i->link_target));
        if (!p->path || !p->link_target) {
                protobuf_c_message_free_unpacked(&p->base, NULL);
                return NULL;
        }
        return p;
}

int api_read_file(Manager *m, ApiCall *call) {
        const Quilt__ReadFileRequest *req = (const Quilt__ReadFileRequest *) call->request;
        _cleanup_proto_ ProtobufCMessage *reply_base = NULL;
        _cleanup_(container_file_info_done) ContainerFileInfo info = {};
        _cleanup_close_ int root = -EBADF;
        Quilt__ReadFileResponse *reply;
        void *data = NULL;
        size_t size = 0;
        bool eof = false;
        int r;

        if (open_root(call, req->container_id, req->container_name, req->path, &root) < 0)
                return 0;

        r = container_file_read(root, req->path, req->offset, req->length, &data, &size, &eof, &info);
        if (r < 0)
                return fail_file(call, r, req->path);

        reply = new0(Quilt__ReadFileResponse, 1);
        if (!reply) {
                free(data);
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }
        quilt__read_file_response__init(reply);
        reply_base = &reply->base;
        reply->data.data = data;
        reply->data.len = size;
        reply->offset = req->offset;
        reply->eof = eof;
        reply->info = info_to_proto(&info);
        if (!reply->info)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");

        api_call_reply(call, TAKE_PTR(reply_base));
        return 0;
}

int api_write_file(Manager *m, ApiCall *call) {
        const Quilt__WriteFileRequest *req = (const Quilt__WriteFileRequest *) call->request;
        _cleanup_(container_file_info_done) ContainerFileInfo info = {};
        _cleanup_close_ int root = -EBADF;
        Quilt__WriteFileResponse *reply;
        ContainerFileWrite w;
        int r;

        if (req->data.len > CONTAINER_FILE_CHUNK_MAX)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "%s: %zu bytes in one call, the limit is %u (write in chunks with offsets)",
                                     strempty(req->path), req->data.len, CONTAINER_FILE_CHUNK_MAX);
        if (req->type != QUILT__FILE_TYPE__FILE_TYPE_UNSPECIFIED && req->type != QUILT__FILE_TYPE__FILE_TYPE_REGULAR &&
            req->type != QUILT__FILE_TYPE__FILE_TYPE_DIRECTORY && req->type != QUILT__FILE_TYPE__FILE_TYPE_SYMLINK)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "only regular files, directories and symbolic links can be written");
        if (req->type == QUILT__FILE_TYPE__FILE_TYPE_SYMLINK && isempty(req->link_target))
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "a symbolic link needs a link_target");
        if (req->type != QUILT__FILE_TYPE__FILE_TYPE_SYMLINK && !isempty(req->link_target))
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "link_target is for symbolic links only");
        if (req->mode_present_case == QUILT__WRITE_FILE_REQUEST__MODE_PRESENT_MODE && req->mode > 07777)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "invalid mode %o", req->mode);

        if (open_root(call, req->container_id, req->container_name, req->path, &root) < 0)
                return 0;

        w = (ContainerFileWrite) {
                .path = req->path,
                .type = (ContainerFileType) req->type,
                .data = req->data.data,
                .size = req->data.len,
                .offset = req->offset,
                .has_mode = req->mode_present_case == QUILT__WRITE_FILE_REQUEST__MODE_PRESENT_MODE,
                .mode = (mode_t) req->mode,
                .has_uid = req->uid_present_case == QUILT__WRITE_FILE_REQUEST__UID_PRESENT_UID,
                .uid = (uid_t) req->uid,
                .has_gid = req->gid_present_case == QUILT__WRITE_FILE_REQUEST__GID_PRESENT_GID,
                .gid = (gid_t) req->gid,
                .create_parents = req->create_parents,
                .link_target = req->link_target,
        };
        r = container_file_write(root, &w, &info);
        if (r < 0)
                return fail_file(call, r, req->path);

        reply = new0(Quilt__WriteFileResponse, 1);
        if (!reply)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        quilt__write_file_response__init(reply);
        reply->written = req->data.len;
        reply->info = info_to_proto(&info);
        if (!reply->info) {
                protobuf_c_message_free_unpacked(&reply->base, NULL);
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }
        api_call_reply(call, &reply->base);
        return 0;
}

int api_list_files(Manager *m, ApiCall *call) {
        const Quilt__ListFilesRequest *req = (const Quilt__ListFilesRequest *) call->request;
        _cleanup_proto_ ProtobufCMessage *reply_base = NULL;
        _cleanup_(container_file_info_done) ContainerFileInfo info = {};
        _cleanup_close_ int root = -EBADF;
        Quilt__ListFilesResponse *reply;
        ContainerFileInfo *entries = NULL;
        size_t n = 0;
        bool truncated = false;
        int r;

        if (open_root(call, req->container_id, req->container_name, req->path, &root) < 0)
                return 0;

        r = container_file_list(root, req->path, req->recursive, req->follow_symlinks, req->skip, req->max_entries,
                                &info, &entries, &n, &truncated);
        if (r < 0)
                return fail_file(call, r, req->path);

        reply = new0(Quilt__ListFilesResponse, 1);
        if (!reply)
                goto oom;
        quilt__list_files_response__init(reply);
        reply_base = &reply->base;
        reply->truncated = truncated;
        reply->info = info_to_proto(&info);
        reply->entries = new0(Quilt__FileInfo *, MAX(n, (size_t) 1));
        if (!reply->info || !reply->entries)
                goto oom;
        for (size_t i = 0; i < n; i++) {
                reply->entries[i] = info_to_proto(entries + i);
                if (!reply->entries[i])
                        goto oom;
                reply->n_entries++;
        }
        container_file_info_array_free(entries, n);
        api_call_reply(call, TAKE_PTR(reply_base));
        return 0;

oom:
        container_file_info_array_free(entries, n);
        return api_call_fail_errno(call, -ENOMEM, "out of memory");
}
