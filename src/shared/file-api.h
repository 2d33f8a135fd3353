/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Limits of the file RPCs (ReadFile, WriteFile, ListFiles), shared by quiltd and the CLI.
 *
 * quiltd and quilt accept gRPC messages of up to 16 MiB, but other clients (grpcio,
 * grpc-js, Go) keep gRPC's default of 4 MiB: a chunk leaves 64 KiB of room for the rest
 * of the message, so that every reply fits there, and a call stays short for the event
 * loop. A listing is cut (and marked truncated) at a number of entries and at a number of
 * bytes of names, whichever comes first. */

#define QUILT_FILE_CHUNK_MAX (4U * 1024U * 1024U - 64U * 1024U)
#define QUILT_FILE_LIST_MAX 10000U
#define QUILT_FILE_LIST_BYTES_MAX (3U * 1024U * 1024U)
