#!/bin/sh
# s_client.sh - connect to s_server.sh with a TPM 1.2 client key through the
# engine "tpm"; the same openssl-tpm.cnf keeps the client at TLS 1.2 and PKCS#1
# v1.5 signatures for its CertificateVerify.
cd /etc/tcs/tls || exit 1
OPENSSL_CONF=/etc/tcs/tls/openssl-tpm.cnf exec openssl s_client -connect localhost:4433 \
    -engine tpm -keyform engine -key client.blob -cert client.crt \
    -CAfile ca.crt -verify_return_error "$@"
