#!/usr/bin/env bash
# test-ps-adopt.sh - tcsd starts as root and hands a TrouSerS system.data
# (root:root 0600) to user tss. That chown must never reach another file:
# a hard link planted by the service user (CVE-2020-24330 class), a file of
# an unexpected owner, or a store in a directory other users can write are
# refused with a clear error, and the target keeps its owner and mode.
# The configuration file errors are checked here too (plain ASCII, LC_ALL=C).
# Exit: 0 pass, 1 fail, 77 skip.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tcs-harness.sh
. "$HERE/tcs-harness.sh"
tcs_require setpriv stat timeout
TCSD=$TCS_BUILD_DIR/daemon/tcsd
[ -x "$TCSD" ] || { echo "SKIP: tcsd not built" >&2; exit 77; }
tcs_harness_init || exit 1

N=0; FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

# run_tcsd PS_FILE: tcsd -f with that store and a TPM port nobody listens on
# (it stops at the TPM, after the hand-over); output in $OUT
run_tcsd() {
    local conf=$TCS_DIR/adopt.conf
    cat > "$conf" <<CONF
port = $(tcs_free_port)
system_ps_file = $1
state_dir = $TCS_DIR/state
tpm_device = tcp:127.0.0.1:$(tcs_free_port)
disable_ipv6 = 1
dbus = no
CONF
    OUT=$(LC_ALL=C timeout 60 "$TCSD" -f -c "$conf" </dev/null 2>&1)
    RC=$?
}
owner_mode() { stat -c '%U:%G %a' "$1"; }

# a root secret outside the store (an /etc/shadow stand-in); 0666 so that
# even with fs.protected_hardlinks the service user may link it
SECRET_DIR=$TCS_DIR/secret
mkdir -m 0755 "$SECRET_DIR"
printf 'root:secret\n' > "$SECRET_DIR/shadow"; chmod 0666 "$SECRET_DIR/shadow"

# 1. the service user links the secret into its own store directory
D=$TCS_DIR/ps1; mkdir -m 0700 "$D"; chown tss:tss "$D"
if setpriv --reuid=tss --regid=tss --clear-groups ln "$SECRET_DIR/shadow" "$D/system.data" 2>/dev/null; then
    before=$(owner_mode "$SECRET_DIR/shadow")
    run_tcsd "$D/system.data"
    check "hard link: tcsd refuses (rc $RC)" [ "$RC" -ne 0 ]
    check "hard link: the error names the cause" grep -q "more than one hard link" <<<"$OUT"
    check "hard link: the target keeps owner and mode ($before)" \
        [ "$(owner_mode "$SECRET_DIR/shadow")" = "$before" ]
    echo "# $OUT" | grep -m1 refusing
else
    ok "# SKIP the service user cannot hard-link here"
fi

# 2. a store in a directory nobody owns (so nobody may rename files in it)
D=$TCS_DIR/ps2; mkdir -m 0700 "$D"; chown nobody:nogroup "$D"
printf 'x' > "$D/system.data"; chown root:root "$D/system.data"; chmod 0640 "$D/system.data"
run_tcsd "$D/system.data"
check "nobody's directory: tcsd refuses (rc $RC)" [ "$RC" -ne 0 ]
check "nobody's directory: the error names the directory" grep -q "directory $D .*writable by other users" <<<"$OUT"
check "nobody's directory: the file is not chowned" [ "$(owner_mode "$D/system.data")" = "root:root 640" ]

# 3. a world-writable (sticky, /tmp-like) directory
D=$TCS_DIR/ps3; mkdir -m 1777 "$D"
printf 'x' > "$D/system.data"; chmod 0640 "$D/system.data"
run_tcsd "$D/system.data"
check "world-writable directory: tcsd refuses (rc $RC)" [ "$RC" -ne 0 ]
check "world-writable directory: the file is not chowned" [ "$(owner_mode "$D/system.data")" = "root:root 640" ]

# 4. a store owned by some other user
D=$TCS_DIR/ps4; mkdir -m 0700 "$D"; chown tss:tss "$D"
printf 'x' > "$D/system.data"; chown nobody:nogroup "$D/system.data"; chmod 0600 "$D/system.data"
run_tcsd "$D/system.data"
check "foreign owner: tcsd refuses (rc $RC)" [ "$RC" -ne 0 ]
check "foreign owner: the error names the cause" grep -q "neither root nor the service user" <<<"$OUT"
check "foreign owner: unchanged" [ "$(owner_mode "$D/system.data")" = "nobody:nogroup 600" ]

# 5. TrouSerS' own layout still works: root:root file in tss' directory
D=$TCS_DIR/ps5; mkdir -m 0700 "$D"; chown tss:tss "$D"
: > "$D/system.data"; chmod 0644 "$D/system.data"
run_tcsd "$D/system.data"
check "TrouSerS layout: handed to tss ($(owner_mode "$D/system.data"))" \
    [ "$(owner_mode "$D/system.data")" = "tss:tss 600" ]
check "TrouSerS layout: no refusal" eval '! grep -q refusing <<<"$OUT"'

# 6. configuration file errors: plain ASCII and the cause (not GLib's quotes,
# which the C locale turns into '?')
OUT=$(LC_ALL=C "$TCSD" -f -c /nonexistent 2>&1); RC=$?
check "missing config: exit 1 (rc $RC)" [ "$RC" = 1 ]
check "missing config: clear message ($OUT)" \
    [ "$OUT" = "tcsd: cannot read configuration file /nonexistent: No such file or directory" ]
OUT=$(LC_ALL=C "$TCSD" -f -c "$TCS_DIR" 2>&1)
check "directory as config: clear message ($OUT)" \
    [ "$OUT" = "tcsd: cannot read configuration file $TCS_DIR: Is a directory" ]

echo "1..$N"
[ "$FAILED" = 0 ] || { echo "# $FAILED failed"; exit 1; }
exit 0
