#!/usr/bin/env bash
# test-tpmdecrypt-hostile.sh - root's tpmdecrypt against files that user
# nobody crafted with tcs-craft-tpmenc: a bind key wrapped for the RK in
# software and a data key of the author's choosing, so every chunk
# authenticates and the author controls the plaintext byte for byte.
#   * aes-256-cbc whose full first record decrypts to chunk size + 15 bytes
#     (the padding is the author's): refused as a bad file (exit 6), no
#     crash and - in an ASan build - no heap overflow report;
#   * archives holding a character or block device node or a FIFO (also
#     through nobody's tpmencrypt -r): refused
#     (exit 8) with a message naming the member, nothing written; tpmencrypt
#     skips a FIFO on disk with a warning;
#   * a setuid file and a setgid directory: restored without set-id bits;
#     with -S/--keep-setid the recorded mode stays.
# Usage: test-tpmdecrypt-hostile.sh. Exit: 0 pass, 1 fail, 77 skip. TAP output.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tcs-harness.sh
. "$HERE/tcs-harness.sh"

DEC=${TCS_TPMDECRYPT:-$TCS_BUILD_DIR/cli/tpmdecrypt} # another build, to show the old failure
ENC=$TCS_BUILD_DIR/cli/tpmencrypt
MKRK=$TCS_BUILD_DIR/tests/integration/tcs-make-rk
CRAFT=$TCS_BUILD_DIR/tests/integration/tcs-craft-tpmenc
for b in "$DEC" "$ENC" "$MKRK" "$CRAFT"; do
    [ -x "$b" ] || { echo "SKIP: not built: $b" >&2; exit 77; }
done
tcs_require swtpm swtpm_setup swtpm_bios swtpm_ioctl tpm_takeownership python3 setpriv timeout
getent passwd nobody >/dev/null || { echo "SKIP: no user nobody" >&2; exit 77; }

tcs_harness_init
tcs_start_swtpm || exit 1
tcs_start_tcsd ours || exit 1
tcs_take_ownership || { tcs_dump_logs; exit 1; }
W=$TCS_DIR/work
cd "$W" || exit 1
unset TCS_PASS
# ASan: a report must fail the run, not scroll past
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:abort_on_error=0:exitcode=99
N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
nok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/ "$@"; }
snap() { (cd "$1" && find . -mindepth 1 -printf '%p %y %m %s\n' | sort); }

# expect_dec NAME RC REGEX DIR ARGS...: root's tpmdecrypt -C DIR exits RC
# saying REGEX; with RC != 0 DIR stays as it was; never a sanitizer report
expect_dec() {
    local name=$1 want=$2 re=$3 dir=$4 before after rc
    shift 4
    before=$(snap "$dir")
    timeout 120 "$DEC" -C "$dir" "$@" </dev/null >"$W/out.txt" 2>"$W/err.txt"; rc=$?
    after=$(snap "$dir")
    if grep -Eq 'Sanitizer|runtime error|corrupted|double free|invalid (next )?size' "$W/err.txt"; then
        nok "$name: memory error: $(grep -E 'ERROR|runtime error|corrupted|size' "$W/err.txt" | head -3)"
    elif [ "$rc" != "$want" ]; then
        nok "$name: exit $rc, expected $want: $(head -c 400 "$W/err.txt")"
    elif [ -n "$re" ] && ! grep -Eq -- "$re" "$W/err.txt"; then
        nok "$name: message '$(head -c 400 "$W/err.txt")' does not match /$re/"
    elif [ "$want" != 0 ] && [ "$before" != "$after" ]; then
        nok "$name: $dir changed: $(diff <(echo "$before") <(echo "$after") | head -5)"
    else
        ok "$name (exit $rc: $(head -n1 "$W/err.txt"))"
    fi
}

if "$MKRK" >"$W/mkrk.txt" 2>&1; then ok "RK created"; else nok "RK: $(cat "$W/mkrk.txt")"; fi
# nobody's workspace: only nobody writes there
install -d -o nobody -g nogroup -m 0755 "$W/evil"
mkdir -p "$W/dst"

# ---- #10.2: the CBC record that decrypts past the chunk buffer
if as_nobody "$CRAFT" --cbc-overflow "$W/evil/overflow.enc" 2>"$W/craft.txt"; then
    ok "nobody crafts a CBC file with a chosen data key, bound in software"
else
    nok "crafting the CBC file: $(cat "$W/craft.txt")"
fi
expect_dec "tpmdecrypt refuses the overlong CBC chunk cleanly" 6 \
    'chunk 0 failed authentication' "$W/dst" -i "$W/evil/overflow.enc"
expect_dec "... also when only listing (-t)" 6 'chunk 0 failed authentication' "$W/dst" \
    -t -i "$W/evil/overflow.enc"

# ---- #10.9: special files and set-id bits from nobody's archive
as_nobody python3 - "$W/evil" <<'PY'
import io, sys, tarfile
d = sys.argv[1]
def tar(name, members):
    with tarfile.open(f"{d}/{name}.tar", "w", format=tarfile.PAX_FORMAT) as t:
        for m, data in members:
            t.addfile(m, io.BytesIO(data) if data is not None else None)
def info(name, type=tarfile.REGTYPE, mode=0o644, size=0, **kw):
    i = tarfile.TarInfo(name)
    i.type, i.mode, i.size = type, mode, size
    for k, v in kw.items():
        setattr(i, k, v)
    return i
plain = (info("ok.txt", size=3), b"ok\n")
tar("chr", [plain, (info("disk", tarfile.CHRTYPE, 0o666, devmajor=1, devminor=3), None)])
tar("blk", [plain, (info("sda", tarfile.BLKTYPE, 0o666, devmajor=8, devminor=0), None)])
tar("fifo", [plain, (info("pipe", tarfile.FIFOTYPE, 0o666), None)])
tar("setid", [(info("suid", mode=0o4755, size=3), b"#!\n"),
              (info("sgid", mode=0o2755, size=3), b"#!\n"),
              (info("gdir", tarfile.DIRTYPE, 0o3777), None),
              (info("gdir/f", size=2), b"f\n")])
PY
for t in chr blk fifo setid; do
    as_nobody "$CRAFT" --tar "$W/evil/$t.tar" "$W/evil/$t.enc" 2>"$W/craft.txt" ||
        nok "crafting $t.enc: $(cat "$W/craft.txt")"
done
expect_dec "a character device node is refused, nothing written" 8 \
    "member 'disk' is a character device node; .*refusing" "$W/dst" -i "$W/evil/chr.enc"
expect_dec "a block device node is refused, nothing written" 8 \
    "member 'sda' is a block device node; .*refusing" "$W/dst" -i "$W/evil/blk.enc"
expect_dec "a FIFO is refused, nothing written" 8 \
    "member 'pipe' is a FIFO; .*refusing" "$W/dst" -i "$W/evil/fifo.enc"
expect_dec "-f does not let a device node through" 8 "character device node" "$W/dst" \
    -f -P -i "$W/evil/chr.enc"
if [ ! -e "$W/dst/disk" ] && [ ! -e "$W/dst/pipe" ] && [ ! -e "$W/dst/ok.txt" ]; then
    ok "no device node, FIFO or earlier member appeared"
else
    nok "something was restored: $(ls -la "$W/dst")"
fi

# the ordinary tool does it too: tpmencrypt -r encrypts a tar stream as it is
if as_nobody "$ENC" -n -r -o "$W/evil/chr-r.enc" "$W/evil/chr.tar" 2>"$W/craft.txt"; then
    expect_dec "... a device node from nobody's tpmencrypt -r is refused too" 8 \
        "member 'disk' is a character device node" "$W/dst" -i "$W/evil/chr-r.enc"
else
    nok "tpmencrypt -r as nobody: $(cat "$W/craft.txt")"
fi
# and tpmencrypt itself leaves them out
mkdir -p "$W/src" && echo data > "$W/src/file" && mkfifo "$W/src/pipe"
if (cd "$W" && "$ENC" -n -o fifo-skip.enc src) 2>"$W/enc.txt" &&
    grep -q "pipe: a FIFO; skipped" "$W/enc.txt"; then
    ok "tpmencrypt skips a FIFO with a warning"
else
    nok "tpmencrypt and a FIFO: $(cat "$W/enc.txt")"
fi
mkdir -p "$W/skip"
expect_dec "... and the file restores without it" 0 '' "$W/skip" -i "$W/fifo-skip.enc"
[ -f "$W/skip/src/file" ] && [ ! -e "$W/skip/src/pipe" ] && ok "... only src/file came back" ||
    nok "restored: $(cd "$W/skip" && find . | xargs)"

mkdir -p "$W/plain" "$W/keep"
expect_dec "setuid/setgid members are restored" 0 '' "$W/plain" -i "$W/evil/setid.enc"
m=$(stat -c '%a' "$W/plain/suid" "$W/plain/sgid" "$W/plain/gdir" 2>&1 | xargs)
umask_m=$(umask)
if [ -f "$W/plain/suid" ] && ! [ -u "$W/plain/suid" ] && ! [ -g "$W/plain/sgid" ] &&
    ! [ -g "$W/plain/gdir" ] && ! [ -k "$W/plain/gdir" ]; then
    ok "... without set-id or sticky bits (modes $m, umask $umask_m)"
else
    nok "set-id bits survived: $(ls -ld "$W/plain"/*)"
fi
expect_dec "-S (--keep-setid) restores the recorded modes" 0 '' "$W/keep" \
    --keep-setid -i "$W/evil/setid.enc"
m=$(stat -c '%a' "$W/keep/suid" "$W/keep/sgid" "$W/keep/gdir" 2>&1 | xargs)
if [ "$m" = "4755 2755 3777" ]; then ok "... modes $m"; else nok "-S gave modes $m"; fi

echo "1..$N"
tcs_stop_tcsd || { echo "# tcsd did not exit cleanly"; FAILED=$((FAILED + 1)); }
[ "$FAILED" = 0 ] || { tcs_dump_logs | sed 's/^/# /'; exit 1; }
exit 0
