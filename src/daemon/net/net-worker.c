/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "net-worker.h"

struct NetWorker {
        sd_event_source *event_source;
        int event_fd;

        pthread_t thread;
        bool thread_started;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stopping;            /* under lock */
        NetJob *queue, **queue_tail; /* under lock: to run */
        NetJob *done, **done_tail;   /* under lock: ran, to deliver */
};

static void list_append(NetJob ***tail, NetJob *job) {
        job->next = NULL;
        **tail = job;
        *tail = &job->next;
}

static void *worker_main(void *userdata) {
        NetWorker *w = userdata;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                NetJob *job;
                uint64_t one = 1;

                while (!w->queue && !w->stopping)
                        pthread_cond_wait(&w->cond, &w->lock);
                if (w->stopping)
                        break;

                job = w->queue;
                w->queue = job->next;
                if (!w->queue)
                        w->queue_tail = &w->queue;
                pthread_mutex_unlock(&w->lock);

                job->run(job);

                pthread_mutex_lock(&w->lock);
                list_append(&w->done_tail, job);
                /* An eventfd write of 1 cannot block or fail short of a counter overflow. */
                (void) write(w->event_fd, &one, sizeof one);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

static int on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NetWorker *w = userdata;
        NetJob *list;
        uint64_t n;

        (void) read(fd, &n, sizeof n);

        pthread_mutex_lock(&w->lock);
        list = w->done;
        w->done = NULL;
        w->done_tail = &w->done;
        pthread_mutex_unlock(&w->lock);

        while (list) {
                NetJob *next = list->next;

                list->done(list);
                list = next;
        }
        return 0;
}

int net_worker_new(sd_event *event, NetWorker **ret) {
        _cleanup_(net_worker_freep) NetWorker *w = NULL;
        int r;

        w = new0(NetWorker, 1);
        if (!w)
                return -ENOMEM;
        w->event_fd = -EBADF;
        w->queue_tail = &w->queue;
        w->done_tail = &w->done;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->cond, NULL);

        w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->event_fd < 0)
                return -errno;
        r = sd_event_add_io(event, &w->event_source, w->event_fd, EPOLLIN, on_event, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(w->event_source, "network-worker");

        *ret = TAKE_PTR(w);
        return 0;
}

static int worker_start(NetWorker *w) {
        sigset_t all, old;
        int r;

        /* The thread takes no signals: they belong to the event loop's signalfds. */
        sigfillset(&all);
        r = -pthread_sigmask(SIG_SETMASK, &all, &old);
        if (r < 0)
                return r;
        r = -pthread_create(&w->thread, NULL, worker_main, w);
        (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;
        (void) pthread_setname_np(w->thread, "quiltd-net");
        w->thread_started = true;
        return 0;
}

int net_worker_submit(NetWorker *w, NetJob *job) {
        int r;

        if (!w->thread_started) {
                r = worker_start(w);
                if (r < 0)
                        return log_error_errno(r, "Failed to start the network worker thread: %m");
        }

        job->cancelled = false;
        pthread_mutex_lock(&w->lock);
        list_append(&w->queue_tail, job);
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
        return 0;
}

static void cancel_all(NetJob *list) {
        while (list) {
                NetJob *next = list->next;

                list->cancelled = true;
                list->done(list);
                list = next;
        }
}

NetWorker *net_worker_free(NetWorker *w) {
        if (!w)
                return NULL;

        if (w->thread_started) {
                /* Waits for the job that runs now, if any: a half-done netlink operation is
                 * better finished than abandoned. */
                pthread_mutex_lock(&w->lock);
                w->stopping = true;
                pthread_cond_signal(&w->cond);
                pthread_mutex_unlock(&w->lock);
                (void) pthread_join(w->thread, NULL);
        }

        cancel_all(w->done);
        cancel_all(w->queue);
        sd_event_source_disable_unref(w->event_source);
        safe_close(w->event_fd);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        return mfree(w);
}
