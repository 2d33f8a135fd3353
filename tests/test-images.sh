#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Images against a private quiltd: the built-in "minimal" image, imports of every
# supported compression, refused duplicates, hostile and corrupt tarballs (refused, naming
# the entry, and leaving nothing behind: no tree, no work directory, no row, no file
# outside), removal, the REST routes, and start-up removing debris.
. "$(dirname "$0")/lib.sh"

command -v jq > /dev/null || { echo "Bail out! jq is not installed"; exit 1; }
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || { echo "Bail out! $PYTHON is not installed"; exit 1; }
[ -x /bin/busybox ] || tap_skip_all "/bin/busybox (busybox-static) is not installed"

OUT=$QT_DIR/out
ERR=$QT_DIR/err
IMAGES=$QT_DIR/state/images
SRC=$QT_DIR/src

run() { quilt "$@" > "$OUT" 2> "$ERR"; RC=$?; }
one_line() { [ "$(wc -l < "$ERR")" -eq 1 ]; }
jq_true() { jq -e "$@" > /dev/null; }
names() { quilt image ls -q | sort | tr '\n' ' '; }
dir_listing() { ls -A "$IMAGES" | sort | tr '\n' ' '; }

quiltd_start || { echo "Bail out! quiltd did not start"; exit 1; }

# --- the built-in image ------------------------------------------------------------

run image ls
tap_is "image ls exits 0" "$RC" 0
tap_check "image ls prints the header" grep -Eq '^NAME +SOURCE +SIZE +CREATED$' "$OUT"
tap_check "image ls lists minimal from busybox-static" grep -Eq '^minimal +builtin:busybox-static ' "$OUT"

run image ls --json
tap_check "image ls --json: minimal is builtin with its size and rootfs" \
        jq_true --arg root "$IMAGES/minimal/rootfs" '.images[] | select(.name == "minimal") |
                .builtin == true and .size_bytes > 100000 and .rootfs_path == $root and .created_at > 0' "$OUT"

MIN=$IMAGES/minimal/rootfs
tap_check "minimal has an executable bin/busybox" test -x "$MIN/bin/busybox" -a ! -L "$MIN/bin/busybox"
tap_is "bin/sh is a relative symlink to busybox" "$(readlink "$MIN/bin/sh")" busybox
tap_is "bin/env is a relative symlink to busybox" "$(readlink "$MIN/bin/env")" busybox
tap_is "usr/bin points at ../bin, so /usr/bin/env works" "$(readlink "$MIN/usr/bin")" ../bin
tap_is "sbin points at bin" "$(readlink "$MIN/sbin")" bin
missing=
for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || [ "$(readlink "$MIN/bin/$a")" = busybox ] || missing="$missing $a"
done
tap_is "every applet has its symlink" "${missing:-none}" none
tap_check "etc/passwd has root and nobody" \
        bash -c "grep -qx 'root:x:0:0:root:/root:/bin/sh' '$MIN/etc/passwd' && grep -q '^nobody:x:65534:65534:' '$MIN/etc/passwd'"
tap_check "etc/group has root and nogroup" \
        bash -c "grep -q '^root:x:0:' '$MIN/etc/group' && grep -q '^nogroup:x:65534:' '$MIN/etc/group'"
tap_check "etc/hosts maps localhost" grep -Eq '^127\.0\.0\.1[[:space:]]+localhost$' "$MIN/etc/hosts"
tap_is "tmp is 1777" "$(stat -c %a "$MIN/tmp")" 1777
tap_check "proc, sys, dev, root and run are empty directories" \
        bash -c "for d in proc sys dev root run; do [ -d '$MIN'/\$d ] && [ -z \"\$(ls -A '$MIN'/\$d)\" ] || exit 1; done"
tap_check "the image's busybox runs" bash -c "[ \"\$('$MIN/bin/busybox' echo hello)\" = hello ]"

# --- good imports --------------------------------------------------------------------

mkdir -p "$SRC/etc" "$SRC/usr/bin"
echo "hello from the image" > "$SRC/etc/motd"
printf '#!/bin/sh\necho tool\n' > "$SRC/usr/bin/tool"
chmod 0755 "$SRC/usr/bin/tool"
ln -s ../usr/bin/tool "$SRC/etc/tool-link"
ln -s /etc/motd "$SRC/abs-link"
ln "$SRC/etc/motd" "$SRC/etc/motd-hardlink"
chown 1234:5678 "$SRC/etc/motd"
tar -C "$SRC" -cf "$QT_DIR/plain.tar" .
tar -C "$SRC" -czf "$QT_DIR/gz.tar.gz" .
tar -C "$SRC" -cJf "$QT_DIR/xz.tar.xz" .
tar -C "$SRC" --zstd -cf "$QT_DIR/zst.tar.zst" .
expected_size=$(($(stat -c %s "$SRC/etc/motd") + $(stat -c %s "$SRC/usr/bin/tool")))

for name in plain gz xz zst; do
        file=$(ls "$QT_DIR/$name".tar*)
        run image import "$file"
        tap_is "import $(basename "$file") exits 0 and prints the derived name" "$RC:$(cat "$OUT")" "0:$name"
        root=$IMAGES/$name/rootfs
        if [ "$(cat "$root/etc/motd" 2> /dev/null)" = "hello from the image" ] &&
                [ -x "$root/usr/bin/tool" ] &&
                [ "$(readlink "$root/etc/tool-link")" = ../usr/bin/tool ] &&
                [ "$(readlink "$root/abs-link")" = /etc/motd ] &&
                [ "$(stat -c %i "$root/etc/motd")" = "$(stat -c %i "$root/etc/motd-hardlink")" ] &&
                [ "$(stat -c %u:%g "$root/etc/motd")" = 1234:5678 ]; then
                tap_ok "$name: files, modes, links, hard links and numeric owners are unpacked"
        else
                tap_fail "$name: files, modes, links, hard links and numeric owners are unpacked"
                find "$IMAGES/$name" -ls | sed 's/^/#   /'
        fi
done

run image ls --json
tap_check "ls has the imported images with their source and size" \
        jq_true --arg src "$QT_DIR/gz.tar.gz" --argjson size "$expected_size" \
                '.images[] | select(.name == "gz") | .source == $src and .size_bytes == $size and .builtin == false' "$OUT"
tap_is "ls lists them all, by name" "$(names)" "gz minimal plain xz zst "

run image import --name custom-1.0 "$QT_DIR/gz.tar.gz"
tap_is "import --name uses the name" "$RC:$(cat "$OUT")" "0:custom-1.0"
tap_check "the tree is under the given name" test -f "$IMAGES/custom-1.0/rootfs/etc/motd"

(cd "$QT_DIR" && quilt image import --name relative plain.tar > "$OUT" 2> "$ERR")
tap_is "a relative FILE is made absolute by the CLI" "$(jq -r '.images[] | select(.name == "relative") | .source' <<< "$(quilt image ls --json)")" "$QT_DIR/plain.tar"

inode_before=$(stat -c %i "$IMAGES/gz/rootfs/etc/motd")
before=$(names)
run image import --name gz "$QT_DIR/xz.tar.xz"
tap_is "importing under a taken name exits 1" "$RC" 1
tap_check "... with one line saying ALREADY_EXISTS" bash -c "[ \"\$(wc -l < '$ERR')\" -eq 1 ] && grep -q \"image 'gz' already exists.*(ALREADY_EXISTS)\$\" '$ERR'"
tap_is "... and the existing image is untouched" "$(stat -c %i "$IMAGES/gz/rootfs/etc/motd")" "$inode_before"
tap_is "... and no row was added" "$(names)" "$before"

run image import --name 'bad name' "$QT_DIR/gz.tar.gz"
tap_check "an invalid --name is refused" bash -c "[ $RC = 1 ] || [ $RC = 2 ]"
run image import --name .hidden "$QT_DIR/gz.tar.gz"
tap_check "a name starting with '.' is refused as INVALID_ARGUMENT" grep -q "invalid image name '.hidden'.*(INVALID_ARGUMENT)$" "$ERR"
run image import "$QT_DIR/nonexistent.tar"
tap_is "importing a missing file exits 1" "$RC" 1

# --- hostile and corrupt tarballs ----------------------------------------------------

# Each case: FILE, a needle the error must contain, and the paths that must not exist after.
"$PYTHON" - "$QT_DIR" << 'EOF'
import io, sys, tarfile
d = sys.argv[1]

def member(name, type=tarfile.REGTYPE, data=b"pwned\n", linkname=""):
    info = tarfile.TarInfo(name)
    info.type = type
    info.linkname = linkname
    info.mode = 0o644
    if type == tarfile.REGTYPE:
        info.size = len(data)
        return info, io.BytesIO(data)
    return info, None

def make(path, *members):
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as t:
        t.addfile(*member("ok-first"))  # something is written before the bad entry
        for m in members:
            t.addfile(*m)

make(d + "/dotdot.tar", member("../../../../escape-dotdot"))
make(d + "/abs.tar", member(d + "/escape-abs"))
make(d + "/hardlink.tar", member("h", tarfile.LNKTYPE, linkname="../../etc/passwd"))
make(d + "/hardlink-abs.tar", member("h", tarfile.LNKTYPE, linkname="/etc/passwd"))
make(d + "/symlink.tar", member("x", tarfile.SYMTYPE, linkname="../../../../etc"), member("x/pwn"))
make(d + "/symlink-through.tar", member("y", tarfile.SYMTYPE, linkname=d), member("y/escape-through"))
make(d + "/hardlink-through.tar", member("z", tarfile.SYMTYPE, linkname=d), member("h", tarfile.LNKTYPE, linkname="z/secret"))
make(d + "/chardev.tar", member("dev/evilnull", tarfile.CHRTYPE))
make(d + "/blockdev.tar", member("dev/sda", tarfile.BLKTYPE))
make(d + "/fifo.tar", member("run/fifo", tarfile.FIFOTYPE))
EOF
echo secret > "$QT_DIR/secret"
head -c $(($(stat -c %s "$QT_DIR/gz.tar.gz") / 2)) "$QT_DIR/gz.tar.gz" > "$QT_DIR/truncated.tar.gz"
# A gzip stream that is intact until its compressed data is garbage.
{ head -c 20 "$QT_DIR/gz.tar.gz"; head -c 4000 /dev/urandom; } > "$QT_DIR/corrupt.tar.gz"
head -c 10000 /dev/urandom > "$QT_DIR/garbage.tar"
"$PYTHON" -c 'import sys, tarfile; tarfile.open(sys.argv[1], "w").close()' "$QT_DIR/empty.tar"

listing_before=$(dir_listing)
names_before=$(names)
while IFS='|' read -r file needle escapes; do
        run image import "$QT_DIR/$file"
        if [ "$RC" = 1 ] && one_line && grep -qF -- "$needle" "$ERR" && grep -q '(INVALID_ARGUMENT)$' "$ERR"; then
                tap_ok "$file is refused with one line naming the problem"
        else
                tap_fail "$file is refused with one line naming the problem"
                echo "#   exit $RC, stderr: $(cat "$ERR"), expected '$needle'"
        fi
        left=
        for p in $escapes; do [ -e "$p" ] || [ -L "$p" ] && left="$left $p"; done
        [ "$(dir_listing)" = "$listing_before" ] || left="$left images/:$(dir_listing)"
        [ "$(names)" = "$names_before" ] || left="$left rows:$(names)"
        tap_is "$file leaves nothing behind" "${left:-nothing}" nothing
done << EOF
dotdot.tar|entry '../../../../escape-dotdot' climbs out of the image with '..'|$QT_DIR/escape-dotdot
abs.tar|entry '$QT_DIR/escape-abs' has an absolute path|$QT_DIR/escape-abs
hardlink.tar|entry 'h' is a hard link to '../../etc/passwd', which climbs out|
hardlink-abs.tar|entry 'h' is a hard link to '/etc/passwd', which has an absolute path|
symlink.tar|entry 'x' is a symbolic link that climbs above the image root|
symlink-through.tar|entry 'y/escape-through'|$QT_DIR/escape-through
hardlink-through.tar|entry 'h'|
chardev.tar|entry 'dev/evilnull' is a character device node|
blockdev.tar|entry 'dev/sda' is a block device node|
fifo.tar|entry 'run/fifo' is a fifo|
truncated.tar.gz|cannot read|
corrupt.tar.gz|cannot read|
garbage.tar|cannot read the archive: Unrecognized archive format|
empty.tar|no entries|
EOF
tap_is "the host's file behind the hard-link-through-symlink is unchanged" \
        "$(cat "$QT_DIR/secret"):$(stat -c %h "$QT_DIR/secret")" "secret:1"

# --- removal -------------------------------------------------------------------------

run image rm gz xz
tap_is "image rm NAME... exits 0 and prints the names" "$RC:$(tr '\n' ' ' < "$OUT")" "0:gz xz "
tap_check "the trees are gone" bash -c "[ ! -e '$IMAGES/gz' ] && [ ! -e '$IMAGES/xz' ]"
tap_is "the rows are gone" "$(names)" "custom-1.0 minimal plain relative zst "
tap_is "no work directory is left" "$(ls -A "$IMAGES" | grep -c '^\.tmp-')" 0

run image rm nosuch
tap_is "image rm of an unknown image exits 1" "$RC" 1
tap_check "... with one line saying NOT_FOUND" bash -c "[ \"\$(wc -l < '$ERR')\" -eq 1 ] && grep -q \"image 'nosuch' not found.*(NOT_FOUND)\$\" '$ERR'"

run image rm plain nosuch zst
tap_is "rm goes on past a failure and exits 1" "$RC:$(tr '\n' ' ' < "$OUT")" "1:plain zst "

run image rm minimal
tap_is "the built-in image can be removed" "$RC" 0
tap_check "... and is built again on the next use" \
        bash -c "'$QUILT_BIN' image ls -q | grep -qx minimal && [ -x '$IMAGES/minimal/rootfs/bin/busybox' ]"

# --- REST ----------------------------------------------------------------------------

http GET /images > "$OUT"; body=$(cat "$OUT")
tap_is "GET /images answers 200" "$HTTP_STATUS" 200
tap_check "GET /images lists the images" jq_true '[.images[].name] | index("minimal") != null' <<< "$body"

http POST /images "{\"source_path\": \"$QT_DIR/zst.tar.zst\", \"name\": \"via-http\"}" > "$OUT"; body=$(cat "$OUT")
tap_is "POST /images imports (200)" "$HTTP_STATUS" 200
tap_check "... and answers with the image" jq_true '.image.name == "via-http" and .image.size_bytes > 0' <<< "$body"

http POST /images "{\"source_path\": \"$QT_DIR/dotdot.tar\"}" > "$OUT"; body=$(cat "$OUT")
tap_is "POST /images with a hostile tarball answers 400" "$HTTP_STATUS" 400
tap_check "... naming the entry" jq_true '.error | contains("escape-dotdot")' <<< "$body"

http DELETE /images/via-http > "$OUT"; body=$(cat "$OUT")
tap_is "DELETE /images/:name answers 200" "$HTTP_STATUS" 200
tap_check "... and the image is gone" bash -c "! '$QUILT_BIN' image ls -q | grep -qx via-http && [ ! -e '$IMAGES/via-http' ]"
http DELETE /images/via-http > "$OUT"; body=$(cat "$OUT")
tap_is "DELETE of an unknown image answers 404" "$HTTP_STATUS" 404

# --- start-up removes debris ---------------------------------------------------------

quilt image import --name kept "$QT_DIR/plain.tar" > /dev/null
mkdir -p "$IMAGES/.tmp-interrupted/rootfs/etc" "$IMAGES/orphan/rootfs"
tap_check "quiltd stops" quiltd_stop
quiltd_start || { echo "Bail out! quiltd did not restart"; exit 1; }
tap_check "start-up removed the interrupted work directory" test ! -e "$IMAGES/.tmp-interrupted"
tap_check "start-up removed the directory without a row" test ! -e "$IMAGES/orphan"
tap_check "the images with rows are kept" bash -c "'$QUILT_BIN' image ls -q | grep -qx kept && [ -f '$IMAGES/kept/rootfs/etc/motd' ]"

tap_check "quiltd shuts down cleanly on SIGTERM" quiltd_stop
tap_done
