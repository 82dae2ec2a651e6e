/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM 1.2 authorisation crypto (TPM Main Part 1, "Authorization Protocols"),
 * as a TSS client computes it: secrets, OIAP/OSAP HMACs, reply checks and
 * ADIP encryption of new secrets. Pure functions over small structures; no
 * I/O. Every function returns 0 or a negative errno (-EIO when OpenSSL
 * fails, -EBADMSG when a reply's HMAC does not verify).
 *
 * A command's HMAC covers SHA1(ordinal || inputs) (the "param digest", which
 * the caller builds because only it knows which inputs count), and a reply's
 * covers SHA1(returnCode || ordinal || outputs):
 *
 *   inAuth  = HMAC(secret, inDigest  || nonceEven || nonceOdd || continue)
 *   outAuth = HMAC(secret, outDigest || nonceEven' || nonceOdd || continue')
 *
 * where secret is the entity's usage secret for OIAP and the shared secret
 * for OSAP. Sessions hold secrets: wipe them with tcs_auth_session_wipe().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcs-common.h"
#include "tcs-packet.h"

#define TCS_SECRET_SIZE 20u
#define TCS_NONCE_SIZE 20u

/* TPM_ENTITY_TYPE (the LSB; ADIP is always XOR here) */
#define TPM_ET_KEYHANDLE 0x0001u
#define TPM_ET_OWNER 0x0002u
#define TPM_ET_DATA 0x0003u
#define TPM_ET_SRK 0x0004u
#define TPM_ET_KEY 0x0005u

/*
 * TSS_WELL_KNOWN_SECRET: 20 zero bytes (tpm_takeownership -z, "-z" everywhere),
 * used as the secret itself (TSS_SECRET_MODE_SHA1), not hashed again.
 */
extern const uint8_t tcs_auth_well_known[TCS_SECRET_SIZE];

/* SHA-1 and HMAC-SHA1 (OpenSSL EVP). */
int tcs_sha1(const void *data, size_t len, uint8_t out[TCS_DIGEST_SIZE]);
int tcs_hmac_sha1(const void *key, size_t key_len, const void *data, size_t len,
		  uint8_t out[TCS_DIGEST_SIZE]);

/*
 * A passphrase as libtspi's TSS_SECRET_MODE_PLAIN takes it: SHA-1 of exactly
 * the given bytes. tpm-tools pass strlen(password) bytes, no NUL.
 */
int tcs_auth_secret_plain(const void *pass, size_t len, uint8_t out[TCS_SECRET_SIZE]);

/* The variable with the SRK password for loads under the SRK (as tpm-tools' users set it). */
#define TCS_SRK_PASSWORD_ENV "TPM_SRK_PASSWD"
/*
 * The SRK's usage secret for keys loaded under the SRK: SHA-1 of
 * $TPM_SRK_PASSWD (libtspi's plain mode) when set, else the well-known
 * secret that `tpm_takeownership -z` and TakeOwnership give the SRK.
 * Returns 1 when it came from the variable, 0 for the well-known secret.
 */
int tcs_auth_srk_secret(uint8_t out[TCS_SECRET_SIZE]);
/*
 * tpm-tools' --unicode form: SHA-1 of the UTF-16LE encoding including the
 * two-byte terminator (Trspi_Native_To_UNICODE). -EINVAL for invalid UTF-8.
 */
int tcs_auth_secret_utf16(const char *utf8, uint8_t out[TCS_SECRET_SIZE]);

/* Fresh random bytes for a nonce (RAND_bytes). */
int tcs_auth_random_nonce(uint8_t out[TCS_NONCE_SIZE]);

/* The authorisation HMAC over one direction's digest, nonces and continue flag. */
int tcs_auth_hmac(const uint8_t secret[TCS_SECRET_SIZE], const uint8_t digest[TCS_DIGEST_SIZE],
		  const uint8_t nonce_even[TCS_NONCE_SIZE], const uint8_t nonce_odd[TCS_NONCE_SIZE],
		  bool cont, uint8_t out[TCS_DIGEST_SIZE]);

/* OSAP shared secret: HMAC(entitySecret, nonceEvenOSAP || nonceOddOSAP). */
int tcs_auth_osap_shared_secret(const uint8_t entity_secret[TCS_SECRET_SIZE],
				const uint8_t nonce_even_osap[TCS_NONCE_SIZE],
				const uint8_t nonce_odd_osap[TCS_NONCE_SIZE],
				uint8_t out[TCS_SECRET_SIZE]);

/*
 * ADIP (XOR): out = secret XOR SHA1(sharedSecret || nonce). The first new
 * secret of a command (usage auth of CreateWrapKey/Seal/MakeIdentity…) uses
 * the session's nonceEven, the second (CreateWrapKey's migration auth) the
 * command's nonceOdd. Applying it twice decrypts.
 */
int tcs_auth_adip(const uint8_t shared_secret[TCS_SECRET_SIZE], const uint8_t nonce[TCS_NONCE_SIZE],
		  const uint8_t secret[TCS_SECRET_SIZE], uint8_t out[TCS_SECRET_SIZE]);

/*
 * One authorisation session as seen by the caller. `secret` is the key for
 * every HMAC: the usage secret for OIAP, the shared secret for OSAP.
 * nonce_even is the TPM's last even nonce, nonce_odd the one of the command
 * being authorised.
 */
typedef struct {
	uint32_t handle;
	bool osap;
	bool cont; /* the continueAuthSession of the last command / reply */
	uint8_t nonce_even[TCS_NONCE_SIZE];
	uint8_t nonce_odd[TCS_NONCE_SIZE];
	uint8_t nonce_even_osap[TCS_NONCE_SIZE]; /* OSAP only */
	uint8_t nonce_odd_osap[TCS_NONCE_SIZE];  /* OSAP only */
	uint8_t secret[TCS_SECRET_SIZE];
} TcsAuthSession;

/* Wipe everything (secret, nonces). NULL-safe; usable as a cleanup function. */
void tcs_auth_session_wipe(TcsAuthSession *s);
#define _cleanup_auth_session_ _cleanup_(tcs_auth_session_wipe)

/* Set up s from an OIAP reply: handle, nonceEven, the entity's usage secret. */
void tcs_auth_session_oiap(TcsAuthSession *s, uint32_t handle,
			   const uint8_t nonce_even[TCS_NONCE_SIZE],
			   const uint8_t usage_secret[TCS_SECRET_SIZE]);
/* Set up s from an OSAP exchange and compute the shared secret. */
int tcs_auth_session_osap(TcsAuthSession *s, uint32_t handle,
			  const uint8_t nonce_even[TCS_NONCE_SIZE],
			  const uint8_t nonce_even_osap[TCS_NONCE_SIZE],
			  const uint8_t nonce_odd_osap[TCS_NONCE_SIZE],
			  const uint8_t entity_secret[TCS_SECRET_SIZE]);

/* Draw the next command's nonceOdd (before any ADIP that uses it). */
int tcs_auth_session_next_nonce(TcsAuthSession *s);

/*
 * Authorise a command: the AUTH trailer for in_digest with the session's
 * current nonces (s->nonce_odd as drawn by tcs_auth_session_next_nonce).
 */
int tcs_auth_session_command(TcsAuthSession *s, const uint8_t in_digest[TCS_DIGEST_SIZE], bool cont,
			     TcsAuthIn *ret);

/*
 * Check a reply's AUTH against out_digest; -EBADMSG when it does not verify.
 * On success the nonces roll: s->nonce_even becomes the reply's even nonce
 * and s->cont the TPM's continue flag, ready for the next command.
 */
int tcs_auth_session_check_reply(TcsAuthSession *s, const uint8_t out_digest[TCS_DIGEST_SIZE],
				 const TcsAuthOut *reply);
