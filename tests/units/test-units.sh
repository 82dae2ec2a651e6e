#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-units.sh - the generated systemd files are valid:
#  * systemd-analyze verify on tcsd.socket and tcsd.service (ExecStart pointed
#    at the built tcsd, since verify insists the binary exists); an error or a
#    warning about our units fails the test;
#  * systemd-analyze security --offline=yes, score printed, never fatal;
#  * systemd-sysusers and systemd-tmpfiles applied to a scratch root: the tss
#    user appears and a TrouSerS system.data (root:root in a tss directory) is
#    handed to tss (as root only: tmpfiles must chown).
# Nothing outside a temporary directory is touched.
# Exit: 0 pass, 1 fail, 77 skip (no systemd-analyze).
set -u

usage() {
    echo "usage: $0 --tcsd BIN --socket UNIT --service UNIT --sysusers CONF --tmpfiles CONF --psdir DIR [--tss-user USER]" >&2
    exit 2
}
TSS_USER=tss
while [ $# -gt 0 ]; do
    case "$1" in
        --tcsd) TCSD=$2 ;;
        --socket) SOCKET=$2 ;;
        --service) SERVICE=$2 ;;
        --sysusers) SYSUSERS=$2 ;;
        --tmpfiles) TMPFILES=$2 ;;
        --psdir) PSDIR=$2 ;;
        --tss-user) TSS_USER=$2 ;;
        *) usage ;;
    esac
    shift 2 || usage
done
for v in TCSD SOCKET SERVICE SYSUSERS TMPFILES PSDIR; do
    [ -n "${!v:-}" ] || usage
done

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze not installed" >&2
    exit 77
fi
# absolute: meson runs tests from the build directory, and --root= tools read relative paths under the root
TCSD=$(realpath "$TCSD") SOCKET=$(realpath "$SOCKET") SERVICE=$(realpath "$SERVICE")
SYSUSERS=$(realpath "$SYSUSERS") TMPFILES=$(realpath "$TMPFILES")

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
rc=0

# --- verify: the units as installed, except where tcsd lives
mkdir "$TMP/units"
cp "$SOCKET" "$TMP/units/tcsd.socket"
sed "s|^ExecStart=[^ ]*/tcsd\\b|ExecStart=$TCSD|" "$SERVICE" > "$TMP/units/tcsd.service"
grep -q "^ExecStart=$TCSD " "$TMP/units/tcsd.service" ||
    { echo "FAIL: no ExecStart=.../tcsd line to redirect in $SERVICE" >&2; exit 1; }
# --man=no: our man pages are not installed yet at test time
out=$(SYSTEMD_UNIT_PATH="$TMP/units:" systemd-analyze verify --man=no \
    "$TMP/units/tcsd.socket" "$TMP/units/tcsd.service" 2>&1)
vrc=$?
[ -n "$out" ] && printf '%s\n' "$out"
if [ "$vrc" != 0 ]; then
    echo "FAIL: systemd-analyze verify exited $vrc" >&2
    rc=1
elif printf '%s\n' "$out" | grep -q 'tcsd\.\(socket\|service\)'; then
    # unknown keys and bad values are only warnings to verify, but mistakes to us
    echo "FAIL: systemd-analyze verify warned about our units" >&2
    rc=1
else
    echo "systemd-analyze verify: tcsd.socket and tcsd.service OK"
fi

# --- security: informative only
if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
    sec=$(SYSTEMD_UNIT_PATH="$TMP/units:" systemd-analyze security --offline=yes --no-pager \
        "$TMP/units/tcsd.service" 2>&1)
    printf '%s\n' "$sec" | grep '✗' | sed 's/  */ /g'
    printf '%s\n' "$sec" | grep -i 'overall exposure' ||
        echo "systemd-analyze security printed no score"
else
    echo "systemd-analyze security --offline not supported here, score not computed"
fi

# --- sysusers and tmpfiles in a scratch root
if command -v systemd-sysusers >/dev/null 2>&1; then
    mkdir -p "$TMP/root/etc"
    if ! systemd-sysusers --root="$TMP/root" "$SYSUSERS" >"$TMP/sysusers.log" 2>&1; then
        cat "$TMP/sysusers.log" >&2
        echo "FAIL: systemd-sysusers rejected $SYSUSERS" >&2
        rc=1
    elif ! grep -q "^$TSS_USER:" "$TMP/root/etc/passwd"; then
        echo "FAIL: systemd-sysusers did not create user $TSS_USER" >&2
        rc=1
    else
        echo "systemd-sysusers: $(grep "^$TSS_USER:" "$TMP/root/etc/passwd")"
    fi
fi
if ! command -v systemd-tmpfiles >/dev/null 2>&1 || [ ! -s "$TMP/root/etc/passwd" ]; then
    echo "systemd-tmpfiles check skipped (no systemd-tmpfiles or no scratch user database)"
elif [ "$(id -u)" != 0 ]; then
    echo "systemd-tmpfiles check skipped (not root: it must chown)"
else
    # TrouSerS' layout: a tss directory holding a root:root 0600 system.data
    uid=$(awk -F: -v u="$TSS_USER" '$1 == u { print $3 }' "$TMP/root/etc/passwd")
    gid=$(awk -F: -v u="$TSS_USER" '$1 == u { print $4 }' "$TMP/root/etc/passwd")
    ps=$TMP/root$PSDIR
    mkdir -p "$ps"
    chown "$uid:$gid" "$ps"
    chmod 0755 "$ps"
    echo data > "$ps/system.data"
    chmod 0600 "$ps/system.data"
    if ! systemd-tmpfiles --root="$TMP/root" --create "$TMPFILES" >"$TMP/tmpfiles.log" 2>&1; then
        cat "$TMP/tmpfiles.log" >&2
        echo "FAIL: systemd-tmpfiles --create failed on $TMPFILES" >&2
        rc=1
    fi
    got_dir=$(stat -c '%u:%g %a' "$ps")
    got_ps=$(stat -c '%u:%g %a' "$ps/system.data")
    if [ "$got_dir" != "$uid:$gid 700" ] || [ "$got_ps" != "$uid:$gid 600" ]; then
        echo "FAIL: after tmpfiles $PSDIR is $got_dir and system.data $got_ps, want $uid:$gid 700 / 600" >&2
        rc=1
    else
        echo "systemd-tmpfiles: $PSDIR and a TrouSerS system.data handed to $TSS_USER"
    fi
fi
exit $rc
