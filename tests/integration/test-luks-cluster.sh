#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-luks-cluster.sh - the cluster story for LUKS2 volumes (docs/luks.md):
# host A (swtpm + tcsd serving org.tcs.Manager on a private bus) takes
# ownership (SK, RK) and enrolls an RK-bound token (with a PIN) and an
# SK-bound token on a LUKS2 image, then backs up; host B (its own swtpm +
# tcsd) cannot open the volume by token until it restores A's archive, then
# the RK-bound token opens it there, while the SK-bound token refuses
# clearly (an SK never leaves its TPM), the header unchanged.
# TAP on stdout; exit 77 when something needed is missing.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tcs-harness.sh"
. "$HERE/test-manager-lib.sh"
. "$HERE/luks-lib.sh"
luks_enter_namespace "$0" "$@"
tcs_require swtpm swtpm_setup dbus-daemon tpm_takeownership cryptsetup truncate /usr/bin/python3
for f in "$TPMLUKS" "$LUKS_PLUGIN" "$TCS_BUILD_DIR/daemon/tcsd"; do
    [ -e "$f" ] || { echo "1..0 # SKIP not built: $f"; exit 77; }
done
/usr/bin/python3 -c 'import dbus' 2>/dev/null || { echo "1..0 # SKIP python3-dbus"; exit 77; }
M="/usr/bin/python3 $HERE/py/manager.py"

tcs_harness_init || exit 1
W=$TCS_DIR/work; mkdir -p "$W"; cd "$W" || exit 1
luks_install_plugin || { echo "1..0 # SKIP cannot bind-mount the plugin directory"; exit 77; }
unset TPMLUKS_PIN

start_bus() { # NAME: a private bus in $TCS_DIR/NAME
    local saved=$TCS_DIR
    mkdir -p "$TCS_DIR/$1"
    TCS_DIR=$TCS_DIR/$1 tm_start_bus; local rc=$?
    TCS_DIR=$saved
    return $rc
}
on() { # PORT BUS CMD...: a client against one host's tcsd and bus
    local port=$1 bus=$2
    shift 2
    env TSS_TCSD_PORT="$port" DBUS_SYSTEM_BUS_ADDRESS="$bus" "$@"
}
wait_manager() { DBUS_SYSTEM_BUS_ADDRESS=$1 tm_wait_name org.tcs.Manager; }
pin_open() { # PORT TOKEN-ID PIN
    printf '%s' "$3" | env TSS_TCSD_PORT="$1" timeout 120 cryptsetup open --test-passphrase \
        --token-only --token-id "$2" --tries 1 img
}

printf 'volume passphrase' > pass
luks_format img pass || { echo "Bail out! luksFormat failed"; exit 1; }

# ---------------------------------------------------------------- host A
start_bus busA || exit 1
BUS_A=$DBUS_SYSTEM_BUS_ADDRESS
tcs_start_swtpm || exit 1
TCS_TCSD_DBUS=yes tcs_start_tcsd_ours || exit 1
PORT_A=$TCSD_PORT
wait_manager "$BUS_A" || { tcs_log "host A: no org.tcs.Manager"; exit 1; }
t_run 0 "A: TakeOwnership (SRK, SK, RK)" on "$PORT_A" "$BUS_A" $M call TakeOwnership '{"ay":"ownerA"}' '{"ay":""}' '{}'
t_run 0 "A: enroll an RK-bound token with a PIN" on "$PORT_A" "$BUS_A" env TPMLUKS_PIN=cluster-pin "$TPMLUKS" enroll img --pin --key-file pass
t_grep "A: ... token 0, keyslot 1" '^token 0: keyslot 1, bound below the RK, with a PIN$'
t_run 0 "A: enroll an SK-bound token" on "$PORT_A" "$BUS_A" "$TPMLUKS" enroll img --sk --key-file pass
t_grep "A: ... token 1, keyslot 2, this TPM only" '^token 1: keyslot 2, bound below the SK \(this TPM only\)$'
t_run 0 "A: the RK token opens (PIN)" pin_open "$PORT_A" 0 cluster-pin
t_run 0 "A: the SK token opens" env TSS_TCSD_PORT="$PORT_A" timeout 120 cryptsetup open --test-passphrase --token-only --token-id 1 img
t_run 0 "A: Backup" on "$PORT_A" "$BUS_A" $M call Backup '{"fd_write":"'"$W/a.arch"'"}' '{"ay":"cluster secret"}' '{"ay":""}' '{}'
t_json "A: the RK is archived (the SK is not: it never leaves)" 'd["result"][0]["key-count"] == 1'

# ---------------------------------------------------------------- host B
start_bus busB || exit 1
BUS_B=$DBUS_SYSTEM_BUS_ADDRESS
TCS_TCSD_DBUS=yes tcs_start_peer ours || exit 1
PORT_B=$TCS_PEER_TCSD_PORT
wait_manager "$BUS_B" || { tcs_log "host B: no org.tcs.Manager"; exit 1; }
t_run 0 "B: an SK of its own" on "$PORT_B" "$BUS_B" $M call CreateStorageKey '"sk"' '{"ay":""}' '{}'
t_fail_same "B: before the restore the RK token finds no RK" 1 "tcs token 0: no roaming key" img \
    pin_open "$PORT_B" 0 cluster-pin
t_run 0 "B: Restore A's archive" on "$PORT_B" "$BUS_B" $M call Restore '{"fd_read":"'"$W/a.arch"'"}' '{"fd_write":"'"$W/b.safety"'"}' '{"ay":"cluster secret"}' '{"ay":""}' '{"a{sv}":{"owner-secret-mode":["s","well-known"]}}'
t_run 0 "B: the RK token opens A's volume (PIN)" pin_open "$PORT_B" 0 cluster-pin
t_fail_same "B: ... not with a wrong PIN" 1 "tcs token 0: wrong PIN" img pin_open "$PORT_B" 0 not-the-pin
t_fail_same "B: the SK token refuses clearly" 1 "tcs token 1: this token is bound to the storage key \(SK\) of the TPM that enrolled it; an SK never leaves its TPM" img \
    env TSS_TCSD_PORT="$PORT_B" timeout 120 cryptsetup open --test-passphrase --token-only --token-id 1 img
t_run 0 "B: tpmluks list" "$TPMLUKS" list img
t_grep "B: ... both tokens" 'token 1: keyslot 2, parent sk, PIN no, PCRs none'
tcs_stop_peer || t_line fail "B: tcsd stopped cleanly"
tcs_stop_tcsd || t_line fail "A: tcsd stopped cleanly"
t_done
