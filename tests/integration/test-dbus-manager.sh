#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-dbus-manager.sh - org.tcs.Manager as served by our tcsd, through raw
# D-Bus calls (py/manager.py): a private dbus-daemon, python-dbusmock's
# polkit template, swtpm and tcsd. Every method, its errors, polkit for an
# unprivileged caller, KeysChanged, key archives and their damage, a restore
# while a TSS client holds the RK. TAP on stdout; exit 77 when tools are missing.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tcs-harness.sh"
. "$HERE/test-manager-lib.sh"
tcs_require swtpm swtpm_setup dbus-daemon setpriv /usr/bin/python3
/usr/bin/python3 -c 'import dbus, dbusmock' 2>/dev/null || { echo "1..0 # SKIP python3-dbus/dbusmock"; exit 77; }
[ -x "$TCS_BUILD_DIR/daemon/tcsd" ] || { echo "1..0 # SKIP tcsd not built"; exit 77; }

M="/usr/bin/python3 $HERE/py/manager.py"
mc() { $M call "$@"; }              # a call as root
mn() { as_nobody $M call "$@"; }    # a call as nobody

tcs_harness_init || exit 1
tm_start_bus || exit 1
tm_start_polkit || exit 1
POLKIT_PID=${_TCS_OTHER_PIDS[-1]}
tcs_start_swtpm || exit 1
TCS_TCSD_DBUS=yes tcs_start_tcsd_ours || exit 1
tm_wait_name org.tcs.Manager || { tcs_log "tcsd did not take org.tcs.Manager"; cat "$TCS_DIR/tcsd.log" >&2; exit 1; }
chmod 0755 "$TCS_DIR"; A=$TCS_DIR/work; mkdir -p "$A"; chmod 0777 "$A"

# KeysChanged listener
$M monitor "$A/signals" & tcs_track_pid $!
for _ in $(seq 50); do [ -s "$A/signals" ] && break; sleep 0.1; done

# ---- status before ownership
t_run 0 "GetAll as nobody (properties need no polkit)" as_nobody $M getall
t_json "unowned, enabled, active, ownable, TPM 1.2" \
    'not d["result"]["Owned"] and d["result"]["Enabled"] and d["result"]["Activated"] and d["result"]["Ownable"] and d["result"]["TpmVersion"].startswith("1.2.") and not d["result"]["OwnerSecretStored"]'

# ---- polkit says no to nobody
tm_polkit_allow
deny() {
    t_run 1 "nobody is denied $1 when polkit says no" mn "$@"
    t_json "... with org.tcs.Error.PermissionDenied" 'd["error"] == "org.tcs.Error.PermissionDenied"'
}
deny TakeOwnership '{"ay":""}' '{"ay":""}' '{}'
deny ChangeOwnerSecret '{"ay":""}' '{"ay":"x"}' '{}'
deny ForgetOwnerSecret
deny ClearOwner '{"ay":""}' '{}'
deny SetEnabled true '{"ay":""}' '{}'
deny SetActivated true '{}'
deny CreateStorageKey '"rk"' '{"ay":""}' '{}'
t_run 0 "nobody may ListKeys although polkit grants nothing (read-only)" mn ListKeys '{}'
t_run 1 "nobody may GetKeyInfo although polkit grants nothing (read-only)" mn GetKeyInfo '"srk"'
t_json "... it gets past authorisation: the TPM is not owned yet" 'd["error"] != "org.tcs.Error.PermissionDenied"'
deny DeleteKeys '{"a{sv}":{"algorithm":["s","rsa"]}}' '{}'
deny Backup "{\"fd_write\":\"$A/denied\"}" '{"ay":"s"}' '{"ay":""}' '{}'
deny Restore '{"fd_read":"/dev/null"}' "{\"fd_write\":\"$A/denied2\"}" '{"ay":"s"}' '{"ay":""}' '{}'
t_run 0 "root needs no polkit: ListKeys" mc ListKeys '{}'

# ---- ownership
t_run 1 "an over-long owner secret is refused" mc TakeOwnership "{\"ay\":\"$(printf 'x%.0s' $(seq 1100))\"}" '{"ay":""}' '{}'
t_json "... as InvalidArgs" 'd["error"] == "org.tcs.Error.InvalidArgs"'
t_run 1 "an unknown option is refused" mc TakeOwnership '{"ay":"owner"}' '{"ay":""}' '{"a{sv}":{"bogus":["b",true]}}'
t_json "... as InvalidArgs" 'd["error"] == "org.tcs.Error.InvalidArgs"'
t_run 0 "TakeOwnership with owner secret 'owner', stored" mc TakeOwnership '{"ay":"owner"}' '{"ay":""}' '{}'
t_run 0 "properties follow" $M getall
t_json "owned, secret stored" 'd["result"]["Owned"] and d["result"]["OwnerSecretStored"]'
t_run 1 "a second TakeOwnership" mc TakeOwnership '{"ay":"owner"}' '{"ay":""}' '{}'
t_json "... is AlreadyOwned" 'd["error"] == "org.tcs.Error.AlreadyOwned"'
t_run 0 "ListKeys: SRK, SK, RK" mc ListKeys '{}'
t_json "three fixed keys with their parents" 'sorted(map(tuple, d["result"][0])) == [("00000000-0000-0000-0000-000000000001","00000000-0000-0000-0000-000000000000"),("00000000-0000-0000-0000-000000000002","00000000-0000-0000-0000-000000000001"),("00000000-0000-0000-0000-000000000003","00000000-0000-0000-0000-000000000001")]'
t_run 0 "GetKeyInfo rk" mc GetKeyInfo '"rk"'
t_json "RK: storage, migratable, no auth, RSA 2048, OAEP, modulus" '[d["result"][0][k] for k in ("usage-name","flag-names","auth-usage-name","algorithm-name","key-size","encryption-scheme")] == ["Storage",["migratable"],"Never","RSA",2048,0x12] and len(d["result"][0]["public-key"])==512'
t_run 0 "GetKeyInfo sk: not migratable" mc GetKeyInfo '"sk"'
t_json "SK flags" 'd["result"][0]["flag-names"]==[] and d["result"][0]["parent-uuid"].endswith("0001")'
t_run 0 "GetKeyInfo srk: public key read with the stored owner secret" mc GetKeyInfo '"srk"'
t_json "SRK modulus present" 'len(d["result"][0]["public-key"])==512'
t_run 1 "GetKeyInfo of an unknown key" mc GetKeyInfo '"12345678-0000-0000-0000-000000000000"'
t_json "... NotFound" 'd["error"]=="org.tcs.Error.NotFound"'
t_run 1 "GetKeyInfo of garbage" mc GetKeyInfo '"not-a-uuid"'
t_json "... InvalidArgs" 'd["error"]=="org.tcs.Error.InvalidArgs"'

# ---- keys under the RK from a TSS client (tcs-make-rk's sibling: tpmencrypt -d registers one)
if [ -x "$TCS_BUILD_DIR/cli/tpmencrypt" ]; then
    echo hello > "$A/plain.txt"
    t_run 0 "tpmencrypt -d registers a key under the RK" env TCS_PASS=pw "$TCS_BUILD_DIR/cli/tpmencrypt" -d -o "$A/enc.tpm" "$A/plain.txt"
else
    t_skip "tpmencrypt -d registers a key under the RK" "tpmencrypt not built"
fi
t_run 0 "ListKeys ancestor=rk" mc ListKeys '{"a{sv}":{"ancestor":["s","rk"]}}'
NDESC=$(printf '%s' "$T_OUT" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["result"][0]))')
t_ok "keys below the RK are listed" [ "$NDESC" -ge 0 ]
t_run 0 "ListKeys usage=storage" mc ListKeys '{"a{sv}":{"usage":["s","storage"]}}'
t_json "SRK, SK and RK are storage keys" 'len(d["result"][0]) == 3'
t_run 1 "ListKeys with an unknown algorithm" mc ListKeys '{"a{sv}":{"algorithm":["s","rot13"]}}'
t_json "... InvalidArgs" 'd["error"]=="org.tcs.Error.InvalidArgs"'
t_run 1 "ListKeys below a key that does not exist" mc ListKeys '{"a{sv}":{"ancestor":["s","99999999-0000-0000-0000-000000000000"]}}'
t_json "... NotFound" 'd["error"]=="org.tcs.Error.NotFound"'

# ---- owner secret
t_run 1 "ChangeOwnerSecret with a wrong current secret" mc ChangeOwnerSecret '{"ay":"wrong"}' '{"ay":"new"}' '{}'
t_json "... TpmAuthFailed" 'd["error"]=="org.tcs.Error.TpmAuthFailed"'
t_run 0 "ChangeOwnerSecret from the stored one to 'owner2'" mc ChangeOwnerSecret '{"ay":""}' '{"ay":"owner2"}' '{}'
t_run 0 "the stored secret followed: GetKeyInfo srk still reads the SRK" mc GetKeyInfo '"srk"'
t_json "SRK modulus present" 'len(d["result"][0]["public-key"])==512'
tm_polkit_allow org.tcs.manager.forget-owner-secret org.tcs.manager.list-keys
t_run 0 "nobody may ForgetOwnerSecret once polkit allows it" mn ForgetOwnerSecret
t_json "a stored secret existed" 'd["result"]==[True]'
t_run 0 "nobody may ListKeys when polkit allows it" mn ListKeys '{}'
t_run 1 "without a stored secret, an empty owner secret" mc ClearOwner '{"ay":""}' '{}'
t_json "... NoOwnerSecret" 'd["error"]=="org.tcs.Error.NoOwnerSecret"'
t_run 0 "store it again (ChangeOwnerSecret to itself, store-owner-secret)" mc ChangeOwnerSecret '{"ay":"owner2"}' '{"ay":"owner2"}' '{"a{sv}":{"store-owner-secret":["b",true]}}'
t_run 0 "OwnerSecretStored" $M get OwnerSecretStored
t_json "true again" 'd["result"] is True'

# ---- storage keys
t_run 1 "CreateStorageKey rk without replace" mc CreateStorageKey '"rk"' '{"ay":""}' '{}'
t_json "... AlreadyExists" 'd["error"]=="org.tcs.Error.AlreadyExists"'
t_run 1 "CreateStorageKey of a strange kind" mc CreateStorageKey '"xk"' '{"ay":""}' '{}'
t_json "... InvalidArgs" 'd["error"]=="org.tcs.Error.InvalidArgs"'
t_run 0 "CreateStorageKey sk, replace" mc CreateStorageKey '"sk"' '{"ay":""}' '{"a{sv}":{"replace":["b",true]}}'
t_json "answers the SK's UUID" 'd["result"]==["00000000-0000-0000-0000-000000000002"]'

# ---- archives
t_run 0 "Backup with secret 'arch-secret'" mc Backup "{\"fd_write\":\"$A/keys.arch\"}" '{"ay":"arch-secret"}' '{"ay":""}' '{}'
t_json "RK and its descendants archived" 'd["result"][0]["key-count"] >= 1 and d["result"][0]["size"] > 0'
t_ok "the archive file is not empty" [ -s "$A/keys.arch" ]
t_run 1 "Backup with an empty secret" mc Backup "{\"fd_write\":\"$A/x.arch\"}" '{"ay":""}' '{"ay":""}' '{}'
t_json "... InvalidArgs" 'd["error"]=="org.tcs.Error.InvalidArgs"'
t_run 1 "Backup to a descriptor open only for reading" mc Backup "{\"fd_write_ro\":\"$A/keys.arch\"}" '{"ay":"s"}' '{"ay":""}' '{}'
t_json "... Io" 'd["error"]=="org.tcs.Error.Io"'
t_run 1 "Backup with a wrong owner secret" mc Backup "{\"fd_write\":\"$A/x.arch\"}" '{"ay":"s"}' '{"ay":"wrong"}' '{}'
t_json "... TpmAuthFailed" 'd["error"]=="org.tcs.Error.TpmAuthFailed"'
cp "$TCS_DIR/ps/system.data" "$A/ps.before"
t_run 1 "Restore with a wrong archive secret" mc Restore "{\"fd_read\":\"$A/keys.arch\"}" "{\"fd_write\":\"$A/safety0\"}" '{"ay":"nope"}' '{"ay":""}' '{"a{sv}":{"replace":["b",true]}}'
t_json "... ArchiveAuthFailed" 'd["error"]=="org.tcs.Error.ArchiveAuthFailed"'
head -c 100 "$A/keys.arch" > "$A/trunc.arch"
t_run 1 "Restore of a truncated archive" mc Restore "{\"fd_read\":\"$A/trunc.arch\"}" "{\"fd_write\":\"$A/safety0\"}" '{"ay":"arch-secret"}' '{"ay":""}' '{"a{sv}":{"replace":["b",true]}}'
t_json "... InvalidArchive" 'd["error"]=="org.tcs.Error.InvalidArchive"'
/usr/bin/python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[len(b)//2]^=1; open(sys.argv[2],"wb").write(b)' "$A/keys.arch" "$A/tamper.arch"
t_run 1 "Restore of a tampered archive" mc Restore "{\"fd_read\":\"$A/tamper.arch\"}" "{\"fd_write\":\"$A/safety0\"}" '{"ay":"arch-secret"}' '{"ay":""}' '{"a{sv}":{"replace":["b",true]}}'
t_json "... InvalidArchive" 'd["error"]=="org.tcs.Error.InvalidArchive"'
t_run 1 "Restore of an empty archive" mc Restore '{"fd_read":"/dev/null"}' "{\"fd_write\":\"$A/safety0\"}" '{"ay":"arch-secret"}' '{"ay":""}' '{}'
t_json "... InvalidArchive" 'd["error"]=="org.tcs.Error.InvalidArchive"'
t_run 1 "Restore over an existing RK without replace" mc Restore "{\"fd_read\":\"$A/keys.arch\"}" "{\"fd_write\":\"$A/safety0\"}" '{"ay":"arch-secret"}' '{"ay":""}' '{}'
t_json "... AlreadyExists" 'd["error"]=="org.tcs.Error.AlreadyExists"'
t_ok "none of that changed system persistent storage" cmp -s "$A/ps.before" "$TCS_DIR/ps/system.data"
t_run 0 "Restore dry-run" mc Restore "{\"fd_read\":\"$A/keys.arch\"}" "{\"fd_write\":\"$A/safety0\"}" '{"ay":"arch-secret"}' '{"ay":""}' '{"a{sv}":{"dry-run":["b",true]}}'
t_json "reports an existing RK" 'd["result"][0]["rk-exists"] is True and d["result"][0]["key-count"] >= 1'
t_ok "dry-run wrote no safety copy" [ ! -s "$A/safety0" ]

t_run 0 "Restore with replace" mc Restore "{\"fd_read\":\"$A/keys.arch\"}" "{\"fd_write\":\"$A/safety1\"}" '{"ay":"arch-secret"}' '{"ay":""}' '{"a{sv}":{"replace":["b",true]}}'
t_json "replaced the RK and its descendants" 'd["result"][0]["rk-exists"] and d["result"][0]["replaced-key-count"] >= 1'
t_ok "the safety copy was written" [ -s "$A/safety1" ]
if [ -x "$TCS_BUILD_DIR/cli/tpmdecrypt" ]; then
    mkdir -p "$A/out"
    t_run 0 "a file encrypted before the restore decrypts after it" env TCS_PASS=pw "$TCS_BUILD_DIR/cli/tpmdecrypt" -i "$A/enc.tpm" -C "$A/out"
fi
t_run 0 "the safety copy restores (same secret)" mc Restore "{\"fd_read\":\"$A/safety1\"}" "{\"fd_write\":\"$A/safety2\"}" '{"ay":"arch-secret"}' '{"ay":""}' '{"a{sv}":{"replace":["b",true]}}'

# ---- deleting keys
t_run 1 "DeleteKeys without criteria" mc DeleteKeys '{}' '{}'
t_json "... InvalidArgs" 'd["error"]=="org.tcs.Error.InvalidArgs"'
t_run 0 "DeleteKeys storage keys: SRK, SK and RK are never deleted" mc DeleteKeys '{"a{sv}":{"usage":["s","storage"]}}' '{}'
t_json "nothing deleted" 'd["result"]==[[]]'
t_run 0 "DeleteKeys below the RK" mc DeleteKeys '{"a{sv}":{"ancestor":["s","rk"]}}' '{}'
t_run 0 "ListKeys ancestor=rk after it" mc ListKeys '{"a{sv}":{"ancestor":["s","rk"]}}'
t_json "nothing left below the RK" 'd["result"]==[[]]'

# ---- KeysChanged
t_ok "KeysChanged was emitted for TakeOwnership, SK replacement and the restores" \
    /usr/bin/python3 -c '
import json, sys
sig = [json.loads(l) for l in open(sys.argv[1]) if l.strip() not in ("{}", "")]
reg = {u for s in sig for u in s["registered"]}
unreg = {u for s in sig for u in s["unregistered"]}
ok = "00000000-0000-0000-0000-000000000003" in reg and "00000000-0000-0000-0000-000000000002" in unreg
sys.exit(0 if ok else 1)' "$A/signals"

# ---- without a polkit authority tcsd fails closed: root only
kill "$POLKIT_PID" 2>/dev/null; wait "$POLKIT_PID" 2>/dev/null
t_run 1 "no polkit: nobody is denied DeleteKeys" mn DeleteKeys '{"a{sv}":{"algorithm":["s","rsa"]}}' '{}'
t_json "... PermissionDenied, saying polkit is not available" 'd["error"]=="org.tcs.Error.PermissionDenied" and "polkit is not available" in d["message"]'
t_run 0 "no polkit: nobody may still ListKeys (read-only)" mn ListKeys '{}'
t_run 0 "no polkit: root still may" mc ListKeys '{}'

# ---- state and clearing
t_run 1 "SetActivated needs physical presence on a running TPM" mc SetActivated false '{}'
t_json "... PhysicalPresenceRequired" 'd["error"]=="org.tcs.Error.PhysicalPresenceRequired"'
t_run 0 "SetEnabled false with the stored owner secret" mc SetEnabled false '{"ay":""}' '{}'
t_run 0 "Enabled follows" $M get Enabled
t_json "disabled" 'd["result"] is False'
t_run 0 "the stored owner secret enables a disabled TPM (no trap: it is kept unsealed meanwhile)" mc SetEnabled true '{"ay":""}' '{}'
t_run 0 "SetEnabled false again" mc SetEnabled false '{"ay":""}' '{}'
t_run 0 "SetEnabled true with the owner secret" mc SetEnabled true '{"ay":"owner2"}' '{}'
t_run 1 "ClearOwner with a wrong secret" mc ClearOwner '{"ay":"wrong"}' '{}'
t_json "... TpmAuthFailed" 'd["error"]=="org.tcs.Error.TpmAuthFailed"'
t_run 0 "ClearOwner with the stored secret" mc ClearOwner '{"ay":""}' '{}'
t_run 0 "properties after the clear" $M getall
t_json "not owned, no stored secret" 'not d["result"]["Owned"] and not d["result"]["OwnerSecretStored"]'
t_run 0 "ListKeys after the clear" mc ListKeys '{}'
t_json "system persistent storage is empty" 'd["result"]==[[]]'

if ! kill -0 "$_TCS_TCSD_PID" 2>/dev/null; then t_line fail "tcsd still runs"; tail -20 "$TCS_DIR/tcsd.log" | t_diag; fi
tcs_stop_tcsd || t_line fail "tcsd stopped cleanly"
if grep -Eq 'CRITICAL|WARNING \*\*|ERROR:|AddressSanitizer|LeakSanitizer|runtime error' "$TCS_DIR/tcsd.log"; then
    t_line fail "tcsd's log is clean"; grep -E 'CRITICAL|WARNING|ERROR:|Sanitizer|runtime error' "$TCS_DIR/tcsd.log" | head | t_diag
fi
t_done
