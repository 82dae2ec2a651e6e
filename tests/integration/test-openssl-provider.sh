#!/usr/bin/env bash
# test-openssl-provider.sh - the OpenSSL 3 provider "tpm" (engine/provider/tpm.so)
# with the real openssl tool against swtpm and a tcsd (ours by default):
# tpmcreate and create_tpm_key-format blobs decoded from their PEM files,
# CSRs, signatures and decryption in the TPM, s_server over TLS 1.2 with
# PKCS#1 v1.5 sigalgs, RSA-PSS / TLS 1.3 refused with a clear message,
# -propquery and an openssl.cnf provider section, passphrases.
#
# Usage: test-openssl-provider.sh [--daemon ours|trousers]
# Exit: 0 pass, 1 fail, 77 skip.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test-openssl-common.sh
. "$HERE/test-openssl-common.sh"
[ -f "$PROVIDER_DIR/tpm.so" ] || { echo "SKIP: provider not built: $PROVIDER_DIR/tpm.so" >&2; exit 77; }
ossl_setup "$@"
PROV=(-provider-path "$PROVIDER_DIR" -provider tpm -provider default)

ossl_make_rk
ossl_ca
echo "data signed in the TPM" > "$W/data"

expect_rc 0 "tpmcreate prov.blob" -- "$TPMCREATE" --public-pem prov.pub prov.blob
expect_rc 0 "openssl req -new -provider tpm -provider default -key prov.blob" -- \
    openssl req -new "${PROV[@]}" -key prov.blob -subj /CN=localhost -out prov.csr
expect_rc 0 "the CSR's TPM signature verifies in software" -- openssl req -verify -noout -in prov.csr
expect_rc 0 "... and with -propquery ?provider=tpm" -- \
    openssl req -new "${PROV[@]}" -propquery '?provider=tpm' -key prov.blob -subj /CN=localhost -out prov2.csr
ossl_issue prov prov.csr
openssl x509 -in "$W/prov.crt" -pubkey -noout > "$W/prov.crt.pub"
check "the certificate holds the TPM key's public key" cmp -s "$W/prov.pub" "$W/prov.crt.pub"

expect_rc 0 "openssl dgst -sha384 -sign through the provider" -- \
    openssl dgst -sha384 -sign prov.blob "${PROV[@]}" -out d.sig data
expect_rc 0 "... verifies with the public key" -- openssl dgst -sha384 -verify prov.pub -signature d.sig data
expect_fail "RSA-PSS is refused with the reason" 'RSA-PSS' -- openssl dgst -sha256 -sign prov.blob \
    "${PROV[@]}" -sigopt rsa_padding_mode:pss -out pss.sig data

head -c 32 /dev/urandom > "$W/secret.bin"
openssl pkeyutl -encrypt -pubin -inkey "$W/prov.pub" -in "$W/secret.bin" -out "$W/secret.enc"
expect_rc 0 "pkeyutl -decrypt through the provider (TPM_UnBind)" -- \
    openssl pkeyutl -decrypt "${PROV[@]}" -inkey prov.blob -in secret.enc -out secret.dec
check "... gives the plaintext back" cmp -s "$W/secret.bin" "$W/secret.dec"

# openssl.cnf: the provider activated by configuration, no command-line flags
cat > "$W/prov.cnf" <<EOF
openssl_conf = conf
[conf]
providers = providers
[providers]
default = default_sect
tpm = tpm_sect
[default_sect]
activate = 1
[tpm_sect]
module = $PROVIDER_DIR/tpm.so
activate = 1
EOF
expect_rc 0 "openssl.cnf provider section: dgst -sign with no -provider flags" -- \
    env OPENSSL_CONF=prov.cnf openssl dgst -sha256 -sign prov.blob -out c.sig data
expect_rc 0 "... verifies" -- openssl dgst -sha256 -verify prov.pub -signature c.sig data

# TLS with the provider key on the server
PKCS1_SIGALGS='RSA+SHA256:RSA+SHA384:RSA+SHA512'
tls_run() {
    local name=$1 sargs=$2 port pid
    port=$(tcs_free_port) || return 1
    # shellcheck disable=SC2086
    (cd "$W" && exec timeout 120 openssl s_server "${PROV[@]}" -accept "127.0.0.1:$port" -naccept 1 \
        -rev -cert prov.crt -key prov.blob $sargs) < /dev/null > "$W/$name.server" 2>&1 &
    pid=$!
    tcs_track_pid "$pid"
    _tcs_wait_listen "$port" 300 "$pid" || echo "# s_server did not listen"
    printf 'hello provider\nCLOSE\n' | (cd "$W" && timeout 60 openssl s_client -connect "127.0.0.1:$port" \
        -servername localhost -CAfile ca.crt -verify_return_error -ign_eof) > "$W/$name.client" 2>&1
    TLS_RC=$?
    wait "$pid" 2>/dev/null
}
tls_run tls12 "-tls1_2 -sigalgs $PKCS1_SIGALGS"
if [ "$TLS_RC" = 0 ] && grep -q 'redivorp olleh' "$W/tls12.client" &&
   grep -q 'Verify return code: 0 (ok)' "$W/tls12.client"; then
    ok "s_server with the provider key: TLS 1.2, chain verified, data echoed"
else
    not_ok "TLS 1.2 with the provider key (rc=$TLS_RC)"
    sed 's/^/#   client| /' "$W/tls12.client" | tail -n 12
    sed 's/^/#   server| /' "$W/tls12.server" | tail -n 12
fi
tls_run tls13 ""
if [ "$TLS_RC" != 0 ] && grep -q 'RSA-PSS' "$W/tls13.server"; then
    ok "TLS 1.3 fails with the RSA-PSS message"
else
    not_ok "TLS 1.3 should fail clearly (rc=$TLS_RC)"
    sed 's/^/#   server| /' "$W/tls13.server" | tail -n 12
fi

# a create_tpm_key-format blob (libtspi, SRK parent) through the provider
if [ -x "$TSPI_BLOB" ]; then
    expect_rc 0 "libtspi makes a create_tpm_key-format blob" -- "$TSPI_BLOB" -s 1024 tspi.blob
    "$TPMCREATE" -x --public-pem "$W/tspi.pub" "$W/tspi.blob"
    expect_rc 0 "the provider signs with it" -- openssl dgst -sha256 -sign tspi.blob "${PROV[@]}" -out t.sig data
    expect_rc 0 "... verifiably" -- openssl dgst -sha256 -verify tspi.pub -signature t.sig data
fi

# passphrases: TCS_PASS, the application's callback (-passin), a wrong one
expect_rc 0 "tpmcreate -a" -- env TCS_PASS=pass-phrase "$TPMCREATE" -a -k 1024 pw.blob
expect_rc 0 "sign with the passphrase from TCS_PASS" -- env TCS_PASS=pass-phrase \
    openssl dgst -sha256 -sign pw.blob "${PROV[@]}" -out pw.sig data
expect_rc 0 "sign with the passphrase from -passin" -- \
    openssl dgst -sha256 -sign pw.blob "${PROV[@]}" -passin pass:pass-phrase -out pw2.sig data
expect_fail "a wrong passphrase is a clear error" 'wrong passphrase for the TPM key' -- \
    env TCS_PASS=wrong openssl dgst -sha256 -sign pw.blob "${PROV[@]}" -out bad.sig data
ossl_done
