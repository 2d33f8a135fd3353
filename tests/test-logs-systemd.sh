#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Container logs on the systemd backend, under a real systemd 252 with journald booted by
# tests/systemd-harness.sh: the monitor writes native journal entries from inside
# quilt-<id>.scope, so journalctl -u and field matches find them with the right PRIORITY,
# and quilt logs reads them back, also after quiltd restarted.
#
# Environment: QUILT_BUILD_DIR (required), QUILT_SOURCE_DIR (default: this file's ../).
source "$(dirname "${BASH_SOURCE[0]}")/harness-lib.sh"

command -v jq > /dev/null || skip_all "needs jq"
[ -x "$BUILD/src/daemon/quiltd" ] || bail "$BUILD/src/daemon/quiltd not built"

harness_boot 60
# journal NAME: the entries of container NAME as one JSON object per line.
journal() { inside journalctl --no-pager -o json "QUILT_CONTAINER_NAME=$1"; }
entry() { jq -c --arg m "$2" 'select(.MESSAGE == $m)' <<< "$1"; }

harness_install_quilt
INFO=$(inside quilt info --json)
is "quiltd picked the systemd backend" "$(jq -r .features.backend <<< "$INFO")" systemd
is "... and the journal log driver" "$(jq -r .features.log_driver <<< "$INFO")" journal

# ---- the monitor's entries: attributed to the scope, with the fields -------------------
check "create a container that prints" inside quilt create --name talk -- \
        sh -c 'echo hello-out; sleep 0.1; echo hello-err >&2; sleep 0.1; printf "\377bin\n"; exit 4'
ID=$(field talk .container_id)
wait_state talk EXITED
is "ContainerInfo says journal" "$(field talk .container.log_driver)" journal
check "no container.log is written" inside test ! -e "/var/lib/quilt/containers/$ID/container.log"

UNIT=$(inside journalctl --no-pager -o cat -u "quilt-$ID.scope")
check "journalctl -u quilt-<id>.scope shows the stdout line" grep -qx hello-out <<< "$UNIT"
check "... and the stderr line" grep -qx hello-err <<< "$UNIT"
check "... and the lifecycle lines" grep -qx "Container exited with code 4" <<< "$UNIT"

J=$(journal talk)
OUT=$(entry "$J" hello-out)
ERR=$(entry "$J" hello-err)
EXITED=$(jq -c 'select(.QUILT_EVENT == "exited")' <<< "$J")
is "journalctl QUILT_CONTAINER_NAME=talk: stdout at PRIORITY 6" "$(jq -r .PRIORITY <<< "$OUT")" 6
is "... stderr at PRIORITY 3" "$(jq -r .PRIORITY <<< "$ERR")" 3
is "... QUILT_STREAM" "$(jq -r .QUILT_STREAM <<< "$OUT"),$(jq -r .QUILT_STREAM <<< "$ERR")" stdout,stderr
is "... _SYSTEMD_UNIT is the container's scope" "$(jq -r ._SYSTEMD_UNIT <<< "$OUT")" "quilt-$ID.scope"
is "... also for the last entry, written as the monitor exits" "$(jq -r ._SYSTEMD_UNIT <<< "$EXITED")" "quilt-$ID.scope"
is "... SYSLOG_IDENTIFIER is the name" "$(jq -r .SYSLOG_IDENTIFIER <<< "$OUT")" talk
is "... QUILT_CONTAINER_ID" "$(jq -r .QUILT_CONTAINER_ID <<< "$OUT")" "$ID"
is "... Docker's CONTAINER_ID and CONTAINER_NAME" "$(jq -r '.CONTAINER_ID + " " + .CONTAINER_NAME' <<< "$OUT")" \
        "${ID:0:12} talk"
is "... sent by root" "$(jq -r ._UID <<< "$OUT")" 0
is "'exited' is a system entry at PRIORITY 4 with the code" \
        "$(jq -r '[.QUILT_STREAM, .PRIORITY, .QUILT_EXIT_CODE] | join(" ")' <<< "$EXITED")" "system 4 4"
is "the events of the run, in order" "$(jq -r 'select(.QUILT_STREAM == "system") | .QUILT_EVENT' <<< "$J" | tr '\n' ' ')" \
        "created started exited "
is "binary output is kept as bytes (journalctl shows a byte array)" \
        "$(jq -c 'select(.QUILT_STREAM == "stdout" and (.MESSAGE | type) == "array") | .MESSAGE' <<< "$J")" \
        "[255,98,105,110]"

# ---- quilt logs reads them back ----------------------------------------------------------
LOGS=$(inside sh -c 'quilt logs talk 2> /tmp/err; echo "|"; cat /tmp/err')
is "quilt logs: stdout on stdout, stderr and lifecycle on stderr" \
        "$(sed 's/init pid [0-9]*/init pid N/' <<< "$LOGS" | tr '\377' '?')" \
        "hello-out
?bin
|
-- Container created --
-- Container started, init pid N --
hello-err
-- Container exited with code 4 --"
is "quilt logs --tail 1 --stream stderr" "$(inside quilt logs --tail 1 --stream stderr talk 2>&1)" hello-err
is "quilt run prints the output at once, from the journal" \
        "$(inside quilt run --name quick -- sh -c 'echo one; echo two; echo three >&2' 2>&1 | tr '\n' ' ')" \
        "one two three "

# ---- following the journal -------------------------------------------------------------------
check "create a container that prints a line every 0.3 s" inside quilt create --name tick -- \
        sh -c 'for i in 1 2 3 4 5 6; do echo "tick $i"; sleep 0.3; done; echo done >&2'
FOLLOW=$(inside sh -c 'quilt logs -f tick > /tmp/follow.out 2> /tmp/follow.err &
        for i in $(seq 100); do grep -q "tick 1" /tmp/follow.out && break; sleep 0.05; done
        curl -s --unix-socket /run/quilt/http.sock http://localhost/containers/tick | jq -r .status
        wait $!; echo "rc=$?"')
is "quilt logs -f from the journal: the first line while it runs, then it returns with 0" \
        "$(tr '\n' ' ' <<< "$FOLLOW")" "RUNNING rc=0 "
is "... with every line" "$(inside cat /tmp/follow.out | tr '\n' ' ')" "tick 1 tick 2 tick 3 tick 4 tick 5 tick 6 "
is "... and the stderr line and the exit last" "$(inside tail -n 2 /tmp/follow.err | tr '\n' '|')" \
        "done|-- Container exited with code 0 --|"

# ---- after quiltd restarted ---------------------------------------------------------------
BEFORE=$(inside quilt logs talk 2>&1)
check "systemctl restart quilt.service" inside systemctl restart quilt.service
is "quilt logs shows the same lines after the restart" "$(inside quilt logs talk 2>&1)" "$BEFORE"

# A container that prints while quiltd is dead: its lines still reach the journal, and the
# next quiltd reads them.
check "create a container that prints once a second" inside quilt create --name ticker -- \
        sh -c 'i=0; while [ $i -lt 100 ]; do echo "tick $i"; i=$((i+1)); sleep 0.5; done'
check "SIGKILL quilt.service" inside systemctl kill -s KILL quilt.service
sleep 1.5
check "the next call starts quiltd again, and it reads what was printed meanwhile" \
        sh -c "[ \$($HARNESS exec $S -- quilt logs --stream stdout ticker | grep -c '^tick ') -ge 3 ]"
check "stop it" inside quilt stop -t 1 ticker
is "its last line is 'killed by signal 15'" "$(inside quilt logs --tail 1 ticker 2>&1)" \
        "-- Container killed by signal 15 (SIGTERM) --"

check "remove them" inside sh -c 'for c in $(quilt ps -a -q); do quilt rm -f "$c" || exit 1; done'
is "the journal keeps the lines of a removed container" \
        "$(inside journalctl --no-pager -o cat QUILT_CONTAINER_NAME=talk QUILT_STREAM=stdout | head -1)" hello-out

echo "1..$N"
[ "$FAILED" = 0 ]
