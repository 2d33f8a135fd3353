/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The events table: what happened to containers, in order. The cursor is an
 * AUTOINCREMENT rowid, so it only grows and is never reused, also after old events are
 * pruned; clients resume a stream from the last cursor they saw. src/daemon/events.c owns
 * delivery; this file only reads and writes rows. */

#include <stdint.h>

#include "macro.h"
#include "store.h"

typedef struct StoredEvent {
        uint64_t cursor;
        uint64_t time_usec;     /* µs since the epoch */
        char *type;             /* "created", "died", ... */
        char *container_id;     /* NULL for events about no container */
        char *container_name;
        char **attributes;      /* key, value, key, value, ..., NULL (strv); never NULL */
} StoredEvent;

void stored_event_done(StoredEvent *e);
void stored_event_array_free(StoredEvent *e, size_t n);

/* Appends an event with time, type, container and attributes (a key, value, ... strv; may
 * be NULL), and drops the oldest events beyond keep (0: keep all). Its cursor in
 * *ret_cursor. */
int store_event_append(Store *s, uint64_t time_usec, const char *type, const char *container_id,
                       const char *container_name, char *const *attributes, uint64_t keep, uint64_t *ret_cursor);

/* Up to limit events with after < cursor <= until (0: no upper bound), oldest first. */
int store_event_list(Store *s, uint64_t after, uint64_t until, size_t limit, StoredEvent **ret, size_t *ret_n);

/* The oldest cursor kept (0 when there is none) and the newest ever handed out (0 when
 * none was). */
int store_event_bounds(Store *s, uint64_t *ret_oldest, uint64_t *ret_newest);
