/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM-resident RSA keys for the OpenSSL engine and provider: a key blob file
 * loaded through one process-wide TSS client connection to tcsd
 * ($TSS_TCSD_HOSTNAME / $TSS_TCSD_PORT), with TPM_Sign and TPM_UnBind on it.
 * The private key never leaves the TPM; only the blob (encrypted by its
 * parent) and the 20-byte usage secret are kept here.
 *
 * The connection is shared and serialised by a mutex (TcsClient is not
 * thread-safe; stunnel runs one thread per connection). When it breaks (tcsd
 * restarted), the next operation reconnects and reloads the key from its
 * blob, once. A forked child (a daemon going to the background) leaves the
 * inherited connection to its parent and makes its own.
 *
 * Functions return 0 or a negative errno; on failure a one-line message for
 * the user is in err (never containing secrets).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "tcs-auth.h"

#define TCS_TPMKEY_ERR_SIZE 256

typedef struct TcsTpmKey TcsTpmKey;

/*
 * Asked for the key's passphrase when $TCS_PASS is not set: write at most
 * size-1 bytes and a NUL into buf, return 0, or a negative errno.
 */
typedef int (*TcsTpmKeyPassphraseFn)(char *buf, size_t size, const char *prompt, void *userdata);

/*
 * Load the key blob file at path. srk_secret authorises the SRK (for
 * SRK-parented blobs and on the way to the RK). A key that needs
 * authorisation gets its passphrase from $TCS_PASS, else from ask (NULL: no
 * way to ask, an error), SHA-1'd as libtspi's plain secret mode does; it is
 * checked at once (TPM_GetPubKey with it), so a wrong passphrase fails here
 * with -EKEYREJECTED. -ENOENT: the parent (the RK) is not registered.
 */
int tcs_tpmkey_load(const char *path, const uint8_t srk_secret[TCS_SECRET_SIZE],
		    TcsTpmKeyPassphraseFn ask, void *userdata, TcsTpmKey **ret,
		    char err[TCS_TPMKEY_ERR_SIZE]);
/*
 * The same from a key blob file's text, or from the DER OCTET STRING inside
 * its PEM block (a provider decoder gets bytes); name is used in messages.
 * -EMEDIUMTYPE (and no message) when the bytes are not a whole TSS KEY BLOB,
 * so the caller can leave them to others. Without a recorded parent the key
 * is loaded under the SRK, else under the RK.
 */
int tcs_tpmkey_load_text(const char *text, size_t len, const char *name,
			 const uint8_t srk_secret[TCS_SECRET_SIZE], TcsTpmKeyPassphraseFn ask,
			 void *userdata, TcsTpmKey **ret, char err[TCS_TPMKEY_ERR_SIZE]);
TcsTpmKey *tcs_tpmkey_ref(TcsTpmKey *k);
/* Drop a reference; the last one evicts the key and wipes its secret. NULL-safe. */
void tcs_tpmkey_unref(TcsTpmKey *k);

/* Close the shared connection (engine finish, provider teardown); keys still
 * alive reconnect when used. */
void tcs_tpmkey_disconnect(void);

/* The public key (a new reference; free it) and the modulus size in bytes. */
EVP_PKEY *tcs_tpmkey_public(const TcsTpmKey *k);
size_t tcs_tpmkey_size(const TcsTpmKey *k);
bool tcs_tpmkey_can_sign(const TcsTpmKey *k);
bool tcs_tpmkey_can_decrypt(const TcsTpmKey *k);

/*
 * PKCS#1 v1.5 signature of an encoded DigestInfo (or TLS 1.0's raw
 * MD5+SHA-1) with TPM_Sign. Keys with the TPM_SS_RSASSAPKCS1v15_SHA1 scheme
 * sign SHA-1 DigestInfos only (-ENOTSUP otherwise). sig must hold
 * tcs_tpmkey_size() bytes.
 */
int tcs_tpmkey_sign(TcsTpmKey *k, const uint8_t *tbs, size_t tbs_len, uint8_t *sig,
		    size_t *sig_len, char err[TCS_TPMKEY_ERR_SIZE]);
/* PKCS#1 v1.5 decryption with TPM_UnBind (keys with TPM_ES_RSAESPKCSv15). */
int tcs_tpmkey_decrypt(TcsTpmKey *k, const uint8_t *in, size_t in_len, uint8_t *out,
		       size_t *out_len, char err[TCS_TPMKEY_ERR_SIZE]);

/*
 * Why a TPM 1.2 key refuses RSA-PSS, for both front ends: the exact settings
 * that avoid it (docs/examples, installed to TCS_EXAMPLESDIR). Under OpenSSL's
 * 1024-byte limit for error data.
 */
#define TCS_TPMKEY_NO_PSS                                                                          \
	"TPM 1.2 keys cannot make RSA-PSS signatures (TPM_Sign pads PKCS#1 v1.5 itself), which "  \
	"TLS 1.3 requires and OpenSSL 3 prefers in TLS 1.2: limit this side to TLS 1.2 with "     \
	"PKCS#1 v1.5 signature algorithms. openssl: -tls1_2 -sigalgs RSA+SHA256:RSA+SHA384 "     \
	"(a server verifying TPM-keyed clients also -client_sigalgs RSA+SHA256:RSA+SHA384), or " \
	"in openssl.cnf's system_default section MaxProtocol = TLSv1.2 and "                      \
	"SignatureAlgorithms = RSA+SHA256:RSA+SHA384; stunnel: sslVersionMax = TLSv1.2 and "      \
	"config = SignatureAlgorithms:RSA+SHA256:RSA+SHA384. Working examples: " TCS_EXAMPLESDIR
