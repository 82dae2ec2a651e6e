/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM 1.2 key structures (TPM Main Part 2): TPM_KEY, TPM_KEY12 and TPM_PUBKEY,
 * plus length walkers for the variable-size structures found in TPM replies,
 * so the daemon can find where one ends without understanding all of it.
 *
 * Every function returns 0 or a negative errno. Structures that are
 * truncated, inconsistent or beyond the limits below (larger than anything a
 * TPM 1.2 produces) give -EBADMSG.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "tcs-common.h"

/* Limits: generous for TPM 1.2 (RSA ≤ 2048 bits in practice). */
#define TCS_KEY_MAX_SIZE (64u * 1024)  /* whole serialised key */
#define TCS_KEY_MAX_MODULUS 1024u      /* bytes (8192-bit RSA) */
#define TCS_KEY_MAX_EXPONENT 16u       /* bytes */
#define TCS_KEY_MAX_PARMS 1024u        /* TPM_KEY_PARMS.parmSize */
#define TCS_KEY_MAX_PCR_INFO 1024u     /* PCRInfoSize, sealInfoSize */
#define TCS_KEY_MAX_ENC_DATA 4096u     /* encSize, encDataSize */
#define TCS_KEY_MAX_PCR_SELECT 32u     /* sizeOfSelect: 256 PCRs */

#define TPM_ALG_RSA 0x00000001u
#define TPM_ES_NONE 0x0001u
#define TPM_ES_RSAESPKCSv15 0x0002u
#define TPM_ES_RSAESOAEP_SHA1_MGF1 0x0003u
#define TPM_SS_NONE 0x0001u
#define TPM_SS_RSASSAPKCS1v15_SHA1 0x0002u
#define TPM_SS_RSASSAPKCS1v15_DER 0x0003u
#define TPM_SS_RSASSAPKCS1v15_INFO 0x0004u

#define TPM_KEY_SIGNING 0x0010u
#define TPM_KEY_STORAGE 0x0011u
#define TPM_KEY_IDENTITY 0x0012u
#define TPM_KEY_AUTHCHANGE 0x0013u
#define TPM_KEY_BIND 0x0014u
#define TPM_KEY_LEGACY 0x0015u
#define TPM_KEY_MIGRATE 0x0016u

#define TPM_TAG_CURRENT_TICKS 0x0014u
#define TPM_TAG_STORED_DATA12 0x0016u
#define TPM_TAG_KEY12 0x0028u
#define TPM_TAG_CERTIFY_INFO2 0x0029u

#define TCS_CURRENT_TICKS_SIZE 32u

typedef enum {
	TCS_KEY_KIND_KEY,    /* TPM_KEY (1.1 layout, TPM_STRUCT_VER 01 01 xx xx) */
	TCS_KEY_KIND_KEY12,  /* TPM_KEY12 (tag 0x0028) */
	TCS_KEY_KIND_PUBKEY, /* TPM_PUBKEY: only the algorithm parms and modulus are set */
} TcsKeyKind;

/*
 * A parsed key. It owns `raw`, a copy of exactly the bytes the structure
 * occupied; every pointer below points into `raw`. Move it by value only
 * together with ownership, and release it with tcs_key_free().
 */
typedef struct {
	uint8_t *raw;
	size_t raw_len;

	TcsKeyKind kind;
	uint8_t ver[4]; /* TPM_KEY: TPM_STRUCT_VER (revMajor/revMinor vary in the wild) */
	uint16_t key_usage;
	uint32_t key_flags;
	uint8_t auth_data_usage;

	/* TPM_KEY_PARMS */
	uint32_t algorithm_id;
	uint16_t enc_scheme;
	uint16_t sig_scheme;
	const uint8_t *parms; /* the opaque parms, parms_len == parmSize */
	size_t parms_len;
	/* TPM_RSA_KEY_PARMS, set when algorithm_id == TPM_ALG_RSA */
	uint32_t rsa_key_bits;
	uint32_t rsa_num_primes;
	const uint8_t *exponent; /* big-endian; empty means 65537 */
	size_t exponent_len;

	const uint8_t *pcr_info;
	size_t pcr_info_len;
	const uint8_t *modulus; /* TPM_STORE_PUBKEY.key */
	size_t modulus_len;
	const uint8_t *enc_data;
	size_t enc_data_len;
} TcsKey;

/* NULL-safe, idempotent; leaves *k zeroed. Usable as _cleanup_(tcs_key_free). */
void tcs_key_free(TcsKey *k);
#define _cleanup_key_ _cleanup_(tcs_key_free)

/*
 * Parse a TPM_KEY or TPM_KEY12 at the start of blob (trailing bytes are not
 * looked at); ret_consumed (optional) receives the structure's length.
 */
int tcs_key_parse(const uint8_t *blob, size_t len, TcsKey *ret, size_t *ret_consumed);
/* Parse a TPM_PUBKEY (TPM_KEY_PARMS + TPM_STORE_PUBKEY) into a TCS_KEY_KIND_PUBKEY. */
int tcs_pubkey_parse(const uint8_t *blob, size_t len, TcsKey *ret, size_t *ret_consumed);

/* The RSA modulus. -EINVAL if the key is not RSA, -ENODATA if it carries no modulus. */
int tcs_key_modulus(const TcsKey *k, const uint8_t **mod, size_t *len);
/* True when the modulus is absent or all zero (TrouSerS stores the SRK that way). */
bool tcs_key_modulus_is_zero(const TcsKey *k);
/* Zero the modulus inside raw, as TrouSerS does for the SRK it writes to system.data. */
void tcs_key_zero_modulus(TcsKey *k);

/* Serialise the key's TPM_PUBKEY; *out is malloc'd. */
int tcs_key_to_pubkey(const TcsKey *k, uint8_t **out, size_t *len);
/* An OpenSSL RSA public key. -EINVAL for non-RSA keys, -ENODATA for a zeroed/absent modulus. */
int tcs_key_to_evp(const TcsKey *k, EVP_PKEY **ret);

/* Length walkers: the size of the structure at the start of p (trailing bytes ignored). */
int tcs_struct_len_key(const uint8_t *p, size_t len, size_t *ret);
int tcs_struct_len_pubkey(const uint8_t *p, size_t len, size_t *ret);
int tcs_struct_len_pcr_composite(const uint8_t *p, size_t len, size_t *ret);
int tcs_struct_len_pcr_info_short(const uint8_t *p, size_t len, size_t *ret);
/* TPM_STORED_DATA (01 01 xx xx) or TPM_STORED_DATA12 (tag 0x0016). */
int tcs_struct_len_stored_data(const uint8_t *p, size_t len, size_t *ret);
/* TPM_CURRENT_TICKS: always 32 bytes; the tag must be 0x0014. */
int tcs_struct_len_current_ticks(const uint8_t *p, size_t len, size_t *ret);
/* TPM_CERTIFY_INFO (01 01 xx xx) or TPM_CERTIFY_INFO2 (tag 0x0029). */
int tcs_struct_len_certify_info(const uint8_t *p, size_t len, size_t *ret);
