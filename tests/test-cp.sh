#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# quilt cp and the file RPCs (ReadFile, WriteFile, ListFiles): trees with modes, a 50 MiB
# file and symbolic links round-trip intact; chunk limits; and symbolic links planted in a
# volume (to the host's /etc and /etc/shadow) never lead to host files, in either
# direction, through the CLI (gRPC) or the HTTP routes.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || tap_skip_all "needs jq"
command -v sha256sum >/dev/null || tap_skip_all "needs sha256sum"

quiltd_start || { echo "Bail out! quiltd did not start"; exit 1; }

field() { http GET "/containers/$1" | jq -r "$2"; }
wait_state() {
        local i
        for i in $(seq 400); do
                [ "$(field "$1" .status)" = "$2" ] && return 0
                sleep 0.05
        done
        return 1
}
# tree_listing DIR: path, type, mode, size, link target of everything below DIR
tree_listing() { (cd "$1" && find . -printf '%p %y %m %s %l\n' | sort); }

# A container with a volume in which it plants links to the host's /etc and /etc/shadow
# (and its own /etc/shadow, so that "inside" has something to find).
quilt create --name box --async-mode -v trapvol:/v -- sh -c '
        echo container-shadow > /etc/shadow
        ln -s /etc /v/etc-link
        ln -s /etc/shadow /v/shadow-link
        ln -s ../../../../../../etc/shadow /v/climb
        touch /v/ready
        exec sleep 100000' > /dev/null
wait_state box RUNNING
PID=$(field box .pid)
for i in $(seq 200); do [ -e "/proc/$PID/root/v/ready" ] && break; sleep 0.05; done
VOLDATA=$QT_DIR/state/volumes/trapvol/_data
tap_is "the planted link is in the volume on the host" "$(readlink "$VOLDATA/shadow-link")" /etc/shadow
HOST_SHADOW=$(sha256sum /etc/shadow | cut -d' ' -f1)
HOST_ETC=$(ls -A /etc | sha256sum)

# ---- a tree with modes, links and a 50 MiB file, both ways ------------------------------
T=$QT_DIR/tree
mkdir -p "$T/sub/deeper" "$T/ro" "$T/private"
head -c $((50 * 1024 * 1024)) /dev/urandom > "$T/big.bin"
echo hello > "$T/sub/a"
echo secret > "$T/private/key"
printf '#!/bin/sh\necho ran\n' > "$T/sub/deeper/run.sh"
: > "$T/empty"
chmod 640 "$T/sub/a"; chmod 600 "$T/private/key"; chmod 755 "$T/sub/deeper/run.sh"
chmod 700 "$T/private"; chmod 1777 "$T/sub/deeper"; chmod 555 "$T/ro"; chmod 444 "$T/empty"
ln -s ../big.bin "$T/sub/rel-link"
ln -s /etc/passwd "$T/abs-link"
ln -s nowhere "$T/dangling"

tap_check "cp HOST-DIR CONTAINER:PATH" quilt cp "$T" box:/tmp/tree
tap_is "the 50 MiB file arrived intact" "$(sha256sum "/proc/$PID/root/tmp/tree/big.bin" | cut -d' ' -f1)" \
        "$(sha256sum "$T/big.bin" | cut -d' ' -f1)"
tap_is "modes arrived" "$(stat -c %a "/proc/$PID/root/tmp/tree/sub/a" "/proc/$PID/root/tmp/tree/private" \
        "/proc/$PID/root/tmp/tree/sub/deeper" "/proc/$PID/root/tmp/tree/ro" | tr '\n' ' ')" "640 700 1777 555 "
tap_is "symbolic links arrived as links" "$(readlink "/proc/$PID/root/tmp/tree/abs-link")" /etc/passwd
tap_is "files are root's in the container" "$(stat -c %u:%g "/proc/$PID/root/tmp/tree/sub/a")" 0:0

tap_check "cp CONTAINER:PATH HOST-DIR (new name)" quilt cp box:/tmp/tree "$QT_DIR/back"
tap_is "the tree round-trips: names, types, modes, sizes, links" "$(tree_listing "$QT_DIR/back")" "$(tree_listing "$T")"
tap_is "the 50 MiB file round-trips" "$(sha256sum < "$QT_DIR/back/big.bin")" "$(sha256sum < "$T/big.bin")"
tap_is "a small file round-trips" "$(cat "$QT_DIR/back/sub/a")" hello
tap_is "an executable stays executable" "$("$QT_DIR/back/sub/deeper/run.sh")" ran

mkdir "$QT_DIR/into"
tap_check "cp CONTAINER:FILE EXISTING-DIR" quilt cp box:/etc/passwd "$QT_DIR/into"
tap_is "... lands as DIR/NAME" "$(cat "$QT_DIR/into/passwd")" "$(cat "/proc/$PID/root/etc/passwd")"
(cd "$QT_DIR/into" && quilt cp box:/etc/group .)
tap_check "cp CONTAINER:FILE . works in the current directory" test -s "$QT_DIR/into/group"
tap_check "cp HOST-FILE CONTAINER:EXISTING-DIR" quilt cp "$T/sub/a" box:/tmp
tap_is "... lands as DIR/NAME" "$(cat "/proc/$PID/root/tmp/a")" hello
tap_check "cp DIR/. copies the contents" quilt cp "$T/sub/." box:/tmp/tree/private
tap_check "... into the existing directory" test -f "/proc/$PID/root/tmp/tree/private/rel-link" -o -L "/proc/$PID/root/tmp/tree/private/rel-link"
tap_check "cp over an existing file replaces it" quilt cp "$T/private/key" box:/tmp/a
tap_is "... with the new content" "$(cat "/proc/$PID/root/tmp/a")" secret

ERR=$(quilt cp box:/ "$QT_DIR/rootcopy" 2>&1)
tap_check "cp CONTAINER:/ copies the whole tree" test -f "$QT_DIR/rootcopy/etc/passwd" -a -f "$QT_DIR/rootcopy/tmp/tree/sub/a"
tap_check "... leaving out /proc and /sys, with a warning" \
        sh -c "[ ! -e '$QT_DIR/rootcopy/proc' ] && [ ! -e '$QT_DIR/rootcopy/sys' ] && grep -q 'skipping /proc' <<'EOF'
$ERR
EOF"
ERR=$(quilt cp box:/nonexistent "$QT_DIR/x" 2>&1)
tap_check "a missing source is an error" grep -q "No such file or directory" <<< "$ERR"
ERR=$(quilt cp "$T" box:/tmp/a 2>&1)
tap_check "a directory onto a file is refused" grep -q "not a directory" <<< "$ERR"
ERR=$(quilt cp box:/tmp/../etc/passwd "$QT_DIR/x" 2>&1)
tap_check "a path with .. is refused" grep -q "Path traversal detected" <<< "$ERR"

# ---- links in a volume do not lead to the host --------------------------------------------
quilt cp box:/v/shadow-link "$QT_DIR/out-link"
tap_is "cp copies a link as a link" "$(readlink "$QT_DIR/out-link")" /etc/shadow
quilt cp -L box:/v/shadow-link "$QT_DIR/out-followed"
tap_is "cp -L through the link reads the container's /etc/shadow" "$(cat "$QT_DIR/out-followed")" container-shadow
quilt cp -L box:/v/climb "$QT_DIR/out-climb"
tap_is "... as does a link climbing with .." "$(cat "$QT_DIR/out-climb")" container-shadow
quilt cp box:/v/etc-link/shadow "$QT_DIR/out-dir"
tap_is "cp through a link to /etc reads the container's" "$(cat "$QT_DIR/out-dir")" container-shadow

echo planted-by-cp > "$QT_DIR/payload"
quilt cp "$QT_DIR/payload" box:/v/etc-link/planted
tap_check "cp into a link to /etc writes the container's /etc" test -f "/proc/$PID/root/etc/planted"
tap_check "... not the host's" test ! -e /etc/planted
quilt cp "$QT_DIR/payload" box:/v/shadow-link
tap_is "cp onto a link to /etc/shadow writes the container's file" "$(cat "/proc/$PID/root/etc/shadow")" planted-by-cp
tap_is "... the host's /etc/shadow is unchanged" "$(sha256sum /etc/shadow | cut -d' ' -f1)" "$HOST_SHADOW"
tap_is "... and the host's /etc has no new entry" "$(ls -A /etc | sha256sum)" "$HOST_ETC"

# The same through the HTTP routes of the file RPCs.
echo container-shadow > "/proc/$PID/root/etc/shadow"
R=$(http GET "/containers/box/files?path=/v/shadow-link")
tap_is "ReadFile through a link to /etc/shadow reads the container's" "$(jq -r .data <<< "$R" | base64 -d)" container-shadow
http PUT /containers/box/files "{\"path\":\"/v/etc-link/via-http\",\"data\":\"$(printf pwned | base64)\"}" > /dev/null
tap_is "WriteFile through a link to /etc answers 200" "$HTTP_STATUS" 200
tap_check "... and writes the container's /etc" test -f "/proc/$PID/root/etc/via-http"
tap_check "... not the host's" test ! -e /etc/via-http
http PUT /containers/box/files '{"path":"/v/shadow-link","data":"cHduZWQ="}' > /dev/null
tap_is "WriteFile onto a link to /etc/shadow changes the container's file" "$(cat "/proc/$PID/root/etc/shadow")" pwned
tap_is "... never the host's" "$(sha256sum /etc/shadow | cut -d' ' -f1)" "$HOST_SHADOW"
R=$(http GET "/containers/box/files/list?path=/v&recursive=true")
tap_is "ListFiles shows the links as links" \
        "$(jq -r '[.entries[] | select(.type == "FILE_TYPE_SYMLINK") | .path + ">" + .link_target] | join(" ")' <<< "$R")" \
        "climb>../../../../../../etc/shadow etc-link>/etc shadow-link>/etc/shadow"
R=$(http GET "/containers/box/files/list?path=/v/etc-link&follow_symlinks=true")
tap_check "ListFiles following a link to /etc lists the container's /etc" \
        grep -qx via-http <(jq -r '.entries[].path' <<< "$R")
tap_is "... which is not the host's" "$(jq -r '.entries | length' <<< "$R")" "$(ls -A "/proc/$PID/root/etc" | wc -l)"

# ---- limits and refusals ----------------------------------------------------------------------
R=$(http GET "/containers/box/files?path=/tmp/tree/big.bin&length=16777216")
CHUNK=$((4 * 1024 * 1024 - 64 * 1024))
tap_is "ReadFile returns at most a chunk (4 MiB - 64 KiB) per call" "$(jq -r .data <<< "$R" | base64 -d | wc -c)" $CHUNK
tap_is "... and says it is not the end" "$(jq -r .eof <<< "$R")" false
R=$(http GET "/containers/box/files?path=/tmp/tree/big.bin&offset=$((50 * 1024 * 1024 - 10))")
tap_is "... the last chunk says eof" "$(jq -r .eof <<< "$R") $(jq -r .data <<< "$R" | base64 -d | wc -c)" "true 10"
head -c $((CHUNK + 1)) /dev/zero | base64 -w0 > "$QT_DIR/toobig.b64"
printf '{"path":"/tmp/toobig","data":"%s"}' "$(cat "$QT_DIR/toobig.b64")" > "$QT_DIR/toobig.json"
HTTP_STATUS=$(curl -s -o "$QT_DIR/toobig.out" -w '%{http_code}' --unix-socket "$HTTP_SOCK" -X PUT \
        -H 'Content-Type: application/json' --data-binary @"$QT_DIR/toobig.json" http://localhost/containers/box/files)
tap_is "WriteFile refuses more than a chunk in one call" "$HTTP_STATUS" 400
tap_check "... and writes nothing" test ! -e "/proc/$PID/root/tmp/toobig"
http GET "/containers/box/files?path=/proc/1/environ" > /dev/null
tap_is "ReadFile refuses /proc" "$HTTP_STATUS" 403
http GET "/containers/box/files?path=/dev/null" > /dev/null
tap_is "ReadFile refuses a device" "$HTTP_STATUS" 400
mkfifo "/proc/$PID/root/tmp/fifo"
http GET "/containers/box/files?path=/tmp/fifo" > /dev/null
tap_is "ReadFile refuses a fifo (without blocking)" "$HTTP_STATUS" 400
http GET "/containers/box/files?path=etc/passwd" > /dev/null
tap_is "a relative path is refused" "$HTTP_STATUS" 400
http GET "/containers/box/files?path=/tmp/../../etc/shadow" > /dev/null
tap_is "a path with .. is refused" "$HTTP_STATUS" 400

quilt create --name stopped -- true > /dev/null
wait_state stopped EXITED
ERR=$(quilt cp stopped:/etc/passwd "$QT_DIR/x" 2>&1)
tap_check "a stopped container is refused clearly" grep -q "is not running" <<< "$ERR"

quilt rm -f box > /dev/null
quiltd_stop
tap_done
