#!/usr/bin/env bash
# test-attack-ps.sh - system persistent storage over TCP against a local
# attacker (issue #10.3): as nobody, UnregisterKey of the SRK/SK/RK and
# RegisterKey of their UUIDs are refused, root's key cannot be unregistered,
# nobody's own keys come and go, max_registered_keys_per_user holds nobody
# (root is exempt); the owners live in state_dir/key-owners (tss, 0600).
# Then an RK substituted in system.data while tcsd is stopped: tcsd refuses
# to hand it out, tpmencrypt/tpmdecrypt/tpmcreate stop with the clear message, and
# after a legitimate RK is made again everything works.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tcs-harness.sh
. "$HERE/tcs-harness.sh"
ENC=$TCS_BUILD_DIR/cli/tpmencrypt
DEC=$TCS_BUILD_DIR/cli/tpmdecrypt
MKRK=$TCS_BUILD_DIR/tests/integration/tcs-make-rk
for b in "$TCS_BUILD_DIR/daemon/tcsd" "$ENC" "$DEC" "$MKRK"; do
    [ -x "$b" ] || { echo "SKIP: not built: $b" >&2; exit 77; }
done
tcs_require swtpm swtpm_setup swtpm_bios swtpm_ioctl setpriv tpm_takeownership python3 timeout
getent passwd nobody >/dev/null || { echo "SKIP: no user nobody" >&2; exit 77; }
tcs_harness_init || exit 1

LIMIT=4
SRK=00000000-0000-0000-0000-000000000001
SK=00000000-0000-0000-0000-000000000002
RK=00000000-0000-0000-0000-000000000003
ROOTKEY=5eed0000-0000-4000-8000-000000000001
NOPARENT=5eed0000-0000-4000-8000-0000000000ff
N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
nok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
# expect NAME WANT-REGEX GOT
expect() { if echo "$3" | grep -Eq "^($2)\$"; then ok "$1 ($3)"; else nok "$1: got '$3', want /$2/"; fi; }
ps_op() { PYTHONDONTWRITEBYTECODE=1 timeout 60 python3 "$HERE/py/ps_op.py" "$@" 2>&1; }
nobody() {
    PYTHONDONTWRITEBYTECODE=1 setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
        timeout 60 python3 "$HERE/py/ps_op.py" "$@" </dev/null 2>&1
}
registered() { ps_op blob "$1" | cut -d' ' -f1; }

export TCS_TCSD_EXTRA_CONF="max_registered_keys_per_user = $LIMIT"
tcs_start_swtpm || exit 1
tcs_start_tcsd_ours || exit 1
tcs_take_ownership || { tcs_dump_logs; exit 1; }
"$MKRK" >/dev/null || { echo "tcs-make-rk failed" >&2; tcs_dump_logs; exit 1; }
BLOB=$(ps_op blob "$RK" | cut -d' ' -f2)
[ -n "$BLOB" ] || { echo "cannot read the RK blob" >&2; exit 1; }
echo "# tcsd=127.0.0.1:$TCSD_PORT dir=$TCS_DIR"

# ---- the well-known keys
expect "root registers the SK UUID (owner_users may)" 0x0 "$(ps_op register "$SK" "$SRK" "$BLOB")"
for u in "$SRK:SRK" "$SK:SK" "$RK:RK"; do
    expect "nobody is refused UnregisterKey ${u#*:}" 0x2002 "$(nobody unregister "${u%%:*}")"
    expect "the ${u#*:} is still registered" 0x0 "$(registered "${u%%:*}")"
done
expect "nobody is refused RegisterKey over the existing RK" 0x2002 \
    "$(nobody register "$RK" "$SRK" "$BLOB")"
expect "root unregisters the SK" 0x0 "$(ps_op unregister "$SK")"
expect "nobody is refused RegisterKey of the free SK UUID" 0x2002 \
    "$(nobody register "$SK" "$SRK" "$BLOB")"
expect "the SK UUID stays free" 0x2020 "$(registered "$SK")"
expect "nobody is refused RegisterKey over the SRK (not 'already registered')" 0x2002 \
    "$(nobody register "$SRK" 00000000-0000-0000-0000-000000000000 "$BLOB")"
grep -q "refused UNREGISTERKEY of $RK from 127.0.0.1:[0-9]* (uid 65534)" "$TCS_DIR/tcsd.log" &&
    ok "the refusal is logged with the uid" || nok "no log line for the refused UnregisterKey"

# ---- ordinary keys: their owner, or owner_users
expect "root registers a key under the RK" 0x0 "$(ps_op register "$ROOTKEY" "$RK" "$BLOB")"
expect "nobody is refused UnregisterKey of root's key" 0x2002 "$(nobody unregister "$ROOTKEY")"
expect "root's key is still registered" 0x0 "$(registered "$ROOTKEY")"
expect "nobody registers its own key" 0x0 \
    "$(nobody register 5eed0000-0000-4000-8000-00000000aaaa "$RK" "$BLOB")"
expect "nobody unregisters its own key" 0x0 "$(nobody unregister 5eed0000-0000-4000-8000-00000000aaaa)"
expect "nobody registers a key whose parent is not registered" 0x0 \
    "$(nobody register 5eed0000-0000-4000-8000-00000000bbbb "$NOPARENT" "$BLOB")"
expect "nobody unregisters it" 0x0 "$(nobody unregister 5eed0000-0000-4000-8000-00000000bbbb)"
OWN=$(stat -c '%U %a' "$TCS_DIR/state/key-owners" 2>/dev/null)
expect "state_dir/key-owners is the daemon's, 0600" "(tss|root) 600" "$OWN"

# ---- the per-uid bound
expect "nobody registers $LIMIT keys, the next is refused with TSS_E_OUTOFMEMORY" "$LIMIT 0x2005" \
    "$(nobody register-many 5eed0001-0000-4000-8000 $((LIMIT + 1)) "$RK" "$BLOB")"
grep -q "max_registered_keys_per_user ($LIMIT) reached" "$TCS_DIR/tcsd.log" &&
    ok "the limit is logged" || nok "no log line for the limit"
expect "root (an owner_user) still registers beyond the bound" "$((LIMIT + 1)) 0x0" \
    "$(ps_op register-many 5eed0002-0000-4000-8000 $((LIMIT + 1)) "$RK" "$BLOB")"
expect "nobody frees one of its keys" 0x0 "$(nobody unregister 5eed0001-0000-4000-8000-000000000001)"
expect "and may register one again" 0x0 \
    "$(nobody register 5eed0001-0000-4000-8000-0000000000ff "$RK" "$BLOB")"
# the owners survive a restart (and a key nobody lost offline is forgotten)
tcs_stop_tcsd || nok "tcsd stopped cleanly"
tcs_start_tcsd_ours || exit 1
expect "after a restart nobody's keys are still counted" "0 0x2005" \
    "$(nobody register-many 5eed0003-0000-4000-8000 1 "$RK" "$BLOB")"
expect "after a restart root's key is still not nobody's" 0x2002 "$(nobody unregister "$ROOTKEY")"
expect "after a restart nobody still unregisters its own" 0x0 \
    "$(nobody unregister 5eed0001-0000-4000-8000-0000000000ff)"

# ---- an RK substituted behind tcsd's back
W=$TCS_DIR/work
mkdir -p "$W/src" && echo "root's new secret file" > "$W/src/a.txt"
cd "$W" || exit 1                                        # relative member names
cp "$TCS_DIR/ps/system.data" "$W/old-rk.data"          # holds the current RK
"$MKRK" --replace >/dev/null || nok "tcs-make-rk --replace"
if timeout 120 "$ENC" -n -o good.enc src </dev/null 2>"$W/err.txt"; then
    ok "tpmencrypt with the RK tcsd made"
else
    nok "tpmencrypt with the RK tcsd made: $(head -c 300 "$W/err.txt")"
fi
tcs_stop_tcsd || nok "tcsd stopped cleanly"
cat "$W/old-rk.data" > "$TCS_DIR/ps/system.data"        # another RK, offline
tcs_start_tcsd_ours || exit 1
expect "tcsd refuses to hand out the substituted RK (TCS_E_KEY_MISMATCH)" 0x20c8 "$(registered "$RK")"
timeout 120 "$ENC" -n -o bad.enc src </dev/null 2>"$W/err.txt"; rc=$?
if [ "$rc" = 4 ] && grep -q "the RK registered in system PS is not the one tcsd recorded when it was created" "$W/err.txt" &&
    [ ! -e "$W/bad.enc" ]; then
    ok "tpmencrypt refuses the substituted RK (exit 4: $(head -c 120 "$W/err.txt"))"
else
    nok "tpmencrypt with the substituted RK: exit $rc, $(head -c 300 "$W/err.txt")"
fi
mkdir -p "$W/out1"
timeout 120 "$DEC" -i "$W/good.enc" -C "$W/out1" </dev/null 2>"$W/err.txt"; rc=$?
if [ "$rc" = 4 ] && grep -q "not the one tcsd recorded" "$W/err.txt"; then
    ok "tpmdecrypt refuses the substituted RK too (exit 4)"
else
    nok "tpmdecrypt with the substituted RK: exit $rc, $(head -c 300 "$W/err.txt")"
fi
if [ -x "$TCS_BUILD_DIR/cli/tpmcreate" ]; then
    timeout 120 "$TCS_BUILD_DIR/cli/tpmcreate" -k 512 "$W/bad.blob" </dev/null 2>"$W/err.txt"; rc=$?
    if [ "$rc" != 0 ] && grep -q "not the one tcsd recorded" "$W/err.txt"; then
        ok "tpmcreate refuses the substituted RK (exit $rc)"
    else
        nok "tpmcreate with the substituted RK: exit $rc, $(head -c 300 "$W/err.txt")"
    fi
fi
grep -q "is not the one tcsd recorded when it was created" "$TCS_DIR/tcsd.log" &&
    ok "tcsd logs the substitution" || nok "no log line for the substituted RK"
# a legitimate RK again: made through tcsd by an owner_user
"$MKRK" --replace >/dev/null || nok "tcs-make-rk --replace (repair)"
mkdir -p "$W/out2"
if timeout 120 "$ENC" -n -o new.enc src </dev/null 2>"$W/err.txt" &&
    timeout 120 "$DEC" -i "$W/new.enc" -C "$W/out2" </dev/null 2>>"$W/err.txt" &&
    cmp -s "$W/src/a.txt" "$W/out2/src/a.txt"; then
    ok "with a new RK made through tcsd, tpmencrypt/tpmdecrypt round trip"
else
    nok "round trip with the new RK: $(head -c 300 "$W/err.txt")"
fi

if ! kill -0 "$_TCS_TCSD_PID" 2>/dev/null; then nok "tcsd is alive"; fi
tcs_stop_tcsd || nok "tcsd stopped cleanly"

# ---- a damaged key-owners file stops tcsd rather than losing the owners
OWNERS=$TCS_DIR/state/key-owners
cp -p "$OWNERS" "$W/key-owners.good"
echo "key not-a-uuid 0" >> "$OWNERS"
# in the foreground: it listens before it reads the stores, then exits
timeout 60 "$TCS_BUILD_DIR/daemon/tcsd" -f -c "$TCS_DIR/tcsd.conf" </dev/null >"$W/start.log" 2>&1; rc=$?
if [ "$rc" = 1 ] && grep -q "bad line 'key not-a-uuid 0'" "$W/start.log"; then
    ok "a damaged key-owners file stops tcsd (exit 1), naming the line"
else
    nok "tcsd over a damaged key-owners file: exit $rc, $(tail -n 2 "$W/start.log")"
fi
cp -p "$W/key-owners.good" "$OWNERS"
tcs_start_tcsd_ours || exit 1
expect "with the file back, root's key is still not nobody's" 0x2002 "$(nobody unregister "$ROOTKEY")"
tcs_stop_tcsd || nok "tcsd stopped cleanly"
if grep -Eq 'CRITICAL|ERROR:|AddressSanitizer|LeakSanitizer|runtime error' "$TCS_DIR/tcsd.log"; then
    nok "tcsd's log is clean: $(grep -E 'CRITICAL|ERROR:|Sanitizer|runtime error' "$TCS_DIR/tcsd.log" | head -3)"
fi
echo "1..$N"
[ "$FAILED" = 0 ]
