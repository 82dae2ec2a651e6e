#!/usr/bin/env bash
# test-tpmencrypt.sh - tpmencrypt/tpmdecrypt against a private swtpm + tcsd
# (tcs-harness.sh): round trips (files, nested and empty directories, empty
# files, symlinks, hard links, odd names, modes, a big file, every
# algorithm and compression, -d, -n, -p, TCS_PASS, stdin/stdout) and every
# bad input (no RK, missing input, wrong passphrase, truncations, flipped
# bytes in header/body/tag, reordered chunks, appended data, another TPM,
# path escapes in crafted archives, existing targets). Each failure case
# checks the exit code, the message and that nothing was left behind.
#
# Usage: test-tpmencrypt.sh [--daemon ours|trousers] [--big-mb N]
#   --daemon trousers  TrouSerS' tcsd: the tools are plain TSS clients; runs
#                      the TPM-facing cases (the file-format cases are
#                      daemon-independent and run with ours)
#   --big-mb N         size of the big-file round trip (default 256; 0 skips)
# Environment: TCS_BUILD_DIR (the tools, tcsd and tcs-make-rk), TCS_KEEP=1.
# Output is TAP; exit 0 pass, 1 fail, 77 skip.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tcs-harness.sh
. "$HERE/tcs-harness.sh"

DAEMON=${TCS_DAEMON:-ours}
BIG_MB=${TCS_TPMENCRYPT_BIG_MB:-256}
while [ $# -gt 0 ]; do
    case "$1" in
        --daemon) DAEMON=${2:-}; shift 2 ;;
        --big-mb) BIG_MB=${2:-}; shift 2 ;;
        *) echo "usage: $0 [--daemon ours|trousers] [--big-mb N]" >&2; exit 2 ;;
    esac
done

ENC=$TCS_BUILD_DIR/cli/tpmencrypt
DEC=$TCS_BUILD_DIR/cli/tpmdecrypt
MKRK=$TCS_BUILD_DIR/tests/integration/tcs-make-rk
for b in "$ENC" "$DEC" "$MKRK"; do
    [ -x "$b" ] || { echo "SKIP: not built: $b" >&2; exit 77; }
done
tcs_require swtpm swtpm_setup swtpm_bios swtpm_ioctl tpm_takeownership python3 cmp timeout
[ "$DAEMON" = trousers ] && tcs_require "${TCS_TROUSERS_TCSD:-/usr/sbin/tcsd}" stdbuf

tcs_harness_init
tcs_start_swtpm || exit 1
tcs_start_tcsd "$DAEMON" || exit 1
tcs_take_ownership || { tcs_dump_logs; exit 1; }
echo "# daemon=$DAEMON tcsd=127.0.0.1:$TCSD_PORT dir=$TCS_DIR"

W=$TCS_DIR/work
cd "$W" || exit 1
unset TCS_PASS
N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
nok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }

# every tool run is bounded; no terminal, so a missing secret cannot hang
run() { timeout 300 "$@" </dev/null; }

# a listing with sizes, link targets and checksums: "nothing changed"
snap() {
    (cd "$1" && find . -mindepth 1 -printf '%p %y %s %l\n' | sort &&
        find . -type f -exec md5sum {} + 2>/dev/null | sort)
}

# expect_fail NAME RC REGEX DIR CMD...: exit code RC, stderr matching REGEX,
# DIR unchanged (no partial output, no staging or temporary files)
expect_fail() {
    local name=$1 want=$2 re=$3 dir=$4 before after rc
    shift 4
    before=$(snap "$dir")
    run "$@" >"$W/out.txt" 2>"$W/err.txt"; rc=$?
    after=$(snap "$dir")
    if [ "$rc" != "$want" ]; then
        nok "$name: exit $rc, expected $want: $(head -c 400 "$W/err.txt")"
    elif ! grep -Eq -- "$re" "$W/err.txt"; then
        nok "$name: message '$(head -c 400 "$W/err.txt")' does not match /$re/"
    elif [ "$before" != "$after" ]; then
        nok "$name: $dir changed: $(diff <(echo "$before") <(echo "$after") | head -5)"
    else
        ok "$name (exit $rc: $(head -n1 "$W/err.txt"))"
    fi
}

# expect_ok NAME CMD...
expect_ok() {
    local name=$1 rc
    shift
    run "$@" >"$W/out.txt" 2>"$W/err.txt"; rc=$?
    if [ "$rc" = 0 ]; then ok "$name"; else nok "$name: exit $rc: $(head -c 400 "$W/err.txt")"; fi
    return "$rc"
}

# same_tree A B: contents, types, link targets, modes of regular files
# shellcheck disable=SC2317  # called through check()
same_tree() {
    diff -r --no-dereference "$1" "$2" >/dev/null 2>&1 || return 1
    [ "$(cd "$1" && find . -printf '%p %y %m %l\n' | sort)" = \
      "$(cd "$2" && find . -printf '%p %y %m %l\n' | sort)" ]
}

# ------------------------------------------------------------------ the tree
mkdir -p src/nested/deeper/deepest src/emptydir "src/odd name é"
echo hello > src/a.txt
: > src/empty
printf 'secret\n' > src/private; chmod 0600 src/private
head -c 200000 /dev/urandom > src/nested/deeper/deepest/random.bin
seq 1 20000 > src/nested/numbers.txt
ln -s a.txt src/link
ln -s nested/deeper src/dirlink
ln -s does-not-exist src/dangling
ln src/a.txt src/nested/hardlink
echo x > "src/odd name é/file with spaces"
chmod 0750 src/nested

# ------------------------------------------------------------------ no RK, missing input
mkdir -p outdir
expect_fail "no RK: tpmencrypt says how to create one" 4 "no roaming key.*tpmadm addkey key=rk" \
    "$W/outdir" "$ENC" -n -o outdir/x.enc src
expect_fail "missing input file" 1 "nope: No such file or directory" \
    "$W/outdir" "$ENC" -n -o outdir/x.enc src nope
expect_fail "usage: no output" 2 "no output file" "$W/outdir" "$ENC" -n src
expect_fail "usage: unknown algorithm" 2 "unknown algorithm 'des'" "$W/outdir" \
    "$ENC" -n -a des -o outdir/x.enc src

run "$MKRK" >/dev/null 2>"$W/err.txt" || { nok "tcs-make-rk: $(cat "$W/err.txt")"; exit 1; }
ok "RK created (tcs-make-rk)"

# ------------------------------------------------------------------ round trips
# rt NAME ENC-OPTIONS... -- DEC-OPTIONS...: encrypt src, decrypt into a fresh dir, compare
RT=0
rt() {
    local name=$1 eo=() do=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do eo+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    do=("$@")
    RT=$((RT + 1))
    rm -rf "rt$RT" "rt$RT.enc"; mkdir "rt$RT"
    expect_ok "$name: encrypt" "$ENC" "${eo[@]}" -o "rt$RT.enc" src || return 1
    expect_ok "$name: decrypt" "$DEC" "${do[@]}" -i "rt$RT.enc" -C "rt$RT" || return 1
    check "$name: identical tree (contents, symlinks, hard link, modes)" same_tree src "rt$RT/src"
}
rt "-p, default aes-256-gcm + zstd" -p 'pass phrase' -- -p 'pass phrase'
check "hard link restored as a link" \
    test "$(stat -c %i "rt$RT/src/a.txt")" = "$(stat -c %i "rt$RT/src/nested/hardlink")"
check "no staging directory left" test -z "$(find "rt$RT" -name '.tpmdecrypt-*')"
TCS_PASS='from the env' rt "TCS_PASS for both tools"
rt "-n: no passphrase, nothing asked" -n --
rt "chacha20-poly1305 + gzip" -n -a chacha20-poly1305 -z gzip --
rt "aes-256-cbc (HMAC-SHA256) + none, 4 KiB chunks" -n -a aes-256-cbc -z none -c 4 --
rt "aes-256-gcm, 4 KiB chunks" -n -z none -c 4 --

# -d: the key lives in system PS, the file holds its UUID
rm -rf d1 d.enc; mkdir d1
expect_ok "-d: encrypt" "$ENC" -d -p pw -o d.enc src
check "-d: no key blob in the header (flag KEY_IN_PS)" \
    python3 -c 'import sys; d=open("d.enc","rb").read(); sys.exit(0 if d[14] & 2 else 1)'
expect_ok "-d: decrypt" "$DEC" -p pw -i d.enc -C d1 && check "-d: identical tree" same_tree src d1/src
expect_ok "-d: -t -v describes the file" "$DEC" -t -v -p pw -i d.enc
check "-d: the key's UUID in system PS is named" \
    grep -Eq 'aes-256-gcm, zstd, .*passphrase, key in system PS as [0-9a-f]{8}-' "$W/err.txt"

# a file's own name as given; stdin/stdout
rm -rf s1; mkdir s1
if run "$ENC" -n -o - src/a.txt 2>"$W/err.txt" | (cd s1 && timeout 300 "$DEC" -i -) 2>>"$W/err.txt"; then
    check "stdout | stdin round trip" cmp src/a.txt s1/src/a.txt
else
    nok "stdout | stdin round trip: $(cat "$W/err.txt")"
fi
expect_ok "-t lists without restoring" "$DEC" -t -i rt1.enc -p 'pass phrase'
check "-t output names the members" grep -q '^src/nested/deeper/deepest/random.bin$' "$W/out.txt"

# the prompts, on a pseudo-terminal (script(1)); TCS_PASS unset
if command -v script >/dev/null 2>&1; then
    rm -rf ttyout; mkdir ttyout
    (sleep 1; printf 'tty pass\n'; sleep 1; printf 'tty pass\n'; sleep 3) |
        timeout 60 script -qec "'$ENC' -o tty.enc src/a.txt" /dev/null > tty.txt 2>&1
    check "prompt: Enter Passphrase / Verifying - Enter Passphrase" \
        grep -q 'Verifying - Enter Passphrase:' tty.txt
    (sleep 1; printf 'tty pass\n'; sleep 3) |
        timeout 60 script -qec "'$DEC' -i tty.enc -C ttyout" /dev/null > tty.txt 2>&1
    check "prompt: the passphrase typed decrypts" cmp src/a.txt ttyout/src/a.txt
    (sleep 1; printf 'one\n'; sleep 1; printf 'two\n'; sleep 3) |
        timeout 60 script -qec "'$ENC' -o tty2.enc src/a.txt" /dev/null > tty.txt 2>&1
    check "prompt: entries that differ are refused, no output" \
        sh -c "grep -q 'do not match' tty.txt && test ! -e tty2.enc"
    rm -rf ttyout tty.enc tty.txt
fi

# "." as the input; an output inside the input directory is not packed into itself
rm -rf dotout; mkdir dotout
expect_ok "'.' as input" sh -c "cd src && exec '$ENC' -n -o ../dot.enc ."
expect_ok "'.' restored" "$DEC" -i dot.enc -C dotout && check "'.': identical tree" same_tree src dotout
cp -a src self
expect_ok "output inside the input directory" "$ENC" -n -o self/self.enc self
rm -rf selfout; mkdir selfout
expect_ok "output inside the input: decrypt" "$DEC" -i self/self.enc -C selfout
check "output inside the input: not packed into itself" test ! -e selfout/self/self.enc
rm -rf self selfout dotout dot.enc

# -d: a key registered for an output that then cannot be written is unregistered
ps_size() { stat -c %s "$TCS_DIR/ps/system.data" 2>/dev/null || echo 0; }
before=$(ps_size)
expect_fail "-d: output directory missing" 1 "no/such/dir/x.enc: cannot create" "$W/outdir" \
    "$ENC" -d -n -o no/such/dir/x.enc src/a.txt
[ "$DAEMON" = ours ] && check "-d: the key was unregistered again (system.data $before -> $(ps_size) bytes)" \
    test "$(ps_size)" = "$before"

# the big file: many chunks, constant memory (max RSS well below the file size)
# GNU time writes the max RSS (KiB); without it the bound is not checked
echo 0 > "$W/rss.enc"; echo 0 > "$W/rss.dec"
tenc=() tdec=()
[ -x /usr/bin/time ] && tenc=(/usr/bin/time -f %M -o "$W/rss.enc") tdec=(/usr/bin/time -f %M -o "$W/rss.dec")
if [ "$BIG_MB" -gt 0 ] && [ "$DAEMON" = ours ]; then
    mkdir -p big bigout
    head -c $((BIG_MB << 20)) /dev/urandom > big/file
    t0=$(date +%s%N)
    expect_ok "$BIG_MB MiB file: encrypt (-z none)" "${tenc[@]}" "$ENC" -n -z none -o big.enc big/file
    t1=$(date +%s%N)
    expect_ok "$BIG_MB MiB file: decrypt" "${tdec[@]}" "$DEC" -i big.enc -C bigout
    t2=$(date +%s%N)
    check "$BIG_MB MiB file: identical" cmp big/file bigout/big/file
    renc=$(tail -n1 "$W/rss.enc") rdec=$(tail -n1 "$W/rss.dec")
    echo "# $BIG_MB MiB: encrypt $(( (t1 - t0) / 1000000 )) ms, max RSS $renc KiB;" \
         "decrypt $(( (t2 - t1) / 1000000 )) ms, max RSS $rdec KiB"
    # ASan's shadow memory and quarantine inflate RSS: a generous bound then
    lim=$((48 << 10)); nm "$ENC" 2>/dev/null | grep -q __asan_init && lim=$((512 << 10))
    check "$BIG_MB MiB file: memory bounded (RSS $renc / $rdec KiB < $lim KiB)" \
        test "$renc" -lt "$lim" -a "$rdec" -lt "$lim"
    rm -rf big bigout big.enc
fi

# ------------------------------------------------------------------ bad passphrase, existing targets
mkdir -p dst
expect_fail "wrong passphrase" 5 "rt1.enc: wrong passphrase" "$W/dst" "$DEC" -p wrong -i rt1.enc -C dst
expect_fail "no passphrase and no terminal" 5 "passphrase: no secret given and no terminal" \
    "$W/dst" "$DEC" -i rt1.enc -C dst
expect_fail "passphrase over 128 characters" 5 "passphrase too long: at most 128 characters" "$W/outdir" \
    "$ENC" -p "$(printf 'x%.0s' $(seq 1 129))" -o outdir/x.enc src

run "$DEC" -p 'pass phrase' -i rt1.enc -C dst 2>/dev/null
echo changed > dst/src/a.txt
expect_fail "existing target file is not overwritten" 8 "'src/.*' exists; refusing to overwrite it \(use -f\)" \
    "$W/dst" "$DEC" -p 'pass phrase' -i rt1.enc -C dst
expect_ok "-f overwrites" "$DEC" -f -p 'pass phrase' -i rt1.enc -C dst
check "-f restored the content" cmp src/a.txt dst/src/a.txt
echo old > outdir/existing.enc
expect_fail "tpmencrypt: existing output is not overwritten" 8 "outdir/existing.enc: exists" \
    "$W/outdir" "$ENC" -n -o outdir/existing.enc src/a.txt
expect_ok "tpmencrypt -f overwrites the output" "$ENC" -f -n -o outdir/existing.enc src/a.txt
expect_fail "destination is not a directory" 1 "src/a.txt: not a directory" "$W/dst" \
    "$DEC" -p 'pass phrase' -i rt1.enc -C src/a.txt

# ------------------------------------------------------------------ damaged files
# a multi-chunk reference file: 4 KiB chunks of incompressible data, no passphrase
mkdir -p bad
head -c 50000 /dev/urandom > bad/data
run "$ENC" -n -z none -c 4 -o ref.enc bad/data 2>/dev/null || nok "reference file"
SIZE=$(stat -c %s ref.enc)
HLEN=$(python3 -c 'd=open("ref.enc","rb").read(); print(12 + (d[10] << 8 | d[11]) + 32)')
REC=$((4096 + 16))
# mutate NAME PYTHON-EXPR-ON-d: write bad.enc = f(ref.enc)
mutate() { python3 - "$1" <<EOF
import sys
d = bytearray(open("ref.enc", "rb").read())
$2
open("bad.enc", "wb").write(d)
EOF
}
for cut in 0 5 20 "$HLEN" $((HLEN + 100)) $((HLEN + REC)) $((HLEN + 3 * REC)) $((SIZE - 1)); do
    mutate x "d = d[:$cut]"
    case $cut in
        0|5) re="not a tpmencrypt file" ;;
        20) re="truncated header" ;;
        "$HLEN"|$((HLEN + REC))|$((HLEN + 3 * REC))) re="truncated|failed authentication" ;;
        *) re="failed authentication: the file was modified, truncated or damaged" ;;
    esac
    expect_fail "truncated at byte $cut of $SIZE" 6 "$re" "$W/dst" "$DEC" -i bad.enc -C dst
done
mutate x "d[30] ^= 1"
expect_fail "flipped byte in the header" 6 "header checksum mismatch" "$W/dst" "$DEC" -i bad.enc -C dst
mutate x "d[$HLEN + 2 * $REC + 100] ^= 0x40"
expect_fail "flipped byte in the body (chunk 2)" 6 "chunk 2 failed authentication" "$W/dst" \
    "$DEC" -i bad.enc -C dst
mutate x "d[$HLEN + $REC - 1] ^= 0x80"
expect_fail "flipped byte in a tag (chunk 0)" 6 "chunk 0 failed authentication" "$W/dst" \
    "$DEC" -i bad.enc -C dst
mutate x "d[-1] ^= 1"
expect_fail "flipped byte in the final tag" 6 "failed authentication" "$W/dst" "$DEC" -i bad.enc -C dst
mutate x "h = $HLEN; r = $REC; d[h + r:h + 2 * r], d[h + 2 * r:h + 3 * r] = d[h + 2 * r:h + 3 * r], d[h + r:h + 2 * r]"
expect_fail "two chunks swapped" 6 "chunk 1 failed authentication" "$W/dst" "$DEC" -i bad.enc -C dst
mutate x "d += b'appended'"
expect_fail "data appended" 6 "failed authentication" "$W/dst" "$DEC" -i bad.enc -C dst
# a deliberate header change with a recomputed checksum: the chunks' AAD catches it
mutate x "import hashlib; h = $HLEN; d[13] ^= 1; d[h - 32:h] = hashlib.sha256(d[:h - 32]).digest()"
expect_fail "header changed, checksum recomputed" 6 "chunk 0 failed authentication" "$W/dst" \
    "$DEC" -i bad.enc -C dst
mutate x "import hashlib; h = $HLEN; d[h - 40] ^= 1; d[h - 32:h] = hashlib.sha256(d[:h - 32]).digest()"
expect_fail "bound data key changed, checksum recomputed" 6 "cannot recover the data key" \
    "$W/dst" "$DEC" -i bad.enc -C dst
mutate x "d[9] = 2"
expect_fail "a newer format version" 6 "format version not supported" "$W/dst" "$DEC" -i bad.enc -C dst
mutate x "import hashlib; h = $HLEN; d[12] = 9; d[h - 32:h] = hashlib.sha256(d[:h - 32]).digest()"
expect_fail "unknown algorithm id" 6 "bad header field" "$W/dst" "$DEC" -i bad.enc -C dst
head -c 5000 /dev/urandom > bad.enc
expect_fail "not a tpmencrypt file" 6 "bad.enc: not a tpmencrypt file" "$W/dst" "$DEC" -i bad.enc -C dst
expect_fail "missing input file" 1 "nothere.enc: No such file or directory" "$W/dst" \
    "$DEC" -i nothere.enc -C dst
# a damaged file with a big member: the member must not appear half-written
mutate x "d[-100] ^= 1"
expect_fail "damage near the end: nothing restored" 6 "failed authentication" "$W/dst" \
    "$DEC" -i bad.enc -C dst
check "no staging directory left behind" test -z "$(find "$W" -name '.tpmdecrypt-*')"
check "no temporary output left behind" test -z "$(find "$W" -name '*.tmp-*')"

# ------------------------------------------------------------------ crafted archives
# craft NAME PYTHON: a tar built by python's tarfile, encrypted as is (-r)
mkdir -p esc/dst
craft() {
    python3 - "$W/esc/$1.tar" "$W" <<EOF || return 1
import io, sys, tarfile
W = sys.argv[2]
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
def add(name, data=b"pwned\n", **kw):
    i = tarfile.TarInfo(name)
    for k, v in kw.items(): setattr(i, k, v)
    if i.type == tarfile.REGTYPE: i.size = len(data)
    t.addfile(i, io.BytesIO(data) if i.type == tarfile.REGTYPE else None)
$2
t.close()
EOF
    run "$ENC" -n -r -o "esc/$1.enc" "esc/$1.tar" 2>/dev/null
}
craft dotdot 'add("ok.txt"); add("../escaped.txt")'
expect_fail "crafted: '..' member" 8 "member '../escaped.txt' contains '..'.*use -P" "$W/esc" \
    "$DEC" -i esc/dotdot.enc -C esc/dst
craft deepdotdot 'add("a/b/../../../escaped.txt")'
expect_fail "crafted: '..' inside a path" 8 "contains '..'" "$W/esc" "$DEC" -i esc/deepdotdot.enc -C esc/dst
craft absolute "add(W + '/esc/absolute-target.txt')"
expect_fail "crafted: absolute member" 8 "has an absolute path; refusing \(use -P" "$W/esc" \
    "$DEC" -i esc/absolute.enc -C esc/dst
craft symlink "add('link', type=tarfile.SYMTYPE, linkname=W + '/esc'); add('link/through-symlink.txt')"
expect_fail "crafted: member written through a symlink member" 8 \
    "lies below member 'link', which is not a directory" "$W/esc" "$DEC" -i esc/symlink.enc -C esc/dst
ln -s "$W/esc" esc/dst/pre
craft presymlink "add('pre/through-existing-symlink.txt')"
expect_fail "crafted: member written through an existing symlink" 8 "cannot restore 'pre/through" \
    "$W/esc" "$DEC" -i esc/presymlink.enc -C esc/dst
rm esc/dst/pre
craft hardlink "add('h', type=tarfile.LNKTYPE, linkname='../../outside')"
expect_fail "crafted: hard link to '..'" 8 "contains '..'" "$W/esc" "$DEC" -i esc/hardlink.enc -C esc/dst
craft dup "add('same'); add('same', b'second\\n')"
expect_fail "crafted: duplicate member" 8 "appears more than once" "$W/esc" "$DEC" -i esc/dup.enc -C esc/dst
check "nothing escaped" test ! -e esc/escaped.txt -a ! -e "$W/escaped.txt" -a ! -e esc/absolute-target.txt \
    -a ! -e esc/through-symlink.txt -a ! -e esc/through-existing-symlink.txt
mkdir -p esc/dst/sub
expect_ok "-P allows '..'" "$DEC" -P -i esc/dotdot.enc -C esc/dst/sub
check "-P: '..' member restored one level up" test -f esc/dst/escaped.txt -a -f esc/dst/sub/ok.txt
expect_ok "-P allows an absolute member" "$DEC" -P -i esc/absolute.enc -C esc/dst/sub
check "-P: absolute member restored where it says" test -f esc/absolute-target.txt
if [ -d /dev/shm ] && [ "$(stat -c %d /dev/shm)" != "$(stat -c %d "$W")" ]; then
    XDEV=/dev/shm/tcs-tpmencrypt-test.$$
    craft xdev "add('$XDEV')"
    expect_fail "-P: an absolute member on another file system" 8 "not on the destination's file system" \
        "$W/esc" "$DEC" -P -i esc/xdev.enc -C esc/dst
    check "-P: nothing written on the other file system" test ! -e "$XDEV"
    rm -f "$XDEV"
fi

# ------------------------------------------------------------------ another TPM
if tcs_start_peer "$DAEMON"; then
    expect_fail "another TPM without an RK" 4 "no roaming key" "$W/dst" \
        env TSS_TCSD_PORT="$TCS_PEER_TCSD_PORT" "$DEC" -p 'pass phrase' -i rt1.enc -C dst
    TSS_TCSD_PORT=$TCS_PEER_TCSD_PORT run "$MKRK" >/dev/null 2>&1 || nok "peer RK"
    expect_fail "another TPM's RK: clear error" 7 "rt1.enc: was encrypted for another TPM's roaming key" \
        "$W/dst" env TSS_TCSD_PORT="$TCS_PEER_TCSD_PORT" "$DEC" -p 'pass phrase' -i rt1.enc -C dst
    expect_fail "another TPM, -d file" 7 "another TPM's roaming key" "$W/dst" \
        env TSS_TCSD_PORT="$TCS_PEER_TCSD_PORT" "$DEC" -p pw -i d.enc -C dst
    # the RK check bypassed (fingerprint of the peer's RK written in): the TPM refuses the blob
    PEERFP=$(TSS_TCSD_PORT=$TCS_PEER_TCSD_PORT run "$ENC" -n -o peer.enc src/a.txt 2>/dev/null &&
             python3 -c 'd=open("peer.enc","rb").read(); print(d[36:68].hex())')
    python3 - "$PEERFP" <<'EOF'
import hashlib, sys
d = bytearray(open("ref.enc", "rb").read())
h = 12 + (d[10] << 8 | d[11]) + 32
d[36:68] = bytes.fromhex(sys.argv[1])
d[h - 32:h] = hashlib.sha256(d[:h - 32]).digest()
open("bad.enc", "wb").write(d)
EOF
    expect_fail "another TPM: the key blob cannot load" 7 "cannot be loaded under this TPM's roaming key" \
        "$W/dst" env TSS_TCSD_PORT="$TCS_PEER_TCSD_PORT" "$DEC" -i bad.enc -C dst
    tcs_stop_peer || nok "peer tcsd exited badly"
else
    nok "second stack for the another-TPM cases"
fi

tcs_stop_tcsd || { nok "tcsd exited badly"; tcs_dump_logs; }
echo "1..$N"
[ "$FAILED" = 0 ] || { echo "# $FAILED of $N failed"; TCS_KEEP=${TCS_KEEP:-0}; exit 1; }
exit 0
