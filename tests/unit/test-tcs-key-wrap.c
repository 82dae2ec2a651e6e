/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tcs_key_wrap / tcs_key_unwrap with software parents: the round trip gives
 * back the same key and secrets, the blob is a TPM_KEY(12) libtcs parses with
 * the requested attributes, and wrong parents, tampering and oversized keys
 * are refused. (Loading wrapped keys into a real TPM: test-tpmcreate.sh.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "tcs-auth.h"
#include "tcs-buf.h"
#include "tcs-client.h"
#include "tcs-key-wrap.h"
#include "tcs-key.h"
#include "tcs-tap.h"

static EVP_PKEY *
gen_rsa(unsigned bits)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

/* A TPM_PUBKEY (or, with usage, a TPM_KEY without encData) for a software key. */
static uint8_t *
tpm_public(EVP_PKEY *k, uint16_t usage, size_t *len)
{
	BIGNUM *n = NULL;
	uint8_t mod[512];
	int mod_len;
	TcsWbuf w;

	EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
	mod_len = BN_bn2bin(n, mod);
	tcs_wbuf_init(&w, 0);
	if (usage) {
		tcs_wbuf_bytes(&w, (const uint8_t[]){1, 1, 0, 0}, 4);
		tcs_wbuf_u16(&w, usage);
		tcs_wbuf_u32(&w, 0);
		tcs_wbuf_u8(&w, 0);
	}
	tcs_wbuf_u32(&w, TPM_ALG_RSA);
	tcs_wbuf_u16(&w, TPM_ES_RSAESOAEP_SHA1_MGF1);
	tcs_wbuf_u16(&w, TPM_SS_NONE);
	tcs_wbuf_u32(&w, 12);
	tcs_wbuf_u32(&w, (uint32_t)BN_num_bits(n));
	tcs_wbuf_u32(&w, 2);
	tcs_wbuf_u32(&w, 0);
	if (usage)
		tcs_wbuf_u32(&w, 0); /* PCRInfoSize */
	tcs_wbuf_u32(&w, (uint32_t)mod_len);
	tcs_wbuf_bytes(&w, mod, (size_t)mod_len);
	if (usage)
		tcs_wbuf_u32(&w, 0); /* encSize */
	BN_free(n);
	return tcs_wbuf_steal(&w, len);
}

static bool
sign_verifies(EVP_PKEY *priv, EVP_PKEY *pub)
{
	static const char msg[] = "wrapped key";
	uint8_t sig[512];
	size_t sig_len = sizeof(sig);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok = EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, priv) > 0 &&
		  EVP_DigestSign(c, sig, &sig_len, (const uint8_t *)msg, sizeof(msg)) > 0;

	EVP_MD_CTX_free(c);
	c = EVP_MD_CTX_new();
	ok = ok && EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, pub) > 0 &&
	     EVP_DigestVerify(c, sig, sig_len, (const uint8_t *)msg, sizeof(msg)) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

static void
round_trip(EVP_PKEY *parent, const uint8_t *parent_blob, size_t parent_len, unsigned bits,
	   bool key12, const char *what)
{
	const TcsKeyWrapParams params = {
		.usage = TPM_KEY_LEGACY,
		.flags = 0,
		.auth_data_usage = TPM_AUTH_ALWAYS,
		.enc_scheme = TPM_ES_RSAESPKCSv15,
		.sig_scheme = TPM_SS_RSASSAPKCS1v15_DER,
		.key12 = key12,
	};
	uint8_t usage[20], mig[20], got_usage[20] = {0}, got_mig[20] = {0};
	EVP_PKEY *key = gen_rsa(bits), *back = NULL, *pub = NULL;
	uint8_t *blob = NULL;
	size_t len = 0;
	TcsKey k = {0};
	int rc;

	tcs_auth_secret_plain("usage", 5, usage);
	tcs_auth_secret_plain("migration", 9, mig);
	rc = tcs_key_wrap(key, parent_blob, parent_len, &params, usage, mig, &blob, &len);
	CHECK(rc == 0, "%s: wrap a %u-bit key (rc %d, %zu bytes)", what, bits, rc, len);
	if (rc != 0)
		goto out;
	rc = tcs_key_parse(blob, len, &k, NULL);
	CHECK(rc == 0 && k.raw_len == len, "%s: the blob parses as one TPM_KEY%s", what,
	      key12 ? "12" : "");
	CHECK(k.kind == (key12 ? TCS_KEY_KIND_KEY12 : TCS_KEY_KIND_KEY) &&
		      k.key_usage == TPM_KEY_LEGACY && k.key_flags == TPM_KEY_FLAG_MIGRATABLE &&
		      k.auth_data_usage == TPM_AUTH_ALWAYS &&
		      k.enc_scheme == TPM_ES_RSAESPKCSv15 &&
		      k.sig_scheme == TPM_SS_RSASSAPKCS1v15_DER && k.rsa_key_bits == bits &&
		      k.exponent_len == 0,
	      "%s: attributes as asked, migratable, default exponent", what);
	CHECK(tcs_key_to_evp(&k, &pub) == 0 && EVP_PKEY_eq(pub, key) == 1,
	      "%s: its public key is the wrapped key's", what);
	rc = tcs_key_unwrap(blob, len, parent, &back, got_usage, got_mig);
	CHECK(rc == 0, "%s: unwrap (rc %d)", what, rc);
	CHECK(back && EVP_PKEY_eq(back, key) == 1 && sign_verifies(back, key),
	      "%s: the unwrapped private key is the original", what);
	CHECK(!memcmp(got_usage, usage, 20) && !memcmp(got_mig, mig, 20),
	      "%s: usage and migration secrets come back", what);

	/* any change to the public part breaks pubDataDigest */
	blob[9] ^= 0x01; /* keyFlags' low byte (same offset in TPM_KEY12) */
	EVP_PKEY_free(back);
	back = NULL;
	CHECK(tcs_key_unwrap(blob, len, parent, &back, got_usage, got_mig) == -EBADMSG && !back,
	      "%s: a changed public part is refused (-EBADMSG)", what);
out:
	tcs_key_free(&k);
	free(blob);
	EVP_PKEY_free(back);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(key);
}

int
main(void)
{
	EVP_PKEY *parent = gen_rsa(2048), *other = gen_rsa(2048), *key = gen_rsa(1024), *big,
		 *back = NULL, *pub_only = NULL;
	const TcsKeyWrapParams sign = {.usage = TPM_KEY_SIGNING};
	uint8_t s1[20], s2[20], *blob = NULL, *der = NULL, *p;
	size_t pub_len, storage_len, bind_len, len = 0;
	uint8_t *pub = tpm_public(parent, 0, &pub_len);
	uint8_t *storage = tpm_public(parent, TPM_KEY_STORAGE, &storage_len);
	uint8_t *bind = tpm_public(parent, TPM_KEY_BIND, &bind_len);
	TcsKey k = {0};
	int der_len;

	round_trip(parent, pub, pub_len, 2048, false, "TPM_PUBKEY parent");
	round_trip(parent, storage, storage_len, 1024, false, "TPM_KEY storage parent");
	round_trip(parent, pub, pub_len, 512, true, "TPM_KEY12");

	/* defaults by usage, as TcsKeyTemplate: a signing key gets SHA1 / no encryption */
	CHECK(tcs_key_wrap(key, pub, pub_len, &sign, tcs_auth_well_known, tcs_auth_well_known,
			   &blob, &len) == 0 &&
		      tcs_key_parse(blob, len, &k, NULL) == 0 &&
		      k.sig_scheme == TPM_SS_RSASSAPKCS1v15_SHA1 && k.enc_scheme == TPM_ES_NONE,
	      "schemes 0: by usage (signing: SHA1, no encryption)");
	CHECK(tcs_key_unwrap(blob, len, other, &back, s1, s2) == -EBADMSG && !back,
	      "unwrap with another parent's private key: -EBADMSG");
	free(blob);
	blob = NULL;
	tcs_key_free(&k);

	CHECK(tcs_key_wrap(key, bind, bind_len, &sign, s1, s2, &blob, &len) == -EINVAL && !blob,
	      "a TPM_KEY parent that is not a storage key: -EINVAL");
	big = gen_rsa(4096);
	CHECK(tcs_key_wrap(big, pub, pub_len, &sign, s1, s2, &blob, &len) == -E2BIG && !blob,
	      "a 4096-bit key does not fit a 2048-bit parent: -E2BIG");
	EVP_PKEY_free(big);

	/* a public key alone cannot be wrapped */
	der_len = i2d_PUBKEY(key, &der);
	p = der;
	pub_only = d2i_PUBKEY(NULL, (const uint8_t **)&p, der_len);
	CHECK(pub_only && tcs_key_wrap(pub_only, pub, pub_len, &sign, s1, s2, &blob, &len) == -EINVAL,
	      "a public-only key: -EINVAL");
	CHECK(tcs_key_wrap(key, pub, 3, &sign, s1, s2, &blob, &len) == -EINVAL,
	      "a truncated parent: -EINVAL");
	CHECK(tcs_key_wrap(key, pub, pub_len - 1, &sign, s1, s2, &blob, &len) == -EBADMSG,
	      "a short TPM_PUBKEY: -EBADMSG");
	CHECK(tcs_key_unwrap(pub, pub_len, parent, &back, s1, s2) == -EBADMSG,
	      "unwrap of something that is no TPM_KEY: -EBADMSG");

	OPENSSL_free(der);
	EVP_PKEY_free(pub_only);
	free(pub);
	free(storage);
	free(bind);
	EVP_PKEY_free(parent);
	EVP_PKEY_free(other);
	EVP_PKEY_free(key);
	return tap_done();
}
