/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Software wrapping of RSA keys for a TPM 1.2 parent storage key, as libtspi's
 * Tspi_Key_WrapKey does it (TPM Main Part 2, TPM_STORE_ASYMKEY): the private
 * part travels as one prime, OAEP-encrypted (SHA-1, MGF1, label "TCPA") to
 * the parent's public key, so only the TPM holding the parent can load it.
 * And the inverse, for the software side of a migration.
 *
 * Both return 0 or a negative errno: -EINVAL (not RSA, not a storage parent,
 * bad parameters), -EBADMSG (a malformed blob, or one that does not decrypt or
 * whose digest does not match), -E2BIG (the key's TPM_STORE_ASYMKEY does not
 * fit the parent's OAEP block: a parent of n bits takes keys of at most about
 * n bits), -ENODATA (a parent without a modulus, e.g. TrouSerS' stored SRK:
 * use TPM_GetPubKey), -ENOMEM, -EIO (OpenSSL).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "tcs-common.h"

#define TPM_PT_ASYM 0x01u

typedef struct {
	uint16_t usage;          /* TPM_KEY_SIGNING, TPM_KEY_LEGACY, … */
	uint32_t flags;          /* TPM_KEY_FLAG_*; MIGRATABLE is always added */
	uint8_t auth_data_usage; /* TPM_AUTH_NEVER / _ALWAYS / _PRIV_USE_ONLY */
	uint16_t enc_scheme;     /* 0 = by usage as in TcsKeyTemplate */
	uint16_t sig_scheme;     /* 0 = by usage as in TcsKeyTemplate */
	bool key12;              /* TPM_KEY12 instead of the 1.1 TPM_KEY */
} TcsKeyWrapParams;

/*
 * Build a TPM_KEY (or TPM_KEY12) holding `key` (an RSA private EVP_PKEY, any
 * size the TPM takes), with TPM_STORE_ASYMKEY {TPM_PT_ASYM, usage_secret,
 * migration_secret, pubDataDigest, privKey = prime p} OAEP-encrypted (SHA-1,
 * MGF1, label "TCPA") to the parent's public key (parent: a TPM_PUBKEY or a
 * TPM_KEY/TPM_KEY12 blob of a storage key). The key is always marked
 * migratable: software cannot know the TPM's tpmProof, which a
 * non-migratable key carries as its migration secret. *ret malloc'd.
 */
int tcs_key_wrap(EVP_PKEY *key, const uint8_t *parent, size_t parent_len, const TcsKeyWrapParams *p,
		 const uint8_t usage_secret[20], const uint8_t migration_secret[20], uint8_t **ret,
		 size_t *ret_len);

/*
 * The inverse: decrypt a TPM_KEY/TPM_KEY12 blob's encData with the parent's
 * private key (OAEP "TCPA"), check the TPM_STORE_ASYMKEY (payload type,
 * digest of the public part) and rebuild the RSA private key from p and the
 * public modulus. Also returns the usage and migration secrets (wipe them).
 */
int tcs_key_unwrap(const uint8_t *blob, size_t blob_len, EVP_PKEY *parent_priv,
		   EVP_PKEY **ret_key, uint8_t usage_secret[20], uint8_t migration_secret[20]);
