# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-manager-lib.sh - sourced by the org.tcs.Manager client tests, after
# tcs-harness.sh (whose state dir and cleanup trap it uses).
#
#   tm_start_bus          private system-like dbus-daemon on $TCS_DIR/dbus/bus
#                         (tests/integration/dbus/system-bus.conf.in); exports
#                         DBUS_SYSTEM_BUS_ADDRESS
#   tm_start_polkit       python-dbusmock's polkitd template on that bus
#   tm_polkit_allow A...  the actions polkit grants (none: deny everything)
#   tm_polkit_allow_all   grant every action
#   tm_wait_name NAME     until NAME has an owner on the bus
#   t_run RC DESC CMD...  run CMD, expect exit status RC; $T_OUT/$T_ERR/$T_RC keep the result
#   t_ok DESC COND...     a TAP line for a shell condition
#   t_grep DESC RE        $T_OUT (stdout) matches the extended RE
#   t_json DESC EXPR      $T_OUT parses as JSON and python EXPR (on d) is true
#   t_skip DESC REASON    a skipped TAP line
#   t_done                the plan; exit 1 when a line failed
#   as_nobody CMD...      CMD as user nobody with no groups
#
# TAP goes to stdout; diagnostics ('# ...') too.

TM_PY=/usr/bin/python3
T_N=0
T_FAILED=0
T_OUT=
T_ERR=
T_RC=0

t_line() { # STATUS DESC [DIRECTIVE]
    T_N=$((T_N + 1))
    if [ "$1" = ok ]; then echo "ok $T_N - $2${3:+ # $3}"
    else echo "not ok $T_N - $2${3:+ # $3}"; T_FAILED=$((T_FAILED + 1)); fi
}
t_diag() { sed 's/^/#   /'; }

t_run() { # RC DESC CMD...
    local want=$1 desc=$2
    shift 2
    T_OUT=$("$@" 2>"$TCS_DIR/t_err" </dev/null); T_RC=$?
    T_ERR=$(cat "$TCS_DIR/t_err")
    if [ "$T_RC" = "$want" ]; then
        t_line ok "$desc"
    else
        t_line fail "$desc (exit $T_RC, expected $want)"
        { echo "command: $*"; echo "stdout:"; printf '%s\n' "$T_OUT"; echo "stderr:"; printf '%s\n' "$T_ERR"; } | t_diag
    fi
}
# t_run_in INPUT RC DESC CMD...: the same with INPUT on stdin
t_run_in() {
    local input=$1 want=$2 desc=$3
    shift 3
    T_OUT=$(printf '%s' "$input" | "$@" 2>"$TCS_DIR/t_err"); T_RC=$?
    T_ERR=$(cat "$TCS_DIR/t_err")
    if [ "$T_RC" = "$want" ]; then
        t_line ok "$desc"
    else
        t_line fail "$desc (exit $T_RC, expected $want)"
        { echo "command: $*"; echo "stdout:"; printf '%s\n' "$T_OUT"; echo "stderr:"; printf '%s\n' "$T_ERR"; } | t_diag
    fi
}
t_ok() { # DESC COND...
    local desc=$1
    shift
    if "$@"; then t_line ok "$desc"; else t_line fail "$desc"; echo "failed: $*" | t_diag; fi
}
t_grep() { # DESC ERE [TEXT]
    local text=${3-$T_OUT}
    if printf '%s\n' "$text" | grep -Eq -- "$2"; then
        t_line ok "$1"
    else
        t_line fail "$1"
        { echo "expected /$2/ in:"; printf '%s\n' "$text"; } | t_diag
    fi
}
t_json() { # DESC EXPR: d is the parsed document
    local err
    if err=$(printf '%s' "$T_OUT" | "$TM_PY" -c '
import json, sys
d = json.load(sys.stdin)
if not eval(sys.argv[1]):
    print("false: " + sys.argv[1] + "\n" + json.dumps(d, indent=1)[:2000])
    sys.exit(1)' "$2" 2>&1); then
        t_line ok "$1"
    else
        t_line fail "$1"
        { printf '%s\n' "$err"; echo "stdout was:"; printf '%s\n' "$T_OUT"; } | t_diag
    fi
}
t_skip() { t_line ok "$1" "SKIP $2"; }
t_done() {
    echo "1..$T_N"
    [ "$T_FAILED" = 0 ] || { echo "# $T_FAILED of $T_N failed"; exit 1; }
    exit 0
}

as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/ "$@"
}

tm_start_bus() {
    local dir=$TCS_DIR/dbus conf _
    mkdir -p "$dir"; chmod 0755 "$dir"
    conf=$dir/bus.conf
    sed -e "s|@LISTEN@|unix:path=$dir/bus|" -e "s|@TSS_USER@|${TCS_TSS_USER:-tss}|" \
        "$TCS_SOURCE_DIR/tests/integration/dbus/system-bus.conf.in" > "$conf"
    dbus-daemon --nofork --nopidfile --config-file="$conf" --print-address=3 \
        3>"$dir/address" 2>"$dir/bus.log" &
    tcs_track_pid $!
    for _ in $(seq 100); do [ -s "$dir/address" ] && [ -S "$dir/bus" ] && break; sleep 0.1; done
    [ -S "$dir/bus" ] || { tcs_log "dbus-daemon did not start:"; cat "$dir/bus.log" >&2; return 1; }
    # tcsd (user tss) and the nobody caller connect too
    chmod 0666 "$dir/bus"
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$dir/bus"
}

tm_wait_name() { # NAME [TENTHS]
    local _
    for _ in $(seq "${2:-100}"); do
        gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
            --method org.freedesktop.DBus.NameHasOwner "$1" 2>/dev/null | grep -q true && return 0
        sleep 0.1
    done
    return 1
}

tm_start_polkit() {
    "$TM_PY" -m dbusmock --system --template polkitd >"$TCS_DIR/dbus/polkit.log" 2>&1 &
    tcs_track_pid $!
    tm_wait_name org.freedesktop.PolicyKit1 ||
        { tcs_log "the polkit mock did not start:"; cat "$TCS_DIR/dbus/polkit.log" >&2; return 1; }
}

_tm_polkit() { # METHOD ARG
    gdbus call --system --dest org.freedesktop.PolicyKit1 \
        --object-path /org/freedesktop/PolicyKit1/Authority \
        --method "org.freedesktop.DBus.Mock.$1" "$2" >/dev/null
}
tm_polkit_allow() {
    local list='' a
    for a in "$@"; do list="$list${list:+, }'$a'"; done
    _tm_polkit AllowUnknown false && _tm_polkit SetAllowed "@as [$list]"
}
tm_polkit_allow_all() { _tm_polkit AllowUnknown true; }
