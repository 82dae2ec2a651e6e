#!/usr/bin/env bash
# scripts/demo.sh - build tcs and show it working on a fresh machine:
# tcsd starts and owns an embedded swtpm (TPM 1.2) and serves org.tcs.Manager
# on a private D-Bus; tpmctl/tpmlist/tpmadm administer it, tpmcreate makes a
# TPM key that OpenSSL's engine signs with (verified in software),
# tpmencrypt/tpmdecrypt round-trip a directory, and unmodified tpm-tools use
# the same daemon.
# Everything lives in a temporary directory that is removed at the end.
#
# Usage: scripts/demo.sh [--no-build]   (run as root: tcsd drops to user tss)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ "${1:-}" != --no-build ]; then
    [ -f "$BUILD_DIR/build.ninja" ] || meson setup "$BUILD_DIR" >/dev/null
    meson compile -C "$BUILD_DIR" >/dev/null
fi
TCSD=$PWD/$BUILD_DIR/daemon/tcsd

DIR=$(mktemp -d /tmp/tcs-demo.XXXXXX)
chmod 0755 "$DIR"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TCSD_PID= BUS_PID=
cleanup() {
    [ -n "$TCSD_PID" ] && kill "$TCSD_PID" 2>/dev/null && wait "$TCSD_PID" 2>/dev/null
    [ -n "$BUS_PID" ] && kill "$BUS_PID" 2>/dev/null && wait "$BUS_PID" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
B=$PWD/$BUILD_DIR

# a private system bus, so the demo needs (and touches) no system services;
# on an installed system tcsd uses the real one with the shipped bus policy
mkdir -p "$DIR/bus"
sed -e "s|@LISTEN@|unix:path=$DIR/bus/socket|" -e "s|@TSS_USER@|tss|" \
    tests/integration/dbus/system-bus.conf.in > "$DIR/bus/bus.conf"
dbus-daemon --nofork --nopidfile --config-file="$DIR/bus/bus.conf" 2>"$DIR/bus/log" &
BUS_PID=$!
for _ in $(seq 50); do [ -S "$DIR/bus/socket" ] && break; sleep 0.1; done
chmod 0666 "$DIR/bus/socket"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$DIR/bus/socket

cat > "$DIR/tcsd.conf" <<CONF
# the embedded default: tcsd manufactures, starts and powers on its own swtpm
tpm_device = swtpm
port = $PORT
state_dir = $DIR/state
system_ps_file = $DIR/state/system.data
dbus = yes
CONF
step "tcsd -f -c $DIR/tcsd.conf   (embedded swtpm, TCP 127.0.0.1:$PORT, org.tcs.Manager on D-Bus)"
"$TCSD" -f -c "$DIR/tcsd.conf" > "$DIR/tcsd.log" 2>&1 &
TCSD_PID=$!
for _ in $(seq 100); do
    grep -q "tcsd .* up" "$DIR/tcsd.log" 2>/dev/null && break
    kill -0 "$TCSD_PID" 2>/dev/null || { cat "$DIR/tcsd.log"; exit 1; }
    sleep 0.1
done
grep -v DEBUG "$DIR/tcsd.log"
export TSS_TCSD_HOSTNAME=127.0.0.1 TSS_TCSD_PORT=$PORT TSS_USER_PS_FILE=$DIR/user.data
export PATH=$B/cli:$PATH OPENSSL_ENGINES=$B/engine
cd "$DIR"

step "tpmctl status"
tpmctl status
step "tpmctl takeownership   (random owner secret, sealed to the SRK and kept by tcsd; SRK, SK, RK)"
tpmctl takeownership
step "tpmlist keys   (the HP TCS syntax)"
tpmlist keys
step "tpm_version   (unmodified tpm-tools on the same daemon)"
tpm_version 2>/dev/null   # tpm-tools 1.3.9 prints stray bytes on stderr

step "tpmcreate: a 2048-bit RSA key made in the TPM below the RK"
tpmcreate --public-pem key.pub key.blob
head -n 3 key.blob; echo "..."
step "openssl signs with the engine \"tpm\" (the key never leaves the TPM), verifies in software"
echo "data signed by a key that never leaves the TPM" > data.txt
openssl dgst -sha256 -engine tpm -keyform engine -sign key.blob -out data.sig data.txt 2>/dev/null
openssl dgst -sha256 -verify key.pub -signature data.sig data.txt

step "tpmencrypt / tpmdecrypt: a directory, AES-256-GCM on the CPU, the key bound to the TPM"
mkdir -p docs/sub; echo "a secret only this TPM can open" > docs/sub/secret.txt
TCS_PASS=demo-passphrase tpmencrypt -o docs.tpm docs
mkdir restored
TCS_PASS=demo-passphrase tpmdecrypt -i docs.tpm -C restored
cmp docs/sub/secret.txt restored/docs/sub/secret.txt && echo "round trip: $(cat restored/docs/sub/secret.txt)"
TCS_PASS=wrong tpmdecrypt -i docs.tpm -C restored 2>&1 | head -n 1 || true

step "tpmadm backup: the RK and its descendants, encrypted with a secret"
TCS_PASS=archive-secret tpmadm backup filename="$DIR/keys.archive"

step "tpm_sealdata / tpm_unsealdata (tpm-tools)"
echo "sealed to this TPM" > plain.txt
tpm_sealdata -z -i plain.txt -o sealed.blob
tpm_unsealdata -z -i sealed.blob -o unsealed.txt
cmp plain.txt unsealed.txt && echo "unsealed: $(cat unsealed.txt)"

step "done; what tcsd logged:"
sed 's/^[^:]*: [0-9:.]*: //' tcsd.log
