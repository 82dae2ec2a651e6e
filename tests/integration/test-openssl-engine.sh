#!/usr/bin/env bash
# test-openssl-engine.sh - tpmcreate + the OpenSSL engine "tpm" (engine/tpm.so)
# with the real openssl tool against swtpm and a tcsd (ours by default):
#   no RK -> clear error; tcs-make-rk; tpmcreate keys (plain, -a, -w);
#   `openssl req -engine tpm -keyform engine` CSRs signed by a software CA;
#   s_server/s_client with TPM keys on both ends over TLS 1.2 (PKCS#1 v1.5
#   sigalgs), TLS 1.3 refused with the RSA-PSS message, fallback to 1.2;
#   PKCS#1 v1.5 decryption via TPM_UnBind; a create_tpm_key-format blob made
#   by libtspi (SRK parent); the dynamic engine's SO_PATH/ID/LOAD/INIT;
#   PIN/SECRET_MODE; wrong passphrase; RK removed -> clear error.
# With --quick (used for the TrouSerS run) only the core: RK, tpmcreate, CSR,
# signature verified with the public key.
#
# Usage: test-openssl-engine.sh [--daemon ours|trousers] [--quick]
# Exit: 0 pass, 1 fail, 77 skip (a dependency missing).
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test-openssl-common.sh
. "$HERE/test-openssl-common.sh"
ossl_setup "$@"
QUICK=0
[ "${OSSL_ARGS[0]:-}" = --quick ] && QUICK=1
ENG=(-engine tpm -keyform engine)

# ---- no RK yet
expect_fail "tpmcreate without an RK says so" 'no RK \(00000000-0000-0000-0000-000000000003\) in system persistent storage.*tpmctl addkey rk' \
    -- "$TPMCREATE" nork.blob
check "... and writes no file" test ! -e "$W/nork.blob"
ossl_make_rk

# ---- keys
expect_rc 0 "tpmcreate server.blob (2048 bits, default)" -- "$TPMCREATE" --public-pem server.pub server.blob
check "server.blob is a TSS KEY BLOB recording the RK as parent" \
    grep -qx 'Parent-UUID: 00000000-0000-0000-0000-000000000003' "$W/server.blob"
expect_rc 0 "openssl req -new -engine tpm -keyform engine -key server.blob" -- \
    openssl req -new "${ENG[@]}" -key server.blob -subj /CN=localhost -out server.csr
check "... prints 'Engine \"tpm\" set.'" grep -qi 'engine "tpm" set.' "$W/.out"
expect_rc 0 "the CSR's TPM signature verifies in software" -- openssl req -verify -noout -in server.csr
ossl_ca
ossl_issue server server.csr
openssl x509 -in "$W/server.crt" -pubkey -noout > "$W/server.crt.pub"
check "the certificate holds the TPM key's public key" cmp -s "$W/server.pub" "$W/server.crt.pub"

expect_rc 0 "ENGINE_load_public_key reads the blob without the TPM (openssl pkey -pubin -inform engine)" -- \
    openssl pkey -engine tpm -inform engine -pubin -in server.blob -pubout -out server.engine.pub
check "... the same public key" cmp -s "$W/server.pub" "$W/server.engine.pub"

echo "data signed in the TPM" > "$W/data"
expect_rc 0 "openssl dgst -sha256 -sign with the engine key" -- \
    openssl dgst -sha256 -sign server.blob "${ENG[@]}" -out data.sig data
expect_rc 0 "... verifies with the public key (software)" -- \
    openssl dgst -sha256 -verify server.pub -signature data.sig data

if [ "$QUICK" = 1 ]; then ossl_done; fi

expect_rc 0 "tpmcreate client.blob --public-ssh" -- "$TPMCREATE" --public-ssh client.ssh client.blob
if command -v ssh-keygen >/dev/null; then
    expect_rc 0 "the SSH public key parses (ssh-keygen -l)" -- ssh-keygen -l -f client.ssh
fi
expect_rc 0 "client CSR through the engine" -- \
    openssl req -new "${ENG[@]}" -key client.blob -subj /CN=tpm-client -out client.csr
ossl_issue client client.csr

# ---- TLS: s_server and s_client both with TPM keys
PKCS1_SIGALGS='RSA+SHA256:RSA+SHA384:RSA+SHA512:RSA+SHA1'
# tls_run NAME "server args" "client args": one connection through s_server -rev
tls_run() {
    local name=$1 sargs=$2 cargs=$3 port pid
    port=$(tcs_free_port) || return 1
    # shellcheck disable=SC2086
    (cd "$W" && exec timeout 120 openssl s_server -accept "127.0.0.1:$port" -naccept 1 -rev \
        -cert server.crt "${ENG[@]}" -key server.blob $sargs) \
        < /dev/null > "$W/$name.server" 2>&1 &
    pid=$!
    tcs_track_pid "$pid"
    _tcs_wait_listen "$port" 300 "$pid" || { echo "# s_server did not listen"; cat "$W/$name.server"; }
    # shellcheck disable=SC2086
    printf 'hello tpm\nCLOSE\n' | (cd "$W" && timeout 60 openssl s_client -connect "127.0.0.1:$port" \
        -servername localhost -CAfile ca.crt -verify_return_error -ign_eof $cargs) \
        > "$W/$name.client" 2>&1
    TLS_RC=$?
    wait "$pid" 2>/dev/null
}
tls_run tls12 "-tls1_2 -sigalgs $PKCS1_SIGALGS -Verify 1 -CAfile ca.crt -client_sigalgs $PKCS1_SIGALGS" \
    "-engine tpm -keyform engine -key client.blob -cert client.crt"
if [ "$TLS_RC" = 0 ] && grep -q 'mpt olleh' "$W/tls12.client" &&
   grep -q 'Verify return code: 0 (ok)' "$W/tls12.client" && grep -q 'Protocol *: TLSv1.2' "$W/tls12.client"; then
    ok "TLS 1.2, TPM keys on both ends: chain verified, data echoed"
else
    not_ok "TLS 1.2 with TPM keys (rc=$TLS_RC)"
    sed 's/^/#   client| /' "$W/tls12.client" | tail -n 15
    sed 's/^/#   server| /' "$W/tls12.server" | tail -n 15
fi
check "... the server verified the client's TPM-signed CertificateVerify" \
    grep -q 'CN *= *tpm-client' "$W/tls12.server"

tls_run tls13 "" ""
if [ "$TLS_RC" != 0 ] && grep -q 'RSA-PSS' "$W/tls13.server"; then
    ok "TLS 1.3 (RSA-PSS only) fails with the RSA-PSS message"
else
    not_ok "TLS 1.3 should fail clearly (rc=$TLS_RC)"
    sed 's/^/#   server| /' "$W/tls13.server" | tail -n 15
fi
tls_run fallback "-no_tls1_3 -sigalgs $PKCS1_SIGALGS" ""
if [ "$TLS_RC" = 0 ] && grep -q 'mpt olleh' "$W/fallback.client" && grep -q 'Protocol *: TLSv1.2' "$W/fallback.client"; then
    ok "a TLS 1.3 client falls back to TLS 1.2 when the server caps it"
else
    not_ok "fallback to TLS 1.2 (rc=$TLS_RC)"
    sed 's/^/#   server| /' "$W/fallback.server" | tail -n 15
fi

# ---- tcsd restarts under a running server: the engine reconnects and reloads the key
port=$(tcs_free_port)
(cd "$W" && exec timeout 180 openssl s_server -accept "127.0.0.1:$port" -naccept 2 -rev \
    -cert server.crt "${ENG[@]}" -key server.blob -tls1_2 -sigalgs "$PKCS1_SIGALGS") \
    < /dev/null > "$W/restart.server" 2>&1 &
spid=$!
tcs_track_pid "$spid"
_tcs_wait_listen "$port" 300 "$spid" || echo "# s_server did not listen"
# shellcheck disable=SC2317 # called through check
client_once() {
    printf 'again\nCLOSE\n' | (cd "$W" && timeout 60 openssl s_client -connect "127.0.0.1:$port" \
        -servername localhost -CAfile ca.crt -verify_return_error -ign_eof) > "$W/restart.client$1" 2>&1 &&
        grep -q 'niaga' "$W/restart.client$1"
}
check "s_server answers before tcsd restarts" client_once 1
tcs_stop_tcsd >/dev/null 2>&1
tcs_start_tcsd "$DAEMON" || echo "# tcsd did not restart"
check "... and after: the engine re-made its connection and reloaded the key" client_once 2
wait "$spid" 2>/dev/null

# ---- decryption (TPM_UnBind of PKCS#1 v1.5)
head -c 32 /dev/urandom > "$W/secret.bin"
openssl pkeyutl -encrypt -pubin -inkey "$W/server.pub" -in "$W/secret.bin" -out "$W/secret.enc"
expect_rc 0 "pkeyutl -decrypt with the engine key" -- \
    openssl pkeyutl -decrypt "${ENG[@]}" -inkey server.blob -in secret.enc -out secret.dec
check "... gives the plaintext back" cmp -s "$W/secret.bin" "$W/secret.dec"

# ---- -w: an existing key wrapped for the RK signs like the original
openssl genrsa -out "$W/sw.pem" 2048 2>/dev/null
openssl rsa -in "$W/sw.pem" -pubout -out "$W/sw.pub" 2>/dev/null
expect_rc 0 "tpmcreate -w sw.pem wrapped.blob" -- "$TPMCREATE" -w sw.pem wrapped.blob
expect_rc 0 "the wrapped key signs through the engine" -- \
    openssl dgst -sha256 -sign wrapped.blob "${ENG[@]}" -out w.sig data
expect_rc 0 "... verifiably with the ORIGINAL public key" -- \
    openssl dgst -sha256 -verify sw.pub -signature w.sig data
openssl genrsa -aes128 -passout pass:x -out "$W/enc.pem" 1024 2>/dev/null
expect_fail "tpmcreate -w of a passphrase-protected PEM is refused" 'not an unencrypted PEM' \
    -- "$TPMCREATE" -w enc.pem enc.blob
expect_fail "tpmcreate -w with a -k that does not match" 'is a 2048-bit key, not 1024' \
    -- "$TPMCREATE" -k 1024 -w sw.pem x.blob

# ---- passphrase keys
expect_rc 0 "tpmcreate -a (TCS_PASS)" -- env TCS_PASS=right-passphrase "$TPMCREATE" -a -k 512 pw.blob
expect_rc 0 "sign with the key's passphrase from TCS_PASS" -- env TCS_PASS=right-passphrase \
    openssl dgst -sha1 -sign pw.blob "${ENG[@]}" -out pw.sig data
expect_rc 0 "sign with the passphrase from openssl's UI (-passin)" -- \
    openssl dgst -sha1 -sign pw.blob "${ENG[@]}" -passin pass:right-passphrase -out pw2.sig data
expect_fail "a wrong passphrase is a clear error" 'wrong passphrase for the TPM key' \
    -- env TCS_PASS=wrong openssl dgst -sha1 -sign pw.blob "${ENG[@]}" -out bad.sig data
check "... and no signature is written" test ! -s "$W/bad.sig"

# ---- a create_tpm_key blob (libtspi, SRK parent, no Parent-UUID line)
if [ -x "$TSPI_BLOB" ]; then
    expect_rc 0 "libtspi makes a create_tpm_key-format blob under the SRK" -- "$TSPI_BLOB" -s 1024 tspi.blob
    check "... with no parent line" bash -c "! grep -q Parent-UUID '$W/tspi.blob'"
    expect_rc 0 "the engine signs with it" -- openssl dgst -sha256 -sign tspi.blob "${ENG[@]}" -out t.sig data
    "$TPMCREATE" -x --public-pem "$W/tspi.pub" "$W/tspi.blob"
    expect_rc 0 "... verifiably" -- openssl dgst -sha256 -verify tspi.pub -signature t.sig data
    expect_rc 0 "libtspi blob with the SHA1 signature scheme" -- "$TSPI_BLOB" -s 512 -q sha1 sha1.blob
    "$TPMCREATE" -x --public-pem "$W/sha1.pub" "$W/sha1.blob"
    expect_rc 0 "the engine signs SHA-1 with a SHA1-scheme key" -- \
        openssl dgst -sha1 -sign sha1.blob "${ENG[@]}" -out s1.sig data
    expect_rc 0 "... verifiably" -- openssl dgst -sha1 -verify sha1.pub -signature s1.sig data
    expect_fail "a SHA1-scheme key refuses SHA-256 clearly" 'signs SHA-1 digests only' \
        -- openssl dgst -sha256 -sign sha1.blob "${ENG[@]}" -out s2.sig data
    # the SRK secret through openssl.cnf's engine section (SECRET_MODE, then PIN)
    engine_cnf() {
        printf 'openssl_conf = conf\n[conf]\nengines = engines\n[engines]\ntpm = tpm_sect\n'
        printf '[tpm_sect]\ndynamic_path = %s\nengine_id = tpm\n' "$OPENSSL_ENGINES/tpm.so"
        printf '%s\n' "$@"
        printf 'init = 1\n'
    }
    engine_cnf 'SECRET_MODE = sha1' "PIN = $(printf '0%.0s' $(seq 40))" > "$W/pin-sha1.cnf"
    expect_rc 0 "openssl.cnf engine section: SECRET_MODE sha1 + PIN (the well-known SRK secret)" -- \
        env OPENSSL_CONF=pin-sha1.cnf openssl dgst -sha256 -sign tspi.blob "${ENG[@]}" -out p.sig data
    expect_rc 0 "... signs verifiably" -- openssl dgst -sha256 -verify tspi.pub -signature p.sig data
    engine_cnf 'PIN = wrong' > "$W/pin-wrong.cnf"
    expect_fail "a wrong SRK PIN is a clear error" 'SRK secret is wrong' -- \
        env OPENSSL_CONF=pin-wrong.cnf openssl dgst -sha256 -sign tspi.blob "${ENG[@]}" -out x.sig data
else
    echo "# libtspi test program not built: create_tpm_key-format checks skipped"
fi

# ---- the dynamic engine, as stunnel and openssl.cnf load it
expect_rc 0 "dynamic: SO_PATH:…/tpm.so, ID:tpm, LOAD (openssl engine -t)" -- openssl engine dynamic \
    -pre "SO_PATH:$OPENSSL_ENGINES/tpm.so" -pre ID:tpm -pre LOAD -t -c
check "... reports the tpm engine and RSA" grep -q '(tpm)' "$W/.out"

# ---- the RK disappears: keys under it fail clearly
expect_rc 0 "unregister the RK" -- "$MAKE_RK" --remove
expect_fail "engine key load without an RK names the cause" 'no RK \(00000000-0000-0000-0000-000000000003\)' \
    -- openssl dgst -sha256 -sign server.blob "${ENG[@]}" -out x.sig data
ossl_done
