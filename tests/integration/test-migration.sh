#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-migration.sh - the TCS cluster story across three swtpm "hosts", each
# with its own tcsd serving org.tcs.Manager on its own private bus:
#   A: TakeOwnership (SK, RK), keys below the RK (a tpmcreate key, a
#      tpmencrypt key registered with -d, one kept in the encrypted file),
#      Backup.
#   B: owned with tpm-tools, its own RK (CreateStorageKey) and a file;
#      Restore of A's archive replaces it, writing a safety copy; A's keys
#      sign and decrypt on B; the safety copy brings B's old keys back.
#   C: fresh, owned with tpm-tools: Restore of A's archive; A's keys work.
# TAP on stdout; exit 77 when a tool is missing.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tcs-harness.sh"
. "$HERE/test-manager-lib.sh"
tcs_require swtpm swtpm_setup dbus-daemon tpm_takeownership openssl /usr/bin/python3
B=$TCS_BUILD_DIR
for f in daemon/tcsd cli/tpmencrypt cli/tpmdecrypt cli/tpmcreate engine/tpm.so; do
    [ -e "$B/$f" ] || { echo "1..0 # SKIP $f not built"; exit 77; }
done
/usr/bin/python3 -c 'import dbus' 2>/dev/null || { echo "1..0 # SKIP python3-dbus"; exit 77; }
M="/usr/bin/python3 $HERE/py/manager.py"
export OPENSSL_ENGINES=$B/engine
tcs_engine_preload
ENG=(-engine tpm -keyform engine)

tcs_harness_init || exit 1
W=$TCS_DIR/work; mkdir -p "$W"; cd "$W" || exit 1

# start_bus NAME: a private bus in $TCS_DIR/NAME (tm_start_bus keeps its files under $TCS_DIR)
start_bus() {
    local saved=$TCS_DIR
    mkdir -p "$TCS_DIR/$1"
    TCS_DIR=$TCS_DIR/$1 tm_start_bus; local rc=$?
    TCS_DIR=$saved
    return $rc
}
# on HOST-PORT BUS CMD...: run a client against one host's tcsd and bus
on() {
    local port=$1 bus=$2
    shift 2
    env TSS_TCSD_PORT="$port" DBUS_SYSTEM_BUS_ADDRESS="$bus" "$@"
}
wait_manager() { DBUS_SYSTEM_BUS_ADDRESS=$1 tm_wait_name org.tcs.Manager; }

# ---------------------------------------------------------------- host A
start_bus busA || exit 1
BUS_A=$DBUS_SYSTEM_BUS_ADDRESS
tcs_start_swtpm || exit 1
TCS_TCSD_DBUS=yes tcs_start_tcsd_ours || exit 1
PORT_A=$TCSD_PORT
wait_manager "$BUS_A" || { tcs_log "host A: no org.tcs.Manager"; exit 1; }
t_run 0 "A: TakeOwnership (SRK, SK, RK)" on "$PORT_A" "$BUS_A" $M call TakeOwnership '{"ay":"ownerA"}' '{"ay":""}' '{}'
t_run 0 "A: tpmcreate a key below the RK" on "$PORT_A" "$BUS_A" "$B/cli/tpmcreate" --public-pem a.pub a.blob
head -c 5000 /dev/urandom > data
t_run 0 "A: the key signs through the engine" on "$PORT_A" "$BUS_A" openssl dgst -sha256 -sign a.blob "${ENG[@]}" -out a.sig data
t_run 0 "A: the signature verifies" openssl dgst -sha256 -verify a.pub -signature a.sig data
mkdir -p tree/sub; echo "secret of A" > tree/sub/note; echo "registered on A" > regfile
t_run 0 "A: tpmencrypt, key kept in the file" on "$PORT_A" "$BUS_A" env TCS_PASS=pa "$B/cli/tpmencrypt" -o a-file.enc tree
t_run 0 "A: tpmencrypt -d, key registered below the RK" on "$PORT_A" "$BUS_A" env TCS_PASS=pa "$B/cli/tpmencrypt" -d -o a-reg.enc regfile
t_run 0 "A: Backup" on "$PORT_A" "$BUS_A" $M call Backup '{"fd_write":"'"$W/a.arch"'"}' '{"ay":"cluster secret"}' '{"ay":""}' '{}'
t_json "A: the RK and the registered key are archived" 'd["result"][0]["key-count"] == 2'

# ---------------------------------------------------------------- host B
start_bus busB || exit 1
BUS_B=$DBUS_SYSTEM_BUS_ADDRESS
TCS_TCSD_DBUS=yes tcs_start_peer ours || exit 1
PORT_B=$TCS_PEER_TCSD_PORT
wait_manager "$BUS_B" || { tcs_log "host B: no org.tcs.Manager"; exit 1; }
t_run 1 "B: A's key does not load before the restore (no RK)" on "$PORT_B" "$BUS_B" openssl dgst -sha256 -sign a.blob "${ENG[@]}" -out b0.sig data
t_run 0 "B: an RK of its own" on "$PORT_B" "$BUS_B" $M call CreateStorageKey '"rk"' '{"ay":""}' '{}'
echo "B's own" > bfile
t_run 0 "B: a file of its own (tpmencrypt -d)" on "$PORT_B" "$BUS_B" env TCS_PASS=pb "$B/cli/tpmencrypt" -d -o b-reg.enc bfile
# a TLS server on B keeps B's own TPM key loaded across the restore
t_run 0 "B: tpmcreate a key of its own" on "$PORT_B" "$BUS_B" "$B/cli/tpmcreate" b.blob
t_run 0 "B: a self-signed certificate with it" on "$PORT_B" "$BUS_B" openssl req -x509 -new "${ENG[@]}" -key b.blob -subj /CN=host-b -days 1 -out b.crt
SIGALGS='RSA+SHA256:RSA+SHA1'
SPORT=$(tcs_free_port)
(exec env TSS_TCSD_PORT="$PORT_B" timeout 300 openssl s_server -accept "127.0.0.1:$SPORT" -naccept 2 -rev \
    -cert b.crt "${ENG[@]}" -key b.blob -tls1_2 -sigalgs "$SIGALGS") </dev/null >"$W/b.server" 2>&1 &
SPID=$!
tcs_track_pid "$SPID"
_tcs_wait_listen "$SPORT" 300 "$SPID" || echo "# s_server did not listen"
tls_once() {
    printf 'ping\nCLOSE\n' | timeout 60 openssl s_client -connect "127.0.0.1:$SPORT" -CAfile b.crt \
        -verify_return_error -ign_eof >"$W/b.client$1" 2>&1 && grep -q 'gnip' "$W/b.client$1"
}
t_ok "B: a TLS handshake signed by B's loaded key" tls_once 1
t_run 1 "B: A's archive with a wrong secret" on "$PORT_B" "$BUS_B" $M call Restore '{"fd_read":"'"$W/a.arch"'"}' '{"fd_write":"'"$W/b.safety0"'"}' '{"ay":"wrong"}' '{"ay":""}' '{"a{sv}":{"owner-secret-mode":["s","well-known"],"replace":["b",true]}}'
t_json "B: ... ArchiveAuthFailed, nothing changed" 'd["error"]=="org.tcs.Error.ArchiveAuthFailed"'
t_run 0 "B: Restore A's archive, replacing B's RK" on "$PORT_B" "$BUS_B" $M call Restore '{"fd_read":"'"$W/a.arch"'"}' '{"fd_write":"'"$W/b.safety"'"}' '{"ay":"cluster secret"}' '{"ay":""}' '{"a{sv}":{"owner-secret-mode":["s","well-known"],"replace":["b",true]}}'
t_json "B: two keys restored, two replaced" 'd["result"][0]["key-count"]==2 and d["result"][0]["replaced-key-count"]==2 and d["result"][0]["rk-exists"]'
t_ok "B: the safety copy was written" [ -s b.safety ]
t_ok "B: the TLS server still signs with the key it loaded before the restore" tls_once 2
wait "$SPID" 2>/dev/null
t_run 0 "B: A's tpmcreate key signs" on "$PORT_B" "$BUS_B" openssl dgst -sha256 -sign a.blob "${ENG[@]}" -out b.sig data
t_run 0 "B: ... verifiably with A's public key" openssl dgst -sha256 -verify a.pub -signature b.sig data
mkdir -p outB
t_run 0 "B: A's file decrypts" on "$PORT_B" "$BUS_B" env TCS_PASS=pa "$B/cli/tpmdecrypt" -i a-file.enc -C outB
t_run 0 "B: A's -d file decrypts (its key came in the archive)" on "$PORT_B" "$BUS_B" env TCS_PASS=pa "$B/cli/tpmdecrypt" -i a-reg.enc -C outB
t_ok "B: the contents are A's" grep -q "secret of A" outB/tree/sub/note
t_run 7 "B: B's own file does not decrypt now (its RK was replaced: another RK)" on "$PORT_B" "$BUS_B" env TCS_PASS=pb "$B/cli/tpmdecrypt" -i b-reg.enc -C outB
t_run 0 "B: the safety copy restores B's old state" on "$PORT_B" "$BUS_B" $M call Restore '{"fd_read":"'"$W/b.safety"'"}' '{"fd_write":"'"$W/b.safety2"'"}' '{"ay":"cluster secret"}' '{"ay":""}' '{"a{sv}":{"owner-secret-mode":["s","well-known"],"replace":["b",true]}}'
t_run 0 "B: B's own file decrypts again" on "$PORT_B" "$BUS_B" env TCS_PASS=pb "$B/cli/tpmdecrypt" -i b-reg.enc -C outB
t_ok "B: ... with B's contents" grep -q "B's own" outB/bfile
tcs_stop_peer || t_line fail "B: tcsd stopped cleanly"
mv "$TCS_DIR/peer" "$TCS_DIR/hostB"

# ---------------------------------------------------------------- host C
start_bus busC || exit 1
BUS_C=$DBUS_SYSTEM_BUS_ADDRESS
TCS_TCSD_DBUS=yes tcs_start_peer ours || exit 1
PORT_C=$TCS_PEER_TCSD_PORT
wait_manager "$BUS_C" || { tcs_log "host C: no org.tcs.Manager"; exit 1; }
t_run 0 "C: Restore A's archive (no RK yet)" on "$PORT_C" "$BUS_C" $M call Restore '{"fd_read":"'"$W/a.arch"'"}' '{"fd_write":"'"$W/c.safety"'"}' '{"ay":"cluster secret"}' '{"ay":""}' '{"a{sv}":{"owner-secret-mode":["s","well-known"]}}'
t_json "C: no RK was there, nothing replaced" 'not d["result"][0]["rk-exists"] and d["result"][0]["replaced-key-count"]==0'
t_ok "C: no safety copy without an RK" [ ! -s c.safety ]
t_run 0 "C: A's tpmcreate key signs" on "$PORT_C" "$BUS_C" openssl dgst -sha256 -sign a.blob "${ENG[@]}" -out c.sig data
t_run 0 "C: ... verifiably" openssl dgst -sha256 -verify a.pub -signature c.sig data
mkdir -p outC
t_run 0 "C: A's files decrypt" on "$PORT_C" "$BUS_C" env TCS_PASS=pa "$B/cli/tpmdecrypt" -i a-reg.enc -C outC
t_ok "C: the contents are A's" grep -q "registered on A" outC/regfile
t_run 0 "C: ListKeys" on "$PORT_C" "$BUS_C" $M call ListKeys '{"a{sv}":{"ancestor":["s","rk"]}}'
t_json "C: the registered key hangs below the RK" 'len(d["result"][0]) == 1'
tcs_stop_peer || t_line fail "C: tcsd stopped cleanly"
t_done
