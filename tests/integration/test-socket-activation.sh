#!/usr/bin/env bash
# test-socket-activation.sh - systemd hands tcsd its listening socket
# (LISTEN_FDS, via systemd-socket-activate): tcsd binds nothing itself, the
# first libtspi request on the inherited socket is served, and readiness is
# reported with sd_notify (NOTIFY_SOCKET, read by a python listener).
# Exit: 0 pass, 1 fail, 77 skip.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tcs-harness.sh
. "$HERE/tcs-harness.sh"
tcs_require swtpm swtpm_setup swtpm_bios swtpm_ioctl systemd-socket-activate tpm_version python3
[ -x "$TCS_BUILD_DIR/daemon/tcsd" ] || { echo "SKIP: tcsd not built" >&2; exit 77; }
tcs_harness_init || exit 1
tcs_start_swtpm || exit 1

PORT=$(tcs_free_port)
# the configured port differs from the socket's: tcsd must use what it is given
OTHER=$(tcs_free_port)
mkdir -p "$TCS_DIR/ps" "$TCS_DIR/state"; chown tss:tss "$TCS_DIR/ps" "$TCS_DIR/state"
cat > "$TCS_DIR/tcsd.conf" <<CONF
port = $OTHER
system_ps_file = $TCS_DIR/ps/system.data
state_dir = $TCS_DIR/state
tpm_device = tcp:127.0.0.1:$SWTPM_PORT
CONF
NOTIFY=$TCS_DIR/notify.sock
python3 - "$NOTIFY" > "$TCS_DIR/notify.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
while True:
    msg = s.recv(4096).decode()
    print(msg, flush=True)
    if "READY=1" in msg:
        break
PY
tcs_track_pid $!
for _ in $(seq 50); do [ -S "$NOTIFY" ] && break; sleep 0.1; done
# tcsd reports readiness after dropping to user tss, as under systemd
chmod 0666 "$NOTIFY"

systemd-socket-activate -E "NOTIFY_SOCKET=$NOTIFY" -l "127.0.0.1:$PORT" \
    "$TCS_BUILD_DIR/daemon/tcsd" -f -c "$TCS_DIR/tcsd.conf" > "$TCS_DIR/tcsd.log" 2>&1 &
ACT_PID=$!
tcs_track_pid $ACT_PID
rc=0
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
# that probe connection started tcsd (systemd-socket-activate accepts nothing itself)
out=$(TSS_TCSD_HOSTNAME=127.0.0.1 TSS_TCSD_PORT=$PORT timeout 60 tpm_version 2>&1 | tr -d '\000') || rc=1
echo "$out" | grep -q "TPM 1.2 Version Info" || { echo "tpm_version via the activated socket failed: $out" >&2; rc=1; }
grep -q "using 1 socket(s) from systemd" "$TCS_DIR/tcsd.log" || { echo "tcsd did not adopt the socket" >&2; rc=1; }
if (exec 3<>"/dev/tcp/127.0.0.1/$OTHER") 2>/dev/null; then
    echo "tcsd also bound the configured port $OTHER" >&2; rc=1
fi
for _ in $(seq 50); do grep -q "READY=1" "$TCS_DIR/notify.log" && break; sleep 0.1; done
grep -q "READY=1" "$TCS_DIR/notify.log" || { echo "no READY=1 from sd_notify" >&2; rc=1; }
[ "$rc" = 0 ] || { cat "$TCS_DIR/tcsd.log" >&2; }
exit $rc
