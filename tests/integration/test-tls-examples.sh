#!/usr/bin/env bash
# test-tls-examples.sh - the shipped TLS examples (docs/examples) work as
# shipped on OpenSSL 3 with TPM 1.2 keys: openssl-tpm.cnf with s_server.sh /
# s_client.sh (TPM keys on both ends, client certificate verified), and the
# stunnel server and client configurations. Only the placeholders documented in
# docs/examples/README.md are replaced: the directory /etc/tcs/tls and the
# ports 4433, 8443, 8080. Without the settings, the engine's RSA-PSS refusal
# names them (sslVersionMax, MaxProtocol, SignatureAlgorithms).
#
# Usage: test-tls-examples.sh [--daemon ours|trousers]
# Exit: 0 pass, 1 fail, 77 skip.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test-openssl-common.sh
. "$HERE/test-openssl-common.sh"
EX=$TCS_SOURCE_DIR/docs/examples
[ -f "$EX/openssl-tpm.cnf" ] || { echo "SKIP: no $EX" >&2; exit 77; }
ossl_setup "$@"
ENG=(-engine tpm -keyform engine)

ossl_make_rk
ossl_ca
for who in server client; do
    expect_rc 0 "tpmcreate $who.blob" -- "$TPMCREATE" "$who.blob"
    expect_rc 0 "$who CSR through the engine" -- \
        openssl req -new "${ENG[@]}" -key "$who.blob" -subj "/CN=localhost" -out "$who.csr"
    ossl_issue "$who" "$who.csr"
done

SPORT=$(tcs_free_port) && TPORT=$(tcs_free_port) && CPORT=$(tcs_free_port) || exit 1
# the documented placeholders, and nothing else
for f in openssl-tpm.cnf s_server.sh s_client.sh stunnel-server.conf stunnel-client.conf; do
    sed -e "s|/etc/tcs/tls|$W|g" -e "s|4433|$SPORT|g" -e "s|8443|$TPORT|g" -e "s|8080|$CPORT|g" \
        "$EX/$f" > "$W/$f"
done
chmod 0755 "$W/s_server.sh" "$W/s_client.sh"

# ---- s_server.sh / s_client.sh with openssl-tpm.cnf
(cd "$W" && exec timeout 120 ./s_server.sh -naccept 1 -rev) </dev/null >"$W/s_server.out" 2>&1 &
pid=$!
tcs_track_pid "$pid"
_tcs_wait_listen "$SPORT" 300 "$pid" || { echo "# s_server.sh did not listen"; sed 's/^/#   | /' "$W/s_server.out"; }
printf 'hello examples\nCLOSE\n' | (cd "$W" && timeout 60 ./s_client.sh -ign_eof) >"$W/s_client.out" 2>&1
rc=$?
wait "$pid" 2>/dev/null
if [ "$rc" = 0 ] && grep -q 'selpmaxe olleh' "$W/s_client.out" &&
   grep -q 'Verify return code: 0 (ok)' "$W/s_client.out"; then
    ok "s_server.sh and s_client.sh: TPM keys on both ends, chain verified, data echoed"
else
    not_ok "s_server.sh / s_client.sh (rc=$rc)"
    sed 's/^/#   client| /' "$W/s_client.out" | tail -n 15
    sed 's/^/#   server| /' "$W/s_server.out" | tail -n 15
fi
check "... over TLS 1.2" grep -q 'Protocol *: TLSv1.2' "$W/s_client.out"
check "... with a PKCS#1 v1.5 signature (no RSA-PSS)" \
    eval '! grep -Eqi "signature type: *rsa-pss|rsa_pss" "$W/s_client.out" && grep -q "Peer signature type: RSA$" "$W/s_client.out"'
check "... the server verified the TPM-keyed client certificate" grep -q 'CN *= *localhost' "$W/s_server.out"

# ---- the same lines without openssl-tpm.cnf: TLS 1.3, and the refusal names the settings
sed -e "s|OPENSSL_CONF=$W/openssl-tpm.cnf|OPENSSL_CONF=/dev/null|" "$W/s_server.sh" > "$W/s_server-nocnf.sh"
chmod 0755 "$W/s_server-nocnf.sh"
(cd "$W" && exec timeout 120 ./s_server-nocnf.sh -naccept 1 -rev) </dev/null >"$W/nocnf.server" 2>&1 &
pid=$!
tcs_track_pid "$pid"
_tcs_wait_listen "$SPORT" 300 "$pid" || echo "# s_server-nocnf.sh did not listen"
printf 'hello\nCLOSE\n' | (cd "$W" && OPENSSL_CONF=/dev/null timeout 60 openssl s_client -connect "localhost:$SPORT" \
    -CAfile ca.crt -ign_eof) >"$W/nocnf.client" 2>&1
rc=$?
wait "$pid" 2>/dev/null
if [ "$rc" != 0 ] && grep -q 'RSA-PSS' "$W/nocnf.server" &&
   grep -q 'sslVersionMax = TLSv1.2' "$W/nocnf.server" &&
   grep -q 'MaxProtocol = TLSv1.2' "$W/nocnf.server" &&
   grep -q 'SignatureAlgorithms = RSA+SHA256' "$W/nocnf.server" &&
   grep -q 'doc/tcs/examples' "$W/nocnf.server"; then
    ok "without openssl-tpm.cnf the handshake fails and the message names the stunnel and openssl settings"
else
    not_ok "the RSA-PSS refusal should name the settings (rc=$rc)"
    sed 's/^/#   server| /' "$W/nocnf.server" | tail -n 15
fi

# the provider's refusal says the same
if [ -f "$PROVIDER_DIR/tpm.so" ]; then
    echo "data" > "$W/data"
    expect_fail "the provider's RSA-PSS refusal names the stunnel and openssl settings" \
        'sslVersionMax = TLSv1.2.*doc/tcs/examples' -- openssl dgst -sha256 -sign server.blob \
        -provider-path "$PROVIDER_DIR" -provider tpm -provider default -propquery '?provider=tpm' \
        -sigopt rsa_padding_mode:pss -out pss.sig data
fi

# ---- stunnel-server.conf / stunnel-client.conf
STUNNEL=$(command -v stunnel4 || command -v stunnel)
if [ -z "$STUNNEL" ]; then
    ok "# SKIP stunnel4 not installed"
else
    STUNNEL_PIDS=()
    for who in server client; do
        port=$TPORT; [ "$who" = client ] && port=$CPORT
        (cd "$W" && exec "$STUNNEL" "$W/stunnel-$who.conf") </dev/null >"$W/stunnel-$who.out" 2>&1 &
        pid=$!
        tcs_track_pid "$pid"
        STUNNEL_PIDS+=("$pid")
        if _tcs_wait_listen "$port" 300 "$pid"; then
            ok "stunnel-$who.conf: stunnel starts with its TPM key (engine = tpm)"
        else
            not_ok "stunnel-$who.conf: stunnel did not start"
            tail -n 30 "$W/stunnel-$who.out" | sed 's/^/#   | /'
        fi
    done
    # shellcheck disable=SC2016 # $1 is expanded by the inner shell
    reply=$(timeout 60 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "through the example tunnel\n" >&3
        head -n 1 <&3' _ "$CPORT" 2>&1)
    if [ "$reply" = "through the example tunnel" ]; then
        ok "data goes through the example client -> server -> /bin/cat and back"
    else
        not_ok "no echo through the example tunnel (got '$reply')"
        for who in server client; do tail -n 30 "$W/stunnel-$who.out" | sed "s/^/#   $who| /"; done
    fi
    check "the server verified the client certificate (verify = 2)" \
        grep -q "Certificate accepted at depth=0" "$W/stunnel-server.out"
    check "TLS 1.2 was negotiated" grep -q "TLSv1.2" "$W/stunnel-client.out"
    for pid in "${STUNNEL_PIDS[@]}"; do _tcs_stop_pid "$pid" 50; done
fi
ossl_done
