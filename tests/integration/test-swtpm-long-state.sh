#!/usr/bin/env bash
# test-swtpm-long-state.sh - the embedded swtpm (tpm_device = swtpm) with a
# state_dir of more than 120 characters, longer than a unix socket path may
# be. tcsd used to fall back to loopback TCP there, where any local user could
# send swtpm control commands (CMD_SHUTDOWN stopped it). Now: no TCP listener
# of tcsd or swtpm besides tcsd's own port, clients work, and user nobody
# cannot reach swtpm's sockets.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tcs-harness.sh
. "$HERE/tcs-harness.sh"
tcs_require swtpm swtpm_setup tpm_version ss setpriv python3
TCSD=$TCS_BUILD_DIR/daemon/tcsd
[ -x "$TCSD" ] || { echo "SKIP: tcsd not built" >&2; exit 77; }
tcs_harness_init || exit 1

N=0; FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

STATE=$TCS_DIR/a-rather-long-directory-name-for-the-embedded-swtpm/and-another-level-to-pass-the-socket-path-limit/state
mkdir -p "$(dirname "$STATE")"; chmod -R 0755 "$TCS_DIR/a-rather-long-directory-name-for-the-embedded-swtpm"
check "state_dir is ${#STATE} characters (>= 120)" [ "${#STATE}" -ge 120 ]
TCSD_PORT=$(tcs_free_port)
cat > "$TCS_DIR/tcsd.conf" <<CONF
port = $TCSD_PORT
system_ps_file = $TCS_DIR/ps/system.data
state_dir = $STATE
tpm_device = swtpm
disable_ipv6 = 1
dbus = no
CONF
"$TCSD" -f -c "$TCS_DIR/tcsd.conf" </dev/null >>"$TCS_DIR/tcsd.log" 2>&1 &
PID=$!
tcs_track_pid "$PID"
# tcsd binds its port before it starts swtpm; ready once it logs "up".
# swtpm_setup manufactures the TPM first: allow a minute.
for _ in $(seq 600); do
    grep -q ' up: TPM' "$TCS_DIR/tcsd.log" && break
    _tcs_alive "$PID" || break
    sleep 0.1
done
if ! grep -q ' up: TPM' "$TCS_DIR/tcsd.log"; then
    echo "# tcsd did not come up"; sed 's/^/# /' "$TCS_DIR/tcsd.log"
    exit 1
fi
_tcs_export_client_env

# tcsd and its children (swtpm)
PIDS=" $PID $(ps -o pid= --ppid "$PID" | tr -d ' ' | tr '\n' ' ') "
SWTPM_PID=
for p in $PIDS; do [ "$(cat /proc/"$p"/comm 2>/dev/null)" = swtpm ] && SWTPM_PID=$p; done
check "tcsd started swtpm (pid ${SWTPM_PID:-none})" [ -n "$SWTPM_PID" ]
PID_RE=$(echo "$PIDS" | xargs | tr ' ' '|')
LISTEN=$(ss -Hltnp | grep -E "pid=($PID_RE)," || true)
echo "$LISTEN" | sed 's/^/# /'
EXTRA=$(echo "$LISTEN" | grep -v ":$TCSD_PORT " | grep . || true)
check "no TCP listener of tcsd/swtpm besides port $TCSD_PORT" [ -z "$EXTRA" ]
check "tcsd listens on $TCSD_PORT" grep -q ":$TCSD_PORT " <<<"$LISTEN"
check "swtpm's sockets are in state_dir" test -S "$STATE/swtpm.sock" -a -S "$STATE/swtpm.ctrl"

check "a client works (tpm_version)" eval 'tpm_version >"$TCS_DIR/tpm_version.out" 2>&1'
check "and again" eval 'tpm_version >/dev/null 2>&1'

# user nobody: swtpm's control channel out of reach. The socket paths are too
# long for connect(), so nobody goes as near as it can (the parent directory,
# which it may enter) and uses relative names.
as_nobody() { (cd "$(dirname "$STATE")" && setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/ "$@"); }
CONNECT='import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("#", e); sys.exit(1)
s.sendall(bytes([0, 0, 0, 3]))  # CMD_SHUTDOWN
sys.exit(0)'
check "nobody cannot connect to swtpm.ctrl" eval '! as_nobody python3 -c "$CONNECT" state/swtpm.ctrl'
check "nobody cannot connect to swtpm.sock" eval '! as_nobody python3 -c "$CONNECT" state/swtpm.sock'
check "nobody cannot list state_dir" eval '! as_nobody ls "$STATE" >/dev/null 2>&1'
check "swtpm still runs" _tcs_alive "$SWTPM_PID"
check "a client still works" eval 'tpm_version >/dev/null 2>&1'

# a clean stop: tcsd shuts swtpm down through the control socket
_tcs_stop_pid "$PID" 100
check "tcsd exits cleanly (rc $_TCS_RC)" [ "$_TCS_RC" = 0 ] || [ "$_TCS_RC" = 143 ]
check "swtpm is gone" eval '[ -n "$SWTPM_PID" ] && ! _tcs_alive "$SWTPM_PID"'
check "no stale socket left" [ ! -e "$STATE/swtpm.ctrl" ]
[ "$FAILED" = 0 ] || { sed 's/^/# tcsd: /' "$TCS_DIR/tcsd.log"; }

echo "1..$N"
[ "$FAILED" = 0 ] || { echo "# $FAILED failed"; exit 1; }
exit 0
