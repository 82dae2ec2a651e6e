/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pieces every TCSD client that protects a secret with a bind key needs
 * (tpmencrypt, tpmluks, the LUKS2 token plugin): binding in software to a
 * bind key's public half, the well-known secrets of the project's storage
 * keys, and the fingerprint that names a parent key.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tcs-auth.h"
#include "tcs-key.h"
#include "tcs-uuid.h"

#define TCS_FINGERPRINT_SIZE 32u /* SHA-256 of a key's modulus */

/*
 * What Tspi_Data_Bind does for an OAEP bind key: TPM_BOUND_DATA {version
 * 1.1.0.0, TPM_PT_BIND, data} encrypted with RSAES-OAEP, SHA-1, MGF1-SHA-1,
 * label "TCPA" (TPM Main Part 3, TPM_UnBind). *ret malloc'd. -EINVAL for a
 * key that is not an OAEP key or data too long for it, -EIO (OpenSSL).
 */
int tcs_bind_software(const TcsKey *k, const void *data, size_t len, uint8_t **ret,
		      size_t *ret_len);

/*
 * A TcsSecretLookup for tcs_client_load_key_by_uuid: the SRK, the SK and the
 * RK have the well-known secret (the SRK by tcs_take_ownership -z / the
 * Manager, the SK and RK by design); every other key is unknown. userdata,
 * when not NULL, is the SRK's secret (TCS_SECRET_SIZE bytes: an SRK password
 * from tpm_takeownership without -z, see tcs_auth_srk_secret).
 */
int tcs_lookup_well_known(const TcsUuid *uuid, uint8_t secret[TCS_SECRET_SIZE], void *userdata);

/* SHA-256 of the key's modulus: names a parent key across blob re-wraps. */
int tcs_key_fingerprint(const TcsKey *k, uint8_t out[TCS_FINGERPRINT_SIZE]);
