/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Software binding, well-known secrets, key fingerprints (see tcs-bind.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "tcs-bind.h"
#include "tcs-common.h"
#include "tcs-keyblob.h"
#include "tcs-types.h"

#define TPM_PT_BIND 0x02u
#define BOUND_HEADER 5u
#define BOUND_MAX 256u

static void
pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

static void
pkey_ctx_freep(EVP_PKEY_CTX **p)
{
	EVP_PKEY_CTX_free(*p);
}

int
tcs_bind_software(const TcsKey *k, const void *data, size_t len, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(pkey_freep) EVP_PKEY *pk = NULL;
	_cleanup_(pkey_ctx_freep) EVP_PKEY_CTX *ctx = NULL;
	_cleanup_free_ uint8_t *out = NULL;
	uint8_t bound[BOUND_HEADER + BOUND_MAX] = {1, 1, 0, 0, TPM_PT_BIND};
	char *label;
	size_t out_len = 0;
	int rc = -EIO;

	if (len > BOUND_MAX || k->enc_scheme != TPM_ES_RSAESOAEP_SHA1_MGF1 ||
	    tcs_key_to_evp(k, &pk) < 0)
		return -EINVAL;
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	if (!ctx || EVP_PKEY_encrypt_init(ctx) <= 0)
		return -EIO;
	/* the label is handed over: OpenSSL frees it with the context */
	label = OPENSSL_strdup("TCPA");
	if (!label || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha1()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1()) <= 0 ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, 4) <= 0) {
		OPENSSL_free(label);
		return -EIO;
	}
	memcpy(bound + BOUND_HEADER, data, len);
	/* too long for the modulus: OpenSSL refuses, reported as -EIO */
	if (EVP_PKEY_encrypt(ctx, NULL, &out_len, bound, BOUND_HEADER + len) > 0 &&
	    (out = malloc(out_len)) &&
	    EVP_PKEY_encrypt(ctx, out, &out_len, bound, BOUND_HEADER + len) > 0) {
		*ret = TCS_TAKE_PTR(out);
		*ret_len = out_len;
		rc = 0;
	}
	OPENSSL_cleanse(bound, sizeof(bound));
	return rc;
}

int
tcs_lookup_well_known(const TcsUuid *uuid, uint8_t secret[TCS_SECRET_SIZE], void *userdata)
{
	const uint8_t *srk_secret = userdata;

	if (srk_secret && tcs_uuid_equal(uuid, &TCS_UUID_SRK)) {
		memcpy(secret, srk_secret, TCS_SECRET_SIZE);
		return 0;
	}
	if (tcs_uuid_equal(uuid, &TCS_UUID_SRK) || tcs_uuid_equal(uuid, &TCS_UUID_SK) ||
	    tcs_uuid_equal(uuid, &TCS_UUID_RK)) {
		memcpy(secret, tcs_auth_well_known, TCS_SECRET_SIZE);
		return 0;
	}
	return -ENOENT;
}

int
tcs_key_fingerprint(const TcsKey *k, uint8_t out[TCS_FINGERPRINT_SIZE])
{
	const uint8_t *mod;
	size_t len;

	if (tcs_key_modulus(k, &mod, &len) < 0 || len == 0)
		return -EINVAL;
	return EVP_Digest(mod, len, out, NULL, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}
