#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-bus-policy.sh - the bus policy and activation file, as dbus-daemon reads
# them: on a private bus with the system bus' default policy plus ours, only
# root and tss may own org.tcs.Manager, anyone may call its interface (the call
# reaches activation) but not other interfaces, and the name is activatable.
# Activation runs /bin/false instead of tcsd, so no daemon is ever started.
# Exit: 0 pass, 1 fail, 77 skip (not root, or dbus-daemon/gdbus/setpriv missing).
set -u

[ $# -ge 2 ] || { echo "usage: $0 BUS-POLICY ACTIVATION-FILE [TSS-USER]" >&2; exit 2; }
CONF=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ACTIVATION=$2
TSS_USER=${3:-tss}
for b in dbus-daemon gdbus setpriv; do
    command -v "$b" >/dev/null 2>&1 || { echo "SKIP: $b not installed" >&2; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to call as $TSS_USER and nobody" >&2; exit 77; }
getent passwd "$TSS_USER" >/dev/null || { echo "SKIP: no user $TSS_USER" >&2; exit 77; }

TMP=$(mktemp -d)
BUS_PID=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    [ -n "$BUS_PID" ] && kill "$BUS_PID" 2>/dev/null && wait "$BUS_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
chmod 0755 "$TMP"
mkdir "$TMP/services"
sed 's|^Exec=.*|Exec=/bin/false|' "$ACTIVATION" > "$TMP/services/org.tcs.Manager.service"
# the defaults of dbus' system.conf that matter here: deny owning and calling, then ours
cat > "$TMP/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=$TMP/bus</listen>
  <auth>EXTERNAL</auth>
  <servicedir>$TMP/services</servicedir>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
  </policy>
  <include>$CONF</include>
</busconfig>
EOF
dbus-daemon --nofork --nopidfile --config-file="$TMP/bus.conf" --print-address=3 \
    3>"$TMP/address" 2>"$TMP/bus.log" &
BUS_PID=$!
for _ in $(seq 50); do [ -s "$TMP/address" ] && break; sleep 0.1; done
ADDR=$(head -n1 "$TMP/address")
if [ -z "$ADDR" ]; then
    cat "$TMP/bus.log" >&2
    echo "FAIL: dbus-daemon did not start with our policy" >&2
    exit 1
fi
# complaints about the files (unknown user, bad element, ...); not about the environment
if grep -qi 'config\|unknown\|parse\|invalid\|service file' "$TMP/bus.log"; then
    cat "$TMP/bus.log" >&2
    echo "FAIL: dbus-daemon complained about the configuration" >&2
    exit 1
fi

rc=0
as() { # as USER GDBUS-CALL-ARGS...: run gdbus call on the private bus as USER
    local user=$1 group
    shift
    group=$(id -gn "$user")
    HOME=/ setpriv --reuid="$user" --regid="$group" --clear-groups \
        gdbus call --address "$ADDR" --timeout 10 "$@" 2>&1
}
own() { # own USER: RequestName(org.tcs.Manager, DO_NOT_QUEUE)
    as "$1" --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
        --method org.freedesktop.DBus.RequestName org.tcs.Manager "uint32 4"
}
expect() { # expect WHAT PATTERN OUTPUT
    if printf '%s\n' "$3" | grep -q "$2"; then
        echo "ok: $1"
    else
        echo "FAIL: $1: got $3" >&2
        rc=1
    fi
}
expect "root may own org.tcs.Manager" '(uint32 1,)' "$(own root)"
expect "$TSS_USER may own org.tcs.Manager" '(uint32 1,)' "$(own "$TSS_USER")"
expect "nobody may not own org.tcs.Manager" 'AccessDenied' "$(own nobody)"
expect "org.tcs.Manager is activatable" "'org.tcs.Manager'" \
    "$(as nobody --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
        --method org.freedesktop.DBus.ListActivatableNames)"
# allowed calls get as far as activation, which runs /bin/false here
expect "nobody may call org.tcs.Manager" 'Spawn\.ChildExited' \
    "$(as nobody --dest org.tcs.Manager --object-path /org/tcs/Manager \
        --method org.tcs.Manager.ListKeys '{}')"
expect "nobody may read properties" 'Spawn\.ChildExited' \
    "$(as nobody --dest org.tcs.Manager --object-path /org/tcs/Manager \
        --method org.freedesktop.DBus.Properties.GetAll org.tcs.Manager)"
expect "nobody may not call other interfaces" 'AccessDenied' \
    "$(as nobody --dest org.tcs.Manager --object-path /org/tcs/Manager \
        --method org.example.Other.Frob)"
exit $rc
