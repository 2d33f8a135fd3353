/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* "SIGTERM", "TERM", "term" or "15" → SIGTERM (also the aliases IOT and POLL); -EINVAL for
 * anything else (also for 0 and for numbers above SIGRTMAX). */
int signal_from_string(const char *s);

/* "SIGTERM"; NULL for an unknown number. Real-time signals are not named. */
const char *signal_name(int sig);
