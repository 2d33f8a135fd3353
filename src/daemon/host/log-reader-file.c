/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The file driver's log: container.log.1 (older) then container.log. Forward reading keeps
 * the open files, so a rotation (the monitor renames container.log to container.log.1 and
 * opens a new one) never loses the lines of the renamed file: it is read to its end, then
 * the new file from its start. Tail scans backwards, a block at a time. */

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log-reader-internal.h"
#include "log.h"

#define BLOCK_SIZE (64U * 1024U)
/* A record is at most the monitor's 16 KiB line plus its prefix; a longer one is garbage
 * and skipped. */
#define RECORD_MAX (32U * 1024U)
#define BUFFER_SIZE (BLOCK_SIZE + RECORD_MAX)
/* Blocks read per call, so that one call never does much I/O. */
#define BLOCKS_PER_CALL 4

typedef struct LogFileHandle {
        int fd;
        dev_t dev;
        ino_t ino;
} LogFileHandle;

enum { FILE_ROTATED, FILE_CURRENT, _FILE_MAX };

typedef struct FileReader {
        LogReader base;
        char *dir, *path, *rotated_path;
        LogFileHandle files[_FILE_MAX];

        /* Forward: bytes [offset, offset + n) of files[cur] are in buf, [start, n) unread. */
        unsigned cur;
        uint64_t offset;
        char *buf;
        size_t n, start;
        bool skipping; /* dropping an over-long record up to its newline */

        /* Tail: [0, tail_pos) of files[tail_file] is not scanned yet; tbuf[0, carry) is the
         * beginning of a line whose start lies before tail_pos. */
        bool tail_active;
        unsigned tail_file;
        bool tail_file_started;
        uint64_t tail_pos;
        uint64_t tail_count;
        char *tbuf;
        size_t carry;

        int inotify_fd;
        sd_event_source *io;
} FileReader;

static void handle_close(LogFileHandle *h) {
        h->fd = safe_close(h->fd);
        h->dev = 0;
        h->ino = 0;
}

static int handle_open(LogFileHandle *h, const char *path) {
        struct stat st;
        int fd;

        handle_close(h);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0) {
                safe_close(fd);
                return -errno;
        }
        *h = (LogFileHandle) { .fd = fd, .dev = st.st_dev, .ino = st.st_ino };
        return 1;
}

static bool handle_is(const LogFileHandle *h, const struct stat *st) {
        return h->fd >= 0 && h->dev == st->st_dev && h->ino == st->st_ino;
}

static void forward_start(FileReader *f, unsigned file, uint64_t offset) {
        f->cur = file;
        f->offset = offset;
        f->n = f->start = 0;
        f->skipping = false;
}

/* ---- tail ------------------------------------------------------------------------------- */

/* One block of the backward scan. Returns 1 when the start is found (forward reading is
 * set up), 0 to go on, < 0 on error. */
static int tail_step(FileReader *f, size_t *budget) {
        LogFileHandle *h = &f->files[f->tail_file];
        bool first_block = false;
        uint64_t block_start;
        size_t len, total, e;
        ssize_t k;

        if (h->fd < 0)
                goto previous_file; /* the scan goes on in the older file, or starts at the beginning */
        if (!f->tail_file_started) {
                struct stat st;

                if (fstat(h->fd, &st) < 0)
                        return -errno;
                f->tail_pos = (uint64_t) st.st_size;
                f->tail_file_started = true;
                f->carry = 0;
                first_block = true;
        }

        len = (size_t) MIN((uint64_t) BLOCK_SIZE, f->tail_pos);
        block_start = f->tail_pos - len;
        memmove(f->tbuf + len, f->tbuf, f->carry);
        k = pread(h->fd, f->tbuf, len, (off_t) block_start);
        if (k < 0)
                return -errno;
        if ((size_t) k != len)
                return -EIO; /* the file shrank: not ours to read */
        total = len + f->carry;
        f->carry = 0;

        e = total;
        if (first_block) {
                /* Bytes after the last newline are a record being written: new, not tail. */
                const char *nl = memrchr(f->tbuf, '\n', total);
                e = nl ? (size_t) (nl - f->tbuf) + 1 : (block_start == 0 ? 0 : total);
                if (!nl && block_start > 0) {
                        /* A partial record longer than a block: not a record at all. */
                        e = 0;
                        f->carry = 0;
                        f->tail_pos = block_start;
                        return 0;
                }
        }

        while (e > 0) {
                const char *nl = e >= 2 ? memrchr(f->tbuf, '\n', e - 1) : NULL;
                size_t ls = nl ? (size_t) (nl - f->tbuf) + 1 : 0;
                ContainerLogRecord rec;

                if (!nl && block_start > 0) {
                        /* The line starts in an earlier block. */
                        if (e <= RECORD_MAX)
                                f->carry = e; /* already at the front */
                        break;
                }

                if (*budget > 0)
                        (*budget)--;
                if (container_log_record_parse(f->tbuf + ls, e - 1 - ls, &rec) >= 0) {
                        const LogFilter *flt = &f->base.filter;

                        if (flt->until_usec > 0 && rec.usec >= flt->until_usec)
                                ;
                        else if (flt->since_usec > 0 && rec.usec < flt->since_usec) {
                                forward_start(f, f->tail_file, block_start + e);
                                return 1;
                        } else if (log_filter_match(flt, &rec) && ++f->tail_count >= flt->tail) {
                                forward_start(f, f->tail_file, block_start + ls);
                                return 1;
                        }
                }
                e = ls;
        }

        f->tail_pos = block_start;
        if (block_start > 0)
                return 0;

previous_file:
        if (f->tail_file == FILE_ROTATED) {
                forward_start(f, FILE_ROTATED, 0);
                return 1;
        }
        f->tail_file = FILE_ROTATED;
        f->tail_file_started = false;
        f->carry = 0;
        return 0;
}

static int tail_find_start(FileReader *f, size_t *budget) {
        if (f->base.filter.tail == 0) {
                struct stat st;

                /* Nothing of what is there: only what comes. */
                if (f->files[FILE_CURRENT].fd >= 0 && fstat(f->files[FILE_CURRENT].fd, &st) >= 0)
                        forward_start(f, FILE_CURRENT, (uint64_t) st.st_size);
                else
                        forward_start(f, FILE_CURRENT, 0);
                f->tail_active = false;
                return 1;
        }

        for (unsigned i = 0; i < BLOCKS_PER_CALL && *budget > 0; i++) {
                int r = tail_step(f, budget);
                if (r != 0) {
                        if (r > 0)
                                f->tail_active = false;
                        return r;
                }
        }
        return 0;
}

/* ---- forward ---------------------------------------------------------------------------- */

/* At the end of the current file: has it been rotated away? Then go on with what replaced
 * it. Returns 1 when there is a new file to read, 0 if not. */
static int follow_rotation(FileReader *f) {
        LogFileHandle *cur = &f->files[FILE_CURRENT];
        struct stat st, rst;
        int r;

        if (stat(f->path, &st) < 0)
                return errno == ENOENT ? 0 : -errno; /* mid-rotation, or no log yet */
        if (handle_is(cur, &st))
                return 0;

        /* Ours was renamed (and is read to its end), or there was none. If the rotated file
         * is neither ours, we were two rotations behind: read it first. */
        handle_close(&f->files[FILE_ROTATED]);
        if (cur->fd >= 0 && stat(f->rotated_path, &rst) >= 0 && !handle_is(cur, &rst)) {
                r = handle_open(&f->files[FILE_ROTATED], f->rotated_path);
                if (r < 0)
                        return r;
        }
        r = handle_open(cur, f->path);
        if (r < 0)
                return r;
        forward_start(f, f->files[FILE_ROTATED].fd >= 0 ? FILE_ROTATED : FILE_CURRENT, 0);
        return 1;
}

static int forward_read(FileReader *f, size_t *budget, LogReaderCallback callback, void *userdata) {
        unsigned reads = 0;
        int r;

        for (;;) {
                LogFileHandle *h = &f->files[f->cur];
                ssize_t k;

                /* Every complete record in the buffer. */
                while (f->start < f->n) {
                        char *line = f->buf + f->start;
                        char *nl = memchr(line, '\n', f->n - f->start);
                        ContainerLogRecord rec;

                        if (!nl)
                                break;
                        f->start = (size_t) (nl - f->buf) + 1;
                        if (f->skipping) {
                                f->skipping = false;
                                continue;
                        }
                        if (container_log_record_parse(line, (size_t) (nl - line), &rec) < 0)
                                continue;
                        if (*budget > 0)
                                (*budget)--;
                        r = callback(&rec, userdata);
                        if (r != 0)
                                return r < 0 ? r : LOG_READER_MORE;
                        if (*budget == 0)
                                return LOG_READER_MORE;
                }

                /* Keep the unread rest at the front. */
                if (f->start > 0) {
                        memmove(f->buf, f->buf + f->start, f->n - f->start);
                        f->offset += f->start;
                        f->n -= f->start;
                        f->start = 0;
                }
                if (f->n == BUFFER_SIZE) {
                        f->offset += f->n;
                        f->n = 0;
                        f->skipping = true;
                }

                if (reads++ >= BLOCKS_PER_CALL)
                        return LOG_READER_MORE;

                k = h->fd >= 0 ? pread(h->fd, f->buf + f->n, BUFFER_SIZE - f->n, (off_t) (f->offset + f->n)) : 0;
                if (k < 0)
                        return -errno;
                if (k > 0) {
                        f->n += (size_t) k;
                        continue;
                }

                /* The end of this file. A torn record at the end of the rotated file will never
                 * be completed; at the end of the current one it is being written. */
                if (f->cur == FILE_ROTATED) {
                        forward_start(f, FILE_CURRENT, 0);
                        continue;
                }
                r = follow_rotation(f);
                if (r < 0)
                        return r;
                if (r == 0)
                        return LOG_READER_IDLE;
        }
}

static int file_reader_read(LogReader *base, size_t *budget, LogReaderCallback callback, void *userdata) {
        FileReader *f = (FileReader *) base;
        int r;

        if (f->tail_active) {
                r = tail_find_start(f, budget);
                if (r < 0)
                        return r;
                if (r == 0)
                        return LOG_READER_MORE;
        }
        return forward_read(f, budget, callback, userdata);
}

/* ---- watching --------------------------------------------------------------------------- */

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FileReader *f = userdata;
        bool changed = false;

        for (;;) {
                union {
                        struct inotify_event ev;
                        char raw[4096];
                } buf;
                ssize_t n = read(fd, &buf, sizeof buf);

                if (n <= 0)
                        break;
                for (char *p = buf.raw; p < buf.raw + n;) {
                        struct inotify_event *ev = (struct inotify_event *) p;

                        if (ev->len > 0 && (streq(ev->name, CONTAINER_LOG_FILE_NAME) ||
                                            streq(ev->name, CONTAINER_LOG_FILE_NAME_ROTATED)))
                                changed = true;
                        p += sizeof *ev + ev->len;
                }
        }
        if (changed)
                log_reader_changed(&f->base);
        return 0;
}

static int file_reader_watch(LogReader *base, sd_event *event) {
        FileReader *f = (FileReader *) base;
        int r;

        if (f->io)
                return 0;
        f->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (f->inotify_fd < 0)
                return -errno;
        /* The directory, not the file: the file is replaced when it is rotated. */
        if (inotify_add_watch(f->inotify_fd, f->dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM) < 0)
                return -errno;
        r = sd_event_add_io(event, &f->io, f->inotify_fd, EPOLLIN, on_inotify, f);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(f->io, "log-reader-file");
        return 0;
}

static void file_reader_free(LogReader *base) {
        FileReader *f = (FileReader *) base;

        sd_event_source_disable_unref(f->io);
        safe_close(f->inotify_fd);
        for (unsigned i = 0; i < _FILE_MAX; i++)
                handle_close(&f->files[i]);
        free(f->dir);
        free(f->path);
        free(f->rotated_path);
        free(f->buf);
        free(f->tbuf);
        free(f);
}

static const LogReaderVTable file_vtable = {
        .read = file_reader_read,
        .watch = file_reader_watch,
        .free = file_reader_free,
};

int log_reader_open_file(const char *state_dir, const LogFilter *filter, LogReader **ret) {
        FileReader *f;
        struct stat st;
        int r;

        f = new0(FileReader, 1);
        if (!f)
                return -ENOMEM;
        f->base.vtable = &file_vtable;
        f->base.filter = *filter;
        f->inotify_fd = -EBADF;
        f->files[FILE_ROTATED].fd = f->files[FILE_CURRENT].fd = -EBADF;
        _cleanup_(log_reader_freep) LogReader *owned = &f->base;

        f->dir = strdup(state_dir);
        f->buf = malloc(BUFFER_SIZE);
        if (!f->dir || !f->buf || asprintf(&f->path, "%s/" CONTAINER_LOG_FILE_NAME, state_dir) < 0 ||
            asprintf(&f->rotated_path, "%s/" CONTAINER_LOG_FILE_NAME_ROTATED, state_dir) < 0)
                return -ENOMEM;

        /* The current file first: if it is rotated in between, the "rotated" file is the
         * same one, and only that copy is kept. */
        r = handle_open(&f->files[FILE_CURRENT], f->path);
        if (r < 0)
                return r;
        r = handle_open(&f->files[FILE_ROTATED], f->rotated_path);
        if (r < 0)
                return r;
        if (f->files[FILE_ROTATED].fd >= 0 && fstat(f->files[FILE_ROTATED].fd, &st) >= 0 &&
            handle_is(&f->files[FILE_CURRENT], &st))
                handle_close(&f->files[FILE_ROTATED]);

        if (filter->tail_set) {
                f->tbuf = malloc(BUFFER_SIZE);
                if (!f->tbuf)
                        return -ENOMEM;
                f->tail_active = true;
                f->tail_file = FILE_CURRENT;
        }
        forward_start(f, FILE_ROTATED, 0);

        *ret = TAKE_PTR(owned);
        return 0;
}
