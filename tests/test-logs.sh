#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Container logs on the standalone backend (the file log driver): what quilt logs prints
# and where (stdout, stderr), the lifecycle lines, tail/since/until/timestamps/stream,
# rotation, binary and long lines, reading after a quiltd restart, and following a
# container's output as it is printed. Checked against the files the monitor wrote and
# the CLI's own stdout and stderr.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || tap_skip_all "needs jq"
command -v python3 >/dev/null || tap_skip_all "needs python3"

quiltd_start "Logs.MaxFileSize=64K" || { echo "Bail out! quiltd did not start"; exit 1; }

field() { http GET "/containers/$1" | jq -r "$2"; }
wait_state() {
        local i
        for i in $(seq 400); do
                [ "$(field "$1" .status)" = "$2" ] && return 0
                sleep 0.05
        done
        echo "#   $1 is $(field "$1" .status), expected $2"
        return 1
}
log_file() { echo "$QT_DIR/state/containers/$(field "$1" .container_id)/container.log"; }
O=$QT_DIR/out E=$QT_DIR/err

tap_is "quiltd uses the file driver on the standalone backend" \
        "$(quilt info --json | jq -r .features.log_driver)" file

# ---- stdout, stderr and lifecycle lines go where they belong ---------------------------
# The two pipes are read separately: only the pauses make the order across them certain.
quilt create --name sep -- sh -c 'echo out1; sleep 0.1; echo err1 >&2; sleep 0.1; echo out2; exit 3' > /dev/null
wait_state sep EXITED
quilt logs sep > "$O" 2> "$E"
tap_is "stdout lines on stdout, in order" "$(cat "$O")" "out1
out2"
PID=$(grep -o 'init pid [0-9]*' "$E" | grep -o '[0-9]*$')
tap_is "stderr lines and lifecycle lines on stderr" "$(cat "$E")" "-- Container created --
-- Container started, init pid $PID --
err1
-- Container exited with code 3 --"
tap_is "ContainerInfo says which driver it used" "$(field sep .container.log_driver)" file
tap_check "the file holds the same, with streams and events" \
        grep -Eq '^[0-9]+ system exited Container exited with code 3$' "$(log_file sep)"
quilt logs --stream stdout,stderr sep > "$O" 2> "$E"
tap_is "--stream stdout,stderr: no lifecycle lines" "$(cat "$O" "$E")" "out1
out2
err1"
tap_is "--stream stderr" "$(quilt logs --stream stderr sep 2>&1)" "err1"
tap_is "--tail 2 counts every stream" "$(quilt logs --tail 2 sep 2>&1)" "out2
-- Container exited with code 3 --"
tap_is "-n 1 --stream stdout" "$(quilt logs -n 1 --stream stdout sep 2>&1)" "out2"
tap_is "--tail 0 prints nothing" "$(quilt logs --tail 0 sep 2>&1)" ""
J=$(http GET /containers/sep/logs)
tap_is "GET /containers/:id/logs: the entries with their streams" \
        "$(jq -c '[.logs[] | [.stream, .message, .event]]' <<< "$J")" \
        "[[\"system\",\"Container created\",\"created\"],[\"system\",\"Container started, init pid $PID\",\"started\"],[\"stdout\",\"out1\",\"\"],[\"stderr\",\"err1\",\"\"],[\"stdout\",\"out2\",\"\"],[\"system\",\"Container exited with code 3\",\"exited\"]]"
tap_check "... with µs timestamps that agree with the ms ones" \
        jq -e 'all(.logs[]; (.timestamp_usec | tonumber / 1000 | floor) == (.timestamp | tonumber))' <<< "$J"

# ---- never daemon chatter ---------------------------------------------------------------
tap_check "quiltd's own log mentions the container" grep -q "sep" "$QT_DIR/quiltd.log"
LEAK=$(quilt logs sep 2>&1 | grep -v -e '^out[12]$' -e '^err1$' -e '^-- Container .* --$')
tap_is "quilt logs shows only the container's lines and its lifecycle" "$LEAK" ""

# ---- since, until, timestamps ------------------------------------------------------------
quilt create --name slow -- sh -c 'echo early; sleep 1.5; echo late' > /dev/null
for i in $(seq 100); do quilt logs --stream stdout slow 2>/dev/null | grep -q early && break; sleep 0.05; done
T=$(date +%s.%N)
wait_state slow EXITED
tap_is "--since @T: only what came after" "$(quilt logs --stream stdout,stderr --since "@$T" slow)" late
tap_is "--until @T: only what came before" "$(quilt logs --stream stdout --until "@$T" slow)" early
tap_is "--since 1h: everything of the last hour" "$(quilt logs --stream stdout --since 1h slow | tr '\n' ' ')" "early late "
tap_is "--since in the future: nothing" "$(quilt logs --since '2999-01-01T00:00:00Z' slow 2>&1)" ""
TS=$(quilt logs -t --stream stdout slow | head -1)
tap_check "-t prints an RFC 3339 time with µs before the line ('$TS')" \
        grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}[+-][0-9]{2}:[0-9]{2} early$' <<< "$TS"
EARLY=$(date -d "${TS% early}" +%s)
tap_check "... and the time is when it was printed" test "$EARLY" -le "${T%.*}" -a "$EARLY" -ge "$((${T%.*} - 5))"
tap_is "--since before --until is a usage error" "$(quilt logs --since 1m --until 2m slow 2>&1; echo "rc=$?")" \
        "quilt: logs: --until must be later than --since
rc=2"
tap_is "an unknown stream is a usage error" "$(quilt logs --stream stdin slow 2>&1 >/dev/null | head -c 27; echo)" \
        "quilt: logs: invalid --stre"

# ---- lifecycle: kill, restart, OOM ----------------------------------------------------------
quilt create --name sleeper -- sleep 100 > /dev/null
quilt kill sleeper
wait_state sleeper EXITED
tap_is "a kill is logged" "$(quilt logs --stream system sleeper 2>&1 | tail -1)" \
        "-- Container killed by signal 9 (SIGKILL) --"
quilt start sleeper > /dev/null
quilt kill -s TERM sleeper
wait_state sleeper EXITED
tap_is "a restart logs 'started' again, never 'created'" \
        "$(quilt logs --stream system sleeper 2>&1 | sed 's/init pid [0-9]*/init pid N/' | tr '\n' '|')" \
        "-- Container created --|-- Container started, init pid N --|-- Container killed by signal 9 (SIGKILL) --|-- Container started, init pid N --|-- Container killed by signal 15 (SIGTERM) --|"
quilt create --async-mode --name bad -- /no/such/command > /dev/null
wait_state bad FAILED
tap_check "a command that cannot run: 'failed' is logged" \
        grep -q "^-- Container failed to start: exec /no/such/command: No such file or directory --$" \
        <(quilt logs bad 2>&1)
if [ -d /sys/fs/cgroup/memory ] || [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        quilt create --name oom --memory 32 -- sh -c 'x=$(head -c 209715200 /dev/zero | tr "\0" a); echo survived' > /dev/null
        wait_state oom EXITED
        tap_check "the OOM kill is logged" grep -q "^-- Container ran out of memory" <(quilt logs oom 2>&1)
else
        tap_ok "# SKIP no memory controller"
fi

# ---- binary data, long lines, partial lines ------------------------------------------------
quilt create --name bin -- sh -c 'printf "\001\377\000x\n"; head -c 40000 /dev/zero | tr "\0" y; echo; printf "no newline"' > /dev/null
wait_state bin EXITED
quilt logs --stream stdout bin > "$O"
tap_is "binary bytes come back exactly (NUL, 0xff)" "$(head -c 5 "$O" | od -An -tx1 | tr -d ' ')" "01ff00780a"
tap_is "a 40000-byte line comes back whole" "$(sed -n 2p "$O" | tr -d '\n' | wc -c)" 40000
tap_is "... from two partial records and the rest" "$(grep -c ' stdout P y' "$(log_file bin)")" 2
tap_is "an unterminated last line gets no newline" "$(tail -c 10 "$O")" "no newline"
J=$(http GET /containers/bin/logs)
tap_is "JSON: invalid UTF-8 becomes U+FFFD in message" "$(jq -r '.logs[] | select(.stream == "stdout") | .message' <<< "$J" | head -1 | od -An -tx1 | tr -d ' ')" \
        "01efbfbdefbfbd780a"
tap_is "... and raw has the exact bytes (base64)" \
        "$(jq -r '[.logs[] | select(.stream == "stdout")][0].raw' <<< "$J" | base64 -d | od -An -tx1 | tr -d ' ')" "01ff0078"
tap_is "... partial is set on the pieces" \
        "$(jq -c '[.logs[] | select(.stream == "stdout") | .partial]' <<< "$J")" "[false,true,true,false,true]"

# ---- rotation: the lines of container.log.1 are still there ---------------------------------
quilt create --name rot -- sh -c 'i=1; while [ $i -le 2500 ]; do echo "line $i"; i=$((i+1)); done' > /dev/null
wait_state rot EXITED
tap_check "the log was rotated at 64K" [ -s "$(log_file rot).1" ]
tap_check "... and container.log stays under 64K" [ "$(stat -c %s "$(log_file rot)")" -le 65536 ]
tap_check "... so its first line is only in container.log.1" grep -q ' stdout F line 1$' "$(log_file rot).1"
tap_is "quilt logs reads across container.log.1 and container.log" \
        "$(quilt logs --stream stdout rot | sed -n '1p;$p' | tr '\n' ' ')$(quilt logs --stream stdout rot | wc -l)" \
        "line 1 line 2500 2500"
FIRST_CURRENT=$(head -1 "$(log_file rot)" | grep -o 'line [0-9]*')
N_CURRENT=$(grep -c ' stdout F ' "$(log_file rot)")
tap_is "--tail reaches back into container.log.1" \
        "$(quilt logs --stream stdout --tail $((N_CURRENT + 10)) rot | sed -n 11p)" "$FIRST_CURRENT"

# ---- following --------------------------------------------------------------------------------
# A line every 0.3 s: the follower must show the first one while the container still runs,
# and return by itself once it has exited.
quilt create --name tick -- sh -c 'for i in 1 2 3 4 5 6 7 8; do echo "tick $i"; sleep 0.3; done; echo done >&2' > /dev/null
quilt logs -f tick > "$O" 2> "$E" &
FOLLOWER=$!
for i in $(seq 100); do grep -q "tick 1" "$O" && break; sleep 0.05; done
SEEN_WHILE=$(field tick .status)
tap_is "-f: the first line is shown while the container still runs" "$(head -1 "$O"):$SEEN_WHILE" "tick 1:RUNNING"
tap_check "... and the follower is still there" kill -0 "$FOLLOWER"
RC=timeout
for i in $(seq 200); do kill -0 "$FOLLOWER" 2>/dev/null || { wait "$FOLLOWER"; RC=$?; break; }; sleep 0.05; done
[ "$RC" = timeout ] && kill "$FOLLOWER"
tap_is "-f returns by itself once the container has exited, with 0" "$RC:$(field tick .status)" "0:EXITED"
tap_is "-f printed every stdout line" "$(tr '\n' ' ' < "$O")" "tick 1 tick 2 tick 3 tick 4 tick 5 tick 6 tick 7 tick 8 "
tap_is "... and stderr and the lifecycle on stderr, up to the exit" \
        "$(sed 's/init pid [0-9]*/init pid N/' "$E" | tr '\n' '|')" \
        "-- Container created --|-- Container started, init pid N --|done|-- Container exited with code 0 --|"

tap_is "-f of an exited container prints it all and returns" \
        "$(timeout 10 "$QUILT_BIN" logs -f --stream stdout sep; echo "rc=$?")" "out1
out2
rc=0"

quilt create --name chatty -- sh -c 'echo old; sleep 0.5; for i in 1 2 3; do echo "new $i"; sleep 0.2; done' > /dev/null
for i in $(seq 100); do quilt logs --stream stdout chatty | grep -q old && break; sleep 0.05; done
tap_is "-f --tail 0: only the lines that come" \
        "$(timeout 20 "$QUILT_BIN" logs -f --tail 0 --stream stdout chatty | tr '\n' ' ')" "new 1 new 2 new 3 "

# Rotation while following: 3000 lines through a 64K file (rotated twice), none lost.
quilt create --name flood -- sh -c 'sleep 0.5; i=1; while [ $i -le 3000 ]; do echo "line $i"; [ $((i % 300)) = 0 ] && sleep 0.05; i=$((i+1)); done' > /dev/null
timeout 60 "$QUILT_BIN" logs -f --stream stdout flood > "$O"
tap_check "the file was rotated while it was followed" [ -s "$(log_file flood).1" ]
tap_is "-f across rotations: every line once, in order" "$(cat "$O" | md5sum)" "$(seq 3000 | sed 's/^/line /' | md5sum)"

# --until ends following, also of a container that goes on.
quilt create --name forever -- sh -c 'while :; do echo alive; sleep 0.2; done' > /dev/null
T0=$(date +%s%N)
UNTIL=$((T0 / 1000000000 + 2))
timeout 20 "$QUILT_BIN" logs -f --until "@$UNTIL" forever > "$O" 2>&1
RC=$?
T1=$(date +%s%N)
tap_check "-f --until returns once the time given has come ($(((T1 - T0) / 1000000)) ms, rc $RC)" \
        test "$RC" = 0 -a "$((T1 / 1000000))" -ge "$((UNTIL * 1000))" -a "$(((T1 - T0) / 1000000))" -lt 6000
tap_check "... having printed what came until then" grep -q '^alive$' "$O"

# HTTP: NDJSON, one entry per line, then the status.
NDJSON=$(curl -s -N --max-time 20 --unix-socket "$HTTP_SOCK" "http://localhost/containers/tick/logs?follow=1&stream=stdout&tail=2")
tap_is "GET /containers/:id/logs?follow=1 streams NDJSON chunks ending with the status" \
        "$(jq -c 'if .status then .status else (.logs[] | .message) end' <<< "$NDJSON" | tr '\n' ' ')" \
        '"tick 7" "tick 8" "OK" '
http GET '/containers/tick/logs?stream=stdout,stdin' > "$O"
tap_is "an unknown stream in the query is a 400" "$(jq -r .error "$O"):$HTTP_STATUS" \
        "unknown stream 'stdin' (expected stdout, stderr or system):400"

# A follower that goes away leaves nothing behind in quiltd.
timeout 1 "$QUILT_BIN" logs -f forever > /dev/null 2>&1
curl -s -N --max-time 1 --unix-socket "$HTTP_SOCK" "http://localhost/containers/forever/logs?follow=1" > /dev/null
sleep 0.3
tap_is "followers that went away hold no call and no exit waiter" \
        "$(quilt info --json | jq -c '[.features.calls_in_flight, .features.container_waiters]')" '["0","0"]'
quilt rm -f forever > /dev/null

# ---- after a quiltd restart -----------------------------------------------------------------
BEFORE=$(quilt logs sep 2>&1)
quiltd_stop
quiltd_start "Logs.MaxFileSize=64K" || { echo "Bail out! quiltd did not restart"; exit 1; }
tap_is "the same lines after quiltd restarted" "$(quilt logs sep 2>&1)" "$BEFORE"

# ---- bad input, removal ---------------------------------------------------------------------
tap_is "an unknown container" "$(quilt logs nosuch 2>&1; echo "rc=$?")" "quilt: logs: container 'nosuch' not found (NOT_FOUND)
rc=1"
ID_SEP=$(field sep .container_id)
quilt rm sep > /dev/null
tap_is "a removed container has no logs" "$(quilt logs sep 2>&1 | grep -c 'not found')" 1
tap_check "... and its log file is gone" [ ! -e "$QT_DIR/state/containers/$ID_SEP" ]

tap_check "quiltd shuts down cleanly" quiltd_stop
tap_done
