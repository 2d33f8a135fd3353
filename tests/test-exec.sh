#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# quilt exec on the standalone backend: what the command gets (argv, environment, working
# directory, user, stdin, namespaces, cgroup, terminal), what comes back (stdout and stderr
# apart, the exit status, large outputs), timeouts that kill the whole process tree,
# detached commands, the HTTP shapes, the spawned helper, and that failures leave nothing.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || tap_skip_all "needs jq"

quiltd_start || { echo "Bail out! quiltd did not start"; exit 1; }

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
# run_to OUT ERR ARGS...: quilt ARGS with stdout and stderr in files; returns its status
run_to() { local out=$1 err=$2; shift 2; quilt "$@" > "$out" 2> "$err"; }
# The host cgroup directories of container ID's payload that hold exec cgroups.
exec_cgroups() { find /sys/fs/cgroup -path "*/quilt-$1/payload/exec-*" -type d 2>/dev/null; }
# Processes of container ID other than its init, seen from the host (every payload cgroup).
payload_pids() {
        find /sys/fs/cgroup -path "*/quilt-$1/payload*" -name cgroup.procs 2>/dev/null |
                xargs cat 2>/dev/null | sort -u | grep -vx "$(field "$1" .pid)"
}

quilt create --name box --async-mode > /dev/null
wait_state box RUNNING || { echo "Bail out! the container did not start"; exit 1; }
ID=$(field box .container_id)
INIT=$(field box .pid)
O=$QT_DIR/out E=$QT_DIR/err

# ---- status and streams -------------------------------------------------------------
run_to "$O" "$E" exec box -- sh -c 'echo out; echo err >&2; exit 42'
tap_is "the exit status is the command's" "$?" 42
tap_is "stdout has stdout" "$(cat "$O")" out
tap_is "stderr has stderr" "$(cat "$E")" err
run_to "$O" "$E" exec box -- sh -c 'kill -TERM $$'
tap_is "a signal gives 128+N" "$?" 143
run_to "$O" "$E" exec box no-such-command
tap_is "a command that does not exist gives 127" "$?" 127
tap_check "... and says so" grep -q 'no-such-command: command not found' "$E"
run_to "$O" "$E" exec box /etc/passwd
tap_is "a file that is not executable gives 126" "$?" 126

# ---- what the command gets ----------------------------------------------------------
tap_is "argv arrives word for word" "$(quilt exec box -- /bin/echo 'a  b' '$HOME' '"q"' "it's")" \
        "a  b \$HOME \"q\" it's"
tap_is "-c fragments are joined into one shell line" "$(quilt exec box -c 'echo one' -c '&& echo two' | tr '\n' ' ')" \
        "one two "
tap_is "--env adds variables" "$(quilt exec -e FOO=bar -e 'SP=a b' box -- sh -c 'echo "$FOO|$SP"')" "bar|a b"
tap_is "... to the container's environment" "$(quilt exec box -- sh -c 'echo $HOSTNAME:$container')" "box:quilt"
tap_is "--workdir" "$(quilt exec -w /tmp box pwd)" /tmp
tap_is "the default working directory is the container's" "$(quilt exec box pwd)" /
tap_is "--user" "$(quilt exec -u 1000:1001 box -- sh -c 'id -u; id -g' | tr '\n' ' ')" "1000 1001 "
tap_is "... by name from the image" "$(quilt exec -u nobody box id -u)" 65534
tap_check "... without capabilities" grep -q 'CapEff:.*0000000000000000' <<< "$(quilt exec -u 1000 box cat /proc/self/status)"
tap_is "root keeps the container's capability set" \
        "$(quilt exec box cat /proc/self/status | awk '/^CapEff/ {print $2}')" 00000000a80425fb
tap_is "no_new_privs and the seccomp filter" \
        "$(quilt exec box cat /proc/self/status | awk '/^(NoNewPrivs|Seccomp):/ {printf "%s ", $2}')" "1 2 "
tap_is "stdin with -i" "$(printf 'line1\nline2\n' | quilt exec -i box -- sh -c 'wc -l')" 2
tap_is "without -i stdin is empty" "$(echo nope | quilt exec box cat)" ""
tap_is "an unknown user fails setup with 125" "$(quilt exec -u nosuchuser box true 2>/dev/null; echo $?)" 125

# The same namespaces as init, compared by inode from the host.
NS_OK=1
NS=$(quilt exec box sh -c 'for n in pid mnt uts ipc net cgroup; do readlink /proc/self/ns/$n; done')
for n in pid mnt uts ipc net cgroup; do
        grep -Fqx "$(readlink "/proc/$INIT/ns/$n")" <<< "$NS" ||
                { NS_OK=0; echo "#   $n differs: $(readlink "/proc/$INIT/ns/$n") (init $INIT) vs $(grep "^$n:" <<< "$NS")"; }
done
tap_is "exec joins every namespace of the container's init" "$NS_OK" 1
tap_is "... and sees the container's pid 1" "$(quilt exec box cat /proc/1/comm)" init
tap_is "... and its hostname" "$(quilt exec box hostname)" box

# The exec's own cgroup below payload/, gone afterwards.
quilt exec box sleep 2 &
EXEC_PID=$!
for i in $(seq 100); do [ -n "$(exec_cgroups "$ID")" ] && break; sleep 0.02; done
CG=$(exec_cgroups "$ID")
tap_check "a running exec has a cgroup below the container's payload ($CG)" test -n "$CG"
SLEEP=$(cat "$CG/cgroup.procs" 2>/dev/null | head -1)
tap_is "... holding the command" "$(cat "/proc/$SLEEP/comm" 2>/dev/null)" sleep
tap_check "... which is in the container's memory cgroup too" \
        grep -q "memory:/quilt.slice/quilt-$ID/payload" "/proc/$SLEEP/cgroup"
wait "$EXEC_PID"
for i in $(seq 100); do [ -z "$(exec_cgroups "$ID")" ] && break; sleep 0.02; done
tap_is "the exec cgroup is removed when it ends" "$(exec_cgroups "$ID")" ""
tap_is "inside, the command sees its cgroup below the container's root" \
        "$(quilt exec box cat /proc/self/cgroup | grep -c ':/exec-')" 1

# ---- terminal -----------------------------------------------------------------------
tap_check "-t gives a pty of the container's devpts" grep -q '^/dev/pts/[0-9]' <<< "$(quilt exec -t box tty)"
PY=/usr/bin/python3
if [ -x "$PY" ]; then
        for how in "shell box" "exec -it box sh"; do
                R=$("$PY" "$(dirname "$0")/exec-pty.py" session "$QUILT_BIN" $how)
                v() { sed -n "s/^$1=//p" <<< "$R"; }
                tap_check "quilt $how: a prompt on a terminal" test "$(v prompt)" = 1
                tap_check "... tty prints a pts of the container ($(v tty))" grep -q '^/dev/pts/[0-9]' <<< "$(v tty)"
                tap_is "... stty size is our terminal's" "$(v size)" 30x100
                tap_is "... and follows a resize" "$(v resized)" 40x120
                tap_is "... Ctrl-C interrupts a sleep in the container" "$(v interrupted):$(v sleep_status)" 1:130
                tap_is "... exit 5 is quilt's status" "$(v exit)" 5
        done
        R=$("$PY" "$(dirname "$0")/exec-pty.py" timing "$QUILT_BIN" exec box sh -c 'echo first; sleep 2; echo second')
        FIRST=$(sed -n 's/^first=//p' <<< "$R") END=$(sed -n 's/^end=//p' <<< "$R")
        echo "# first output after ${FIRST}s, the end after ${END}s"
        tap_check "output arrives as it is printed, before the command ends" \
                awk -v f="$FIRST" -v e="$END" 'BEGIN { exit !(f != "none" && f + 1.0 < e) }'
else
        tap_skip_all "needs /usr/bin/python3 for the terminal tests"
fi
tap_is "a tty session reads stdin that is not a terminal" "$(printf 'echo $((2+3)); exit 7\n' | quilt shell box | tr -d '\r' | grep -x 5)" 5
printf 'exit 7\n' | quilt shell box > /dev/null
tap_is "... and exits with the shell's status" "$?" 7

# ---- timeouts kill the whole tree ---------------------------------------------------
T0=$(date +%s%N)
run_to "$O" "$E" exec --timeout 1 box -- sh -c 'echo before; sleep 100 & sleep 100'
RC=$?
T1=$(date +%s%N)
echo "# --timeout 1 returned after $(( (T1 - T0) / 1000000 )) ms"
tap_is "--timeout exits 124" "$RC" 124
tap_check "... well before the command would have ended" test $(( (T1 - T0) / 1000000000 )) -lt 10
tap_is "... with the output so far" "$(cat "$O")" before
tap_check "... and says it timed out" grep -q 'timed out' "$E"
tap_is "no sleep is left in the container" "$(quilt exec box ps -o comm | grep -c sleep)" 0
tap_is "... nor anything in its cgroups but init" "$(payload_pids "$ID")" ""
tap_is "HTTP reports timed_out" \
        "$(http POST "/containers/box/exec" '{"command":["sleep","10"],"timeout_ms":300}' | jq -c '[.timed_out,.exit_signal,.success]')" \
        '[true,9,false]'

# ---- concurrent execs ---------------------------------------------------------------
PIDS=()
for i in $(seq 8); do quilt exec box -- sh -c "sleep 0.$i; echo $i" > "$QT_DIR/par.$i" & PIDS+=($!); done
wait "${PIDS[@]}"
tap_is "8 concurrent execs each get their own output" "$(cat "$QT_DIR"/par.* | sort -n | tr '\n' ' ')" "1 2 3 4 5 6 7 8 "

# ---- detached commands --------------------------------------------------------------
DPID=$(quilt exec -d box -- sh -c 'echo detached-output; exec sleep 30')
tap_check "--detach prints the command's pid ($DPID)" test "$DPID" -gt 1
tap_check "... and the command keeps running: exec ps sees it" \
        grep -Eq "^ *$DPID .*sleep 30" <<< "$(quilt exec box ps -o pid,args)"
for i in $(seq 100); do grep -q detached-output "$QT_DIR/state/containers/$ID/container.log" && break; sleep 0.02; done
tap_is "... its output goes to the container's log" "$(quilt logs --stream stdout box | grep -x detached-output)" \
        detached-output
quilt exec box kill "$DPID"
# Background processes of a normal exec stay with the container, as with docker exec.
quilt exec box -- sh -c 'sleep 30 > /dev/null 2>&1 &'
tap_check "what an exec leaves in the background keeps running" grep -q 'sleep 30' <<< "$(quilt exec box ps -o args)"
quilt exec box killall sleep

# ---- large output while the daemon keeps answering ----------------------------------
quilt create --name other --async-mode > /dev/null
wait_state other RUNNING > /dev/null
SUM=$(quilt exec box -- sh -c 'head -c 20971520 /dev/urandom > /tmp/big; sha256sum < /tmp/big' | cut -d' ' -f1)
quilt exec box cat /tmp/big > "$QT_DIR/big" &
BIG=$!
N_STATUS=0 N_FAILED=0
while kill -0 "$BIG" 2>/dev/null; do
        if quilt status other > /dev/null; then N_STATUS=$((N_STATUS + 1)); else N_FAILED=$((N_FAILED + 1)); fi
done
wait "$BIG"
tap_is "20 MiB of binary output arrive intact ($(stat -c %s "$QT_DIR/big") bytes)" \
        "$(sha256sum < "$QT_DIR/big" | cut -d' ' -f1)" "$SUM"
tap_check "quilt status of another container answered meanwhile ($N_STATUS calls)" test "$N_STATUS" -ge 1
tap_is "... every time" "$N_FAILED" 0
# The unary reply (text) the same way, through HTTP.
SUM=$(quilt exec box -- sh -c 'base64 /tmp/big | head -c 20971520 > /tmp/big.txt; sha256sum < /tmp/big.txt' | cut -d' ' -f1)
http POST /containers/box/exec '{"command":["cat","/tmp/big.txt"]}' | jq -j .stdout > "$QT_DIR/big.txt"
tap_is "20 MiB of text in one ExecContainer reply, intact" "$(sha256sum < "$QT_DIR/big.txt" | cut -d' ' -f1)" "$SUM"
head -c 5242880 /dev/urandom > "$QT_DIR/in"
tap_is "5 MiB of stdin streamed with -i arrive intact" "$(quilt exec -i box sha256sum < "$QT_DIR/in" | cut -d' ' -f1)" \
        "$(sha256sum < "$QT_DIR/in" | cut -d' ' -f1)"
quilt exec box rm /tmp/big /tmp/big.txt

# ---- a client that goes away takes its command with it -----------------------------
"$QUILT_BIN" exec box -- sh -c 'sleep 300 & sleep 300' &
CLIENT=$!
for i in $(seq 100); do [ "$(quilt exec box ps -o comm | grep -c sleep)" = 2 ] && break; sleep 0.05; done
kill -KILL "$CLIENT"; wait "$CLIENT" 2>/dev/null
for i in $(seq 100); do [ "$(quilt exec box ps -o comm | grep -c sleep)" = 0 ] && break; sleep 0.05; done
tap_is "a cancelled exec is killed with everything it started" "$(quilt exec box ps -o comm | grep -c sleep)" 0

# ---- events -------------------------------------------------------------------------
EV=$(timeout 10 "$QUILT_BIN" events --since 0 --until-now -f container=box --json |
        jq -r 'select(.event_type | startswith("exec")) |
               "\(.event_type) \(.attributes.command) \(.attributes.exit_code // "-") \(.attributes.timed_out // "-")"')
tap_check "exec_started is reported with the command" grep -qx 'exec_started sh - -' <<< "$EV"
tap_check "exec_died too, with the exit code" grep -qx 'exec_died sh 42 false' <<< "$EV"
tap_check "... and whether a timeout killed it" grep -qx 'exec_died sh 137 true' <<< "$EV"
tap_check "... and each exec_died follows its exec_started" \
        awk '/^exec_started/ {n++} /^exec_died/ {if (--n < 0) exit 1} END {exit n < 0}' <<< "$EV"

# ---- HTTP ---------------------------------------------------------------------------
timeout 20 curl -sN --unix-socket "$HTTP_SOCK" -X POST -H 'Content-Type: application/json' \
        -d '{"command":"echo a; echo b >&2; exit 3"}' http://localhost/containers/box/exec/stream > "$O"
# (stdout and stderr are two pipes: which of them is read first is not defined)
tap_is "HTTP streams NDJSON: started, output, exit, status" \
        "$(jq -r '.kind // .status' < "$O" | sed 's/^STDERR$/STDOUT/' | tr '\n' ' ')" "STARTED STDOUT STDOUT EXIT OK "
tap_is "... output as base64 bytes" "$(jq -r 'select(.kind == "STDOUT") | .data' < "$O" | base64 -d)" a
tap_is "... the exit code" "$(jq -r 'select(.kind == "EXIT") | .exit_code' < "$O")" 3
tap_is "HTTP: a string command runs in sh -c" \
        "$(http POST /containers/box/exec '{"command":"echo $((6*7))"}' | jq -r .stdout)" 42
tap_is "HTTP: {cmd_b64}" \
        "$(http POST /containers/box/exec "{\"command\":{\"cmd_b64\":\"$(printf 'echo b64 | tr a-z A-Z' | base64 -w0)\"}}" | jq -r .stdout)" B64
tap_is "HTTP: {parts_b64} is an exact argv" \
        "$(http POST /containers/box/exec "{\"command\":{\"parts_b64\":[\"$(printf echo | base64)\",\"$(printf 'x  y' | base64)\"]}}" | jq -r .stdout)" "x  y"
tap_is "HTTP: workdir, env, user and stdin" \
        "$(http POST /containers/box/exec "{\"command\":[\"sh\",\"-c\",\"pwd; echo \$V; id -u; cat\"],\"workdir\":\"/tmp\",\"environment\":{\"V\":\"v\"},\"user\":\"7\",\"stdin\":\"$(printf 'in' | base64)\"}" | jq -r .stdout | tr '\n' ' ')" \
        "/tmp v 7 in "
http POST /containers/box/exec '{"command":["sh","-c","exit 3"]}' > "$O"
tap_is "HTTP: a non-zero exit is a 200 with success false" "$HTTP_STATUS $(jq -c '[.success,.exit_code]' < "$O")" \
        '200 [false,3]'
http POST /containers/box/exec '{"command":{"parts_b64":["%%%"]}}' > /dev/null
tap_is "HTTP: bad base64 is a 400" "$HTTP_STATUS" 400
http POST /containers/box/exec '{"command":[]}' > /dev/null
tap_is "HTTP: an empty command is a 400" "$HTTP_STATUS" 400
tap_is "capture_output false discards the output (the original's default)" \
        "$(http POST /quilt.QuiltService/ExecContainer '{"container_id":"box","command":["echo","x"]}' | jq -r .stdout)" ""

# ---- the spawned helper (a monitor without an exec socket) --------------------------
tap_check "the monitor serves execs on its socket" test -S "$QT_DIR/run/containers/$ID/exec.sock"
quilt create --name old --async-mode > /dev/null
wait_state old RUNNING > /dev/null
OID=$(field old .container_id)
rm "$QT_DIR/run/containers/$OID/exec.sock"
run_to "$O" "$E" exec -e X=1 -w /tmp old -- sh -c 'echo $X $(pwd); echo e >&2; exit 5'
tap_is "without it quiltd spawns quilt-monitor exec: status" "$?" 5
tap_is "... output" "$(cat "$O"):$(cat "$E")" "1 /tmp:e"
OINIT=$(field old .pid)
tap_is "... the same namespaces" "$(quilt exec old readlink /proc/self/ns/mnt)" "$(readlink "/proc/$OINIT/ns/mnt")"
tap_is "... timeouts" "$(quilt exec --timeout 300ms old sleep 10 2>/dev/null; echo $?)" 124
tap_is "... terminals" "$(quilt exec -t old tty | grep -c '^/dev/pts/')" 1
tap_is "... and no helper is left behind" "$(pgrep -fc 'quilt-monitor exec' || true)" 0

# ---- quiltd restarts ----------------------------------------------------------------
kill -9 "$QUILTD_PID"; wait "$QUILTD_PID" 2>/dev/null; QUILTD_PID=
quiltd_start || echo "Bail out! quiltd did not restart"
tap_is "exec works in a container quiltd adopted after a restart" "$(quilt exec box echo hi)" hi

# ---- not running: a clear error, nothing left ---------------------------------------
OTHER=$(field other .container_id)
quilt exec other true
quilt stop -t 0 other > /dev/null
tap_check "a stopped container's monitor closed its exec socket" test ! -e "$QT_DIR/run/containers/$OTHER/exec.sock"
for i in $(seq 100); do pgrep -f "quilt-monitor $QT_DIR/run/containers/$OTHER" > /dev/null || break; sleep 0.05; done
tap_is "... and no process of it is left (the monitor, a spare exec process)" \
        "$(pgrep -fc "quilt-monitor $QT_DIR/run/containers/$OTHER" || true)" 0
run_to "$O" "$E" exec other true
tap_is "exec in a stopped container fails" "$?" 1
tap_check "... saying it is not running" grep -q "container 'other' is not running (exited)" "$E"
http POST /containers/other/exec '{"command":["true"]}' > /dev/null
tap_is "... FAILED_PRECONDITION over HTTP" "$HTTP_STATUS" 400
run_to "$O" "$E" exec nosuchbox true
tap_check "an unknown container is NOT_FOUND" grep -q "not found" "$E"
tap_is "no exec cgroup is left anywhere" "$(find /sys/fs/cgroup -path '*quilt.slice*' -name 'exec-*' 2>/dev/null)" ""
tap_is "no exec process is left" "$(pgrep -fc 'quilt-monitor exec' || true)" 0

quiltd_stop
tap_done
