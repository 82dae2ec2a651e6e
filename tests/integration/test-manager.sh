#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-manager.sh - org.tcs.Manager end to end, through tpmctl, tpmadm,
# tpmlist, gdbus and busctl, on a private system-like bus with python-dbusmock's
# polkitd deciding:
#
#   dbus-daemon (tests/integration/dbus/system-bus.conf.in)
#     ├── polkit mock (dbusmock --template polkitd)
#     └── tcsd (dbus = yes) ── swtpm (TPM 1.2)
#
# With --mock, tests/integration/test-manager-mock.py stands in for tcsd (no
# TPM, no polkit: it refuses owner methods to everyone but root), which tests
# the clients alone.
#
# TAP on stdout. Methods tcsd does not export yet are reported as skipped;
# without root, the tools or a built tcsd everything is ("1..0 # SKIP").
# Exit: 0 pass or skip, 1 fail.
set -u
MODE=tcsd
[ "${1:-}" = --mock ] && MODE=mock
# shellcheck source=tests/integration/tcs-harness.sh
. "$(dirname "$0")/tcs-harness.sh"
# shellcheck source=tests/integration/test-manager-lib.sh
. "$(dirname "$0")/test-manager-lib.sh"

skip_all() { echo "1..0 # SKIP $*"; exit 0; }
# meson's TAP protocol takes any exit status but 0 for an error: skip in TAP
need=(dbus-daemon gdbus busctl setpriv)
[ "$MODE" = mock ] || need+=(swtpm swtpm_setup swtpm_bios swtpm_ioctl)
for p in "${need[@]}"; do command -v "$p" >/dev/null || skip_all "$p is not installed"; done
"$TM_PY" -c 'import dbus, dbusmock' 2>/dev/null || skip_all "python3-dbusmock is not installed"
[ "$(id -u)" = 0 ] || skip_all "must run as root (tcsd starts as root; checks run as nobody)"
getent passwd tss >/dev/null || skip_all "no tss user"
B=$TCS_BUILD_DIR/cli
for p in tpmctl tpmadm tpmlist; do
    [ -x "$B/$p" ] || skip_all "$B/$p is not built"
done
[ "$MODE" = mock ] || [ -x "$TCS_BUILD_DIR/daemon/tcsd" ] || skip_all "tcsd is not built"
export PATH=$B:$PATH
tcs_harness_init
mkdir -p "$TCS_DIR/tmp" "$TCS_DIR/nobody"
chmod 1777 "$TCS_DIR/tmp"
chown nobody "$TCS_DIR/nobody"
export TMPDIR=$TCS_DIR/tmp
# nothing reads secrets from the environment unless a check sets them
unset TPM_PASSWD TCS_PASS TPM_NEW_PASSWD

OWNER=owner123            # the owner password the test sets (8 characters)
SECRET=archive-secret-1   # the archive secret
G=(gdbus call --system --dest org.tcs.Manager --object-path /org/tcs/Manager)
READ_ACTIONS=(org.tcs.manager.read-status org.tcs.manager.list-keys)

tm_start_bus || { echo "1..0 # SKIP no private bus"; exit 1; }
if [ "$MODE" = mock ]; then
    "$TM_PY" "$TCS_SOURCE_DIR/tests/integration/test-manager-mock.py" >"$TCS_DIR/mock.log" 2>&1 &
    tcs_track_pid $!
    tm_wait_name org.tcs.Manager || { cat "$TCS_DIR/mock.log" >&2; echo "Bail out! the mock did not start"; exit 1; }
else
    tm_start_polkit || { echo "Bail out! the polkit mock did not start"; exit 1; }
    # what the installed policy gives everyone; owner actions are denied
    tm_polkit_allow "${READ_ACTIONS[@]}"
    tcs_start_swtpm || { echo "Bail out! swtpm"; exit 1; }
    export TCS_TCSD_DBUS=yes   # the harness writes "dbus = yes", also for tcs_power_cycle
    tcs_start_tcsd ours || { echo "Bail out! tcsd did not start"; exit 1; }
    if ! tm_wait_name org.tcs.Manager 100; then
        tcs_dump_logs | t_diag
        skip_all "tcsd does not serve org.tcs.Manager yet (dbus = yes)"
    fi
fi
INTROSPECTION=$(gdbus introspect --system --dest org.tcs.Manager --object-path /org/tcs/Manager 2>&1)
# has METHOD...: tcsd exports them (else the checks using them are skipped)
has() {
    local m
    for m in "$@"; do printf '%s\n' "$INTROSPECTION" | grep -q "^ *$m(" || return 1; done
}
polkit() { # allow ACTION... | deny: what polkit answers from now on
    [ "$MODE" = mock ] && return 0
    if [ "$1" = deny ]; then tm_polkit_allow "${READ_ACTIONS[@]}"
    else tm_polkit_allow "${READ_ACTIONS[@]}" "$@"; fi
}
skip_group() { # N REASON: N skipped lines
    local i
    for i in $(seq "$1"); do t_skip "$2 ($i)" "$3"; done
}
ay() { # STRING: as a GVariant byte array (gdbus' b'...' would add a NUL)
    local s=$1 i out=''
    for ((i = 0; i < ${#s}; i++)); do out+="${out:+, }byte $(printf '0x%02x' "'${s:i:1}")"; done
    echo "@ay [$out]"
}
FDCALL=("$TM_PY" "$TCS_SOURCE_DIR/tests/integration/test-manager-fdcall.py")
property() { # NAME: the value busctl reads
    busctl --system get-property org.tcs.Manager /org/tcs/Manager org.tcs.Manager "$1" 2>&1
}

# ---------------------------------------------------------------- status (unowned)
t_run 0 "tpmlist status" tpmlist status
t_grep "tpmlist status: the guide's layout, not owned" '^  Owned:                no$'
for l in 'Activated:            yes' 'Enabled:              yes' 'Ownable:              yes' \
         'Owner clear:          (enabled|disabled)' 'Force clear:          (enabled|disabled)'; do
    t_grep "tpmlist status: '${l%%:*}'" "^  $l\$"
done
t_run 0 "tpmctl --json status" tpmctl --json status
t_json "status JSON: the properties" 'd["Owned"] is False and d["Enabled"] is True and isinstance(d["TpmVersion"], str) and "OwnerSecretStored" in d and isinstance(d["ConnectedClients"], int)'
t_grep "busctl get-property Owned" '^b false$' "$(property Owned)"
t_grep "gdbus GetAll" "'Owned': <false>" "$("${G[@]}" --method org.freedesktop.DBus.Properties.GetAll org.tcs.Manager 2>&1)"
t_run 0 "status as nobody" as_nobody tpmctl status
t_run 10 "no tcsd on the bus: exit 10" env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TCS_DIR/nobus" tpmctl status

# ---------------------------------------------------------------- usage errors
t_run 2 "tpmctl: unknown command" tpmctl frobnicate
t_run 2 "tpmctl: option of another command" tpmctl status --yes
t_run 2 "tpmlist: unknown keyword" tpmlist keys colour=blue
t_run 2 "tpmlist keyinfo without uuid=" tpmlist keyinfo
t_run 2 "tpmadm changepwd key=rk" tpmadm changepwd key=rk
t_run 2 "tpmadm backup without filename=" tpmadm backup
t_run 2 "tpmadm deletekeys without criteria" tpmadm deletekeys yes

# ---------------------------------------------------------------- takeownership
if has TakeOwnership; then
    polkit deny
    t_run 3 "takeownership as nobody, polkit says no: exit 3" as_nobody tpmctl --no-ask-password takeownership
    t_grep "  ... and says why" 'polkit|not authori[sz]ed|denied' "$T_ERR"
    t_run 2 "takeownership: a random password cannot be left unstored" tpmctl takeownership --no-store
    t_run 0 "tpmadm takeownership (random password, stored; SRK, SK, RK)" tpmadm takeownership
    t_grep "  ... reports it" 'ownership has been taken'
    t_run 0 "tpmctl --json status after takeownership" tpmctl --json status
    t_json "  Owned, OwnerSecretStored" 'd["Owned"] is True and d["OwnerSecretStored"] is True'
    t_grep "gdbus TakeOwnership again: AlreadyOwned" 'org.tcs.Error.AlreadyOwned' \
        "$("${G[@]}" --timeout 120 --method org.tcs.Manager.TakeOwnership '[]' '[]' '{}' 2>&1)"
    t_run 6 "tpmctl takeownership again: exit 6" tpmctl takeownership
else
    skip_group 9 "takeownership" "tcsd does not export TakeOwnership yet"
    # the rest needs an owner: take it the tpm-tools way
    tcs_take_ownership
fi

# ---------------------------------------------------------------- keys and keyinfo
if has ListKeys; then
    t_run 0 "tpmlist keys" tpmlist keys
    t_grep "  header" '^Key\(s\) matching the above criteria:'
    t_grep "  the SRK block" $'^Key UUID:               00000000-0000-0000-0000-000000000001$'
    t_grep "  its parent line" '^Parent Key UUID:        00000000-0000-0000-0000-000000000000$'
    t_grep "  count" '^Number of keys found: 3$'
    t_run 0 "tpmlist keys ancestoruuid=rk" tpmlist keys ancestoruuid=rk
    t_grep "  no descendants yet" '^Number of keys found: 0$'
    t_run 0 "tpmctl --json keys --parent srk" tpmctl --json keys --parent srk
    t_json "  SK and RK" 'd["count"] == 2 and sorted(k["uuid"][-1] for k in d["keys"]) == ["2", "3"]'
    t_run 0 "tpmctl: options before the command, criteria as keywords" tpmctl --json --alg rsa keys parentuuid=srk
    t_json "  SK and RK" 'd["count"] == 2'
    t_run 4 "tpmlist keys ancestoruuid=<unknown>: exit 4" tpmlist keys ancestoruuid=12345678-1234-1234-1234-123456789abc
    t_run 2 "tpmctl keys --alg rot13: exit 2 (InvalidArgs)" tpmctl keys --alg rot13
    t_grep "busctl ListKeys" '^a\(ss\) 3 ' "$(busctl --system call org.tcs.Manager /org/tcs/Manager org.tcs.Manager ListKeys 'a{sv}' 0 2>&1)"
else
    skip_group 13 "keys" "tcsd does not export ListKeys yet"
fi
if has GetKeyInfo; then
    t_run 0 "tpmlist keyinfo uuid=rk" tpmlist keyinfo uuid=rk
    t_grep "  separator" '^------------------------------------$'
    t_grep "  Key UUID" '^  Key UUID:    00000000-0000-0000-0000-000000000003$'
    t_grep "  Parent UUID" '^  Parent UUID: 00000000-0000-0000-0000-000000000001$'
    t_grep "  Usage" '^  Usage:       0x0004 \(Storage\)$'
    t_grep "  Flags: migratable" '^  Flags:       0x[0-9a-f]{8} \(!VOLATILE,  MIGRATABLE, !REDIRECTION\)$'
    t_grep "  AuthUsage" '^  AuthUsage:   0x00 \(Never\)$'
    t_grep "  Algorithm" '^  Algorithm:   0x00000020 \(RSA\)$'
    t_grep "  Encryption Scheme" '^  Encryption Scheme:   0x00000012 \(RSAESOAEP_SHA1_MGF1\)$'
    t_grep "  Public Key Size" '^  Public Key Size:     256 bytes$'
    t_ok "  eight lines of eight words" [ "$(printf '%s\n' "$T_OUT" | grep -cE '^        ([0-9a-f]{8} ){7}[0-9a-f]{8}$')" = 8 ]
    t_run 0 "tpmlist keyinfo uuid=sk" tpmlist keyinfo uuid=sk
    t_grep "  the SK is not migratable" '^  Flags:       0x[0-9a-f]{8} \(!VOLATILE, !MIGRATABLE, !REDIRECTION\)$'
    t_run 0 "tpmctl --json keyinfo srk" tpmctl --json keyinfo srk
    t_json "  SRK: storage, 2048 bits, parent nil" 'd["usage"] == 4 and d["key-size"] == 2048 and d["parent-uuid"] == "00000000-0000-0000-0000-000000000000"'
    t_run 4 "tpmctl keyinfo <unknown>: exit 4" tpmctl keyinfo 12345678-1234-1234-1234-123456789abc
    t_run 4 "tpmctl --json keyinfo <unknown>" tpmctl --json keyinfo 12345678-1234-1234-1234-123456789abc
    t_json "  the error document" 'd["error"]["name"] == "org.tcs.Error.NotFound" and d["error"]["exit-code"] == 4'
    t_grep "gdbus GetKeyInfo rk" "'usage-name': <'Storage'>" "$("${G[@]}" --method org.tcs.Manager.GetKeyInfo rk 2>&1)"
else
    skip_group 19 "keyinfo" "tcsd does not export GetKeyInfo yet"
fi

# ---------------------------------------------------------------- a key below the RK
# as the guide's example makes one: tpmencrypt -d keeps its TPM key in system
# persistent storage under the RK; backup and restore carry it
RKCHILD=
decrypt_ok() { # the key under the RK still works: tpmdecrypt restores foo
    rm -rf "$TCS_DIR/work/out"; mkdir -p "$TCS_DIR/work/out"
    tpmdecrypt -C "$TCS_DIR/work/out" -i "$TCS_DIR/work/foo.enc" >"$TCS_DIR/tpmdecrypt.log" 2>&1 &&
        cmp -s "$TCS_DIR/work/foo" "$TCS_DIR/work/out/foo"
}
if [ "$MODE" = mock ]; then
    RKCHILD=ded330fd-6386-41f6-b94b-10d6c84c5422
    "${G[@]}" --method org.tcs.ManagerMock.RegisterKey $RKCHILD rk 20 >/dev/null
elif [ -x "$B/tpmencrypt" ] && [ -x "$B/tpmdecrypt" ] && has ListKeys; then
    echo "the guide's foo" > "$TCS_DIR/work/foo"
    if (cd "$TCS_DIR/work" && "$B/tpmencrypt" -d -n -o foo.enc foo) >"$TCS_DIR/tpmencrypt.log" 2>&1; then
        RKCHILD=$(tpmctl --json keys --ancestor rk | "$TM_PY" -c '
import json, sys
print(" ".join(k["uuid"] for k in json.load(sys.stdin)["keys"]))')
    else
        t_diag < "$TCS_DIR/tpmencrypt.log"
    fi
fi
if [ -n "$RKCHILD" ]; then
    t_run 0 "tpmlist keys ancestoruuid=rk: the key tpmencrypt -d registered" tpmlist keys ancestoruuid=rk
    t_grep "  it is listed" "^Key UUID:               $RKCHILD\$"
    t_grep "  below the RK" '^Parent Key UUID:        00000000-0000-0000-0000-000000000003$'
    t_grep "  one" '^Number of keys found: 1$'
    if [ "$MODE" = tcsd ]; then t_ok "  tpmdecrypt can use it" decrypt_ok
    else t_skip "  tpmdecrypt can use it" "no TPM behind the stand-in"; fi
else
    skip_group 5 "a key below the RK" "tpmencrypt is not built or failed"
fi

# ---------------------------------------------------------------- changepwd, forgetpwd
if has ChangeOwnerSecret; then
    polkit deny
    t_run 3 "changepwd as nobody, polkit says no" as_nobody env TPM_PASSWD=x TPM_NEW_PASSWD=y tpmctl changepwd
    t_run 0 "tpmadm changepwd key=tpm (stored password, new from TPM_NEW_PASSWD)" env TPM_NEW_PASSWD=$OWNER tpmadm changepwd key=tpm
    t_grep "  the guide's message" '^  Password change successful\.$'
    t_run 2 "changepwd: a 9-character password is refused" env TPM_NEW_PASSWD=123456789 tpmadm changepwd key=tpm
    t_grep "  ... saying why" 'too long' "$T_ERR"
    t_run 5 "changepwd with a wrong current password: exit 5" env TPM_PASSWD=wrongpw TPM_NEW_PASSWD=x tpmadm changepwd key=tpm
    t_run 0 "changepwd with passwd= and newpasswd=" tpmadm changepwd key=tpm passwd=$OWNER newpasswd=$OWNER
    t_run 0 "changepwd --new-passwd, --json" env TPM_PASSWD=$OWNER tpmctl --json changepwd --new-passwd=$OWNER
    t_json "  still stored" 'd["ok"] is True and d["owner-secret-stored"] is True'
    # (few wrong owner secrets in this test: the TPM's dictionary-attack defence counts them)
    t_grep "gdbus ChangeOwnerSecret: a well-known secret must be empty: InvalidArgs" 'org.tcs.Error.InvalidArgs' \
        "$("${G[@]}" --method org.tcs.Manager.ChangeOwnerSecret "b'nope'" "b'x'" "{'owner-secret-mode': <'well-known'>}" 2>&1)"
else
    skip_group 10 "changepwd" "tcsd does not export ChangeOwnerSecret yet"
fi
if has ForgetOwnerSecret; then
    polkit deny
    t_run 3 "forgetpwd as nobody, polkit says no" as_nobody tpmctl forgetpwd
    t_run 0 "tpmctl --json forgetpwd" tpmctl --json forgetpwd
    t_json "  removed" 'd["removed"] is True'
    t_grep "gdbus ForgetOwnerSecret again: nothing to remove" '^\(false,\)$' "$("${G[@]}" --method org.tcs.Manager.ForgetOwnerSecret 2>&1)"
    t_grep "busctl: OwnerSecretStored false" '^b false$' "$(property OwnerSecretStored)"
    t_run 5 "backup without any owner password and --no-ask-password: exit 5" \
        env TCS_PASS=$SECRET tpmctl --no-ask-password backup "$TCS_DIR/never"
    t_ok "  no file left behind" [ ! -e "$TCS_DIR/never" ]
else
    skip_group 7 "forgetpwd" "tcsd does not export ForgetOwnerSecret yet"
fi
export TPM_PASSWD=$OWNER

# ---------------------------------------------------------------- a key of a TSS application
USERKEY=
register_user_key() { # a system PS key registered by a TSS application over the wire protocol
    if [ "$MODE" = mock ]; then
        USERKEY=5aa84553-c08d-417b-af49-8c2de7e0ff3c
        "${G[@]}" --method org.tcs.ManagerMock.RegisterKey $USERKEY srk 16 >/dev/null
        return
    fi
    command -v tpm_mkaik >/dev/null && command -v tpm_loadkey >/dev/null || return 1
    # tpm_mkaik -z wants the well-known owner secret: switch to it and back
    # (the secret modes of ChangeOwnerSecret at work)
    "${G[@]}" --method org.tcs.Manager.ChangeOwnerSecret "$(ay "$OWNER")" '[]' \
        "{'new-owner-secret-mode': <'well-known'>}" >/dev/null || return 1
    (cd "$TCS_DIR/work" && tpm_mkuuid aik.uuid && tpm_mkaik -z aik.blob aik.pub &&
        tpm_loadkey aik.blob aik.uuid) >"$TCS_DIR/aik.log" 2>&1
    "${G[@]}" --method org.tcs.Manager.ChangeOwnerSecret '[]' "$(ay "$OWNER")" \
        "{'owner-secret-mode': <'well-known'>}" >/dev/null || return 1
    USERKEY=$(tpmctl --json keys --parent srk | "$TM_PY" -c '
import json, sys
print(" ".join(k["uuid"] for k in json.load(sys.stdin)["keys"] if not k["uuid"].startswith("00000000-0000-0000-0000-00000000000")))')
    [ -n "$USERKEY" ] || { t_diag < "$TCS_DIR/aik.log"; return 1; }
}

# ---------------------------------------------------------------- backup
ARCH=$TCS_DIR/keys.archive
if has Backup; then
    polkit deny
    t_run 3 "backup as nobody, polkit says no" as_nobody env TCS_PASS=$SECRET TPM_PASSWD=$OWNER tpmctl backup "$TCS_DIR/nobody/a"
    t_ok "  no file left behind" [ ! -e "$TCS_DIR/nobody/a" ]
    if [ "$MODE" = tcsd ]; then
        polkit org.tcs.manager.backup
        t_run 0 "backup as nobody, polkit says yes" as_nobody env TCS_PASS=$SECRET TPM_PASSWD=$OWNER tpmctl backup "$TCS_DIR/nobody/a"
        polkit deny
    else
        t_skip "backup as nobody, polkit says yes" "the stand-in has no polkit"
    fi
    t_run 0 "tpmadm backup filename=F (TCS_PASS, TPM_PASSWD)" env TCS_PASS=$SECRET tpmadm backup filename="$ARCH"
    t_grep "  the guide's messages" $'^Backup in progress\\.\\.\\.\nThe backup operation has succeeded\\.$' "$(printf '%s' "$T_OUT" | tr -d '\r')"
    t_ok "  the archive is 0600 and not empty" eval '[ "$(stat -c %a "$ARCH")" = 600 ] && [ -s "$ARCH" ]'
    t_run 7 "backup onto an existing file: exit 7" env TCS_PASS=$SECRET tpmadm backup filename="$ARCH"
    t_run 0 "tpmctl --json backup --overwrite, secret= on the command line" tpmctl --json backup --overwrite --secret=$SECRET "$ARCH"
    t_json "  the summary: the RK${RKCHILD:+ and the key below it}" 'd["key-count"] == '"$([ -n "$RKCHILD" ] && echo 2 || echo 1)"' and d["size"] > 0'
    t_run 2 "a 129-character archive secret is refused" env TCS_PASS="$(printf 'x%.0s' $(seq 129))" tpmctl backup "$TCS_DIR/long"
    t_run 5 "backup with a wrong owner password: exit 5" env TCS_PASS=$SECRET TPM_PASSWD=wrong tpmctl backup "$TCS_DIR/wrong"
    t_ok "  no file left behind" [ ! -e "$TCS_DIR/wrong" ]
    t_run 4 "backup into a missing directory: exit 4" env TCS_PASS=$SECRET tpmctl backup "$TCS_DIR/missing/x"
    t_run 0 "GDBus Backup with a descriptor (no tpmctl)" "${FDCALL[@]}" backup "$TCS_DIR/gdbus.archive" "$SECRET" "$OWNER"
    t_json "  the summary" 'd["key-count"] >= 1 and d["size"] == '"$(stat -c %s "$TCS_DIR/gdbus.archive" 2>/dev/null || echo -1)"
else
    skip_group 15 "backup" "tcsd does not export Backup yet"
fi

# ---------------------------------------------------------------- restore
safety_files() { find "$TMPDIR" -maxdepth 1 -type f -name '????????' | wc -l; }
if has Restore && [ -s "$ARCH" ]; then
    t_run 0 "tpmctl --json restore --dry-run" env TCS_PASS=$SECRET tpmctl --json restore --dry-run "$ARCH"
    N=$([ -n "$RKCHILD" ] && echo 2 || echo 1)
    t_json "  the report" 'd["rk-exists"] is True and d["key-count"] == '$N' and d["replaced-key-count"] == '$N' and d["dry-run"] is True'
    t_ok "  no safety copy left" [ "$(safety_files)" = 0 ]
    t_run 5 "restore with a wrong archive secret: exit 5" env TCS_PASS=wrong-secret tpmadm restore filename="$ARCH" yes
    t_run 11 "restore over an RK without confirmation or terminal: exit 11" env TCS_PASS=$SECRET tpmadm restore filename="$ARCH"
    t_grep "  the guide's warning" 'To proceed, the current Roaming Key and its descendant keys must be deleted first\.'
    t_ok "  no safety copy left" [ "$(safety_files)" = 0 ]
    if [ -s "$TCS_DIR/gdbus.archive" ]; then
        t_run 0 "GDBus Restore dry-run (no tpmctl)" "${FDCALL[@]}" restore "$TCS_DIR/gdbus.archive" \
            "$TCS_DIR/gdbus.safety" "$SECRET" "$OWNER" dry-run=true
        t_json "  the report" 'd["rk-exists"] is True and d["key-count"] >= 1'
        t_run 1 "GDBus Restore over the RK without replace" "${FDCALL[@]}" restore "$TCS_DIR/gdbus.archive" \
            "$TCS_DIR/gdbus.safety" "$SECRET" "$OWNER"
        t_grep "  AlreadyExists" '^org\.tcs\.Error\.AlreadyExists$'
        t_ok "  nothing written to the safety copy" [ ! -s "$TCS_DIR/gdbus.safety" ]
    else
        skip_group 5 "GDBus Restore" "no archive from GDBus Backup"
    fi
    t_run 4 "restore a missing file: exit 4" env TCS_PASS=$SECRET tpmadm restore filename="$TCS_DIR/missing" yes
    t_run 2 "restore from a pipe: exit 2 (it is read twice)" env TCS_PASS=$SECRET tpmctl restore --yes /dev/stdin
    head -c 4096 /dev/urandom > "$TCS_DIR/junk"
    t_run 9 "restore a file that is no archive: exit 9" env TCS_PASS=$SECRET tpmadm restore filename="$TCS_DIR/junk" yes
    polkit deny
    t_run 3 "restore as nobody, polkit says no" as_nobody env TCS_PASS=$SECRET tpmctl restore --yes "$ARCH"
    t_run 0 "tpmadm restore filename=F yes" env TCS_PASS=$SECRET tpmadm restore filename="$ARCH" yes
    t_grep "  the guide's messages" "^They will be backed up at $TMPDIR/[A-Za-z]{8} with the above secret before deletion\\.\$"
    t_grep "  ... and success" '^The restore operation has succeeded\.$'
    SAFETY=$(printf '%s\n' "$T_OUT" | sed -n 's/^Backing up existing keys at \(.*\)\.\.\.$/\1/p')
    t_ok "  the safety copy exists, 0600, not empty" eval '[ -n "$SAFETY" ] && [ -s "$SAFETY" ] && [ "$(stat -c %a "$SAFETY")" = 600 ]'
    t_run 0 "the safety copy is an archive too (dry run)" env TCS_PASS=$SECRET tpmctl restore --dry-run "$SAFETY"
    t_run 0 "the RK is back" tpmlist keyinfo uuid=rk
    if [ -n "$RKCHILD" ]; then
        t_run 0 "  with the key below it" tpmlist keys ancestoruuid=rk
        t_grep "  (listed)" "^Key UUID:               $RKCHILD\$"
        if [ "$MODE" = tcsd ]; then t_ok "  tpmdecrypt still works with the restored keys" decrypt_ok
        else t_skip "  tpmdecrypt still works with the restored keys" "no TPM behind the stand-in"; fi
    else
        skip_group 3 "restore" "no key below the RK"
    fi
else
    skip_group 25 "restore" "tcsd does not export Restore yet (or no archive)"
fi

# ---------------------------------------------------------------- on a terminal
PTY=("$TM_PY" "$TCS_SOURCE_DIR/tests/integration/test-manager-pty.py")
if has Restore ChangeOwnerSecret CreateStorageKey && [ -s "$ARCH" ]; then
    t_run 0 "tpmadm restore on a terminal: secret, TPM password, (y|n)" "${PTY[@]}" \
        "Please enter the secret used for the backup file: " "$SECRET" \
        "Please enter TPM password: " "$OWNER" \
        "Do you wish to continue? (y|n): " y \
        -- env -u TPM_PASSWD tpmadm restore filename="$ARCH"
    t_grep "  the guide's dialogue" "They will be backed up at $TMPDIR/[A-Za-z]{8} with the above secret before deletion\.
Do you wish to continue\? \(y\|n\): y

Backing up existing keys at $TMPDIR/[A-Za-z]{8}\.\.\.

Restoring keys from $ARCH\.\.\.

The restore operation has succeeded\."
    t_ok "  the secrets are not echoed" eval '! grep -q -e "$SECRET" -e "$OWNER" <<<"$T_OUT"'
    t_run 0 "tpmadm changepwd key=tpm on a terminal" "${PTY[@]}" \
        "Please enter TPM password: " "$OWNER" \
        "Please enter the new TPM password (8 char max): " "$OWNER" \
        "Confirm password: " "$OWNER" \
        -- env -u TPM_PASSWD tpmadm changepwd key=tpm
    t_grep "  Password change successful" '^  Password change successful\.$'
    t_run 5 "changepwd: a confirmation that does not match: exit 5" "${PTY[@]}" \
        "Please enter TPM password: " "$OWNER" \
        "Please enter the new TPM password (8 char max): " "newpass1" \
        "Confirm password: " "newpass2" \
        -- env -u TPM_PASSWD tpmadm changepwd key=tpm
    t_grep "  says so" 'do not match'
    t_run 11 "restore with secret= and passwd=, answered n" "${PTY[@]}" \
        "Do you wish to continue? (y|n): " "@cmdline:$TCS_DIR/cmdline:n" \
        -- tpmadm restore filename="$ARCH" secret="$SECRET" passwd="$OWNER"
    t_grep "  meanwhile ps shows the secrets blanked" \
        "tpmadm restore filename=$ARCH secret=\\*{${#SECRET}} passwd=\\*{${#OWNER}} \$" "$(cat "$TCS_DIR/cmdline" 2>&1)"
    t_run 11 "addkey key=sk answered n: exit 11, nothing replaced" "${PTY[@]}" \
        "Do you wish to continue? (y|n): " n -- tpmadm addkey key=sk
    polkit deny
    t_run 3 "as nobody on a terminal (the polkit agent path): exit 3, no hang" "${PTY[@]}" \
        -- setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/ tpmctl forgetpwd
    # a stand-in pkttyagent records how it was started and exits, closing the notify fd
    mkdir -p "$TCS_DIR/agent"
    printf '#!/bin/sh\necho "$@" > %s/nobody/agent.args\n' "$TCS_DIR" > "$TCS_DIR/agent/pkttyagent"
    chmod 0755 "$TCS_DIR/agent" "$TCS_DIR/agent/pkttyagent"
    t_run 3 "  with a stand-in pkttyagent" "${PTY[@]}" \
        -- setpriv --reuid=nobody --regid=nogroup --clear-groups \
        env HOME=/ PATH="$TCS_DIR/agent:$PATH" tpmctl forgetpwd
    t_grep "  it ran as: pkttyagent --process PID --notify-fd N --fallback" \
        '^--process [0-9]+ --notify-fd [0-9]+ --fallback$' "$(cat "$TCS_DIR/nobody/agent.args" 2>&1)"
    rm -f "$TCS_DIR/nobody/agent.args"
    t_run 3 "  not started with --no-ask-password" "${PTY[@]}" \
        -- setpriv --reuid=nobody --regid=nogroup --clear-groups \
        env HOME=/ PATH="$TCS_DIR/agent:$PATH" tpmctl --no-ask-password forgetpwd
    t_ok "  (no agent ran)" [ ! -e "$TCS_DIR/nobody/agent.args" ]
else
    skip_group 17 "terminal" "tcsd does not export Restore, ChangeOwnerSecret or CreateStorageKey yet"
fi

# ---------------------------------------------------------------- addkey
if has CreateStorageKey; then
    polkit deny
    t_run 3 "addkey as nobody, polkit says no" as_nobody tpmctl addkey sk --yes
    t_run 11 "tpmadm addkey key=sk over the SK, no terminal: exit 11" tpmadm addkey key=sk
    t_grep "  the guide's warning" 'must be deleted first'
    t_run 0 "tpmctl --json addkey sk --replace" tpmctl --json addkey sk --replace
    t_json "  the SK's UUID" 'd["uuid"] == "00000000-0000-0000-0000-000000000002" and d["replaced"] is True'
    t_grep "gdbus CreateStorageKey rk without replace: AlreadyExists" 'org.tcs.Error.AlreadyExists' \
        "$("${G[@]}" --timeout 120 --method org.tcs.Manager.CreateStorageKey rk '[]' '{}' 2>&1)"
    t_run 2 "addkey srk: exit 2" tpmctl addkey srk
    if [ "$MODE" = tcsd ]; then
        polkit org.tcs.manager.create-storage-key
        t_run 0 "addkey as nobody, polkit says yes" as_nobody tpmctl addkey sk --yes
        polkit deny
    else
        t_skip "addkey as nobody, polkit says yes" "the stand-in has no polkit"
    fi
else
    skip_group 8 "addkey" "tcsd does not export CreateStorageKey yet"
fi

# ---------------------------------------------------------------- deletekeys
if has DeleteKeys && register_user_key; then
    t_run 11 "tpmadm deletekeys alg=rsa, no terminal: exit 11" tpmadm deletekeys alg=rsa
    t_grep "  lists the user key" "^Key UUID:               $USERKEY\$"
    t_grep "  notes the SRK" '^Note: key 00000000-0000-0000-0000-000000000001 can not be deleted\.$'
    t_grep "  notes the SK" '^Note: key 00000000-0000-0000-0000-000000000002 can not be deleted\.$'
    t_grep "  notes the RK" '^Note: key 00000000-0000-0000-0000-000000000003 can not be deleted\.$'
    t_run 3 "deletekeys as nobody, polkit says no" as_nobody tpmadm deletekeys "uuid=$USERKEY" yes
    t_grep "gdbus DeleteKeys srk: never deleted" '^\(@as \[\],\)$' \
        "$("${G[@]}" --method org.tcs.Manager.DeleteKeys "{'uuids': <['srk', 'sk', 'rk']>}" '{}' 2>&1)"
    if [ "$MODE" = tcsd ]; then
        polkit org.tcs.manager.delete-keys
        who=as_nobody
    else
        who=
    fi
    gdbus monitor --system --dest org.tcs.Manager >"$TCS_DIR/monitor.log" 2>&1 &
    MONITOR=$!
    tcs_track_pid $MONITOR
    sleep 0.5
    t_run 0 "tpmadm deletekeys alg=rsa yes${who:+ (nobody, polkit says yes)}" $who tpmadm deletekeys alg=rsa yes
    t_grep "  Deleting key 1" '^Deleting key 1: [0-9a-f-]{36} \.\.\.$'
    t_grep "  the count (the key${RKCHILD:+ and the one below the RK})" \
        "^Number of keys deleted: $([ -n "$RKCHILD" ] && echo 2 || echo 1)\$"
    sleep 0.5
    kill "$MONITOR" 2>/dev/null
    t_grep "  KeysChanged([], [the keys]) on the bus" "KeysChanged \\(@as \\[\\], \\[.*'$USERKEY'.*\\]\\)" "$(cat "$TCS_DIR/monitor.log")"
    polkit deny
    t_run 0 "tpmctl --json keys: SRK, SK, RK are left" tpmctl --json keys
    t_json "  three" 'd["count"] == 3'
else
    skip_group 12 "deletekeys" "tcsd does not export DeleteKeys yet (or no key registered)"
fi

# ---------------------------------------------------------------- enable/disable, activate
if has SetEnabled SetActivated; then
    polkit deny
    t_run 3 "disable as nobody, polkit says no" as_nobody tpmctl disable
    t_run 0 "tpmctl disable (owner password)" tpmctl disable
    t_grep "busctl: Enabled false" '^b false$' "$(property Enabled)"
    t_run 0 "tpmctl enable" tpmctl enable
    t_grep "busctl: Enabled true" '^b true$' "$(property Enabled)"
    t_grep "gdbus SetEnabled with an unknown option: InvalidArgs" 'org.tcs.Error.InvalidArgs' \
        "$("${G[@]}" --method org.tcs.Manager.SetEnabled true "$(ay "$OWNER")" "{'colour': <'blue'>}" 2>&1)"
    t_run 3 "deactivate as nobody, polkit says no" as_nobody tpmctl deactivate
    t_grep "gdbus SetActivated: PhysicalPresenceRequired" 'org.tcs.Error.PhysicalPresenceRequired' \
        "$("${G[@]}" --method org.tcs.Manager.SetActivated true '{}' 2>&1)"
    t_run 6 "deactivate: physical presence is locked after boot: exit 6" tpmctl deactivate
    t_grep "  PhysicalPresenceRequired" 'hysical presence' "$T_ERR"
else
    skip_group 10 "enable/activate" "tcsd does not export SetEnabled/SetActivated yet"
fi

# ---------------------------------------------------------------- clear, and a new owner gets the keys back
if has ClearOwner; then
    polkit deny
    t_run 3 "clear as nobody, polkit says no" as_nobody tpmctl clear --yes
    t_run 11 "tpmctl clear without --yes: exit 11" tpmctl clear
    t_run 5 "clear with a wrong owner password: exit 5" env TPM_PASSWD=wrong tpmctl clear --yes
    t_grep "gdbus ClearOwner with an unknown option: InvalidArgs, nothing cleared" 'org.tcs.Error.InvalidArgs' \
        "$("${G[@]}" --method org.tcs.Manager.ClearOwner "$(ay "$OWNER")" "{'colour': <'blue'>}" 2>&1)"
    t_run 0 "tpmctl clear --yes" tpmctl clear --yes
    t_run 0 "  status: not owned" tpmctl --json status
    t_json "  not owned, nothing stored" 'd["Owned"] is False and d["OwnerSecretStored"] is False'
    if [ "$MODE" = tcsd ]; then
        # TPM_OwnerClear leaves the TPM disabled until the firmware (swtpm_bios) enables it
        tcs_power_cycle && tm_wait_name org.tcs.Manager 100
        t_ok "power cycle: tcsd is back on the bus" [ $? = 0 ]
    fi
    if has TakeOwnership Restore && [ -s "$ARCH" ]; then
        t_run 0 "takeownership with a known password, no SK/RK, not stored" \
            tpmctl takeownership --no-storage-keys --no-store
        t_run 0 "restore onto the new owner (no RK: no question)" env TCS_PASS=$SECRET tpmadm restore filename="$ARCH"
        t_ok "  no safety copy when nothing is replaced" eval '! grep -q "Backing up existing keys" <<<"$T_OUT"'
        t_run 0 "tpmlist keyinfo uuid=rk after the restore" tpmlist keyinfo uuid=rk
        if [ "$MODE" = tcsd ] && [ -n "$RKCHILD" ]; then
            t_ok "  the guide's migration: tpmdecrypt works under the new owner" decrypt_ok
        else
            t_skip "  the guide's migration: tpmdecrypt works under the new owner" "no TPM or no key below the RK"
        fi
    else
        skip_group 5 "restore after clear" "needs TakeOwnership and Restore"
    fi
else
    skip_group 11 "clear" "tcsd does not export ClearOwner yet"
fi

if [ "$MODE" = tcsd ]; then
    tcs_stop_tcsd; rc=$?
    t_ok "tcsd exits cleanly" [ $rc = 0 ]
fi
t_done
