/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-key-wrap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "tcs-auth.h"
#include "tcs-buf.h"
#include "tcs-client.h"
#include "tcs-key.h"
#include "tcs-types.h"

#define SECRET 20u
/* The OAEP label TPM 1.2 uses for every OAEP encryption ("TCPA", no NUL). */
static const uint8_t oaep_label[4] = {'T', 'C', 'P', 'A'};

TCS_DEFINE_CLEANUP(BIGNUM *, BN_clear_free)
TCS_DEFINE_CLEANUP(BN_CTX *, BN_CTX_free)
TCS_DEFINE_CLEANUP(EVP_PKEY *, EVP_PKEY_free)
TCS_DEFINE_CLEANUP(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)
TCS_DEFINE_CLEANUP(OSSL_PARAM_BLD *, OSSL_PARAM_BLD_free)
TCS_DEFINE_CLEANUP(OSSL_PARAM *, OSSL_PARAM_free) /* secure BNs live in secure memory, cleared on free */

static void
wbuf_wipe(TcsWbuf *w)
{
	tcs_wbuf_free_secure(w);
}

/* A big number as exactly len big-endian bytes (left-padded); false if it does not fit. */
static bool
bn_to_bytes(const BIGNUM *bn, uint8_t *out, size_t len)
{
	return BN_bn2binpad(bn, out, (int)len) == (int)len;
}

/* The parent's public key: a TPM_PUBKEY (starts with algorithmID TPM_ALG_RSA) or a storage TPM_KEY(12). */
static int
parent_to_evp(const uint8_t *parent, size_t len, EVP_PKEY **ret)
{
	_cleanup_key_ TcsKey k = {0};
	int rc;

	if (!parent || len < 4)
		return -EINVAL;
	if (parent[0] == 0 && parent[1] == 0 && parent[2] == 0 && parent[3] == 1) {
		rc = tcs_pubkey_parse(parent, len, &k, NULL);
	} else {
		rc = tcs_key_parse(parent, len, &k, NULL);
		if (rc == 0 && k.key_usage != TPM_KEY_STORAGE)
			return -EINVAL;
	}
	if (rc < 0)
		return rc;
	return tcs_key_to_evp(&k, ret);
}

static int
oaep_ctx(EVP_PKEY *pkey, bool encrypt, EVP_PKEY_CTX **ret)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	uint8_t *label;

	if (!ctx)
		return -ENOMEM;
	if ((encrypt ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, "SHA1", NULL) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, "SHA1", NULL) <= 0)
		return -EINVAL;
	label = OPENSSL_memdup(oaep_label, sizeof(oaep_label));
	if (!label)
		return -ENOMEM;
	if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, sizeof(oaep_label)) <= 0) {
		OPENSSL_free(label);
		return -EIO;
	}
	*ret = TCS_TAKE_PTR(ctx);
	return 0;
}

static void
default_schemes(const TcsKeyWrapParams *p, uint16_t *enc, uint16_t *sig)
{
	*enc = p->enc_scheme;
	*sig = p->sig_scheme;
	if (!*enc)
		*enc = p->usage == TPM_KEY_STORAGE || p->usage == TPM_KEY_BIND ||
				       p->usage == TPM_KEY_LEGACY || p->usage == TPM_KEY_MIGRATE
			       ? TPM_ES_RSAESOAEP_SHA1_MGF1
			       : TPM_ES_NONE;
	if (!*sig)
		*sig = p->usage == TPM_KEY_SIGNING || p->usage == TPM_KEY_LEGACY
			       ? TPM_SS_RSASSAPKCS1v15_SHA1
			       : TPM_SS_NONE;
}

int
tcs_key_wrap(EVP_PKEY *key, const uint8_t *parent, size_t parent_len, const TcsKeyWrapParams *p,
	     const uint8_t usage_secret[20], const uint8_t migration_secret[20], uint8_t **ret,
	     size_t *ret_len)
{
	_cleanup_(BN_clear_freep) BIGNUM *n = NULL;
	_cleanup_(BN_clear_freep) BIGNUM *e = NULL;
	_cleanup_(BN_clear_freep) BIGNUM *prime = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *parent_key = NULL;
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	_cleanup_(wbuf_wipe) TcsWbuf w = {0};
	_cleanup_(wbuf_wipe) TcsWbuf store = {0};
	uint8_t mod[TCS_KEY_MAX_MODULUS], exp[TCS_KEY_MAX_EXPONENT], digest[TCS_DIGEST_SIZE];
	uint8_t *enc_buf;
	size_t mod_len, exp_len, prime_len, enc_len = 0;
	uint16_t enc_scheme, sig_scheme;
	int rc;

	if (!key || !p || !usage_secret || !migration_secret || !ret || !ret_len ||
	    EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
		return -EINVAL;
	if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e))
		return -EINVAL;
	/* a public-only key has no factors */
	if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR1, &prime))
		return -EINVAL;
	mod_len = (size_t)BN_num_bytes(n);
	exp_len = BN_is_word(e, 65537) ? 0 : (size_t)BN_num_bytes(e); /* empty = the default */
	prime_len = (size_t)BN_num_bytes(prime);
	if (mod_len == 0 || mod_len > sizeof(mod) || exp_len > sizeof(exp) || prime_len > mod_len)
		return -EINVAL;
	if (!bn_to_bytes(n, mod, mod_len) || (exp_len && !bn_to_bytes(e, exp, exp_len)))
		return -EIO;
	rc = parent_to_evp(parent, parent_len, &parent_key);
	if (rc < 0)
		return rc;
	default_schemes(p, &enc_scheme, &sig_scheme);

	/* the public part, which pubDataDigest covers */
	tcs_wbuf_init(&w, TCS_KEY_MAX_SIZE);
	if (p->key12) {
		tcs_wbuf_u16(&w, TPM_TAG_KEY12);
		tcs_wbuf_u16(&w, 0);
	} else {
		tcs_wbuf_bytes(&w, (const uint8_t[]){1, 1, 0, 0}, 4);
	}
	tcs_wbuf_u16(&w, p->usage);
	tcs_wbuf_u32(&w, p->flags | TPM_KEY_FLAG_MIGRATABLE);
	tcs_wbuf_u8(&w, p->auth_data_usage);
	tcs_wbuf_u32(&w, TPM_ALG_RSA);
	tcs_wbuf_u16(&w, enc_scheme);
	tcs_wbuf_u16(&w, sig_scheme);
	tcs_wbuf_u32(&w, (uint32_t)(12 + exp_len));
	tcs_wbuf_u32(&w, (uint32_t)BN_num_bits(n));
	tcs_wbuf_u32(&w, 2);
	tcs_wbuf_u32(&w, (uint32_t)exp_len);
	tcs_wbuf_bytes(&w, exp, exp_len);
	tcs_wbuf_u32(&w, 0); /* PCRInfoSize */
	tcs_wbuf_u32(&w, (uint32_t)mod_len);
	tcs_wbuf_bytes(&w, mod, mod_len);
	if (!tcs_wbuf_ok(&w))
		return -ENOMEM;
	rc = tcs_sha1(w.data, w.len, digest);
	if (rc < 0)
		return rc;

	/* TPM_STORE_ASYMKEY */
	tcs_wbuf_init(&store, 4096);
	tcs_wbuf_u8(&store, TPM_PT_ASYM);
	tcs_wbuf_bytes(&store, usage_secret, SECRET);
	tcs_wbuf_bytes(&store, migration_secret, SECRET);
	tcs_wbuf_bytes(&store, digest, sizeof(digest));
	tcs_wbuf_u32(&store, (uint32_t)prime_len);
	tcs_wbuf_zeros(&store, prime_len);
	if (!tcs_wbuf_ok(&store) || !bn_to_bytes(prime, store.data + store.len - prime_len, prime_len))
		return -ENOMEM;

	rc = oaep_ctx(parent_key, true, &ctx);
	if (rc < 0)
		return rc;
	if ((size_t)EVP_PKEY_get_size(parent_key) < store.len + 2 * TCS_DIGEST_SIZE + 2)
		return -E2BIG;
	if (EVP_PKEY_encrypt(ctx, NULL, &enc_len, store.data, store.len) <= 0)
		return -EIO;
	tcs_wbuf_u32(&w, (uint32_t)enc_len);
	tcs_wbuf_zeros(&w, enc_len);
	if (!tcs_wbuf_ok(&w))
		return -ENOMEM;
	enc_buf = w.data + w.len - enc_len;
	if (EVP_PKEY_encrypt(ctx, enc_buf, &enc_len, store.data, store.len) <= 0)
		return -EIO;
	/* the final length can only be what the query said for RSA; be exact anyway */
	if (enc_buf + enc_len != w.data + w.len)
		return -EIO;
	*ret = tcs_wbuf_steal(&w, ret_len);
	return 0;
}

/* Build the private key from n, e and one prime; -EBADMSG if p does not divide n. */
static int
rsa_from_prime(const BIGNUM *n, const BIGNUM *e, const BIGNUM *p, EVP_PKEY **ret)
{
	_cleanup_(BN_CTX_freep) BN_CTX *bctx = BN_CTX_secure_new();
	_cleanup_(BN_clear_freep) BIGNUM *q = BN_secure_new();
	_cleanup_(BN_clear_freep) BIGNUM *rem = BN_secure_new();
	_cleanup_(BN_clear_freep) BIGNUM *p1 = BN_secure_new();
	_cleanup_(BN_clear_freep) BIGNUM *q1 = BN_secure_new();
	_cleanup_(BN_clear_freep) BIGNUM *phi = BN_secure_new();
	_cleanup_(BN_clear_freep) BIGNUM *d = BN_secure_new();
	_cleanup_(BN_clear_freep) BIGNUM *dp = BN_secure_new();
	_cleanup_(BN_clear_freep) BIGNUM *dq = BN_secure_new();
	_cleanup_(BN_clear_freep) BIGNUM *qinv = BN_secure_new();
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	_cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (!bctx || !q || !rem || !p1 || !q1 || !phi || !d || !dp || !dq || !qinv || !bld)
		return -ENOMEM;
	if (BN_is_zero(p) || BN_is_one(p) || !BN_div(q, rem, n, p, bctx))
		return -EBADMSG;
	if (!BN_is_zero(rem) || BN_is_one(q))
		return -EBADMSG;
	if (!BN_sub(p1, p, BN_value_one()) || !BN_sub(q1, q, BN_value_one()) ||
	    !BN_mul(phi, p1, q1, bctx) || !BN_mod_inverse(d, e, phi, bctx) ||
	    !BN_mod(dp, d, p1, bctx) || !BN_mod(dq, d, q1, bctx) ||
	    !BN_mod_inverse(qinv, q, p, bctx))
		return -EBADMSG;
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv))
		return -ENOMEM;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !ctx)
		return -ENOMEM;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0)
		return -EIO;
	*ret = pkey;
	return 0;
}

int
tcs_key_unwrap(const uint8_t *blob, size_t blob_len, EVP_PKEY *parent_priv, EVP_PKEY **ret_key,
	       uint8_t usage_secret[20], uint8_t migration_secret[20])
{
	static const uint8_t default_exponent[] = {0x01, 0x00, 0x01};
	_cleanup_key_ TcsKey k = {0};
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	_cleanup_(BN_clear_freep) BIGNUM *n = NULL;
	_cleanup_(BN_clear_freep) BIGNUM *e = NULL;
	_cleanup_(BN_clear_freep) BIGNUM *p = NULL;
	uint8_t plain[TCS_KEY_MAX_ENC_DATA], digest[TCS_DIGEST_SIZE], usage[SECRET], mig[SECRET];
	const uint8_t *want_digest, *prime;
	size_t plain_len = sizeof(plain), pub_len;
	uint32_t prime_len;
	TcsRbuf r;
	int rc;

	if (!blob || !parent_priv || !ret_key || !usage_secret || !migration_secret)
		return -EINVAL;
	rc = tcs_key_parse(blob, blob_len, &k, NULL);
	if (rc < 0)
		return rc;
	if (k.algorithm_id != TPM_ALG_RSA || !k.modulus_len || !k.enc_data_len)
		return -EBADMSG;
	rc = oaep_ctx(parent_priv, false, &ctx);
	if (rc < 0)
		return rc;
	if (EVP_PKEY_decrypt(ctx, plain, &plain_len, k.enc_data, k.enc_data_len) <= 0)
		return -EBADMSG;

	tcs_rbuf_init(&r, plain, plain_len);
	rc = tcs_rbuf_u8(&r) == TPM_PT_ASYM ? 0 : -EBADMSG;
	tcs_rbuf_copy(&r, usage, SECRET);
	tcs_rbuf_copy(&r, mig, SECRET);
	want_digest = tcs_rbuf_take(&r, TCS_DIGEST_SIZE);
	prime_len = tcs_rbuf_u32(&r);
	prime = prime_len <= k.modulus_len ? tcs_rbuf_take(&r, prime_len) : NULL;
	/* the public part is everything before encSize */
	pub_len = (size_t)(k.enc_data - k.raw) - 4;
	if (rc == 0 && (!tcs_rbuf_ok(&r) || !prime || tcs_rbuf_remaining(&r) != 0))
		rc = -EBADMSG;
	if (rc == 0)
		rc = tcs_sha1(k.raw, pub_len, digest);
	if (rc == 0 && CRYPTO_memcmp(digest, want_digest, sizeof(digest)) != 0)
		rc = -EBADMSG;
	if (rc == 0) {
		n = BN_bin2bn(k.modulus, (int)k.modulus_len, NULL);
		e = k.exponent_len ? BN_bin2bn(k.exponent, (int)k.exponent_len, NULL)
				   : BN_bin2bn(default_exponent, sizeof(default_exponent), NULL);
		p = BN_secure_new();
		if (!n || !e || !p || !BN_bin2bn(prime, (int)prime_len, p))
			rc = -ENOMEM;
	}
	if (rc == 0)
		rc = rsa_from_prime(n, e, p, ret_key);
	if (rc == 0) {
		memcpy(usage_secret, usage, SECRET);
		memcpy(migration_secret, mig, SECRET);
	}
	tcs_wipe(plain, sizeof(plain));
	tcs_wipe(usage, sizeof(usage));
	tcs_wipe(mig, sizeof(mig));
	return rc;
}
