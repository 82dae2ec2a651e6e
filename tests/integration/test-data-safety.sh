#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-data-safety.sh - issue #11: no command may lose a secret or a key.
#   1a tcsd with a state_dir user tss cannot use exits at start, naming it
#   1b a state dir that becomes unusable: TakeOwnership changes nothing; a
#      store that fails after TPM_TakeOwnership hands the generated secret
#      back (tpmctl prints it) and that secret works
#   3  addkey rk over an RK writes a safety archive, whose restore brings the
#      old RK back: a file encrypted under it decrypts again
#   4  takeownership (stored secret), disable, then enable, changepwd and
#      clear all work with the stored secret, across a tcsd restart
#   5  an SRK with a password (tpm_takeownership without -z): addkey rk,
#      tpmcreate, tpmencrypt/tpmdecrypt, engine, provider, backup, restore
#      with the SRK password from TPM_SRK_PASSWD, an option, D-Bus
# TAP on stdout; exit 77 when tools are missing.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tcs-harness.sh"
. "$HERE/test-manager-lib.sh"
tcs_require swtpm swtpm_setup dbus-daemon setpriv tpm_takeownership openssl /usr/bin/python3
/usr/bin/python3 -c 'import dbus' 2>/dev/null || { echo "1..0 # SKIP python3-dbus"; exit 77; }
B=$TCS_BUILD_DIR
for f in daemon/tcsd cli/tpmctl cli/tpmadm cli/tpmencrypt cli/tpmdecrypt cli/tpmcreate engine/tpm.so engine/provider/tpm.so; do
    [ -e "$B/$f" ] || { echo "1..0 # SKIP $f not built"; exit 77; }
done
getent passwd tss >/dev/null || { echo "1..0 # SKIP no tss user"; exit 77; }
M="/usr/bin/python3 $HERE/py/manager.py"
PTY=(/usr/bin/python3 "$HERE/test-manager-pty.py")
export PATH=$B/cli:$PATH
export OPENSSL_ENGINES=$B/engine
tcs_engine_preload
ENG=(-engine tpm -keyform engine)
PROV=(-provider-path "$B/engine/provider" -provider tpm -provider default)
unset TPM_PASSWD TCS_PASS TPM_NEW_PASSWD TPM_SRK_PASSWD

tcs_harness_init || exit 1
chmod 0755 "$TCS_DIR"
W=$TCS_DIR/work; mkdir -p "$W" "$TCS_DIR/tmp"; chmod 1777 "$TCS_DIR/tmp"
export TMPDIR=$TCS_DIR/tmp
cd "$W" || exit 1
tm_start_bus || exit 1
STATE=$TCS_DIR/state

# a new TPM and a tcsd with an empty state directory and store
stop_tcsd() { # a sanitizer report or a bad exit fails the test
    tcs_stop_tcsd; local rc=$?
    t_ok "tcsd exited cleanly" [ "$rc" = 0 ]
    ! grep -q "runtime error\|Sanitizer" "$TCS_DIR/tcsd.log" || { t_line fail "sanitizer report in tcsd.log"; grep -m5 "runtime error\|Sanitizer" "$TCS_DIR/tcsd.log" | t_diag; }
}
fresh() {
    [ -n "${_TCS_TCSD_PID:-}" ] && stop_tcsd
    [ -n "${SWTPM_PORT:-}" ] && tcs_stop_swtpm
    rm -rf "$STATE" "$TCS_DIR/ps"
    tcs_start_swtpm || return 1
    TCS_TCSD_DBUS=yes tcs_start_tcsd_ours || return 1
    tm_wait_name org.tcs.Manager
}
prop() { $M getall | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['result']['$1'])"; }

# ---------------------------------------------------------------- 1a
tcs_start_swtpm || exit 1
TCSD_PORT=$(tcs_free_port)
_tcs_write_conf ours
mkdir -m 0700 "$TCS_DIR/locked"
sed "s|^state_dir = .*|state_dir = $TCS_DIR/locked/state|" "$TCS_DIR/tcsd.conf" > "$TCS_DIR/locked.conf"
chown root:tss "$TCS_DIR/locked.conf"; chmod 0640 "$TCS_DIR/locked.conf"
T_OUT=$(timeout 30 "$B/daemon/tcsd" -f -c "$TCS_DIR/locked.conf" 2>&1 </dev/null); T_RC=$?
t_ok "1a: tcsd with a state_dir tss cannot reach exits at start (rc $T_RC)" [ "$T_RC" != 0 ] && [ "$T_RC" != 124 ]
t_grep "1a: ... naming the path and the fix" "state_dir $TCS_DIR/locked/state is not usable by user tss.*search \(x\) access"
tcs_stop_swtpm

# ---------------------------------------------------------------- 1b
fresh || exit 1
chmod 0500 "$STATE"
t_run 1 "1b: TakeOwnership with a read-only state dir fails" $M call TakeOwnership '{"ay":""}' '{"ay":""}' '{}'
t_json "1b: ... as org.tcs.Error.Io, saying nothing changed" 'd["error"] == "org.tcs.Error.Io" and "nothing was changed" in d["message"]'
t_ok "1b: ... and the TPM stays unowned" [ "$(prop Owned)" = False ]
chmod 0750 "$STATE"
# storing fails after the check passed: owner-secret cannot replace a directory
mkdir "$STATE/owner-secret"
t_run 0 "1b: tpmctl takeownership whose store fails afterwards succeeds" tpmctl takeownership
t_grep "1b: ... and prints the generated secret with a warning" 'WARNING: the TPM owner secret \(20 bytes, hex\) is [0-9a-f]{40}' "$T_ERR"
HEX=$(printf '%s\n' "$T_ERR" | sed -n 's/.*hex) is \([0-9a-f]\{40\}\).*/\1/p')
rmdir "$STATE/owner-secret"
t_run 0 "1b: the printed secret works: changepwd --owner-secret-hex" \
    env TPM_NEW_PASSWD=owner123 tpmctl changepwd --owner-secret-hex="$HEX"
t_run 0 "1b: ... and the new password clears the TPM" env TPM_PASSWD=owner123 tpmctl clear --yes
# the same for ChangeOwnerSecret: a generated new secret that cannot be stored comes back
fresh || exit 1
t_run 0 "1b: takeownership with a known, unstored password" \
    env TPM_PASSWD=owner456 tpmctl takeownership --no-store --no-storage-keys
mkdir "$STATE/owner-secret"
t_run 0 "1b: changepwd to a random secret whose store fails succeeds" \
    env TPM_PASSWD=owner456 tpmctl changepwd --new-secret-random
t_grep "1b: ... and prints the generated secret with a warning" 'WARNING: the TPM owner secret \(20 bytes, hex\) is [0-9a-f]{40}' "$T_ERR"
HEX=$(printf '%s\n' "$T_ERR" | sed -n 's/.*hex) is \([0-9a-f]\{40\}\).*/\1/p')
rmdir "$STATE/owner-secret"
t_run 0 "1b: the printed secret clears the TPM" tpmctl clear --yes --owner-secret-hex="$HEX"

# ---------------------------------------------------------------- 3
fresh || exit 1
t_run 0 "3: tpmctl takeownership (random, stored)" tpmctl takeownership
echo "the old RK's file" > plain3; mkdir -p out3 out5 out5b
t_run 0 "3: tpmencrypt a file under the RK" env TCS_PASS=p3 tpmencrypt -o f3.enc plain3
t_run 1 "3: CreateStorageKey rk, replace, without a safety copy is refused" \
    $M call CreateStorageKey '"rk"' '{"ay":""}' '{"a{sv}":{"replace":["b",true]}}'
t_json "3: ... as InvalidArgs naming safety-copy" 'd["error"] == "org.tcs.Error.InvalidArgs" and "safety-copy" in d["message"]'
t_run 0 "3: tpmadm addkey key=rk yes secret=S replaces the RK" tpmadm addkey key=rk yes secret=safety-3
t_grep "3: ... and says where the safety copy is" "saved in $TMPDIR/[A-Za-z]{8}"
SAFETY=$(printf '%s\n' "$T_OUT" | sed -n "s|.*saved in \($TMPDIR/[A-Za-z]\{8\}\).*|\1|p" | head -1)
t_ok "3: the safety copy exists and is not empty" [ -s "$SAFETY" ]
t_run 7 "3: the file does not decrypt under the new RK" env TCS_PASS=p3 tpmdecrypt -i f3.enc -C out3 -f
t_run 0 "3: tpmadm restore of the safety copy" tpmadm restore filename="$SAFETY" secret=safety-3 yes
t_run 0 "3: the file decrypts again" env TCS_PASS=p3 tpmdecrypt -i f3.enc -C out3 -f
t_ok "3: ... to its content" cmp -s plain3 out3/plain3

# ---------------------------------------------------------------- 4
fresh || exit 1
t_run 0 "4: tpmctl takeownership (random, stored)" tpmctl takeownership
t_run 0 "4: tpmctl disable (stored secret)" tpmctl disable
t_ok "4: ... the TPM is disabled" [ "$(prop Enabled)" = False ]
stop_tcsd; TCS_TCSD_DBUS=yes tcs_start_tcsd_ours && tm_wait_name org.tcs.Manager
t_run 0 "4: after a tcsd restart, tpmctl enable works with the stored secret" tpmctl enable
t_ok "4: ... the TPM is enabled" [ "$(prop Enabled)" = True ]
t_ok "4: ... and the unsealed copy is gone again" [ ! -e "$STATE/owner-secret.unsealed" ]
t_run 0 "4: disable again" tpmctl disable
t_run 6 "4: changepwd while disabled: the TPM refuses it (TPM_DISABLED)" env TPM_NEW_PASSWD=owner44 tpmctl changepwd
t_grep "4: ... and tcsd says to enable the TPM first" 'enable the TPM first' "$T_ERR"
t_run 0 "4: enable with the stored secret" tpmctl enable
t_run 0 "4: changepwd with the stored secret" env TPM_NEW_PASSWD=owner44 tpmctl changepwd
t_ok "4: ... the new secret is stored" [ "$(prop OwnerSecretStored)" = True ]
t_run 0 "4: ... and it is the TPM's: changepwd with it given" \
    env TPM_PASSWD=owner44 TPM_NEW_PASSWD=owner45 tpmctl changepwd
t_run 0 "4: disable once more" tpmctl disable
t_run 0 "4: enable with the stored (changed) secret" tpmctl enable
t_run 0 "4: clear with the stored secret" tpmctl clear --yes
t_ok "4: ... the TPM is unowned and no secret is stored" \
    [ "$(prop Owned)" = False ] && [ "$(prop OwnerSecretStored)" = False ]
t_ok "4: ... no copy of it is left" [ ! -e "$STATE/owner-secret.unsealed" ] && [ ! -e "$STATE/owner-secret" ]

# ---------------------------------------------------------------- 5
fresh || exit 1
SRKPW=srk-pass5
t_run 0 "5: tpm_takeownership -y with an SRK password" "${PTY[@]}" \
    "Enter SRK password: " "$SRKPW" "Confirm password: " "$SRKPW" -- tpm_takeownership -y
t_run 5 "5: tpmctl addkey rk without the SRK password: TpmAuthFailed" tpmctl addkey rk
t_run 0 "5: tpmctl addkey rk --srk-passwd" tpmctl addkey rk --srk-passwd="$SRKPW"
t_run 0 "5: tpmadm addkey key=sk srkpasswd=" tpmadm addkey key=sk srkpasswd="$SRKPW"
t_run 1 "5: tpmcreate without the SRK password fails" tpmcreate k5.blob
t_grep "5: ... saying so" 'refused the SRK secret.*TPM_SRK_PASSWD' "$T_ERR"
t_run 0 "5: tpmcreate with TPM_SRK_PASSWD" env TPM_SRK_PASSWD="$SRKPW" tpmcreate --public-pem k5.pub k5.blob
echo data5 > data5
t_run 0 "5: the engine signs with it (TPM_SRK_PASSWD)" \
    env TPM_SRK_PASSWD="$SRKPW" openssl dgst -sha256 -sign k5.blob "${ENG[@]}" -out k5.sig data5
t_run 0 "5: ... verifiably" openssl dgst -sha256 -verify k5.pub -signature k5.sig data5
t_run 0 "5: the provider signs with it (TPM_SRK_PASSWD)" \
    env TPM_SRK_PASSWD="$SRKPW" openssl dgst -sha256 -sign k5.blob "${PROV[@]}" -out k5p.sig data5
t_run 0 "5: ... verifiably" openssl dgst -sha256 -verify k5.pub -signature k5p.sig data5
t_run 5 "5: tpmencrypt without the SRK password: exit 5" env TCS_PASS=p5 tpmencrypt -o f5.enc data5
t_run 0 "5: tpmencrypt with TPM_SRK_PASSWD" env TPM_SRK_PASSWD="$SRKPW" TCS_PASS=p5 tpmencrypt -o f5.enc data5
t_run 0 "5: tpmdecrypt with TPM_SRK_PASSWD" env TPM_SRK_PASSWD="$SRKPW" TCS_PASS=p5 tpmdecrypt -i f5.enc -C out5
t_ok "5: ... to its content" cmp -s data5 out5/data5
t_run 1 "5: Backup over D-Bus without the SRK secret fails" \
    $M call Backup "{\"fd_write\":\"$W/b5-bad\"}" '{"ay":"arch5"}' '{"ay":""}' '{"a{sv}":{"owner-secret-mode":["s","well-known"]}}'
t_json "5: ... with TpmAuthFailed" 'd["error"] == "org.tcs.Error.TpmAuthFailed"'
t_run 0 "5: Backup over D-Bus with the srk-secret option" \
    $M call Backup "{\"fd_write\":\"$W/b5\"}" '{"ay":"arch5"}' '{"ay":""}' \
    "{\"a{sv}\":{\"owner-secret-mode\":[\"s\",\"well-known\"],\"srk-secret\":[\"ay\",\"$SRKPW\"]}}"
t_run 0 "5: tpmadm backup with TPM_SRK_PASSWD" \
    env TPM_SRK_PASSWD="$SRKPW" tpmadm backup filename="$W/b5b" secret=arch5 wellknownowner
t_run 0 "5: tpmadm restore with srkpasswd= (replacing the RK)" \
    tpmadm restore filename="$W/b5" secret=arch5 wellknownowner srkpasswd="$SRKPW" yes
t_run 0 "5: tpmencrypt's file still decrypts (the same RK came back)" \
    env TPM_SRK_PASSWD="$SRKPW" TCS_PASS=p5 tpmdecrypt -i f5.enc -C out5b
t_run 0 "5: tpmctl addkey rk --replace with the SRK password and a safety copy" \
    tpmctl addkey rk --replace --srk-passwd="$SRKPW" --secret=s5 --well-known-owner
t_grep "5: ... which it names" "saved in $TMPDIR/"
stop_tcsd

t_done
