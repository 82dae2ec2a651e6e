#!/bin/sh
# s_server.sh - a TLS test server with a TPM 1.2 key through the engine "tpm",
# asking for a client certificate signed by ca.crt; openssl-tpm.cnf caps TLS at
# 1.2 with PKCS#1 v1.5 signature algorithms (a TPM 1.2 key cannot sign RSA-PSS).
cd /etc/tcs/tls || exit 1
OPENSSL_CONF=/etc/tcs/tls/openssl-tpm.cnf exec openssl s_server -accept 4433 \
    -engine tpm -keyform engine -key server.blob -cert server.crt \
    -Verify 1 -CAfile ca.crt "$@"
