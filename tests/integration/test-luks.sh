#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-luks.sh - tpmluks and libcryptsetup-token-tcs.so on file-backed LUKS2
# images against a private swtpm + tcsd: enroll / list / open through
# cryptsetup (--token-only, --token-type tcs) / remove; PIN tokens; PCR-bound
# tokens; and every bad input with a clear error and the header unchanged:
# no RK, wrong passphrase, tcsd unreachable, wrong PIN and the TPM's
# dictionary-attack lockout, PCR mismatch, RK replaced or missing, damaged
# and malicious tokens, no free token slot (the keyslot taken back).
# The plugin is shown to libcryptsetup in a private mount namespace.
# TAP on stdout; exit 77 when something needed is missing.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tcs-harness.sh"
. "$HERE/test-manager-lib.sh"
. "$HERE/luks-lib.sh"
luks_enter_namespace "$0" "$@"
tcs_require swtpm swtpm_setup tpm_takeownership cryptsetup truncate /usr/bin/python3
MKRK=$TCS_BUILD_DIR/tests/integration/tcs-make-rk
EXTEND=$TCS_BUILD_DIR/tests/integration/tcs-pcr-extend
for f in "$TPMLUKS" "$LUKS_PLUGIN" "$MKRK" "$EXTEND"; do
    [ -e "$f" ] || { echo "1..0 # SKIP not built: $f"; exit 77; }
done

tcs_harness_init || exit 1
W=$TCS_DIR/work; mkdir -p "$W"; cd "$W" || exit 1
luks_install_plugin || { echo "1..0 # SKIP cannot bind-mount the plugin directory"; exit 77; }
tcs_start_swtpm || exit 1
tcs_start_tcsd ours || exit 1
tcs_take_ownership || { tcs_dump_logs; exit 1; }
unset TPMLUKS_PIN

printf 'correct horse' > pass
printf 'wrong horse' > wrong
luks_format img pass || { echo "Bail out! luksFormat failed"; exit 1; }
echo "# tcsd=127.0.0.1:$TCSD_PORT dir=$TCS_DIR"

# ---------------------------------------------------------------- no RK, bad input to enroll
t_fail_same "enroll without an RK: says how to create one" 4 "no roaming key.*tpmadm addkey key=rk" img \
    "$TPMLUKS" enroll img --key-file pass
t_run 0 "an RK (tcs-make-rk)" "$MKRK"
t_fail_same "enroll with a wrong passphrase" 5 "no keyslot opens with that passphrase" img \
    "$TPMLUKS" enroll img --key-file wrong
t_fail_same "enroll with tcsd unreachable" 3 "cannot reach tcsd at .*Connection refused" img \
    env TSS_TCSD_PORT="$(tcs_free_port)" "$TPMLUKS" enroll img --key-file pass
t_fail_same "enroll --pin without a PIN source (no terminal)" 5 "PIN:" img \
    "$TPMLUKS" enroll img --pin --key-file pass
t_run 2 "enroll --pcrs with a bad list" "$TPMLUKS" enroll img --pcrs 7,7 --key-file pass
t_run 2 "enroll --pcrs 24 is out of range" "$TPMLUKS" enroll img --pcrs 24 --key-file pass
printf 'not luks' > notluks; truncate -s 1M notluks
t_run 6 "enroll on a file that is not LUKS2" "$TPMLUKS" enroll notluks --key-file pass

# ---------------------------------------------------------------- enroll, open, list, remove
t_run 0 "enroll (RK, no PIN)" "$TPMLUKS" enroll img --key-file pass
t_grep "... token 0 for keyslot 1" '^token 0: keyslot 1, bound below the RK$'
t_run 0 "list" "$TPMLUKS" list img
t_grep "... shows the token" '^token 0: keyslot 1, parent rk, PIN no, PCRs none$'
t_run 0 "cryptsetup luksDump shows the plugin's dump" cryptsetup luksDump img
t_grep "... the parent and PIN lines" 'tcs parent: RK \(roaming\)'
t_run 0 "cryptsetup open --test-passphrase --token-only opens through the token" luks_open img
t_grep "... with keyslot 1" 'Key slot 1 unlocked|^$'
t_run 0 "... --token-type tcs" luks_open img --token-type tcs
t_run 0 "... --token-id 0" luks_open img --token-id 0
t_fail_same "open with tcsd unreachable: clear error" 1 "tcs token 0: cannot reach tcsd" img \
    env TSS_TCSD_PORT="$(tcs_free_port)" cryptsetup open --test-passphrase --token-only img
t_run 0 "the passphrase still opens" cryptsetup open --test-passphrase --key-file pass img

# ---------------------------------------------------------------- PIN
t_run 0 "enroll --pin (TPMLUKS_PIN)" env TPMLUKS_PIN=2468 "$TPMLUKS" enroll img --pin --key-file pass
t_grep "... token 1, keyslot 2, with a PIN" '^token 1: keyslot 2, bound below the RK, with a PIN$'
t_run 0 "the PIN token opens with the PIN (cryptsetup asks for it)" \
    sh -c 'printf 2468 | timeout 120 cryptsetup open --test-passphrase --token-only --token-id 1 img'
t_fail_same "a wrong PIN: clear error" 1 "tcs token 1: wrong PIN" img \
    sh -c 'printf 1357 | timeout 120 cryptsetup open --test-passphrase --token-only --token-id 1 --tries 1 img'
t_fail_same "no PIN given: the token asks, nothing opens" 1 "" img \
    cryptsetup open --test-passphrase --token-only --token-id 1 --tries 1 img
# the TPM's dictionary-attack defence: wrong PINs until it locks out (libtpms
# counts failures and refuses authorisation for a while)
locked=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    printf 9999 | timeout 120 cryptsetup open --test-passphrase --token-only --token-id 1 --tries 1 img \
        >/dev/null 2>"$W/da.err"
    if grep -q 'dictionary-attack lockout' "$W/da.err"; then locked=$i; break; fi
done
if [ "$locked" != 0 ]; then
    t_line ok "repeated wrong PINs: the TPM's lockout is reported (after $locked more)"
    t_diag < "$W/da.err"
    # end the lockout for the rest of the test: a TPM restart clears it
    tcs_power_cycle >/dev/null 2>&1 || true
else
    t_line fail "repeated wrong PINs never reported the lockout"; t_diag < "$W/da.err"
fi

# ---------------------------------------------------------------- PCRs
"$EXTEND" 16 setup >/dev/null || t_line fail "PCR 16 extends"
t_run 0 "enroll --pcrs 16 (bound to PCR 16's value now)" "$TPMLUKS" enroll img --pcrs 16 --key-file pass
t_grep "... token 2 with PCRs 16" '^token 2: keyslot 3, bound below the RK, PCRs 16$'
t_run 0 "the PCR-bound token opens while PCR 16 is unchanged" luks_open img --token-id 2
t_run 0 "PCR 16 changes (TPM_Extend)" "$EXTEND" 16
t_fail_same "PCR mismatch: clear error" 1 "tcs token 2: the TPM's PCRs 16 differ from their values at enrolment" img \
    cryptsetup open --test-passphrase --token-only --token-id 2 img
t_run 0 "the RK token still opens" luks_open img --token-id 0
t_run 0 "remove --token 2" "$TPMLUKS" remove img --token 2
t_grep "... wipes keyslot 3 and the token" 'token 2 removed'

# ---------------------------------------------------------------- damaged and malicious tokens
cryptsetup token export --token-id 0 img > tok0.json
# a modified token 0 put in place (--token-replace) as an attacker would, without
# the plugin's validation (--disable-external-tokens); the plugin must refuse it
# at open; then the original goes back
tamper() { # NAME REGEX PYTHON-EXPR(t: the token dict)
    /usr/bin/python3 -c "import json,sys; t=json.load(open('tok0.json')); $3; sys.stdout.write(json.dumps(t))" > bad.json
    if ! cryptsetup token import --disable-external-tokens --token-id 0 --token-replace \
            --json-file bad.json img 2>"$W/imp.err"; then
        t_line fail "$1: cannot import the crafted token"; t_diag < "$W/imp.err"; return
    fi
    t_fail_same "$1" 1 "$2" img cryptsetup open --test-passphrase --token-only --token-id 0 img
    cryptsetup token import --token-id 0 --token-replace --json-file tok0.json img ||
        t_line fail "the original token goes back"
}
tamper "damaged bound data (a flipped byte)" "bound data does not decrypt|damaged" \
    "b=bytearray.fromhex(t['tcs-bound']); b[100]^=1; t['tcs-bound']=b.hex()"
tamper "damaged key blob (a flipped byte in encData)" "does not load|damaged|invalid:" \
    "b=bytearray.fromhex(t['tcs-key']); b[-10]^=1; t['tcs-key']=b.hex()"
tamper "key blob truncated" "invalid: .*tcs-key" "t['tcs-key']=t['tcs-key'][:-2]"
tamper "key blob not hex" "invalid: .*not hex" "t['tcs-key']='zz'+t['tcs-key'][2:]"
tamper "bound data too long" "invalid: .*tcs-bound.*bad length" "t['tcs-bound']='00'*600"
tamper "odd-length hex" "invalid: .*bad length" "t['tcs-bound']=t['tcs-bound'][:-1]"
tamper "huge key blob" "invalid: .*tcs-key.*bad length" "t['tcs-key']='00'*2100"
tamper "unknown version" "invalid: .*tcs-version" "t['tcs-version']=2"
tamper "version as a string" "invalid: .*tcs-version" "t['tcs-version']='1'"
tamper "parent neither rk nor sk" "invalid: .*tcs-parent" "t['tcs-parent']='srk'"
tamper "fingerprint too short" "invalid: .*fingerprint.*bad length" "t['tcs-parent-fingerprint']='00'"
tamper "PIN flag not a boolean" "invalid: .*tcs-pin" "t['tcs-pin']=0"
tamper "PCR index out of range" "invalid: .*tcs-pcrs" "t['tcs-pcrs']=[99]"
tamper "PCR list nested" "invalid: .*does not parse" "t['tcs-pcrs']=[[[[1]]]]"
tamper "a field missing" "invalid: .*tcs-bound" "del t['tcs-bound']"
/usr/bin/python3 -c "import json,sys; t=json.load(open('tok0.json')); t['tcs-key']='zz'; sys.stdout.write(json.dumps(t))" > bad.json
t_run 1 "with the plugin, cryptsetup token import refuses a bad token (validate)" \
    cryptsetup token import --token-id 0 --token-replace --json-file bad.json img
t_grep "... naming the cause" 'tcs token: invalid: "tcs-key" is not hex' "$T_ERR"
tamper "another parent's fingerprint" "enrolled with another roaming key" "t['tcs-parent-fingerprint']='ab'*32"
t_run 0 "the original token opens again" luks_open img --token-id 0
# an unprivileged user crafts a token into an image of their own; root opens it
chmod 0755 "$TCS_DIR" "$W"
cp img evil.img && chown nobody:nogroup evil.img
/usr/bin/python3 -c "import json,sys; t=json.load(open('tok0.json')); t['tcs-key']='00'*2048; t['tcs-pcrs']=list(range(30)); sys.stdout.write(json.dumps(t))" > evil.json
chmod 0644 evil.json
if as_nobody cryptsetup token import --disable-locks --disable-external-tokens --token-id 0 \
        --token-replace --json-file evil.json evil.img 2>"$W/nobody.err"; then
    t_fail_same "a token user nobody crafted: root's open refuses it" 1 "invalid: \"tcs-key\" is not a TPM bind key blob" \
        evil.img cryptsetup open --test-passphrase --token-only evil.img
else
    t_skip "a token user nobody crafted" "nobody cannot run cryptsetup here: $(head -c 200 "$W/nobody.err")"
fi

# ---------------------------------------------------------------- RK replaced or missing
t_run 0 "the RK is replaced (tcs-make-rk --replace)" "$MKRK" --replace
t_fail_same "RK replaced: the token refuses clearly" 1 "tcs token 0: this token was enrolled with another roaming key" img \
    cryptsetup open --test-passphrase --token-only --token-id 0 img
t_run 0 "the RK is removed (tcs-make-rk --remove)" "$MKRK" --remove
t_fail_same "RK missing: the token refuses clearly" 1 "tcs token 0: no roaming key .* is registered" img \
    cryptsetup open --test-passphrase --token-only --token-id 0 img
t_run 0 "a new RK" "$MKRK"

# ---------------------------------------------------------------- remove
t_run 2 "remove without --token when there are two" "$TPMLUKS" remove img
t_run 6 "remove --token 5 (no such token)" "$TPMLUKS" remove img --token 5
t_run 0 "remove --token 1" "$TPMLUKS" remove img --token 1
t_run 0 "remove (the only one left)" "$TPMLUKS" remove img
t_run 0 "list: none" "$TPMLUKS" list img
t_grep "... no tcs tokens" '^no tcs tokens$'
keyslots() { luks_json "$1" | /usr/bin/python3 -c 'import json,sys; print(",".join(sorted(json.load(sys.stdin)["keyslots"])))'; }
t_ok "only keyslot 0 (the passphrase) is left" [ "$(keyslots img)" = 0 ]
t_run 0 "the passphrase still opens" cryptsetup open --test-passphrase --key-file pass img
t_run 0 "enroll again" "$TPMLUKS" enroll img --key-file pass
t_run 0 "the passphrase keyslot is removed by hand (cryptsetup luksKillSlot 0)" \
    cryptsetup luksKillSlot -q img 0
t_fail_same "remove refuses to leave no keyslot" 8 "would leave no keyslot" img "$TPMLUKS" remove img

# ---------------------------------------------------------------- no free token slot
luks_format img2 pass
for i in $(seq 0 31); do
    printf '{"type":"filler","keyslots":[]}' > filler.json
    cryptsetup token import --token-id "$i" --json-file filler.json img2 2>/dev/null || break
done
before=$(luks_json img2)
t_run 8 "enroll with every token slot taken: refused" "$TPMLUKS" enroll img2 --key-file pass
t_grep "... keyslot removed again" 'cannot write the token .*keyslot 1 removed again' "$T_ERR"
t_ok "... the metadata is as before (no keyslot without its token)" [ "$before" = "$(luks_json img2)" ]
tcs_stop_tcsd || t_line fail "tcsd stopped cleanly"
t_done
