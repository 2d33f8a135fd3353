#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Volumes and mounts: bind mounts, named volumes that outlive containers and quiltd, shared
# volumes, tmpfs limits, read-only that stays read-only, the validation rules with their
# messages (and nothing left behind), and symbolic links that must not lead to the host.
# Effects are checked on the host's files and through the containers' own output.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || tap_skip_all "needs jq"

quiltd_start || { echo "Bail out! quiltd did not start"; exit 1; }

field() { http GET "/containers/$1" | jq -r "$2"; }
state() { field "$1" .status; }
wait_state() {
        local i
        for i in $(seq 400); do
                [ "$(state "$1")" = "$2" ] && return 0
                sleep 0.05
        done
        echo "#   $1 is $(state "$1"), expected $2"
        return 1
}
# The container's own output, both streams, without quilt's lifecycle lines.
logs() { quilt logs --stream stdout,stderr "$1" 2>&1; }
# run NAME ARGS... -- CMD: create, wait for the end, print its output
run() {
        local name=$1
        shift
        quilt create --name "$name" "$@" > /dev/null || return 1
        wait_state "$name" EXITED > /dev/null
        logs "$name"
}
VOLDIR=$QT_DIR/state/volumes

# Everything a create can leave behind: rows, directories, volumes, mounts. (A container's
# cgroup comes after its directories, and the cgroup tree is shared with other tests
# running at the same time, so it is not listed here.)
traces() {
        quilt ps -a -q 2>/dev/null | sort
        ls "$QT_DIR/state/containers" "$QT_DIR/run/containers" 2>/dev/null
        quilt volume ls -q 2>/dev/null
        ls -A "$VOLDIR" 2>/dev/null
        grep -c "$QT_DIR" /proc/mounts
}

# ---- bind mounts ----------------------------------------------------------------------
HOST=$QT_DIR/host
mkdir -p "$HOST"
echo "from the host" > "$HOST/greeting"
OUT=$(run bind -v "$HOST:/h" -- sh -c 'cat /h/greeting; echo "from the container" > /h/written; grep " /h " /proc/mounts')
tap_check "a bind mount shows host files in the container" grep -qx "from the host" <<< "$OUT"
tap_is "a file written in the container appears on the host" "$(cat "$HOST/written" 2>&1)" "from the container"
tap_check "bind mounts are nosuid,nodev" grep -q " /h [^ ]* rw,nosuid,nodev" <<< "$OUT"

OUT=$(run bindro -v "$HOST:/h:ro" -- sh -c '
        cat /h/greeting
        echo nope > /h/ro-attempt && echo wrote || echo write-failed
        mount -o remount,rw /h 2>&1 && echo remounted || echo remount-failed
        echo nope > /h/ro-attempt2 2>/dev/null && echo wrote2 || echo write2-failed')
tap_check ":ro still shows the files" grep -qx "from the host" <<< "$OUT"
tap_check ":ro: the write fails" grep -qx "write-failed" <<< "$OUT"
tap_check "... with a read-only error" grep -q "Read-only file system" <<< "$OUT"
tap_check "... and nothing appears on the host" test ! -e "$HOST/ro-attempt"
tap_check "mount -o remount,rw fails inside" grep -qx "remount-failed" <<< "$OUT"
tap_check "... and the mount stays read-only" grep -qx "write2-failed" <<< "$OUT"
tap_check "... nothing from after the remount either" test ! -e "$HOST/ro-attempt2"

echo "file" > "$HOST/single"
OUT=$(run bindfile --mount "type=bind,source=$HOST/single,target=/etc/single.conf,readonly" -- cat /etc/single.conf)
tap_is "a single file can be bind-mounted (target file created)" "$OUT" "file"

# quilt start applies the mounts again.
echo one > "$HOST/count"
run again -v "$HOST:/h" -- sh -c 'cat /h/count; echo seen >> /h/seen' > /dev/null
echo two > "$HOST/count"
quilt start again > /dev/null
wait_state again EXITED > /dev/null
tap_is "quilt start of an exited container mounts again" "$(logs again | tr '\n' ' ')" "one two "
tap_is "... and its writes reach the host both times" "$(grep -c seen "$HOST/seen")" 2

# ---- named volumes ----------------------------------------------------------------------
run writer -v data:/data -- sh -c 'echo "kept" > /data/note; mkdir -p /data/dir; echo deep > /data/dir/f' > /dev/null
tap_check "a volume named on first use is created" grep -qx data <(quilt volume ls -q)
tap_is "its data is in the state directory" "$(cat "$VOLDIR/data/_data/note")" kept
tap_is "inspect lists the container that mounts it" "$(quilt volume inspect --json data | jq -r '.volume.containers[]')" writer
quilt rm writer > /dev/null
tap_check "removing the container keeps the volume" grep -qx data <(quilt volume ls -q)
tap_is "a second container reads what the first wrote" "$(run reader -v data:/data -- cat /data/note /data/dir/f | tr '\n' ' ')" "kept deep "
quilt rm reader > /dev/null

quiltd_stop || echo "Bail out! quiltd did not stop"
quiltd_start || echo "Bail out! quiltd did not restart"
tap_check "the volume survives a quiltd restart" grep -qx data <(quilt volume ls -q)
tap_is "... with its data" "$(run after -v data:/d -- cat /d/note)" kept

# Two running containers share a volume and see each other's writes, while both run.
quilt create --name sa --async-mode -v shared:/s -- sh -c \
        'echo from-a > /s/a; i=0; while [ ! -e /s/b ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; cat /s/b' > /dev/null
quilt create --name sb --async-mode -v shared:/s -- sh -c \
        'i=0; while [ ! -e /s/a ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; cat /s/a; echo from-b > /s/b' > /dev/null
wait_state sa EXITED > /dev/null
wait_state sb EXITED > /dev/null
tap_is "a container reads what a running neighbour wrote" "$(logs sb)" from-a
tap_is "... and the other way round" "$(logs sa)" from-b

# A path inside a volume: NAME/PATH.
mkdir -p "$VOLDIR/shared/_data/sub/inner"
echo inner > "$VOLDIR/shared/_data/sub/inner/f"
tap_is "-v NAME/PATH mounts a directory inside the volume" "$(run subpath -v shared/sub:/x -- cat /x/inner/f)" inner

# ---- removing, pruning, labels -------------------------------------------------------------
quilt volume create --label team=ml --label tier=gold labelled > /dev/null
quilt volume create --label team=web web > /dev/null
tap_is "ls --filter label=K=V" "$(quilt volume ls -q --filter label=team=ml)" labelled
tap_is "ls --filter label=K (any value)" "$(quilt volume ls -q --filter label=team | tr '\n' ' ')" "labelled web "
tap_is "ListVolumes filters over HTTP" \
        "$(http POST /quilt.QuiltService/ListVolumes '{"filters":{"tier":"gold"}}' | jq -r '.volumes[].name')" labelled
tap_is "... all filters must match" \
        "$(http POST /quilt.QuiltService/ListVolumes '{"filters":{"team":"ml","tier":"x"}}' | jq -r '.volumes | length')" 0
tap_is "... a quote in a filter is just a character" \
        "$(http POST /quilt.QuiltService/ListVolumes "{\"filters\":{\"team') OR 1=1 --\":\"x\"}}" | jq -r '.volumes | length')" 0

ERR=$(quilt volume rm shared 2>&1)
tap_check "rm refuses a volume in use" grep -q "Volume 'shared' is in use by" <<< "$ERR"
tap_check "... naming its containers" grep -q "sa, sb, subpath" <<< "$ERR"
tap_check "... and keeps it" test -f "$VOLDIR/shared/_data/a"

PRUNED=$(quilt volume prune | sort | tr '\n' ' ')
tap_is "prune removes only unused volumes and names them" "$PRUNED" "labelled web "
tap_check "... used ones stay" test -d "$VOLDIR/shared/_data" -a -d "$VOLDIR/data/_data"
tap_check "... pruned ones are gone from disk" test ! -e "$VOLDIR/labelled" -a ! -e "$VOLDIR/web"
tap_is "prune with nothing to do prints nothing" "$(quilt volume prune)" ""

# Force while a container runs: the data is gone; the running container keeps its mount,
# now empty, and cannot create files in it.
quilt create --name holder --async-mode -v doomed:/d -- sh -c \
        'echo x > /d/before; while [ ! -e /tmp/go ]; do sleep 0.05; done' > /dev/null
wait_state holder RUNNING > /dev/null
for i in $(seq 100); do [ -e "$VOLDIR/doomed/_data/before" ] && break; sleep 0.05; done
tap_is "rm -f removes a volume in use" "$(quilt volume rm -f doomed)" doomed
tap_check "... its directory is gone at once" test ! -e "$VOLDIR/doomed"
HPID=$(field holder .pid)
tap_check "... the running container's mount shows no data" test ! -e "/proc/$HPID/root/d/before"
tap_check "... and nothing can be created in it" sh -c "! touch /proc/$HPID/root/d/after 2>/dev/null"
for i in $(seq 200); do [ -z "$(ls -A "$VOLDIR/.trash")" ] && break; sleep 0.05; done
tap_is "... and the trash is emptied in the background" "$(ls -A "$VOLDIR/.trash")" ""
quilt rm -f holder > /dev/null

# Force on a volume that a stopped container names: it comes back, empty, when that
# container starts again.
tap_is "(a stopped container wrote to a volume)" "$(run revive -v phoenix:/p -- sh -c 'ls /p | wc -l; touch /p/old')" 0
quilt volume rm -f phoenix > /dev/null
tap_is "... which rm -f removes" "$(quilt volume ls -q | grep -cx phoenix)" 0
quilt start revive > /dev/null
wait_state revive EXITED > /dev/null
tap_is "starting the container creates the volume again, empty" "$(logs revive | tail -1)" 0
tap_check "... and it is listed again" grep -qx phoenix <(quilt volume ls -q)

# ---- tmpfs ------------------------------------------------------------------------------------
OUT=$(run tmp --mount type=tmpfs,target=/t,size=10m -- sh -c '
        dd if=/dev/zero of=/t/five bs=1M count=5 2>/dev/null && echo five-ok
        dd if=/dev/zero of=/t/twenty bs=1M count=20 2>&1 | grep -o "No space left on device" | head -1
        ls -l /t/five | awk "{print \$5}"
        grep " /t " /proc/mounts')
tap_check "tmpfs size=10m accepts 5 MiB" grep -qx five-ok <<< "$OUT"
tap_check "... and refuses 20 MiB" grep -qx "No space left on device" <<< "$OUT"
tap_check "... 5 MiB really landed" grep -qx 5242880 <<< "$OUT"
tap_check "tmpfs is nosuid,nodev,noexec and 10 MiB" grep -q " /t tmpfs rw,nosuid,nodev,noexec,.*size=10240k" <<< "$OUT"
tap_is "... with mode 1777" "$(run tmpmode --mount type=tmpfs,target=/t -- stat -c %a /t)" 1777
OUT=$(run tmpexec --mount type=tmpfs,target=/t,exec,mode=700 -- sh -c \
        'printf "#!/bin/sh\necho ran\n" > /t/s; chmod +x /t/s; /t/s; stat -c %a /t')
tap_is "tmpfs exec,mode=700" "$(tr '\n' ' ' <<< "$OUT")" "ran 700 "

# ---- validation: each rule, its message, and nothing left behind -------------------------
BEFORE=$(traces)
# reject NAME MESSAGE ARGS...: quilt create ARGS fails with MESSAGE and leaves nothing
reject() {
        local name=$1 msg=$2 err
        shift 2
        err=$(quilt create --name rejected "$@" -- true 2>&1)
        if [ $? -ne 0 ] && grep -qF -- "$msg" <<< "$err"; then tap_ok "$name"; else tap_fail "$name"; echo "#   $err"; fi
        tap_is "... and creates nothing" "$(traces)" "$BEFORE"
}
# reject_api NAME MESSAGE JSON-MOUNTS-FIELDS: the same through POST /containers
reject_api() {
        local name=$1 msg=$2 body err
        body="{\"name\":\"rejected\",\"command\":[\"true\"],$3}"
        http POST /containers "$body" > "$QT_DIR/reject.out"
        err=$(cat "$QT_DIR/reject.out")
        if [ "$HTTP_STATUS" = 400 ] && grep -qF -- "$msg" <<< "$err"; then tap_ok "$name"; else tap_fail "$name"; echo "#   $HTTP_STATUS $err"; fi
        tap_is "... and creates nothing" "$(traces)" "$BEFORE"
}
mkdir -p "$HOST/a"
reject "traversal in -v" "Path traversal detected" -v "$HOST/a/../../x:/x"
reject_api "traversal in volumes (API)" "Path traversal detected" '"volumes":["../etc:/x"]'
reject_api "traversal in a mount target" "Path traversal detected" \
        "\"mounts\":[{\"type\":\"BIND\",\"source\":\"$HOST\",\"target\":\"/x/../../etc\"}]"
reject_api "traversal in a volume path" "Path traversal detected" '"volumes":["newvol/../../x:/x"]'
for p in /etc/shadow /etc/passwd /proc /proc/1 /sys /sys/kernel /dev /dev/sda /boot /root/.ssh /etc /; do
        [ -e "$p" ] || continue
        reject "sensitive source $p" "Security: Mounting $p is not allowed" -v "$p:/x"
done
ln -sfn /etc "$HOST/etc-link"
reject "a host symlink to /etc is judged by where it leads" "Security: Mounting $HOST/etc-link is not allowed" \
        -v "$HOST/etc-link:/x"
reject "quiltd's own state directory" "is not allowed" -v "$QT_DIR/state/volumes:/x"
reject "quiltd's socket" "is not allowed" -v "$QT_DIR/run/quilt.sock:/x"
for t in / /etc /proc /proc/sys /sys /dev /usr /bin; do
        reject "protected target $t" "Cannot mount over protected path: $t" -v "$HOST:$t"
done
reject "missing source" "Mount source path does not exist: $HOST/missing" -v "$HOST/missing:/x"
reject "missing path inside a volume" "Mount source path does not exist: data/missing" -v "data/missing:/x"
reject "bad -v syntax" "format" -v "a:b:c:d"
reject_api "bad volumes syntax (API)" "format" '"volumes":["/only-one-part"]'
reject "relative target" "Container path must be absolute" -v "$HOST:rel"
reject "tmpfs above 10g" "between 1m and 10g" --mount type=tmpfs,target=/t,size=20g
reject_api "tmpfs below 1m" "between 1m and 10g" '"mounts":[{"type":"TMPFS","target":"/t","options":{"size":"512k"}}]'
reject_api "an unknown tmpfs option" "unknown tmpfs option" '"mounts":[{"type":"TMPFS","target":"/t","options":{"uid":"0"}}]'
reject "the same target twice" "Duplicate mount target: /x" -v "$HOST:/x" -v data:/x
reject_api "an invalid volume name" "invalid volume name" \
        '"mounts":[{"type":"VOLUME","source":".hidden","target":"/x"}]'
# A valid mount next to a bad one: the volume it names must not be created either.
reject "a new volume next to a bad mount" "Security: Mounting /proc is not allowed" -v brandnew:/n -v /proc:/p

# ---- symbolic links must not lead to the host ----------------------------------------------
# A container plants links in a volume: to /etc, to /etc/shadow, and a directory that
# looks like the host's /etc.
run planter -v trap:/v -- sh -c '
        ln -s /etc /v/etc-link
        ln -s /etc/shadow /v/shadow-link
        ln -s ../../../../../../../etc /v/climb
        mkdir /v/etc; echo volume-shadow > /v/etc/shadow; echo fake > /v/etc/marker
        mkdir /v/real; echo real > /v/real/f' > /dev/null
HOST_SHADOW=$(head -c 200 /etc/shadow | md5sum)
OUT=$(run follow1 -v trap/etc-link:/x -- sh -c 'cat /x/marker; cat /x/shadow; echo planted > /x/new-in-etc')
tap_is "-v VOLUME/link-to-/etc mounts the volume's etc, not the host's" "$(tr '\n' ' ' <<< "$OUT")" "fake volume-shadow "
tap_check "... a write through it lands in the volume" test -f "$VOLDIR/trap/_data/etc/new-in-etc"
tap_check "... not in the host's /etc" test ! -e /etc/new-in-etc
tap_is "-v VOLUME/link-to-/etc/shadow mounts the volume's file" "$(run follow2 -v trap/shadow-link:/s -- cat /s)" volume-shadow
tap_is "... the host's /etc/shadow is untouched" "$(head -c 200 /etc/shadow | md5sum)" "$HOST_SHADOW"
tap_is "a link climbing with .. stays in the volume" "$(run follow3 -v trap/climb:/c -- cat /c/marker)" fake

# The link appears after the container was created: init resolves it again, inside.
tap_is "(before the swap)" "$(run late -v trap/real:/x -- sh -c 'cat /x/f 2>/dev/null || cat /x/marker')" real
rm -rf "$VOLDIR/trap/_data/real"
ln -s /etc "$VOLDIR/trap/_data/real"
quilt start late > /dev/null
wait_state late EXITED > /dev/null
tap_is "a link swapped in before a restart still resolves inside the volume" "$(logs late | tail -1)" fake

# A symbolic link in the image at a mount target cannot send the mount outside.
IMG=$QT_DIR/img
cp -a "$QT_DIR/state/images/minimal/rootfs" "$IMG"
mkdir -p "$IMG/srv"
ln -s /etc "$IMG/data"
ln -s ../../../../../../../srv "$IMG/escape"
ln -s "$HOST" "$IMG/hostpath"
mkdir -p "$IMG$HOST"
ERR=$(quilt create --name imglink --image "$IMG" -v "$HOST:/data" -- true 2>&1)
tap_check "an image link from the target to /etc is refused" grep -q "Cannot mount over protected path: /etc" <<< "$ERR"
http GET /containers/imglink > /dev/null
tap_is "... and the container is gone again" "$HTTP_STATUS" 404
OUT=$(run imgclimb --image "$IMG" -v "$HOST:/escape" -- sh -c 'cat /srv/greeting; ls /srv | wc -l')
tap_check "an image link that climbs lands inside the container" grep -qx "from the host" <<< "$OUT"
tap_check "... the host's /srv got nothing" test ! -e /srv/greeting
OUT=$(run imgabs --image "$IMG" --mount "type=tmpfs,target=/hostpath" -- sh -c "touch $HOST/tmpfs-was-here && echo done")
tap_check "an image link naming a host path is a container path" grep -qx done <<< "$OUT"
tap_check "... the host directory got nothing" test ! -e "$HOST/tmpfs-was-here"

quiltd_stop
tap_done
