#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The event stream: container events are stored and streamed in order, each once; a
# client that disconnects and resumes from its last cursor misses nothing and sees
# nothing twice; events and their attributes are right (died with the exit code, the
# signal and the OOM kill); they survive quiltd restarts, and a container that ends while
# quiltd is down gets exactly one "died". A client that goes away leaves nothing held in
# quiltd (GetSystemInfo's calls_in_flight, event_subscribers, container_waiters).
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || tap_skip_all "needs jq"

quiltd_start || { echo "Bail out! quiltd did not start"; exit 1; }

feature() { quilt --json info | jq -r ".features.$1"; }
# wait_until DESCRIPTION COMMAND...: up to 10 s for COMMAND to succeed
wait_until() {
        local what=$1 i
        shift
        for i in $(seq 200); do
                "$@" && return 0
                sleep 0.05
        done
        echo "#   timed out waiting until $what"
        return 1
}
feature_is() { [ "$(feature "$1")" = "$2" ]; }
all_events() { quilt events --since 0 --until-now --json; }
# types NAME: the event types of a container, in order, on one line
types() { all_events | jq -r --arg n "$1" 'select(.container_name == $n) | .event_type' | paste -sd' '; }
# attr NAME TYPE KEY: an attribute of a container's event(s) of a type
attr() { all_events | jq -r --arg n "$1" --arg t "$2" 'select(.container_name == $n and .event_type == $t) | .attributes.'"$3"; }
# has_event FILE NAME TYPE: FILE (NDJSON) has that event
has_event() { jq -e -s --arg n "$2" --arg t "$3" 'any(.[]; .container_name == $n and .event_type == $t)' "$1" > /dev/null; }
cursors() { jq -r .cursor "$@"; }
increasing() { sort -n -c <(cursors "$1") 2>/dev/null && [ "$(cursors "$1" | sort -n | uniq -d)" = "" ]; }

# ---- a follower sees events as they happen -------------------------------------------
"$QUILT_BIN" events --json > "$QT_DIR/a.out" 2> "$QT_DIR/a.err" &
A=$!
tap_check "a follower subscribes" wait_until "the follower is subscribed" feature_is event_subscribers 1
tap_is "an open stream is a call in flight (no idle exit meanwhile)" "$(feature calls_in_flight)" 1

quilt create --name c1 -- sh -c 'exit 7' > /dev/null
quilt wait c1 > /dev/null
tap_check "the follower sees c1 die" wait_until "c1 died reaches the follower" has_event "$QT_DIR/a.out" c1 died
tap_is "c1: created, started, died" "$(jq -r 'select(.container_name == "c1") | .event_type' "$QT_DIR/a.out" | paste -sd' ')" \
        "created started died"

# ---- the follower goes away; quiltd lets go of everything it held for it --------------
kill -KILL "$A"
wait "$A" 2> /dev/null
tap_check "a client that disconnects ends its stream in quiltd" \
        wait_until "calls_in_flight is 0" feature_is calls_in_flight 0
tap_is "... and its subscription" "$(feature event_subscribers)" 0
LAST=$(tail -n 1 "$QT_DIR/a.out" | jq -r .cursor)

# ---- events while nobody listens ------------------------------------------------------
quilt create --name c2 -- sleep 100 > /dev/null
quilt kill -s TERM c2 > /dev/null
quilt wait c2 > /dev/null
quilt create --name c3 -- sleep 100 > /dev/null
quilt stop c3 > /dev/null
quilt create --name oom --memory 64m -- sh -c 'head -c 300m /dev/zero | tail' > /dev/null
quilt wait oom > /dev/null
quilt rm c1 > /dev/null

# ---- a second client resumes from the first one's last cursor --------------------------
"$QUILT_BIN" events --since "$LAST" --json > "$QT_DIR/b.out" 2> "$QT_DIR/b.err" &
B=$!
tap_check "a resumed follower subscribes" wait_until "the resumed follower is subscribed" feature_is event_subscribers 1
quilt create --name c4 -- true > /dev/null
quilt wait c4 > /dev/null
quilt rm c4 > /dev/null
tap_check "the resumed follower sees new events too" wait_until "c4 removed reaches it" has_event "$QT_DIR/b.out" c4 removed
kill -TERM "$B"
wait "$B" 2> /dev/null

all_events > "$QT_DIR/all.out"
tap_check "stored events are in cursor order, each once" increasing "$QT_DIR/all.out"
tap_check "the first follower saw them in order, each once" increasing "$QT_DIR/a.out"
tap_check "the resumed follower too" increasing "$QT_DIR/b.out"
tap_is "first + resumed follower = every event, exactly once, in order" \
        "$(cat "$QT_DIR/a.out" "$QT_DIR/b.out" | cursors | paste -sd' ')" "$(cursors "$QT_DIR/all.out" | paste -sd' ')"
tap_check "the resumed follower got what happened while nobody listened" has_event "$QT_DIR/b.out" c2 killed

# ---- types and attributes -------------------------------------------------------------
tap_is "c1: created, started, died, removed" "$(types c1)" "created started died removed"
tap_is "c1 died with exit code 7" "$(attr c1 died exit_code):$(attr c1 died signal):$(attr c1 died oom_killed)" "7:0:false"
tap_is "c2: created, started, killed, died" "$(types c2)" "created started killed died"
tap_is "c2 was killed with SIGTERM" "$(attr c2 killed signal):$(attr c2 killed signal_name)" "15:SIGTERM"
tap_is "c2 died of SIGTERM" "$(attr c2 died signal):$(attr c2 died state)" "15:exited"
tap_is "c3: created, started, died, stopped" "$(types c3)" "created started died stopped"
tap_is "oom: created, started, died" "$(types oom)" "created started died"
tap_is "oom died as an OOM kill" "$(attr oom died oom_killed)" true
tap_is "c4: created, started, died, removed" "$(types c4)" "created started died removed"
tap_is "events carry the container's id" "$(all_events | jq -r 'select(.container_name == "c2") | .container_id' | sort -u)" \
        "$(quilt --json status c2 | jq -r .container_id)"
tap_is "events carry a time" "$(all_events | jq -r 'select(.time_usec < 1600000000000000)' | wc -l)" 0

# ---- filters -------------------------------------------------------------------------------
tap_is "filter by the name of a removed container" \
        "$(quilt events --since 0 --until-now --json -f container=c1 | jq -r .event_type | paste -sd' ')" \
        "created started died removed"
tap_is "filter by type" "$(quilt events --since 0 --until-now --json -f type=died | jq -r .container_name | paste -sd' ')" \
        "c1 c2 c3 oom c4"
tap_is "filters combine: any container given, any type given" \
        "$(quilt events --since 0 --until-now --json -c c2 -c c3 -t killed -t stopped | jq -r '.container_name + ":" + .event_type' | paste -sd' ')" \
        "c2:killed c3:stopped"
line=$(quilt events --since 0 --until-now -t killed)
tap_check "the text line starts with the cursor, time, type, name and id" \
        grep -Eq "^[0-9]+ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[+-][0-9]{2}:[0-9]{2} killed c2 [0-9a-f-]{36} signal=15 signal_name=SIGTERM$" <<< "$line"

# HTTP: the same events as NDJSON, the status as the last line.
http GET "/events?since=0&until_now=true&type=died,killed&container=c2" > "$QT_DIR/http.out"
tap_is "GET /events answers 200" "$HTTP_STATUS" 200
tap_is "GET /events: the filtered events, then the status" \
        "$(jq -r '.event_type // .status' "$QT_DIR/http.out" | paste -sd' ')" "killed died OK"
http GET "/events?since=$LAST&until_now=true" > "$QT_DIR/http2.out"
tap_is "GET /events?since= resumes like the gRPC stream" "$(head -n -1 "$QT_DIR/http2.out" | cursors | paste -sd' ')" \
        "$(cursors "$QT_DIR/b.out" | paste -sd' ')"

# ---- bad input -----------------------------------------------------------------------------
out=$(quilt events --since 999999 2>&1); rc=$?
tap_check "a cursor from the future is refused" grep -q "OUT_OF_RANGE" <<< "$out"
tap_is "... with exit status 1" "$rc" 1
out=$(quilt events -t nosuchtype 2>&1); rc=$?
tap_check "an unknown type is refused, naming it" grep -q "unknown event type 'nosuchtype'" <<< "$out"
out=$(quilt events -f colour=red 2>&1); rc=$?
tap_is "an unknown filter is a usage error" "$rc" 2
http GET "/events?type=nosuchtype" > /dev/null
tap_is "GET /events with an unknown type is 400" "$HTTP_STATUS" 400
tap_is "refused streams leave nothing held" "$(feature calls_in_flight):$(feature event_subscribers)" "0:0"

# ---- a waiting client that goes away -------------------------------------------------------
quilt create --name c6 -- sleep 100 > /dev/null
"$QUILT_BIN" wait c6 > /dev/null 2>&1 &
W=$!
tap_check "a waiting client holds a waiter" wait_until "container_waiters is 1" feature_is container_waiters 1
kill -KILL "$W"
wait "$W" 2> /dev/null
tap_check "a waiting client that goes away leaves no waiter" wait_until "container_waiters is 0" feature_is container_waiters 0
tap_is "... and no call" "$(feature calls_in_flight)" 0
quilt rm -f c6 > /dev/null

# ---- restarts ---------------------------------------------------------------------------------
all_events > "$QT_DIR/before.out"
quilt create --name c5 -- sleep 2 > /dev/null
tap_check "quiltd stops, c5 keeps running" quiltd_stop
sleep 3 # c5 ends while quiltd is down
quiltd_start || { echo "Bail out! quiltd did not restart"; exit 1; }
all_events > "$QT_DIR/after.out"
tap_is "stored events survive a restart unchanged" \
        "$(head -n "$(wc -l < "$QT_DIR/before.out")" "$QT_DIR/after.out" | md5sum)" "$(md5sum < "$QT_DIR/before.out")"
tap_is "c5, which ended while quiltd was down, died once, at reconcile" "$(types c5)" "created started died"
tap_is "... with its exit code" "$(attr c5 died exit_code):$(attr c5 died state)" "0:exited"
quiltd_stop
quiltd_start || { echo "Bail out! quiltd did not restart"; exit 1; }
tap_is "another restart adds no second died" "$(types c5)" "created started died"
quilt rm c5 > /dev/null
all_events > "$QT_DIR/final.out"
tap_check "cursors keep growing across restarts" increasing "$QT_DIR/final.out"
tap_is "a follower resuming from before the restarts gets the rest" \
        "$(quilt events --since "$(tail -n 1 "$QT_DIR/before.out" | jq -r .cursor)" --until-now --json | jq -r '.container_name + ":" + .event_type' | paste -sd' ')" \
        "c5:created c5:started c5:died c5:removed"

tap_check "quiltd shuts down cleanly on SIGTERM" quiltd_stop
tap_done
