#!/usr/bin/env bash
# test-tpmcreate.sh - tpmcreate's own behaviour against swtpm and a tcsd:
# usage errors, the passphrase prompts on a real pseudo-terminal (asked twice,
# a mismatch refused), the 128-character limit, the engine's key passphrase
# prompt, passphrases hashed as libtspi's plain mode (a libtspi-made key with
# a passphrase works with the same TCS_PASS), -s / --public-* outputs checked
# by ssh-keygen and openssl, -x without a TPM.
#
# Usage: test-tpmcreate.sh [--daemon ours|trousers]
# Exit: 0 pass, 1 fail, 77 skip.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test-openssl-common.sh
. "$HERE/test-openssl-common.sh"
PY=$(_tcs_python)
[ -n "$PY" ] || { echo "SKIP: python3 is needed for the pseudo-terminal checks" >&2; exit 77; }
ossl_setup "$@"
ENG=(-engine tpm -keyform engine)

# pty_run.py "EXPECT" "SEND" ["EXPECT" "SEND" ...] -- cmd...: answer prompts on a pty;
# exits with the command's status (124 when a prompt did not come)
cat > "$W/pty_run.py" <<'EOF'
import os, pty, sys, time, select
args = sys.argv[1:]
sep = args.index('--')
pairs, cmd = args[:sep], args[sep + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
seen = b''
def read_until(want, limit=60):
    global seen
    end = time.time() + limit
    while want.encode() not in seen:
        if time.time() > end:
            return False
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                return False
            if not chunk:
                return False
            seen += chunk
    seen = seen.split(want.encode(), 1)[1]
    return True
for i in range(0, len(pairs), 2):
    if not read_until(pairs[i]):
        sys.stderr.write('prompt %r did not come; got %r\n' % (pairs[i], seen))
        os.kill(pid, 9)
        sys.exit(124)
    os.write(fd, pairs[i + 1].encode() + b'\n')
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
sys.stdout.write(seen.decode(errors='replace'))
_, status = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128)
EOF

# ---- usage
expect_rc 2 "-k 4096 is refused (usage)" -- "$TPMCREATE" -k 4096 x.blob
check "... saying which sizes exist" grep -q '512, 1024 or 2048' "$W/.out"
expect_rc 2 "no output file (usage)" -- "$TPMCREATE" -k 512
expect_rc 2 "-x with -a (usage)" -- "$TPMCREATE" -x -a x.blob

ossl_make_rk
echo "to be signed" > "$W/data"

# ---- passphrase prompts on a terminal (no TCS_PASS)
expect_rc 0 "tpmcreate -a asks 'Enter Passphrase: ' and 'Verifying - Enter Passphrase: ' on the tty" -- \
    "$PY" "$W/pty_run.py" 'Enter Passphrase: ' 'tty secret' 'Verifying - Enter Passphrase: ' 'tty secret' \
    -- "$TPMCREATE" -a -k 512 tty.blob
check "... and writes the blob" grep -q 'BEGIN TSS KEY BLOB' "$W/tty.blob"
check "... which does not contain the passphrase" bash -c "! grep -q 'tty secret' '$W/tty.blob'"
expect_rc 0 "the same passphrase from TCS_PASS opens the key (SHA-1 of the bytes, as libtspi)" -- \
    env TCS_PASS='tty secret' openssl dgst -sha256 -sign tty.blob "${ENG[@]}" -out tty.sig data
expect_rc 0 "the engine asks for the key's passphrase on the tty" -- \
    "$PY" "$W/pty_run.py" 'Enter passphrase for TPM key' 'tty secret' \
    -- openssl dgst -sha256 -sign tty.blob -engine tpm -keyform engine -out tty2.sig data
expect_fail "a different confirmation is refused" 'passphrase: the secrets do not match' -- \
    "$PY" "$W/pty_run.py" 'Enter Passphrase: ' 'one' 'Verifying - Enter Passphrase: ' 'two' \
    -- "$TPMCREATE" -a -k 512 mismatch.blob
check "... and no blob is written" test ! -e "$W/mismatch.blob"
long=$(printf 'x%.0s' $(seq 129))
expect_fail "a passphrase of 129 characters is refused" 'passphrase too long: at most 128 characters' -- \
    env TCS_PASS="$long" "$TPMCREATE" -a -k 512 long.blob
expect_rc 0 "128 characters are fine" -- env TCS_PASS="${long:1}" "$TPMCREATE" -a -k 512 ok128.blob

# ---- passphrase compatibility with libtspi's plain secret mode
if [ -x "$TSPI_BLOB" ]; then
    expect_rc 0 "libtspi makes a key with a passphrase (TSS_SECRET_MODE_PLAIN)" -- \
        "$TSPI_BLOB" -s 512 -a 'libtspi pass' tspi-pw.blob
    expect_rc 0 "the engine opens it with the same TCS_PASS" -- env TCS_PASS='libtspi pass' \
        openssl dgst -sha256 -sign tspi-pw.blob "${ENG[@]}" -out tp.sig data
fi

# ---- public key outputs
expect_rc 0 "tpmcreate -s --public-pem --public-der" -- \
    "$TPMCREATE" -k 1024 -s --public-pem pub.pem --public-der pub.der out.blob
check "-s wrote out.blob.pub" test -s "$W/out.blob.pub"
openssl pkey -pubin -in "$W/pub.der" -inform DER -out "$W/pub.der.pem" 2>/dev/null
check "PEM and DER hold the same key" cmp -s "$W/pub.pem" "$W/pub.der.pem"
if command -v ssh-keygen >/dev/null; then
    a=$(ssh-keygen -l -f "$W/out.blob.pub" 2>/dev/null | awk '{print $2}')
    b=$(ssh-keygen -i -m PKCS8 -f "$W/pub.pem" 2>/dev/null | ssh-keygen -l -f - 2>/dev/null | awk '{print $2}')
    check "the SSH line is the same key (ssh-keygen fingerprints $a)" test -n "$a" -a "$a" = "$b"
fi
expect_rc 0 "-x extracts the public key from an existing blob" -- "$TPMCREATE" -x --public-pem x.pem out.blob
check "... the same key" cmp -s "$W/pub.pem" "$W/x.pem"
expect_rc 0 "-x needs no tcsd" -- env TSS_TCSD_PORT=1 "$TPMCREATE" -x --public-pem x2.pem out.blob
expect_fail "-x of something that is no key blob" 'not a TSS KEY BLOB' -- "$TPMCREATE" -x --public-pem y.pem data
expect_fail "tpmcreate says clearly when tcsd is not there" 'connecting to tcsd at .*:1: Connection refused' -- \
    env TSS_TCSD_PORT=1 "$TPMCREATE" -k 512 nope.blob
ossl_done
