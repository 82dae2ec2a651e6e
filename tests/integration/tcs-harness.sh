# shellcheck shell=bash
# tcs-harness.sh - sourced bash library for the integration tests.
#
# Brings up a private TPM 1.2 stack on loopback:
#
#   swtpm (libtpms, TPM 1.2) <--TCP--> tcsd (ours, or TrouSerS' reference) <--TCP--> libtspi clients
#
# Everything lives in one temporary state directory; nothing outside it is
# touched (no /etc/tcsd.conf, no /var/lib/tpm). Ports are random free
# loopback ports, so several stacks can run side by side. Every process this
# library starts is recorded by PID and only those PIDs are ever signalled.
#
# Usage (from a test script):
#   . "$(dirname "$0")/tcs-harness.sh"
#   tcs_require swtpm swtpm_setup tpm_version      # exit 77 (skip) when missing
#   tcs_harness_init                                # state dir + EXIT trap
#   tcs_start_swtpm [--no-ek]                       # fresh TPM, powered on
#   tcs_start_tcsd "${TCS_DAEMON:-ours}"            # or _ours / _trousers
#   ... clients (TSS_TCSD_HOSTNAME/PORT, TSS_USER_PS_FILE are exported) ...
#   tcs_power_cycle                                 # reboot TPM + restart tcsd
#   tcs_stop_tcsd                                   # rc != 0: daemon exited badly
#
# Environment:
#   TCS_SOURCE_DIR    repository root          (default: two levels above this file)
#   TCS_BUILD_DIR     meson build dir          (default: $TCS_SOURCE_DIR/build, or ./build)
#   TCS_TCSD_WRAPPER  command prefix for OUR tcsd, e.g.
#                     "valgrind --error-exitcode=99 --leak-check=full"
#                     (run with TMPDIR=$TCS_DIR/tmp; a non-zero exit of the
#                     daemon makes tcs_stop_tcsd fail)
#   TCS_TROUSERS_TCSD the reference daemon     (default /usr/sbin/tcsd)
#   TCS_KEEP=1        keep the state dir (logs, TPM state) after the test
#   TCS_TRACE=1       log every harness action to stderr
#   TCS_TCSD_DBUS     our tcsd's "dbus =" (default no; yes/auto serve
#                     org.tcs.Manager on DBUS_SYSTEM_BUS_ADDRESS)
#   TCS_EMBEDDED_TPM2=1  the TPM 1.2 is OUR tcsd's embedded swtpm, its state
#                     bound to a TPM 2.0 (docs/tpm2-binding.md): tcs_start_swtpm
#                     starts an "swtpm --tpm2" as the host's TPM 2.0 on
#                     SWTPM_PORT (control port + 1, as the swtpm TCTI wants)
#                     and tcsd.conf gets tpm_device = swtpm, tpm2_binding;
#                     tcs_power_cycle restarts tcsd (and so the embedded TPM)
#
# Exported after start: TCS_DIR, SWTPM_PORT, SWTPM_CTRL_PORT, TCSD_PORT,
#   TSS_TCSD_HOSTNAME, TSS_TCSD_PORT, TSS_USER_PS_FILE, TCS_TCSD_FLAVOUR.
#
# Findings this is built on (see tests/data/traces/README.md and the test
# scripts): TrouSerS tcsd 0.3.15 needs -e (TCP TPM device) plus
# TCSD_TCP_DEVICE_PORT, a config owned root:tss and not world-writable, a
# tss-owned PS directory (it drops to user tss), and it block-buffers its -f
# log when redirected (hence stdbuf). swtpm serves ONE TCP client at a time,
# so nothing else may talk to the TPM port while a tcsd is connected.

_tcs_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${TCS_SOURCE_DIR:=$(cd "$_tcs_here/../.." && pwd)}"
if [ -z "${TCS_BUILD_DIR:-}" ]; then
    if [ -d "$TCS_SOURCE_DIR/build" ]; then TCS_BUILD_DIR=$TCS_SOURCE_DIR/build
    else TCS_BUILD_DIR=$PWD/build; fi
fi
export TCS_SOURCE_DIR TCS_BUILD_DIR

TCS_TROUSERS_TCSD_BIN=${TCS_TROUSERS_TCSD:-/usr/sbin/tcsd}
_TCS_RC=0
TCS_DIR=
_TCS_SWTPM_PID=
_TCS_TCSD_PID=
_TCS_OTHER_PIDS=()
TCS_TCSD_FLAVOUR=
_TCS_NO_EK=0

tcs_log() { echo "tcs-harness: $*" >&2; }
_tcs_trace() { [ "${TCS_TRACE:-0}" = 1 ] && tcs_log "$@"; return 0; }

# tcs_require BIN... : exit 77 (meson "skip") when a needed program is missing
tcs_require() {
    local b missing=()
    for b in "$@"; do command -v "$b" >/dev/null 2>&1 || missing+=("$b"); done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "SKIP: missing ${missing[*]}" >&2
        exit 77
    fi
}

# ------------------------------------------------------------------ ports
# _tcs_port_listening PORT: true when some socket LISTENs on PORT (any
# address, IPv4 or IPv6). Reads /proc/net/tcp* so it needs no iproute2 and
# does not connect (a probe connection would occupy swtpm's only client slot).
_tcs_port_listening() {
    local hex f
    hex=$(printf '%04X' "$1")
    for f in /proc/net/tcp /proc/net/tcp6; do
        [ -r "$f" ] || continue
        # sl local_address rem_address st ... ; st 0A = LISTEN
        awk -v h="$hex" 'NR > 1 { split($2, a, ":"); if (a[2] == h && $4 == "0A") { found = 1 } }
                         END { exit !found }' "$f" && return 0
    done
    return 1
}

# _tcs_port_in_use PORT: listening, or any socket bound to it (TIME_WAIT etc.)
_tcs_port_in_use() {
    local hex f
    hex=$(printf '%04X' "$1")
    for f in /proc/net/tcp /proc/net/tcp6; do
        [ -r "$f" ] || continue
        awk -v h="$hex" 'NR > 1 { split($2, a, ":"); if (a[2] == h) { found = 1 } }
                         END { exit !found }' "$f" && return 0
    done
    return 1
}

_tcs_python() {
    if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3
    elif command -v python3 >/dev/null 2>&1; then command -v python3
    fi
}

# tcs_free_port: print a random TCP port in 20000-60000 that nobody uses on
# loopback. Ports of the kernel's ephemeral range (ip_local_port_range,
# usually 32768-60999) are avoided when possible: tcsd opens one TCP
# connection to the TPM per command, and such an outgoing connection can take
# a port we picked but have not bound yet (or that swtpm/tcsd released for a
# power cycle). Ports handed out earlier in this harness (recorded in
# $TCS_DIR/ports.used) are never handed out twice, so two calls in a row give
# two different ports even before the first one is bound.
tcs_free_port() {
    local py _ p used='' lo=20000 hi=60000 elo=0 ehi=0
    py=$(_tcs_python)
    [ -n "$TCS_DIR" ] && [ -f "$TCS_DIR/ports.used" ] && used=$(cat "$TCS_DIR/ports.used")
    if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
        read -r elo ehi < /proc/sys/net/ipv4/ip_local_port_range
        : "$ehi"
        # enough room below the ephemeral range: stay there
        if [ "$elo" -gt $((lo + 1000)) ] && [ "$elo" -le "$hi" ]; then hi=$((elo - 1)); fi
    fi
    for _ in $(seq 1 200); do
        p=$(( lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1) ))
        case " ${used//$'\n'/ } " in *" $p "*) continue ;; esac
        _tcs_port_in_use "$p" && continue
        if [ -n "$py" ]; then
            # the authoritative check: can we bind 127.0.0.1:p right now?
            "$py" - "$p" <<'EOF' 2>/dev/null || continue
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.close()
EOF
        else
            # no python: a connect that succeeds means someone listens
            (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
        fi
        [ -n "$TCS_DIR" ] && echo "$p" >> "$TCS_DIR/ports.used"
        echo "$p"
        return 0
    done
    tcs_log "no free port found in 200 tries"
    return 1
}

# _tcs_wait_listen PORT TENTHS [PID]: wait until PORT listens; fail early if PID dies
_tcs_wait_listen() {
    local port=$1 n=$2 pid=${3:-} _
    for _ in $(seq 1 "$n"); do
        _tcs_port_listening "$port" && return 0
        if [ -n "$pid" ] && ! _tcs_alive "$pid"; then return 1; fi
        sleep 0.1
    done
    return 1
}

# ------------------------------------------------------------------ processes
_tcs_alive() { # PID: running and not a zombie
    [ -n "$1" ] && [ -d "/proc/$1" ] || return 1
    ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# _tcs_wait_gone PID TENTHS
_tcs_wait_gone() {
    local _
    for _ in $(seq 1 "$2"); do
        _tcs_alive "$1" || return 0
        sleep 0.1
    done
    return 1
}

# _tcs_stop_pid PID TENTHS_AFTER_TERM: TERM, wait, KILL; reap. The exit
# status lands in _TCS_RC (not printed: a $(...) subshell could not reap).
_tcs_stop_pid() {
    local pid=$1 n=$2
    _TCS_RC=0
    [ -n "$pid" ] || return 0
    if _tcs_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        if ! _tcs_wait_gone "$pid" "$n"; then
            tcs_log "pid $pid ignored SIGTERM for $((n / 10)) s; SIGKILL"
            kill -KILL "$pid" 2>/dev/null
            _tcs_wait_gone "$pid" 50
        fi
    fi
    # reap (only works for our own children; harmless otherwise)
    wait "$pid" 2>/dev/null; _TCS_RC=$?
}

# ------------------------------------------------------------------ init / cleanup
# tcs_harness_init: create the private state dir and install the cleanup trap.
# Exits 77 (skip) when not root or when there is no 'tss' user: both tcsd
# flavours start as root and drop to user tss.
tcs_harness_init() {
    if [ "$(id -u)" != 0 ]; then
        echo "SKIP: the integration tests must run as root (tcsd starts as root and drops to tss)" >&2
        exit 77
    fi
    if ! getent passwd tss >/dev/null; then
        echo "SKIP: no 'tss' user (apt-get install trousers / tpm-udev)" >&2
        exit 77
    fi
    TCS_DIR=$(mktemp -d /tmp/tcs-test.XXXXXX) || { tcs_log "mktemp failed"; exit 1; }
    # user tss must be able to traverse to its ps/ and state/ dirs
    chmod 0755 "$TCS_DIR"
    mkdir -p "$TCS_DIR/tpm" "$TCS_DIR/ps" "$TCS_DIR/state" "$TCS_DIR/work"
    chmod 0755 "$TCS_DIR/work"
    chown tss:tss "$TCS_DIR/ps" "$TCS_DIR/state"
    chmod 0700 "$TCS_DIR/ps" "$TCS_DIR/state"
    : > "$TCS_DIR/ports.used"
    # never inherit ports from the caller's environment (e.g. a refstack)
    SWTPM_PORT=; SWTPM_CTRL_PORT=; TCSD_PORT=
    export TCS_DIR
    trap _tcs_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    _tcs_trace "state dir $TCS_DIR"
}

_tcs_cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM HUP
    if [ -n "$_TCS_TCSD_PID" ]; then _tcs_stop_pid "$_TCS_TCSD_PID" 100; _TCS_TCSD_PID=; fi
    _tcs_stop_swtpm_quiet
    for pid in "${_TCS_OTHER_PIDS[@]}"; do _tcs_stop_pid "$pid" 30; done
    _TCS_OTHER_PIDS=()
    if [ -n "$TCS_DIR" ] && [ -d "$TCS_DIR" ]; then
        if [ "${TCS_KEEP:-0}" = 1 ]; then
            tcs_log "state kept in $TCS_DIR (TCS_KEEP=1)"
        else
            rm -rf "$TCS_DIR"
        fi
    fi
    exit "$rc"
}

# tcs_track_pid PID: let the cleanup trap stop another process a test started
tcs_track_pid() { _TCS_OTHER_PIDS+=("$1"); }

# tcs_dump_logs: print the tails of the daemon logs (for failure reports)
tcs_dump_logs() {
    local f
    for f in tcsd.log swtpm.log swtpm_bios.log swtpm_setup.log; do
        [ -s "$TCS_DIR/$f" ] || continue
        echo "----- $TCS_DIR/$f (last 40 lines)"
        tail -n 40 "$TCS_DIR/$f"
    done
}

# ------------------------------------------------------------------ swtpm
# tcs_start_swtpm [--no-ek|--createek]: manufacture a fresh TPM 1.2 (EK unless --no-ek;
# result: enabled, active, unowned), start it on two free loopback ports and
# power it on like a BIOS. Exports SWTPM_PORT / SWTPM_CTRL_PORT.
tcs_start_swtpm() {
    local ekopt=--createek
    _TCS_NO_EK=0
    for a in "$@"; do
        case "$a" in
            --no-ek) ekopt=; _TCS_NO_EK=1 ;;
            --createek) ekopt=--createek; _TCS_NO_EK=0 ;;   # the default
            *) tcs_log "tcs_start_swtpm: unknown option $a"; return 2 ;;
        esac
    done
    [ -n "$TCS_DIR" ] || { tcs_log "call tcs_harness_init first"; return 1; }
    if [ "${TCS_EMBEDDED_TPM2:-0}" = 1 ]; then
        [ "$_TCS_NO_EK" = 0 ] || { tcs_log "TCS_EMBEDDED_TPM2: tcsd always manufactures an EK"; return 1; }
        _tcs_start_tpm2_host
        return
    fi
    rm -rf "$TCS_DIR/tpm"; mkdir -p "$TCS_DIR/tpm"
    _tcs_trace "swtpm_setup ${ekopt:-(no EK)}"
    # TPM 1.2 is swtpm_setup's default (no --tpm2). It runs its own swtpm on
    # a Unix socket and saves tpm-00.permall.
    # shellcheck disable=SC2086
    if ! swtpm_setup --tpm-state "$TCS_DIR/tpm" $ekopt --overwrite \
            --logfile "$TCS_DIR/swtpm_setup.log" >/dev/null 2>&1; then
        tcs_log "swtpm_setup failed"; cat "$TCS_DIR/swtpm_setup.log" >&2; return 1
    fi
    SWTPM_PORT=; SWTPM_CTRL_PORT=
    _tcs_swtpm_boot
}

# _tcs_swtpm_launch: start swtpm on $SWTPM_PORT/$SWTPM_CTRL_PORT (picking
# new ports when unset); retried on a bind race with another process.
_tcs_swtpm_launch() {
    local try keep_ports=0
    [ -n "${SWTPM_PORT:-}" ] && keep_ports=1
    for try in 1 2 3 4 5; do
        if [ "$keep_ports" = 0 ]; then
            SWTPM_PORT=$(tcs_free_port) || return 1
            SWTPM_CTRL_PORT=$(tcs_free_port) || return 1
        fi
        # no --daemon: we keep the exact PID as our child. --flags
        # not-need-init without startup-*: swtpm_bios plays the BIOS.
        swtpm socket \
            --tpmstate dir="$TCS_DIR/tpm" \
            --server type=tcp,port="$SWTPM_PORT",bindaddr=127.0.0.1 \
            --ctrl type=tcp,port="$SWTPM_CTRL_PORT",bindaddr=127.0.0.1 \
            --flags not-need-init \
            --log file="$TCS_DIR/swtpm.log",level=${TCS_SWTPM_LOG_LEVEL:-1} \
            </dev/null >>"$TCS_DIR/swtpm.out" 2>&1 &
        _TCS_SWTPM_PID=$!
        _tcs_trace "swtpm pid $_TCS_SWTPM_PID tpm=127.0.0.1:$SWTPM_PORT ctrl=127.0.0.1:$SWTPM_CTRL_PORT"
        if _tcs_wait_listen "$SWTPM_PORT" 100 "$_TCS_SWTPM_PID" &&
           _tcs_wait_listen "$SWTPM_CTRL_PORT" 50 "$_TCS_SWTPM_PID"; then
            export SWTPM_PORT SWTPM_CTRL_PORT
            return 0
        fi
        tcs_log "swtpm did not come up on $SWTPM_PORT/$SWTPM_CTRL_PORT (try $try)"
        _tcs_stop_pid "$_TCS_SWTPM_PID" 30; _TCS_SWTPM_PID=
        # same ports wanted (power cycle): the old socket may linger briefly
        [ "$keep_ports" = 1 ] && sleep 1
    done
    tcs_log "swtpm failed to start; see $TCS_DIR/swtpm.out / swtpm.log"
    cat "$TCS_DIR/swtpm.out" >&2 2>/dev/null
    return 1
}

# _tcs_start_tpm2_host: an swtpm TPM 2.0 as the host's TPM (TCS_EMBEDDED_TPM2)
# on a free port P with the control channel on P + 1 (libtss2-tcti-swtpm's rule)
_tcs_start_tpm2_host() {
    local try
    mkdir -p "$TCS_DIR/tpm2-host"
    for try in 1 2 3 4 5; do
        SWTPM_PORT=$(tcs_free_port) || return 1
        SWTPM_CTRL_PORT=$((SWTPM_PORT + 1))
        echo "$SWTPM_CTRL_PORT" >> "$TCS_DIR/ports.used"
        _tcs_port_in_use "$SWTPM_CTRL_PORT" && continue
        swtpm socket --tpm2 --tpmstate dir="$TCS_DIR/tpm2-host" \
            --server type=tcp,port="$SWTPM_PORT",bindaddr=127.0.0.1 \
            --ctrl type=tcp,port="$SWTPM_CTRL_PORT",bindaddr=127.0.0.1 \
            --flags startup-clear,not-need-init \
            </dev/null >>"$TCS_DIR/swtpm.out" 2>&1 &
        _TCS_SWTPM_PID=$!
        if _tcs_wait_listen "$SWTPM_PORT" 100 "$_TCS_SWTPM_PID" &&
           _tcs_wait_listen "$SWTPM_CTRL_PORT" 50 "$_TCS_SWTPM_PID"; then
            TCS_TPM2_TCTI="swtpm:host=127.0.0.1,port=$SWTPM_PORT"
            export SWTPM_PORT SWTPM_CTRL_PORT TCS_TPM2_TCTI
            return 0
        fi
        _tcs_stop_pid "$_TCS_SWTPM_PID" 30; _TCS_SWTPM_PID=
    done
    tcs_log "the TPM 2.0 swtpm failed to start; see $TCS_DIR/swtpm.out"
    return 1
}

# _tcs_swtpm_boot: launch + BIOS power-on sequence
_tcs_swtpm_boot() {
    local rc
    _tcs_swtpm_launch || return 1
    # BIOS: Startup(ST_CLEAR), assert physical presence, enable, activate.
    # -ea exits 129 when the activation needs a TPM reset (e.g. after
    # tpm_clear left the TPM disabled+deactivated): TPM_Init over the control
    # channel, then the BIOS step again.
    swtpm_bios --tcp 127.0.0.1:"$SWTPM_PORT" -ea >>"$TCS_DIR/swtpm_bios.log" 2>&1; rc=$?
    if [ "$rc" = 129 ]; then
        _tcs_trace "TPM needed a reset to become active (swtpm_bios rc 129); TPM_Init"
        swtpm_ioctl --tcp 127.0.0.1:"$SWTPM_CTRL_PORT" -i >>"$TCS_DIR/swtpm_bios.log" 2>&1
        swtpm_bios --tcp 127.0.0.1:"$SWTPM_PORT" -ea >>"$TCS_DIR/swtpm_bios.log" 2>&1; rc=$?
    fi
    if [ "$rc" != 0 ]; then
        tcs_log "swtpm_bios -ea failed rc=$rc"; cat "$TCS_DIR/swtpm_bios.log" >&2; return 1
    fi
    # give up and lock physical presence, as a BIOS does before the OS runs
    swtpm_bios --tcp 127.0.0.1:"$SWTPM_PORT" -n -u >>"$TCS_DIR/swtpm_bios.log" 2>&1 ||
        { tcs_log "swtpm_bios -n -u failed"; cat "$TCS_DIR/swtpm_bios.log" >&2; return 1; }
    return 0
}

_tcs_stop_swtpm_quiet() {
    local pid=$_TCS_SWTPM_PID
    [ -n "$pid" ] || return 0
    if _tcs_alive "$pid"; then
        # graceful CMD_SHUTDOWN over the control channel (saves the state)
        swtpm_ioctl --tcp 127.0.0.1:"$SWTPM_CTRL_PORT" -s >/dev/null 2>&1
        _tcs_wait_gone "$pid" 50 || true
    fi
    _tcs_stop_pid "$pid" 30
    _TCS_SWTPM_PID=
}

# tcs_stop_swtpm: shut swtpm down (state saved), ports stay reserved
tcs_stop_swtpm() {
    _tcs_trace "stopping swtpm pid ${_TCS_SWTPM_PID:-none}"
    _tcs_stop_swtpm_quiet
}

# ------------------------------------------------------------------ tcsd
_tcs_write_conf() { # FLAVOUR
    local conf=$TCS_DIR/tcsd.conf
    {
        echo "# written by tests/integration/tcs-harness.sh ($1)"
        echo "port = $TCSD_PORT"
        echo "system_ps_file = $TCS_DIR/ps/system.data"
        echo "disable_ipv6 = 1"
        if [ "$1" = ours ] && [ "${TCS_EMBEDDED_TPM2:-0}" = 1 ]; then
            echo "tpm_device = swtpm"
            echo "tpm2_binding = $TCS_TPM2_TCTI"
        elif [ "$1" = ours ]; then
            echo "tpm_device = tcp:127.0.0.1:$SWTPM_PORT"
        fi
        if [ "$1" = ours ]; then
            echo "state_dir = $TCS_DIR/state"
            # org.tcs.Manager only on a test's private bus (TCS_TCSD_DBUS=yes with
            # DBUS_SYSTEM_BUS_ADDRESS set), never on the machine's system bus
            echo "dbus = ${TCS_TCSD_DBUS:-no}"
            # extra lines a test needs (limits, timeouts), one per line
            [ -n "${TCS_TCSD_EXTRA_CONF:-}" ] && printf '%s\n' "$TCS_TCSD_EXTRA_CONF"
        else
            echo "num_threads = 10"
        fi
    } > "$conf"
    # TrouSerS refuses a config not owned root:tss or writable by others;
    # ours gets the same so both read it the same way.
    chown root:tss "$conf"; chmod 0640 "$conf"
}

_tcs_export_client_env() {
    export TSS_TCSD_HOSTNAME=127.0.0.1
    export TSS_TCSD_PORT=$TCSD_PORT
    export TSS_USER_PS_FILE=$TCS_DIR/user.data
    export TCSD_PORT
}

# _tcs_wait_tcsd TENTHS: wait for the tcsd port; on failure print the log
_tcs_wait_tcsd() {
    if _tcs_wait_listen "$TCSD_PORT" "$1" "$_TCS_TCSD_PID"; then
        return 0
    fi
    if _tcs_alive "$_TCS_TCSD_PID"; then
        tcs_log "tcsd ($TCS_TCSD_FLAVOUR, pid $_TCS_TCSD_PID) does not listen on $TCSD_PORT after $(($1 / 10)) s; log:"
    else
        tcs_log "tcsd ($TCS_TCSD_FLAVOUR) exited during start-up; log:"
    fi
    cat "$TCS_DIR/tcsd.log" >&2
    _tcs_stop_pid "$_TCS_TCSD_PID" 30; _TCS_TCSD_PID=
    return 1
}

# tcs_start_tcsd_ours: our tcsd from $TCS_BUILD_DIR, on $TCSD_PORT (kept
# across restarts; a new free port the first time).
tcs_start_tcsd_ours() {
    local bin=$TCS_BUILD_DIR/daemon/tcsd wrap=() n=100
    [ -x "$bin" ] || { tcs_log "our tcsd is not built: $bin"; return 1; }
    [ -n "${SWTPM_PORT:-}" ] || { tcs_log "start swtpm first"; return 1; }
    [ -n "${TCSD_PORT:-}" ] || TCSD_PORT=$(tcs_free_port) || return 1
    if [ -n "${TCS_TCSD_WRAPPER:-}" ]; then
        read -r -a wrap <<< "$TCS_TCSD_WRAPPER"
        n=600   # valgrind & co. start slowly
    fi
    _tcs_write_conf ours
    TCS_TCSD_FLAVOUR=ours
    if [ "${#wrap[@]}" -gt 0 ]; then
        # a wrapper's scratch files (valgrind's vgdb FIFOs: created as root,
        # not removable by the daemon after it drops to tss) stay in our dir
        mkdir -p "$TCS_DIR/tmp"; chmod 1777 "$TCS_DIR/tmp"
        TMPDIR=$TCS_DIR/tmp "${wrap[@]}" "$bin" -f -c "$TCS_DIR/tcsd.conf" \
            </dev/null >>"$TCS_DIR/tcsd.log" 2>&1 &
    else
        "$bin" -f -c "$TCS_DIR/tcsd.conf" </dev/null >>"$TCS_DIR/tcsd.log" 2>&1 &
    fi
    _TCS_TCSD_PID=$!
    _tcs_trace "tcsd (ours) pid $_TCS_TCSD_PID port $TCSD_PORT ${wrap[*]}"
    _tcs_wait_tcsd "$n" || return 1
    if [ "${TCS_EMBEDDED_TPM2:-0}" = 1 ]; then
        # the port comes first; the embedded TPM (manufactured on first use) after it
        local _
        for _ in $(seq 600); do
            [ "$(grep -c ' up: TPM' "$TCS_DIR/tcsd.log")" -gt "${_TCS_UP_COUNT:-0}" ] && break
            _tcs_alive "$_TCS_TCSD_PID" || { cat "$TCS_DIR/tcsd.log" >&2; return 1; }
            sleep 0.1
        done
        _TCS_UP_COUNT=$(grep -c ' up: TPM' "$TCS_DIR/tcsd.log")
    fi
    _tcs_export_client_env
}

# tcs_start_tcsd_trousers: the reference, Debian's TrouSerS tcsd 0.3.15
tcs_start_tcsd_trousers() {
    local bin=$TCS_TROUSERS_TCSD_BIN
    [ -x "$bin" ] || { tcs_log "TrouSerS tcsd not installed: $bin"; return 1; }
    [ -n "${SWTPM_PORT:-}" ] || { tcs_log "start swtpm first"; return 1; }
    [ -n "${TCSD_PORT:-}" ] || TCSD_PORT=$(tcs_free_port) || return 1
    _tcs_write_conf trousers
    TCS_TCSD_FLAVOUR=trousers
    # -e + TCSD_TCP_DEVICE_*: the TPM is reached over TCP, not /dev/tpm0.
    # stdbuf: -f logs through stdio, block-buffered into a file otherwise.
    # stdbuf execs, so $! is tcsd itself.
    TCSD_USE_TCP_DEVICE=1 TCSD_TCP_DEVICE_HOSTNAME=127.0.0.1 TCSD_TCP_DEVICE_PORT="$SWTPM_PORT" \
        stdbuf -oL -eL "$bin" -f -e -c "$TCS_DIR/tcsd.conf" </dev/null >>"$TCS_DIR/tcsd.log" 2>&1 &
    _TCS_TCSD_PID=$!
    _tcs_trace "tcsd (trousers) pid $_TCS_TCSD_PID port $TCSD_PORT"
    _tcs_wait_tcsd 100 || return 1
    _tcs_export_client_env
}

# tcs_start_tcsd FLAVOUR: ours | trousers
tcs_start_tcsd() {
    case "${1:-ours}" in
        ours) tcs_start_tcsd_ours ;;
        trousers) tcs_start_tcsd_trousers ;;
        *) tcs_log "unknown tcsd flavour '$1' (ours|trousers)"; return 2 ;;
    esac
}

# tcs_stop_tcsd: SIGTERM (TrouSerS needs up to ~1.6 s), SIGKILL after 10 s
# (60 s under a wrapper). Returns non-zero when this daemon - or an earlier
# instance stopped inside tcs_power_cycle and not yet reported - had to be
# killed or exited with a status other than 0 / "terminated by SIGTERM"
# (143), e.g. valgrind's --error-exitcode. Each bad exit is reported once.
_TCS_TCSD_BAD_PENDING=0
_tcs_stop_tcsd_record() {
    local pid=$_TCS_TCSD_PID rc n=100
    [ -n "$pid" ] || return 0
    [ "$TCS_TCSD_FLAVOUR" = ours ] && [ -n "${TCS_TCSD_WRAPPER:-}" ] && n=600
    _tcs_trace "stopping tcsd ($TCS_TCSD_FLAVOUR) pid $pid"
    _tcs_stop_pid "$pid" "$n"; rc=$_TCS_RC
    _TCS_TCSD_PID=
    echo "tcs-harness: tcsd ($TCS_TCSD_FLAVOUR) exit status $rc" >> "$TCS_DIR/tcsd.log"
    case "$rc" in
        0|143) ;;
        *) tcs_log "tcsd ($TCS_TCSD_FLAVOUR, pid $pid) exited with status $rc"
           _TCS_TCSD_BAD_PENDING=$((_TCS_TCSD_BAD_PENDING + 1)) ;;
    esac
}
tcs_stop_tcsd() {
    _tcs_stop_tcsd_record
    if [ "$_TCS_TCSD_BAD_PENDING" != 0 ]; then
        _TCS_TCSD_BAD_PENDING=0
        return 1
    fi
    return 0
}

# tcs_power_cycle: stop tcsd and swtpm, boot the same TPM state on the same
# ports again (BIOS power-on re-enables a TPM left disabled by tpm_clear),
# then restart the same tcsd flavour on the same port. Fails only when the
# restart fails; a bad exit of the old daemon is reported by tcs_stop_tcsd.
tcs_power_cycle() {
    local flavour=$TCS_TCSD_FLAVOUR
    _tcs_trace "power cycle"
    _tcs_stop_tcsd_record
    if [ "${TCS_EMBEDDED_TPM2:-0}" != 1 ]; then
        # the embedded TPM restarts with tcsd, which plays the BIOS
        tcs_stop_swtpm
        _tcs_swtpm_boot || return 1
    fi
    if [ -n "$flavour" ]; then tcs_start_tcsd "$flavour" || return 1; fi
    return 0
}

# tcs_take_ownership: well-known owner and SRK secrets (20 zero bytes)
tcs_take_ownership() {
    tpm_takeownership -y -z </dev/null >>"$TCS_DIR/takeownership.log" 2>&1 ||
        { tcs_log "tpm_takeownership -y -z failed:"; cat "$TCS_DIR/takeownership.log" >&2; return 1; }
}

# ------------------------------------------------------------------ sanitizer builds
# tcs_engine_preload: in an ASan build the engine and provider are
# instrumented, but openssl and stunnel are not: the sanitizer runtime must
# be loaded first, so preload it for everything the test starts from now on
# (leak checks off: those programs are not ours).
tcs_engine_preload() {
    local so=$TCS_BUILD_DIR/engine/tpm.so lib
    [ -e "$so" ] && nm -D "$so" 2>/dev/null | grep -q __asan_init || return 0
    lib=$(${CC:-cc} -print-file-name=libasan.so)
    [ -e "$lib" ] || return 0
    export LD_PRELOAD=$lib${LD_PRELOAD:+:$LD_PRELOAD}
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
}

# ------------------------------------------------------------------ a second stack
# tcs_start_peer [FLAVOUR]: a second, independent swtpm + tcsd (ours|trousers;
# default: the first stack's flavour) in $TCS_DIR/peer, owned with the
# well-known secrets, for tests that move things between two TPMs
# (migration). Exports TCS_PEER_TCSD_PORT and TCS_PEER_DIR; the client
# environment (TSS_TCSD_PORT, …) stays on the first stack. The cleanup trap
# stops the peer's processes; tcs_stop_peer stops them earlier and reports a
# bad exit of the peer tcsd like tcs_stop_tcsd.
tcs_start_peer() {
    local flavour=${1:-${TCS_TCSD_FLAVOUR:-ours}} rc=0
    local dir=$TCS_DIR sw=$SWTPM_PORT swc=$SWTPM_CTRL_PORT port=$TCSD_PORT
    local swpid=$_TCS_SWTPM_PID tpid=$_TCS_TCSD_PID flav=${TCS_TCSD_FLAVOUR:-}
    local noek=${_TCS_NO_EK:-0}
    [ -n "$dir" ] || { tcs_log "call tcs_harness_init first"; return 1; }
    TCS_DIR=$dir/peer
    mkdir -p "$TCS_DIR/tpm" "$TCS_DIR/ps" "$TCS_DIR/state" "$TCS_DIR/work"
    chmod 0755 "$TCS_DIR" "$TCS_DIR/work"
    chown tss:tss "$TCS_DIR/ps" "$TCS_DIR/state"; chmod 0700 "$TCS_DIR/ps" "$TCS_DIR/state"
    ln -sf ../ports.used "$TCS_DIR/ports.used"     # one list: no port given twice
    SWTPM_PORT=; SWTPM_CTRL_PORT=; TCSD_PORT=; _TCS_SWTPM_PID=; _TCS_TCSD_PID=
    tcs_start_swtpm && tcs_start_tcsd "$flavour" && tcs_take_ownership || rc=1
    [ "$rc" = 0 ] || tcs_dump_logs >&2
    TCS_PEER_DIR=$TCS_DIR; TCS_PEER_TCSD_PORT=$TCSD_PORT
    _TCS_PEER_TCSD_PID=$_TCS_TCSD_PID; _TCS_PEER_SWTPM_PID=$_TCS_SWTPM_PID
    _TCS_PEER_SWTPM_CTRL=$SWTPM_CTRL_PORT; _TCS_PEER_FLAVOUR=$flavour
    # tcsd first, then its TPM
    [ -n "$_TCS_TCSD_PID" ] && tcs_track_pid "$_TCS_TCSD_PID"
    [ -n "$_TCS_SWTPM_PID" ] && tcs_track_pid "$_TCS_SWTPM_PID"
    TCS_DIR=$dir; SWTPM_PORT=$sw; SWTPM_CTRL_PORT=$swc; TCSD_PORT=$port
    _TCS_SWTPM_PID=$swpid; _TCS_TCSD_PID=$tpid; TCS_TCSD_FLAVOUR=$flav; _TCS_NO_EK=$noek
    if [ -n "$port" ]; then _tcs_export_client_env; fi
    export TCS_PEER_TCSD_PORT TCS_PEER_DIR
    return "$rc"
}

tcs_stop_peer() {
    local rc=0
    [ -n "${_TCS_PEER_TCSD_PID:-}" ] || return 0
    _tcs_stop_pid "$_TCS_PEER_TCSD_PID" 100
    case "$_TCS_RC" in 0|143) ;; *) tcs_log "peer tcsd exited with status $_TCS_RC"; rc=1 ;; esac
    echo "tcs-harness: tcsd ($_TCS_PEER_FLAVOUR) exit status $_TCS_RC" >> "$TCS_PEER_DIR/tcsd.log"
    swtpm_ioctl --tcp 127.0.0.1:"$_TCS_PEER_SWTPM_CTRL" -s >/dev/null 2>&1
    _tcs_stop_pid "$_TCS_PEER_SWTPM_PID" 30
    _TCS_PEER_TCSD_PID=; _TCS_PEER_SWTPM_PID=
    return "$rc"
}
