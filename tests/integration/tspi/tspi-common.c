/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tspi-common.c - see tspi-common.h */
#include "tspi-common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

BYTE tt_wellknown[20] = TSS_WELL_KNOWN_SECRET;
const TSS_UUID tt_srk_uuid = TSS_UUID_SRK;

static pthread_mutex_t tt_lock = PTHREAD_MUTEX_INITIALIZER;
static int tt_n, tt_failed, tt_xfailed, tt_skipped;
static const char *tt_prog = "tspi";

const char *
tt_daemon(void)
{
	const char *d = getenv("TSPI_TEST_DAEMON");
	return d && *d ? d : "ours";
}

int
tt_is_trousers(void)
{
	return strcmp(tt_daemon(), "trousers") == 0;
}

void
tt_plan_name(const char *prog)
{
	tt_prog = prog;
	printf("# %s against tcsd=%s (%s:%s)\n", prog, tt_daemon(),
	       getenv("TSS_TCSD_HOSTNAME") ?: "localhost", getenv("TSS_TCSD_PORT") ?: "30003");
	fflush(stdout);
}

const char *
tt_err(TSS_RESULT rc)
{
	const char *s = Trspi_Error_String(rc);
	return s ? s : "?";
}

static void
vline(const char *status, const char *fmt, va_list ap, const char *tail)
{
	char what[512];

	vsnprintf(what, sizeof(what), fmt, ap);
	pthread_mutex_lock(&tt_lock);
	tt_n++;
	printf("%s %d - %s%s\n", status, tt_n, what, tail ? tail : "");
	fflush(stdout);
	pthread_mutex_unlock(&tt_lock);
}

int
tt_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(cond ? "ok" : "not ok", fmt, ap, NULL);
	va_end(ap);
	if (!cond) {
		pthread_mutex_lock(&tt_lock);
		tt_failed++;
		pthread_mutex_unlock(&tt_lock);
	}
	return cond;
}

int
tt_rc(TSS_RESULT rc, TSS_RESULT want, const char *fmt, ...)
{
	char tail[256];
	va_list ap;

	if (rc == want)
		tail[0] = 0;
	else if (want == TSS_SUCCESS)
		snprintf(tail, sizeof(tail), ": 0x%x (%s)", rc, tt_err(rc));
	else
		snprintf(tail, sizeof(tail), ": 0x%x (%s), expected 0x%x", rc, tt_err(rc), want);
	va_start(ap, fmt);
	vline(rc == want ? "ok" : "not ok", fmt, ap, tail);
	va_end(ap);
	if (rc != want) {
		pthread_mutex_lock(&tt_lock);
		tt_failed++;
		pthread_mutex_unlock(&tt_lock);
	}
	return rc == want;
}

int
tt_rc_xfail_trousers(TSS_RESULT rc, TSS_RESULT want, TSS_RESULT trousers_rc, const char *why,
		     const char *fmt, ...)
{
	char tail[384];
	va_list ap;
	int xfail = rc != want && tt_is_trousers() && rc == trousers_rc;

	if (rc == want)
		snprintf(tail, sizeof(tail), "%s", tt_is_trousers() ?
			 " # (known TrouSerS failure did not happen)" : "");
	else if (xfail)
		snprintf(tail, sizeof(tail), ": 0x%x (%s) # TODO known TrouSerS failure: %s", rc,
			 tt_err(rc), why);
	else
		snprintf(tail, sizeof(tail), ": 0x%x (%s), expected 0x%x", rc, tt_err(rc), want);
	va_start(ap, fmt);
	vline(rc == want ? "ok" : "not ok", fmt, ap, tail);
	va_end(ap);
	pthread_mutex_lock(&tt_lock);
	if (xfail)
		tt_xfailed++;
	else if (rc != want)
		tt_failed++;
	pthread_mutex_unlock(&tt_lock);
	return rc == want;
}

int
tt_ok_xfail_trousers(int cond, const char *why, const char *fmt, ...)
{
	char tail[384];
	va_list ap;
	int xfail = !cond && tt_is_trousers();

	tail[0] = 0;
	if (xfail)
		snprintf(tail, sizeof(tail), " # TODO known TrouSerS failure: %s", why);
	va_start(ap, fmt);
	vline(cond ? "ok" : "not ok", fmt, ap, tail);
	va_end(ap);
	pthread_mutex_lock(&tt_lock);
	if (xfail)
		tt_xfailed++;
	else if (!cond)
		tt_failed++;
	pthread_mutex_unlock(&tt_lock);
	return cond;
}

void
tt_skip(const char *why, const char *fmt, ...)
{
	char tail[256];
	va_list ap;

	snprintf(tail, sizeof(tail), " # SKIP %s", why);
	va_start(ap, fmt);
	vline("ok", fmt, ap, tail);
	va_end(ap);
	pthread_mutex_lock(&tt_lock);
	tt_skipped++;
	pthread_mutex_unlock(&tt_lock);
}

void
tt_diag(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&tt_lock);
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&tt_lock);
}

int
tt_failures(void)
{
	return tt_failed;
}

int
tt_done(void)
{
	printf("1..%d\n", tt_n);
	printf("# %s (tcsd=%s): %d checks, %d failed, %d known TrouSerS failures, %d skipped\n",
	       tt_prog, tt_daemon(), tt_n, tt_failed, tt_xfailed, tt_skipped);
	fflush(stdout);
	return tt_failed ? 1 : 0;
}

double
tt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------ libtspi helpers */
TSS_RESULT
tt_set_usage_secret(TSS_HCONTEXT ctx, TSS_HOBJECT obj, const char *secret, TSS_HPOLICY *ppol)
{
	TSS_HPOLICY pol;
	TSS_RESULT rc;

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_POLICY, TSS_POLICY_USAGE, &pol);
	if (rc)
		return rc;
	if (secret)
		rc = Tspi_Policy_SetSecret(pol, TSS_SECRET_MODE_PLAIN, strlen(secret),
					   (BYTE *)secret);
	else
		rc = Tspi_Policy_SetSecret(pol, TSS_SECRET_MODE_SHA1, sizeof(tt_wellknown),
					   tt_wellknown);
	if (rc == 0)
		rc = Tspi_Policy_AssignToObject(pol, obj);
	if (rc == 0 && ppol)
		*ppol = pol;
	return rc;
}

TSS_RESULT
tt_connect(TSS_HCONTEXT *pctx, TSS_HTPM *ptpm, TSS_HKEY *psrk)
{
	TSS_HCONTEXT ctx = 0;
	TSS_HTPM tpm;
	TSS_HKEY srk;
	TSS_HPOLICY pol;
	TSS_RESULT rc;

	rc = Tspi_Context_Create(&ctx);
	if (rc)
		return rc;
	rc = Tspi_Context_Connect(ctx, NULL);
	if (rc)
		goto fail;
	if (ptpm) {
		rc = Tspi_Context_GetTpmObject(ctx, &tpm);
		if (rc == 0)
			rc = Tspi_GetPolicyObject(tpm, TSS_POLICY_USAGE, &pol);
		if (rc == 0)
			rc = Tspi_Policy_SetSecret(pol, TSS_SECRET_MODE_SHA1, sizeof(tt_wellknown),
						   tt_wellknown);
		if (rc)
			goto fail;
		*ptpm = tpm;
	}
	if (psrk) {
		rc = Tspi_Context_LoadKeyByUUID(ctx, TSS_PS_TYPE_SYSTEM, tt_srk_uuid, &srk);
		if (rc == 0)
			rc = tt_set_usage_secret(ctx, srk, NULL, NULL);
		if (rc)
			goto fail;
		*psrk = srk;
	}
	*pctx = ctx;
	return 0;
fail:
	Tspi_Context_FreeMemory(ctx, NULL);
	Tspi_Context_Close(ctx);
	return rc;
}

TSS_RESULT
tt_create_key(TSS_HCONTEXT ctx, TSS_HKEY parent, TSS_FLAG flags, const char *secret, int load,
	      TSS_HKEY *pkey)
{
	TSS_HKEY key;
	TSS_RESULT rc;

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_RSAKEY, flags, &key);
	if (rc)
		return rc;
	if ((flags & TSS_KEY_TYPE_MASK) == TSS_KEY_TYPE_SIGNING) {
		rc = Tspi_SetAttribUint32(key, TSS_TSPATTRIB_KEY_INFO,
					  TSS_TSPATTRIB_KEYINFO_SIGSCHEME,
					  TSS_SS_RSASSAPKCS1V15_SHA1);
		if (rc)
			goto fail;
	}
	if (flags & TSS_KEY_AUTHORIZATION) {
		rc = tt_set_usage_secret(ctx, key, secret, NULL);
		if (rc)
			goto fail;
	}
	rc = Tspi_Key_CreateKey(key, parent, 0);
	if (rc == 0 && load)
		rc = Tspi_Key_LoadKey(key, parent);
	if (rc)
		goto fail;
	*pkey = key;
	return 0;
fail:
	Tspi_Context_CloseObject(ctx, key);
	return rc;
}

TSS_RESULT
tt_sign(TSS_HCONTEXT ctx, TSS_HKEY key, const BYTE digest[20], BYTE **sig, UINT32 *sig_len)
{
	TSS_HHASH hash;
	TSS_RESULT rc;

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_HASH, TSS_HASH_SHA1, &hash);
	if (rc)
		return rc;
	rc = Tspi_Hash_SetHashValue(hash, 20, (BYTE *)digest);
	if (rc == 0)
		rc = Tspi_Hash_Sign(hash, key, sig_len, sig);
	Tspi_Context_CloseObject(ctx, hash);
	return rc;
}

TSS_RESULT
tt_verify_tspi(TSS_HCONTEXT ctx, TSS_HKEY key, const BYTE digest[20], BYTE *sig, UINT32 sig_len)
{
	TSS_HHASH hash;
	TSS_RESULT rc;

	rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_HASH, TSS_HASH_SHA1, &hash);
	if (rc)
		return rc;
	rc = Tspi_Hash_SetHashValue(hash, 20, (BYTE *)digest);
	if (rc == 0)
		rc = Tspi_Hash_VerifySignature(hash, key, sig_len, sig);
	Tspi_Context_CloseObject(ctx, hash);
	return rc;
}

static uint32_t
be32(const BYTE *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

TSS_RESULT
tt_pubkey_modulus(TSS_HCONTEXT ctx, TSS_HKEY key, BYTE **mod, UINT32 *mod_len, uint32_t *exponent)
{
	BYTE *pub = NULL;
	UINT32 len = 0, parm_size, key_len, exp_size, off;
	TSS_RESULT rc;

	rc = Tspi_Key_GetPubKey(key, &len, &pub);
	if (rc)
		return rc;
	/* TPM_PUBKEY: TPM_KEY_PARMS {algorithmID 4, encScheme 2, sigScheme 2,
	 * parmSize 4, parms: TPM_RSA_KEY_PARMS {keyLength 4, numPrimes 4,
	 * exponentSize 4, exponent}} + TPM_STORE_PUBKEY {keyLength 4, key} */
	if (len < 12 || be32(pub) != TPM_ALG_RSA)
		goto bad;
	parm_size = be32(pub + 8);
	if (parm_size < 12 || 12 + parm_size + 4 > len)
		goto bad;
	exp_size = be32(pub + 12 + 8);
	*exponent = 65537;
	if (exp_size > 0 && exp_size <= 4 && 24 + exp_size <= 12 + parm_size) {
		*exponent = 0;
		for (UINT32 i = 0; i < exp_size; i++)
			*exponent = *exponent << 8 | pub[24 + i];
	}
	off = 12 + parm_size;
	key_len = be32(pub + off);
	off += 4;
	if (key_len == 0 || off + key_len > len)
		goto bad;
	*mod = malloc(key_len);
	memcpy(*mod, pub + off, key_len);
	*mod_len = key_len;
	Tspi_Context_FreeMemory(ctx, pub);
	return 0;
bad:
	Tspi_Context_FreeMemory(ctx, pub);
	return TSS_E_INTERNAL_ERROR;
}

TSS_RESULT
tt_attrib_modulus(TSS_HKEY key, BYTE **mod, UINT32 *mod_len)
{
	return Tspi_GetAttribData(key, TSS_TSPATTRIB_RSAKEY_INFO, TSS_TSPATTRIB_KEYINFO_RSA_MODULUS,
				  mod_len, mod);
}

int
tt_openssl_verify(const BYTE *mod, size_t mod_len, uint32_t exponent, const BYTE digest[20],
		  const BYTE *sig, size_t sig_len)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *kctx = NULL, *vctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = BN_bin2bn(mod, (int)mod_len, NULL);
	BIGNUM *e = BN_new();
	int ok = 0;

	if (!bld || !n || !e || !BN_set_word(e, exponent))
		goto out;
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	kctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !kctx || EVP_PKEY_fromdata_init(kctx) <= 0 ||
	    EVP_PKEY_fromdata(kctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	vctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (!vctx || EVP_PKEY_verify_init(vctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(vctx, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(vctx, EVP_sha1()) <= 0)
		goto out;
	ok = EVP_PKEY_verify(vctx, sig, sig_len, digest, 20) == 1;
out:
	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_CTX_free(kctx);
	EVP_PKEY_free(pkey);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return ok;
}

void
tt_sha1(const void *data, size_t len, BYTE out[20])
{
	unsigned int n = 20;

	EVP_Digest(data, len, out, &n, EVP_sha1(), NULL);
}

void
tt_random(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		abort();
}

TSS_UUID
tt_uuid(BYTE prog, BYTE n)
{
	TSS_UUID u = {0x7c5a0000u | prog, 0x7c5a, 0x4000, 0x80, 0x01, {0x54, 0x53, 0x50, 0x49, prog, n}};
	return u;
}
