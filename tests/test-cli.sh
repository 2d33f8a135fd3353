#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The quilt CLI against a private quiltd: what works today (health, info, --help for
# everything), how it fails (usage errors exit 2 naming the option, an unreachable daemon
# and server errors exit 1 with one line), that the container options are sent rather
# than refused, and that unsupported commands say so.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || { echo "Bail out! jq is not installed"; exit 1; }
[ -x "$QUILT_BIN" ] || { echo "Bail out! $QUILT_BIN not built"; exit 1; }

OUT=$QT_DIR/out
ERR=$QT_DIR/err

# run ARGS...: runs the CLI, leaving stdout in $OUT, stderr in $ERR and the status in $RC.
run() { quilt "$@" > "$OUT" 2> "$ERR"; RC=$?; }
one_line() { [ "$(wc -l < "$ERR")" -eq 1 ]; }
err_has() { grep -qF -- "$1" "$ERR"; }
jq_true() { jq -e "$@" > /dev/null; }

quiltd_start || { echo "Bail out! quiltd did not start"; exit 1; }

# --- health and info ---------------------------------------------------------------

run health
tap_is "quilt health exits 0" "$RC" 0
tap_check "quilt health prints the status" grep -q '^Status: *healthy$' "$OUT"
tap_check "quilt health prints the database check as OK" grep -Eq '^  database +OK ' "$OUT"

run health --json
tap_check "quilt health --json is valid JSON saying healthy" jq_true '.healthy == true' "$OUT"
tap_check "quilt health --json has the database check" \
        jq_true '[.checks[] | select(.name == "database" and .healthy)] | length == 1' "$OUT"

run info --json
tap_is "quilt info --json exits 0" "$RC" 0
tap_check "quilt info --json is valid JSON with a version" jq_true '.version | type == "string" and length > 0' "$OUT"
tap_is "the daemon's version is the CLI's" "$(jq -r .version "$OUT")" "$(quilt --version | sed 's/^quilt //')"
tap_check "quilt info --json has the features and limits maps" \
        jq_true '(.features | type == "object") and (.limits | type == "object")' "$OUT"
tap_is "global --json and the command's --json print the same" \
        "$(quilt --json info | jq -S .)" "$(jq -S . "$OUT")"

run info
tap_is "quilt info exits 0" "$RC" 0
tap_check "quilt info prints the version" grep -q "^Version: *$(jq -r .version <<< "$(quilt info --json)")\$" "$OUT"
tap_check "quilt info prints the backend" grep -q '^Backend: *standalone$' "$OUT"

# --- --help everywhere -------------------------------------------------------------

run --help
tap_is "quilt --help exits 0" "$RC" 0
tap_check "quilt --help prints usage" grep -q '^Usage: quilt' "$OUT"

# The command lists come from the help texts, so that a new command is checked too.
verbs=$(quilt --help | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 && $1 != "Commands:" { print $1 }')
tap_check "quilt --help lists commands" test -n "$verbs"
bad=
for verb in $verbs; do
        run "$verb" --help
        if [ "$RC" != 0 ] || ! grep -q '^Usage: quilt' "$OUT" || [ -s "$ERR" ]; then
                bad="$bad $verb"
                continue
        fi
        subs=$(sed -n '/^Commands:/,/^$/p' "$OUT" | awk 'NF > 1 && $1 != "Commands:" { print $1 }')
        for sub in $subs; do
                run "$verb" "$sub" --help
                if [ "$RC" != 0 ] || ! grep -q '^Usage: quilt' "$OUT" || [ -s "$ERR" ]; then
                        bad="$bad $verb-$sub"
                fi
        done
done
tap_is "every command and subcommand has --help, exits 0 and prints usage" "${bad:-none}" none

run help create
tap_check "quilt help create prints create's usage" grep -q '^Usage: quilt create' "$OUT"

# --- usage errors: exit 2, one line naming the problem ------------------------------

usage_error() { # NAME NEEDLE ARGS...
        local name=$1 needle=$2
        shift 2
        run "$@"
        if [ "$RC" = 2 ] && one_line && err_has "$needle" && [ ! -s "$OUT" ]; then
                tap_ok "$name"
        else
                tap_fail "$name"
                echo "#   exit $RC, stderr: $(cat "$ERR")"
        fi
}
usage_error "create --memory abc is a usage error naming --memory" "--memory 'abc'" create --memory abc -- true
usage_error "create -e NOEQUALS is a usage error naming --env" "--env 'NOEQUALS'" create -e NOEQUALS -- true
usage_error "create -e =v (empty key) is a usage error" "--env '=v'" create -e =v -- true
usage_error "create --cpu -5 is a usage error" "--cpu" create --cpu -5 -- true
usage_error "create --volume without a target is a usage error" "--volume 'data'" create -v data -- true
usage_error "create --mount without a target is a usage error" "target is required" create --mount type=tmpfs -- true
usage_error "create --network bridge is a usage error" "--network 'bridge'" create --network bridge -- true
usage_error "an unknown command is a usage error naming it" "'frobnicate'" frobnicate
usage_error "an unknown option is a usage error naming it" "'--bogus'" ps --bogus
usage_error "a missing option argument is a usage error naming the option" "'--name'" create --name
usage_error "exec without a command is a usage error" "missing COMMAND" exec somecontainer
usage_error "stop without a container is a usage error" "missing CONTAINER" stop
usage_error "an unknown volume command is a usage error" "'frob'" volume frob
usage_error "no command at all is a usage error" "missing command" 
usage_error "a bad --timeout is a usage error" "--timeout 'soon'" --timeout soon health

# The container options that quiltd now carries: bad values never reach it.
usage_error "create --pids 0 is a usage error naming --pids" "--pids '0'" create --pids 0 -- true
usage_error "create --pids -1 is a usage error naming --pids" "--pids '-1'" create --pids -1 -- true
usage_error "create --memory 0 is a usage error naming --memory" "--memory '0'" create --memory 0 -- true
usage_error "create --memory-limit 5k is a usage error naming --memory" "--memory '5k'" create --memory-limit 5k -- true
usage_error "create --cpu 0 is a usage error naming --cpu" "--cpu '0'" create --cpu 0 -- true
usage_error "create --label without = is a usage error" "--label 'solo'" create --label solo -- true
usage_error "create --user with two colons is a usage error" "--user '1:2:3'" create --user 1:2:3 -- true
usage_error "create --pid shared is a usage error" "--pid 'shared'" create --pid shared -- true
usage_error "create --cgroupns is host or private" "--cgroupns 'yes'" create --cgroupns yes -- true
usage_error "create --no-network --network host is a usage error" "conflicts with --network host" \
        create --no-network --network host -- true
usage_error "create --image with a missing relative path is a usage error" "--image './no-such.tar'" \
        create --image ./no-such.tar -- true
usage_error "run without a command is a usage error" "missing COMMAND" run --rm
usage_error "run --async-mode is a usage error" "--async-mode cannot be used with run" run --async-mode -- true
usage_error "run --pids 0 is a usage error naming --pids" "--pids '0'" run --pids 0 -- true
usage_error "kill -s with an unknown signal is a usage error naming --signal" "--signal 'FOO'" kill -s FOO c1
usage_error "kill -s 0 is a usage error" "--signal '0'" kill -s 0 c1
usage_error "stop -t -1 is a usage error naming --time" "--time '-1'" stop -t -1 c1
usage_error "wait without a container is a usage error" "missing CONTAINER" wait
usage_error "ps --state bogus is a usage error naming --state" "--state 'bogus'" ps --state bogus
usage_error "ps --filter with an unknown key is a usage error" "--filter 'color=red'" ps --filter color=red
usage_error "ps --label with an empty key is a usage error" "--label '=x'" ps --label =x
usage_error "ps with two different states is a usage error" "only one state" ps --state running -f state=exited

# --- failures: exit 1, one line -----------------------------------------------------

QUILT_HOST=unix:/nonexistent run health
tap_is "an unreachable daemon exits 1" "$RC" 1
tap_check "an unreachable daemon gives one line naming the address" \
        bash -c "[ \"\$(wc -l < '$ERR')\" -eq 1 ] && grep -q '^quilt: cannot reach quiltd at unix:/nonexistent: ' '$ERR'"

run status nosuch
tap_is "quilt status nosuch exits 1" "$RC" 1
if grep -q '(UNIMPLEMENTED)$' "$ERR"; then
        tap_ok "quilt status nosuch names NOT_FOUND # SKIP GetContainerStatus is not implemented by quiltd yet"
else
        tap_check "quilt status nosuch gives the server's NOT_FOUND error on one line" \
                bash -c "[ \"\$(wc -l < '$ERR')\" -eq 1 ] && grep -q '^quilt: status: .*(NOT_FOUND)\$' '$ERR'"
fi

# The options that used to be refused are sent now. Until quiltd runs containers,
# CreateContainer answers UNIMPLEMENTED; once it does, create prints only the id.
run create --pids 64 --rm --label quilt.test=cli --user 0:0 --pid private --network none -- true
tap_check "create sends --pids, --rm, --label, --user and namespace options" \
        bash -c "! grep -q 'not supported' '$ERR'"
if [ "$RC" = 1 ] && one_line && err_has "(UNIMPLEMENTED)"; then
        tap_ok "create prints only the id # SKIP CreateContainer is not implemented by quiltd yet"
        run run --rm -- true
        tap_is "run exits 125 when the container cannot be created" "$RC" 125
        tap_check "run says why on one line" one_line
else
        tap_check "create prints only the id" \
                bash -c "[ '$RC' = 0 ] && [ \"\$(wc -l < '$OUT')\" -eq 1 ] && [ ! -s '$ERR' ]"
        quilt rm -f "$(cat "$OUT")" > /dev/null 2>&1
        run run --rm -- sh -c 'echo hi; exit 3'
        tap_is "run exits with the command's status" "$RC" 3
        tap_is "run prints the command's output" "$(cat "$OUT")" hi
fi

# Commands on several containers try each and report each failure.
run rm nosuch-a nosuch-b
tap_is "rm of two missing containers exits 1" "$RC" 1
tap_is "rm reports both failures, one line each" "$(wc -l < "$ERR")" 2

# Streaming commands report a missing container like the others.
run logs -f somecontainer
tap_is "logs -f of a missing container exits 1" "$RC" 1
tap_check "... saying so on one line (NOT_FOUND)" sh -c "[ \$(wc -l < '$ERR') = 1 ] && grep -q 'somecontainer.*(NOT_FOUND)\$' '$ERR'"

run shell somecontainer
tap_is "shell in a missing container exits 1" "$RC" 1
tap_check "... saying so on one line (NOT_FOUND)" grep -q "^quilt: shell: container 'somecontainer' not found (NOT_FOUND)$" "$ERR"

# icc ping checks both containers before running anything.
run icc ping nosuch-from nosuch-to
tap_is "icc ping from a missing container exits 1" "$RC" 1
names_missing_from() { one_line && grep -q '^quilt: icc ping: .*nosuch-from.*(NOT_FOUND)$' "$ERR"; }
tap_check "icc ping names the missing container on one line (NOT_FOUND)" names_missing_from

tap_check "quiltd shuts down cleanly on SIGTERM" quiltd_stop
tap_done
