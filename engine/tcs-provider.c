/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OpenSSL 3 provider "tpm" (tpm.so in the modules directory): TSS KEY
 * BLOB files as RSA keys whose private operations run in the TPM.
 *
 *   decoder      "TSS KEY BLOB" PEM text (with tpmcreate's Parent-UUID line)
 *                -> a key object passed by reference to our keymgmt
 *   keymgmt      RSA: load, public parameters, export of the PUBLIC part only
 *                (so certificates and key matching work through the default
 *                provider, and nothing else can take the key for signing)
 *   signature    RSA PKCS#1 v1.5 via TPM_Sign; RSA-PSS fails with a message:
 *                a TPM 1.2 pads itself, so TLS 1.3 needs a fallback to 1.2
 *   asym cipher  RSA PKCS#1 v1.5 decryption via TPM_UnBind; encryption is
 *                the public operation, done in software
 *
 * Use: `openssl … -provider tpm -provider default -key BLOB` (the default
 * provider supplies digests, the file store and the PEM reader) or an
 * openssl.cnf provider section; `-propquery ?provider=tpm` prefers it. The
 * SRK secret is the SRK password in $TPM_SRK_PASSWD, else the well-known
 * one (what TakeOwnership and tpm_takeownership -z give the SRK); key passphrases
 * come from $TCS_PASS or the application's passphrase callback (prompt,
 * -passin).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "config.h"
#include "tcs-keyblob.h"
#include "tcs-tpmkey.h"

#define PROV_NAME "tpm"
#define PROV_PROPS "provider=" PROV_NAME
#define MAX_BLOB_FILE (64 * 1024)

typedef struct {
	const OSSL_CORE_HANDLE *handle;
} ProvCtx;

/* ---- the core's functions we use ---- */
static OSSL_FUNC_core_new_error_fn *c_new_error;
static OSSL_FUNC_core_set_error_debug_fn *c_set_error_debug;
static OSSL_FUNC_core_vset_error_fn *c_vset_error;
static OSSL_FUNC_BIO_read_ex_fn *c_bio_read_ex;

enum {
	R_TPM = 1,
	R_NO_PSS,
	R_BAD_PADDING,
	R_BAD_DIGEST,
};
static const OSSL_ITEM reason_strings[] = {
	{R_TPM, "TPM key operation failed"},
	{R_NO_PSS, "RSA-PSS is not possible with a TPM 1.2 key"},
	{R_BAD_PADDING, "padding not supported by the TPM key"},
	{R_BAD_DIGEST, "digest not supported"},
	{0, NULL},
};

static const OSSL_CORE_HANDLE *core_handle;

static void
raise_errf(int reason, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
raise_errf(int reason, const char *fmt, ...)
{
	va_list ap;

	if (!c_new_error || !c_vset_error)
		return;
	c_new_error(core_handle);
	c_set_error_debug(core_handle, __FILE__, __LINE__, "tpm provider");
	va_start(ap, fmt);
	/* a bare reason: the core files it under this provider's error library */
	c_vset_error(core_handle, (uint32_t)reason, fmt, ap);
	va_end(ap);
}

/* ---- keymgmt: the key object is a TcsTpmKey reference ---- */

static OSSL_FUNC_keymgmt_new_fn km_new;
static OSSL_FUNC_keymgmt_free_fn km_free;
static OSSL_FUNC_keymgmt_load_fn km_load;
static OSSL_FUNC_keymgmt_has_fn km_has;
static OSSL_FUNC_keymgmt_match_fn km_match;
static OSSL_FUNC_keymgmt_get_params_fn km_get_params;
static OSSL_FUNC_keymgmt_gettable_params_fn km_gettable_params;
static OSSL_FUNC_keymgmt_export_fn km_export;
static OSSL_FUNC_keymgmt_export_types_fn km_export_types;
static OSSL_FUNC_keymgmt_query_operation_name_fn km_query_operation_name;
static OSSL_FUNC_keymgmt_dup_fn km_dup;

static void *
km_new(void *provctx)
{
	return NULL; /* keys come only from the decoder: the TPM holds them */
}

static void
km_free(void *keydata)
{
	tcs_tpmkey_unref(keydata);
}

static void *
km_load(const void *reference, size_t reference_sz)
{
	TcsTpmKey **ref = (TcsTpmKey **)reference;
	TcsTpmKey *k;

	if (!reference || reference_sz != sizeof(*ref))
		return NULL;
	/* take the decoder's reference over */
	k = *ref;
	*ref = NULL;
	return k;
}

static int
km_has(const void *keydata, int selection)
{
	/* public and private parts (the latter in the TPM); no domain parameters */
	return keydata != NULL &&
	       (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) == 0;
}

static int
km_match(const void *a, const void *b, int selection)
{
	EVP_PKEY *pa = tcs_tpmkey_public(a), *pb = tcs_tpmkey_public(b);
	int eq = EVP_PKEY_eq(pa, pb) == 1;

	EVP_PKEY_free(pa);
	EVP_PKEY_free(pb);
	return eq;
}

static int
km_get_params(void *keydata, OSSL_PARAM params[])
{
	TcsTpmKey *k = keydata;
	EVP_PKEY *pub = tcs_tpmkey_public(k);
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM *p;
	int ok = 1;

	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)))
		ok &= OSSL_PARAM_set_int(p, (int)tcs_tpmkey_size(k) * 8);
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)))
		ok &= OSSL_PARAM_set_int(p, EVP_PKEY_get_security_bits(pub));
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)))
		ok &= OSSL_PARAM_set_int(p, (int)tcs_tpmkey_size(k));
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST)))
		ok &= OSSL_PARAM_set_utf8_string(p, "SHA256");
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_N))) {
		ok &= EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) && OSSL_PARAM_set_BN(p, n);
	}
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_E))) {
		ok &= EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e) && OSSL_PARAM_set_BN(p, e);
	}
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(pub);
	return ok;
}

static const OSSL_PARAM *
km_gettable_params(void *provctx)
{
	static const OSSL_PARAM table[] = {
		OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
		OSSL_PARAM_END,
	};
	return table;
}

static int
km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
	EVP_PKEY *pub;
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL;
	int ok = 0;

	/* the private key stays in the TPM: a copy elsewhere could not sign */
	if (!keydata || (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) ||
	    !(selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY))
		return 0;
	pub = tcs_tpmkey_public(keydata);
	bld = OSSL_PARAM_BLD_new();
	if (bld && EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) &&
	    EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)))
		ok = cb(params, cbarg);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(pub);
	return ok;
}

static const OSSL_PARAM *
km_export_types(int selection)
{
	static const OSSL_PARAM table[] = {
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
		OSSL_PARAM_END,
	};
	return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) ? table : NULL;
}

static const char *
km_query_operation_name(int operation_id)
{
	return "RSA";
}

static void *
km_dup(const void *keydata, int selection)
{
	return tcs_tpmkey_ref((TcsTpmKey *)keydata);
}

static const OSSL_DISPATCH keymgmt_functions[] = {
	{OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new},
	{OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},
	{OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},
	{OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},
	{OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},
	{OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},
	{OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_gettable_params},
	{OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},
	{OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))km_export_types},
	{OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))km_query_operation_name},
	{OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},
	{0, NULL},
};

/* ---- signature: PKCS#1 v1.5 with TPM_Sign ---- */

typedef struct {
	TcsTpmKey *key;
	char mdname[64];
	int md_nid;
	EVP_MD_CTX *mdctx;
} SigCtx;

static void *
sig_newctx(void *provctx, const char *propq)
{
	return calloc(1, sizeof(SigCtx));
}

static void
sig_freectx(void *vctx)
{
	SigCtx *c = vctx;

	if (!c)
		return;
	tcs_tpmkey_unref(c->key);
	EVP_MD_CTX_free(c->mdctx);
	free(c);
}

static void *
sig_dupctx(void *vctx)
{
	SigCtx *c = vctx, *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	*d = *c;
	d->key = tcs_tpmkey_ref(c->key);
	d->mdctx = NULL;
	if (c->mdctx && (!(d->mdctx = EVP_MD_CTX_new()) || !EVP_MD_CTX_copy_ex(d->mdctx, c->mdctx))) {
		sig_freectx(d);
		return NULL;
	}
	return d;
}

static int
set_digest(SigCtx *c, const char *mdname)
{
	EVP_MD *md;

	if (!mdname || !*mdname) {
		c->mdname[0] = '\0';
		c->md_nid = NID_undef;
		return 1;
	}
	md = EVP_MD_fetch(NULL, mdname, NULL);
	if (!md) {
		raise_errf(R_BAD_DIGEST, "digest %s is not available", mdname);
		return 0;
	}
	c->md_nid = EVP_MD_get_type(md);
	snprintf(c->mdname, sizeof(c->mdname), "%s", EVP_MD_get0_name(md));
	EVP_MD_free(md);
	return 1;
}

static int sig_set_ctx_params(void *vctx, const OSSL_PARAM params[]);

static int
sig_sign_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
	SigCtx *c = vctx;

	if (provkey) {
		if (!tcs_tpmkey_can_sign(provkey)) {
			raise_errf(R_TPM, "this TPM key cannot sign");
			return 0;
		}
		tcs_tpmkey_unref(c->key);
		c->key = tcs_tpmkey_ref(provkey);
	}
	return c->key != NULL && sig_set_ctx_params(c, params);
}

/* The DigestInfo of a digest (or TLS 1.0/1.1's raw MD5+SHA-1); *out malloc'd by OpenSSL. */
static int
digest_info(int md_nid, const uint8_t *dgst, size_t len, uint8_t **out, size_t *out_len)
{
	X509_SIG *sig;
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *os;
	int n;

	if (md_nid == NID_md5_sha1) {
		*out = OPENSSL_memdup(dgst, len);
		*out_len = len;
		return *out != NULL;
	}
	sig = X509_SIG_new();
	if (!sig)
		return 0;
	X509_SIG_getm(sig, &alg, &os);
	if (!X509_ALGOR_set0(alg, OBJ_nid2obj(md_nid), V_ASN1_NULL, NULL) ||
	    !ASN1_OCTET_STRING_set(os, dgst, (int)len)) {
		X509_SIG_free(sig);
		return 0;
	}
	*out = NULL;
	n = i2d_X509_SIG(sig, out);
	X509_SIG_free(sig);
	if (n <= 0)
		return 0;
	*out_len = (size_t)n;
	return 1;
}

static int
sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize, const unsigned char *tbs,
	 size_t tbslen)
{
	SigCtx *c = vctx;
	char err[TCS_TPMKEY_ERR_SIZE];
	uint8_t *encoded = NULL;
	size_t encoded_len = 0, len;
	int rc;

	if (!c->key)
		return 0;
	len = tcs_tpmkey_size(c->key);
	if (!sig) {
		*siglen = len;
		return 1;
	}
	if (sigsize < len)
		return 0;
	if (c->md_nid != NID_undef) {
		if (!digest_info(c->md_nid, tbs, tbslen, &encoded, &encoded_len))
			return 0;
		tbs = encoded;
		tbslen = encoded_len;
	}
	rc = tcs_tpmkey_sign(c->key, tbs, tbslen, sig, &len, err);
	OPENSSL_free(encoded);
	if (rc < 0) {
		raise_errf(R_TPM, "%s", err);
		fprintf(stderr, "tpm provider: %s\n", err);
		return 0;
	}
	*siglen = len;
	return 1;
}

static int
sig_digest_sign_init(void *vctx, const char *mdname, void *provkey, const OSSL_PARAM params[])
{
	SigCtx *c = vctx;
	EVP_MD *md;

	if (!sig_sign_init(c, provkey, NULL) || !set_digest(c, mdname ? mdname : "SHA256") ||
	    !sig_set_ctx_params(c, params))
		return 0;
	md = EVP_MD_fetch(NULL, c->mdname, NULL);
	if (!c->mdctx)
		c->mdctx = EVP_MD_CTX_new();
	if (!md || !c->mdctx || !EVP_DigestInit_ex2(c->mdctx, md, NULL)) {
		EVP_MD_free(md);
		return 0;
	}
	EVP_MD_free(md);
	return 1;
}

static int
sig_digest_sign_update(void *vctx, const unsigned char *data, size_t datalen)
{
	SigCtx *c = vctx;

	return c->mdctx && EVP_DigestUpdate(c->mdctx, data, datalen);
}

static int
sig_digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
	SigCtx *c = vctx;
	uint8_t dgst[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;

	if (!c->key || !c->mdctx)
		return 0;
	if (!sig) {
		*siglen = tcs_tpmkey_size(c->key);
		return 1;
	}
	if (!EVP_DigestFinal_ex(c->mdctx, dgst, &dlen))
		return 0;
	return sig_sign(c, sig, siglen, sigsize, dgst, dlen);
}

static int
sig_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
	SigCtx *c = vctx;
	OSSL_PARAM *p;

	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID))) {
		/* the X.509 AlgorithmIdentifier, e.g. sha256WithRSAEncryption with NULL parameters */
		X509_ALGOR *alg = X509_ALGOR_new();
		uint8_t *der = NULL;
		int sig_nid = NID_undef, n = 0;

		if (alg && OBJ_find_sigid_by_algs(&sig_nid, c->md_nid, NID_rsaEncryption) &&
		    X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid), V_ASN1_NULL, NULL))
			n = i2d_X509_ALGOR(alg, &der);
		X509_ALGOR_free(alg);
		if (n <= 0 || !OSSL_PARAM_set_octet_string(p, der, (size_t)n)) {
			OPENSSL_free(der);
			return 0;
		}
		OPENSSL_free(der);
	}
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) &&
	    !OSSL_PARAM_set_utf8_string(p, c->mdname))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE))) {
		if (p->data_type == OSSL_PARAM_INTEGER)
			return OSSL_PARAM_set_int(p, RSA_PKCS1_PADDING);
		return OSSL_PARAM_set_utf8_string(p, OSSL_PKEY_RSA_PAD_MODE_PKCSV15);
	}
	return 1;
}

static const OSSL_PARAM *
sig_gettable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM table[] = {
		OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_END,
	};
	return table;
}

static int
sig_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
	SigCtx *c = vctx;
	const OSSL_PARAM *p;

	if (!params)
		return 1;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE))) {
		int mode = 0;

		if (p->data_type == OSSL_PARAM_UTF8_STRING) {
			const char *s = NULL;

			OSSL_PARAM_get_utf8_string_ptr(p, &s);
			mode = s && !strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) ? RSA_PKCS1_PADDING
			       : s && !strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PSS) ? RSA_PKCS1_PSS_PADDING
								     : -1;
		} else if (!OSSL_PARAM_get_int(p, &mode)) {
			return 0;
		}
		if (mode == RSA_PKCS1_PSS_PADDING) {
			raise_errf(R_NO_PSS, "%s", TCS_TPMKEY_NO_PSS);
			fprintf(stderr, "tpm provider: %s\n", TCS_TPMKEY_NO_PSS);
			return 0;
		}
		if (mode != RSA_PKCS1_PADDING) {
			raise_errf(R_BAD_PADDING, "TPM keys sign with PKCS#1 v1.5 padding only");
			return 0;
		}
	}
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST))) {
		const char *s = NULL;

		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s) || !set_digest(c, s))
			return 0;
	}
	return 1;
}

static const OSSL_PARAM *
sig_settable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM table[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_END,
	};
	return table;
}

static const OSSL_DISPATCH signature_functions[] = {
	{OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))sig_newctx},
	{OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_freectx},
	{OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dupctx},
	{OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_sign_init},
	{OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign},
	{OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))sig_digest_sign_init},
	{OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))sig_digest_sign_update},
	{OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))sig_digest_sign_final},
	{OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))sig_get_ctx_params},
	{OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))sig_gettable_ctx_params},
	{OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))sig_set_ctx_params},
	{OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))sig_settable_ctx_params},
	{0, NULL},
};

/* ---- asymmetric cipher: PKCS#1 v1.5 decryption with TPM_UnBind ---- */

typedef struct {
	TcsTpmKey *key;
} CipherCtx;

static void *
ac_newctx(void *provctx)
{
	return calloc(1, sizeof(CipherCtx));
}

static void
ac_freectx(void *vctx)
{
	CipherCtx *c = vctx;

	if (c) {
		tcs_tpmkey_unref(c->key);
		free(c);
	}
}

static int ac_set_ctx_params(void *vctx, const OSSL_PARAM params[]);

static int
ac_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
	CipherCtx *c = vctx;

	tcs_tpmkey_unref(c->key);
	c->key = tcs_tpmkey_ref(provkey);
	return c->key != NULL && ac_set_ctx_params(c, params);
}

static int
ac_encrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize, const unsigned char *in,
	   size_t inlen)
{
	CipherCtx *c = vctx;
	EVP_PKEY *pub = tcs_tpmkey_public(c->key);
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, "provider=default");
	int ok = pctx && EVP_PKEY_encrypt_init(pctx) > 0 &&
		 EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;

	*outlen = outsize;
	if (ok)
		ok = EVP_PKEY_encrypt(pctx, out, outlen, in, inlen) > 0;
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pub);
	return ok;
}

static int
ac_decrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize, const unsigned char *in,
	   size_t inlen)
{
	CipherCtx *c = vctx;
	char err[TCS_TPMKEY_ERR_SIZE];
	size_t len = outsize;

	if (!c->key)
		return 0;
	if (!out) {
		*outlen = tcs_tpmkey_size(c->key);
		return 1;
	}
	if (tcs_tpmkey_decrypt(c->key, in, inlen, out, &len, err) < 0) {
		raise_errf(R_TPM, "%s", err);
		return 0;
	}
	*outlen = len;
	return 1;
}

static int
ac_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
	const OSSL_PARAM *p;
	int mode = RSA_PKCS1_PADDING;

	if (!params)
		return 1;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE))) {
		if (p->data_type == OSSL_PARAM_UTF8_STRING) {
			const char *s = NULL;

			OSSL_PARAM_get_utf8_string_ptr(p, &s);
			mode = s && !strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) ? RSA_PKCS1_PADDING : -1;
		} else if (!OSSL_PARAM_get_int(p, &mode)) {
			return 0;
		}
	}
	/* TLS' RSA key exchange asks for RSA_PKCS1_WITH_TLS_PADDING: not with a TPM key */
	if (mode != RSA_PKCS1_PADDING) {
		raise_errf(R_BAD_PADDING, "TPM legacy keys decrypt PKCS#1 v1.5 only");
		return 0;
	}
	return 1;
}

static const OSSL_PARAM *
ac_settable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM table[] = {
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_END,
	};
	return table;
}

static int
ac_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
	OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE);

	if (!p)
		return 1;
	if (p->data_type == OSSL_PARAM_INTEGER)
		return OSSL_PARAM_set_int(p, RSA_PKCS1_PADDING);
	return OSSL_PARAM_set_utf8_string(p, OSSL_PKEY_RSA_PAD_MODE_PKCSV15);
}

static const OSSL_PARAM *
ac_gettable_ctx_params(void *vctx, void *provctx)
{
	return ac_settable_ctx_params(vctx, provctx);
}

static const OSSL_DISPATCH asym_cipher_functions[] = {
	{OSSL_FUNC_ASYM_CIPHER_NEWCTX, (void (*)(void))ac_newctx},
	{OSSL_FUNC_ASYM_CIPHER_FREECTX, (void (*)(void))ac_freectx},
	{OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, (void (*)(void))ac_init},
	{OSSL_FUNC_ASYM_CIPHER_ENCRYPT, (void (*)(void))ac_encrypt},
	{OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, (void (*)(void))ac_init},
	{OSSL_FUNC_ASYM_CIPHER_DECRYPT, (void (*)(void))ac_decrypt},
	{OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, (void (*)(void))ac_set_ctx_params},
	{OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, (void (*)(void))ac_settable_ctx_params},
	{OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, (void (*)(void))ac_get_ctx_params},
	{OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS, (void (*)(void))ac_gettable_ctx_params},
	{0, NULL},
};

/* ---- decoder: TSS KEY BLOB PEM text -> key reference ---- */

typedef struct {
	OSSL_PASSPHRASE_CALLBACK *cb;
	void *cbarg;
} AskData;

static int
ask_passphrase(char *buf, size_t size, const char *prompt, void *userdata)
{
	AskData *d = userdata;
	OSSL_PARAM params[2] = {OSSL_PARAM_END, OSSL_PARAM_END};
	size_t len = 0;

	if (!d->cb)
		return -ENOTTY;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PASSPHRASE_PARAM_INFO, (char *)prompt, 0);
	if (!d->cb(buf, size - 1, &len, params, d->cbarg))
		return -ECANCELED;
	buf[len < size ? len : size - 1] = '\0';
	return 0;
}

/* The whole input (a key blob file is small); text gets a terminating NUL. */
static size_t
read_all(OSSL_CORE_BIO *cin, char *text)
{
	size_t len = 0, n = 0;

	while (len < MAX_BLOB_FILE && c_bio_read_ex(cin, text + len, MAX_BLOB_FILE - len, &n) && n)
		len += n;
	text[len] = '\0';
	return len;
}

static void *
dec_newctx(void *provctx)
{
	return provctx; /* no per-operation state */
}

static void
dec_freectx(void *ctx)
{
}

static int
dec_does_selection(void *provctx, int selection)
{
	return selection == 0 || (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
}

static int
dec_decode(void *ctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *data_cb, void *data_cbarg,
	   OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	AskData ask = {pw_cb, pw_cbarg};
	char *text = malloc(MAX_BLOB_FILE + 1), err[TCS_TPMKEY_ERR_SIZE];
	size_t len;
	TcsTpmKey *k = NULL;
	uint8_t srk[TCS_SECRET_SIZE];
	int rc, ok = 1;

	if (!text)
		return 0;
	len = read_all(cin, text);
	(void)tcs_auth_srk_secret(srk);
	rc = tcs_tpmkey_load_text(text, len, "TSS KEY BLOB", srk, ask_passphrase, &ask, &k, err);
	tcs_wipe(srk, sizeof(srk));
	free(text);
	if (rc == -EMEDIUMTYPE)
		return 1; /* not ours: empty-handed, other decoders may take it */
	if (rc < 0) {
		raise_errf(R_TPM, "%s", err);
		fprintf(stderr, "tpm provider: %s\n", err);
		return 0;
	}
	{
		int object_type = OSSL_OBJECT_PKEY;
		OSSL_PARAM params[4];

		params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type);
		params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, "RSA", 0);
		params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &k, sizeof(k));
		params[3] = OSSL_PARAM_construct_end();
		ok = data_cb(params, data_cbarg);
	}
	tcs_tpmkey_unref(k); /* NULL when our keymgmt took it over */
	return ok;
}

/*
 * PEM -> DER for OpenSSL's file store: its PEM decoder drops PEM names it
 * does not know, so ours hands the TSS KEY BLOB on as DER (with the parent,
 * tcs_keyblob_to_der) to the DER -> RSA decoder above.
 */
static int
pem2der_decode(void *ctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *data_cb,
	       void *data_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	char *text = malloc(MAX_BLOB_FILE + 1);
	TcsKeyBlob kb = {0};
	uint8_t *der = NULL;
	size_t len, der_len = 0;
	int ok = 1;

	if (!text)
		return 0;
	len = read_all(cin, text);
	if (memmem(text, len, "-----BEGIN TSS KEY BLOB-----", 28) &&
	    tcs_keyblob_parse(text, len, &kb) == 0 && tcs_keyblob_to_der(&kb, &der, &der_len) == 0) {
		OSSL_PARAM params[3];

		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, "RSA", 0);
		params[1] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der, der_len);
		params[2] = OSSL_PARAM_construct_end();
		ok = data_cb(params, data_cbarg);
	}
	free(der);
	tcs_keyblob_clear(&kb);
	free(text);
	return ok;
}

static const OSSL_DISPATCH pem2der_functions[] = {
	{OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx},
	{OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx},
	{OSSL_FUNC_DECODER_DECODE, (void (*)(void))pem2der_decode},
	{0, NULL},
};

static const OSSL_DISPATCH decoder_functions[] = {
	{OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx},
	{OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx},
	{OSSL_FUNC_DECODER_DOES_SELECTION, (void (*)(void))dec_does_selection},
	{OSSL_FUNC_DECODER_DECODE, (void (*)(void))dec_decode},
	{0, NULL},
};

/* ---- the provider ---- */

static const OSSL_ALGORITHM keymgmts[] = {
	{"RSA:rsaEncryption", PROV_PROPS, keymgmt_functions, "TPM 1.2 RSA keys"},
	{NULL, NULL, NULL, NULL},
};
static const OSSL_ALGORITHM signatures[] = {
	{"RSA:rsaEncryption", PROV_PROPS, signature_functions, "PKCS#1 v1.5 with TPM_Sign"},
	{NULL, NULL, NULL, NULL},
};
static const OSSL_ALGORITHM asym_ciphers[] = {
	{"RSA:rsaEncryption", PROV_PROPS, asym_cipher_functions, "PKCS#1 v1.5 with TPM_UnBind"},
	{NULL, NULL, NULL, NULL},
};
static const OSSL_ALGORITHM decoders[] = {
	{"RSA:rsaEncryption", PROV_PROPS ",input=pem", decoder_functions, "TSS KEY BLOB files"},
	{"RSA:rsaEncryption", PROV_PROPS ",input=der", decoder_functions, "TSS KEY BLOB DER"},
	{"DER", PROV_PROPS ",input=pem", pem2der_functions, "TSS KEY BLOB PEM to DER"},
	{NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *
prov_query(void *provctx, int operation_id, int *no_cache)
{
	*no_cache = 0;
	switch (operation_id) {
	case OSSL_OP_KEYMGMT: return keymgmts;
	case OSSL_OP_SIGNATURE: return signatures;
	case OSSL_OP_ASYM_CIPHER: return asym_ciphers;
	case OSSL_OP_DECODER: return decoders;
	default: return NULL;
	}
}

static int
prov_get_params(void *provctx, OSSL_PARAM params[])
{
	OSSL_PARAM *p;

	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) &&
	    !OSSL_PARAM_set_utf8_ptr(p, "tcs TPM 1.2 provider"))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) &&
	    !OSSL_PARAM_set_utf8_ptr(p, TCS_VERSION))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) &&
	    !OSSL_PARAM_set_utf8_ptr(p, "tcs " TCS_VERSION))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) && !OSSL_PARAM_set_int(p, 1))
		return 0;
	return 1;
}

static const OSSL_PARAM *
prov_gettable_params(void *provctx)
{
	static const OSSL_PARAM table[] = {
		OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, NULL, 0),
		OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, NULL, 0),
		OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, NULL, 0),
		OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, NULL),
		OSSL_PARAM_END,
	};
	return table;
}

static const OSSL_ITEM *
prov_get_reason_strings(void *provctx)
{
	return reason_strings;
}

static void
prov_teardown(void *provctx)
{
	tcs_tpmkey_disconnect();
	free(provctx);
}

static const OSSL_DISPATCH provider_functions[] = {
	{OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown},
	{OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query},
	{OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params},
	{OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))prov_gettable_params},
	{OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))prov_get_reason_strings},
	{0, NULL},
};

OSSL_provider_init_fn OSSL_provider_init;

int
OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		   const OSSL_DISPATCH **out, void **provctx)
{
	ProvCtx *ctx;

	for (; in->function_id != 0; in++) {
		switch (in->function_id) {
		case OSSL_FUNC_CORE_NEW_ERROR: c_new_error = OSSL_FUNC_core_new_error(in); break;
		case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
			c_set_error_debug = OSSL_FUNC_core_set_error_debug(in);
			break;
		case OSSL_FUNC_CORE_VSET_ERROR: c_vset_error = OSSL_FUNC_core_vset_error(in); break;
		case OSSL_FUNC_BIO_READ_EX: c_bio_read_ex = OSSL_FUNC_BIO_read_ex(in); break;
		default: break;
		}
	}
	if (!c_bio_read_ex)
		return 0;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return 0;
	ctx->handle = handle;
	core_handle = handle;
	*provctx = ctx;
	*out = provider_functions;
	return 1;
}
