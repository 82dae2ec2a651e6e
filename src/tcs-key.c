/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-key.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "tcs-buf.h"
#include "tcs-types.h"

#define TCS_NONCE_SIZE 20u

void
tcs_key_free(TcsKey *k)
{
	if (!k)
		return;
	free(k->raw);
	memset(k, 0, sizeof(*k));
}

/* Take a u32-length-prefixed field of at most max bytes (NULL on error, sticky). */
static const uint8_t *
take_sized32(TcsRbuf *r, uint32_t max, size_t *len)
{
	uint32_t n = tcs_rbuf_u32(r);

	if (!tcs_rbuf_ok(r) || n > max) {
		r->error = true;
		*len = 0;
		return NULL;
	}
	*len = n;
	return tcs_rbuf_take(r, n);
}

/* A TPM_STRUCT_VER of the 1.1 structures: major 1, minor 1, any revision. */
static bool
is_struct_ver_11(const TcsRbuf *r)
{
	return tcs_rbuf_remaining(r) >= 2 && tcs_rbuf_cur(r)[0] == 1 && tcs_rbuf_cur(r)[1] == 1;
}

/* TPM_KEY_PARMS; k may be NULL when only walking. */
static void
read_key_parms(TcsRbuf *r, TcsKey *k)
{
	TcsKey tmp = {0};
	TcsRbuf sub;

	if (!k)
		k = &tmp;
	k->algorithm_id = tcs_rbuf_u32(r);
	k->enc_scheme = tcs_rbuf_u16(r);
	k->sig_scheme = tcs_rbuf_u16(r);
	k->parms = take_sized32(r, TCS_KEY_MAX_PARMS, &k->parms_len);
	if (!tcs_rbuf_ok(r) || k->algorithm_id != TPM_ALG_RSA)
		return;

	/* TPM_RSA_KEY_PARMS must fill parmSize exactly */
	tcs_rbuf_init(&sub, k->parms, k->parms_len);
	k->rsa_key_bits = tcs_rbuf_u32(&sub);
	k->rsa_num_primes = tcs_rbuf_u32(&sub);
	k->exponent = take_sized32(&sub, TCS_KEY_MAX_EXPONENT, &k->exponent_len);
	if (!tcs_rbuf_ok(&sub) || tcs_rbuf_remaining(&sub) != 0)
		r->error = true;
}

/* TPM_STORE_PUBKEY */
static void
read_store_pubkey(TcsRbuf *r, TcsKey *k)
{
	size_t n;
	const uint8_t *p = take_sized32(r, TCS_KEY_MAX_MODULUS, &n);

	if (k) {
		k->modulus = p;
		k->modulus_len = n;
	}
}

/* TPM_KEY / TPM_KEY12. Returns the structure's length or 0 when malformed. */
static size_t
read_key(const uint8_t *p, size_t len, TcsKey *k)
{
	TcsKey tmp = {0};
	TcsRbuf r;

	if (!k)
		k = &tmp;
	tcs_rbuf_init(&r, p, len > TCS_KEY_MAX_SIZE ? TCS_KEY_MAX_SIZE : len);
	if (is_struct_ver_11(&r)) {
		k->kind = TCS_KEY_KIND_KEY;
		tcs_rbuf_copy(&r, k->ver, sizeof(k->ver));
	} else {
		k->kind = TCS_KEY_KIND_KEY12;
		if (tcs_rbuf_u16(&r) != TPM_TAG_KEY12 || tcs_rbuf_u16(&r) != 0)
			return 0;
	}
	k->key_usage = tcs_rbuf_u16(&r);
	k->key_flags = tcs_rbuf_u32(&r);
	k->auth_data_usage = tcs_rbuf_u8(&r);
	read_key_parms(&r, k);
	k->pcr_info = take_sized32(&r, TCS_KEY_MAX_PCR_INFO, &k->pcr_info_len);
	read_store_pubkey(&r, k);
	k->enc_data = take_sized32(&r, TCS_KEY_MAX_ENC_DATA, &k->enc_data_len);
	return tcs_rbuf_ok(&r) ? r.pos : 0;
}

static size_t
read_pubkey(const uint8_t *p, size_t len, TcsKey *k)
{
	TcsRbuf r;

	tcs_rbuf_init(&r, p, len > TCS_KEY_MAX_SIZE ? TCS_KEY_MAX_SIZE : len);
	if (k)
		k->kind = TCS_KEY_KIND_PUBKEY;
	read_key_parms(&r, k);
	read_store_pubkey(&r, k);
	return tcs_rbuf_ok(&r) ? r.pos : 0;
}

/* Walk once to size the structure, then again over a private copy so every pointer is ours. */
static int
parse_owned(size_t (*reader)(const uint8_t *, size_t, TcsKey *), const uint8_t *blob, size_t len,
	    TcsKey *ret, size_t *ret_consumed)
{
	_cleanup_free_ uint8_t *raw = NULL;
	TcsKey k = {0};
	size_t n;

	n = reader(blob, len, NULL);
	if (n == 0)
		return -EBADMSG;
	raw = malloc(n);
	if (!raw)
		return -ENOMEM;
	memcpy(raw, blob, n);
	if (reader(raw, n, &k) != n)
		return -EBADMSG;
	k.raw = TCS_TAKE_PTR(raw);
	k.raw_len = n;
	*ret = k;
	if (ret_consumed)
		*ret_consumed = n;
	return 0;
}

int
tcs_key_parse(const uint8_t *blob, size_t len, TcsKey *ret, size_t *ret_consumed)
{
	return parse_owned(read_key, blob, len, ret, ret_consumed);
}

int
tcs_pubkey_parse(const uint8_t *blob, size_t len, TcsKey *ret, size_t *ret_consumed)
{
	return parse_owned(read_pubkey, blob, len, ret, ret_consumed);
}

int
tcs_key_modulus(const TcsKey *k, const uint8_t **mod, size_t *len)
{
	if (k->algorithm_id != TPM_ALG_RSA)
		return -EINVAL;
	if (k->modulus_len == 0)
		return -ENODATA;
	*mod = k->modulus;
	*len = k->modulus_len;
	return 0;
}

bool
tcs_key_modulus_is_zero(const TcsKey *k)
{
	for (size_t i = 0; i < k->modulus_len; i++)
		if (k->modulus[i])
			return false;
	return true;
}

void
tcs_key_zero_modulus(TcsKey *k)
{
	if (k->modulus_len)
		memset(k->raw + (k->modulus - k->raw), 0, k->modulus_len);
}

int
tcs_key_to_pubkey(const TcsKey *k, uint8_t **out, size_t *len)
{
	TcsWbuf w;

	tcs_wbuf_init(&w, TCS_KEY_MAX_SIZE);
	tcs_wbuf_u32(&w, k->algorithm_id);
	tcs_wbuf_u16(&w, k->enc_scheme);
	tcs_wbuf_u16(&w, k->sig_scheme);
	tcs_wbuf_u32(&w, (uint32_t)k->parms_len);
	tcs_wbuf_bytes(&w, k->parms, k->parms_len);
	tcs_wbuf_u32(&w, (uint32_t)k->modulus_len);
	tcs_wbuf_bytes(&w, k->modulus, k->modulus_len);
	if (!tcs_wbuf_ok(&w)) {
		tcs_wbuf_free(&w);
		return -ENOMEM;
	}
	*out = tcs_wbuf_steal(&w, len);
	return 0;
}

TCS_DEFINE_CLEANUP(BIGNUM *, BN_free)
TCS_DEFINE_CLEANUP(OSSL_PARAM_BLD *, OSSL_PARAM_BLD_free)
TCS_DEFINE_CLEANUP(OSSL_PARAM *, OSSL_PARAM_free)
TCS_DEFINE_CLEANUP(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)

int
tcs_key_to_evp(const TcsKey *k, EVP_PKEY **ret)
{
	static const uint8_t default_exponent[] = {0x01, 0x00, 0x01};
	_cleanup_(BN_freep) BIGNUM *n = NULL;
	_cleanup_(BN_freep) BIGNUM *e = NULL;
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = NULL;
	_cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (k->algorithm_id != TPM_ALG_RSA)
		return -EINVAL;
	if (tcs_key_modulus_is_zero(k))
		return -ENODATA;
	n = BN_bin2bn(k->modulus, (int)k->modulus_len, NULL);
	/* TPM 1.2: an empty exponent means the default 2^16+1 */
	if (k->exponent_len)
		e = BN_bin2bn(k->exponent, (int)k->exponent_len, NULL);
	else
		e = BN_bin2bn(default_exponent, sizeof(default_exponent), NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!n || !e || !bld)
		return -ENOMEM;
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		return -ENOMEM;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !ctx)
		return -ENOMEM;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		return -EIO;
	*ret = pkey;
	return 0;
}

/* ---- length walkers ---- */

static int
walk_result(const TcsRbuf *r, size_t *ret)
{
	if (!tcs_rbuf_ok(r))
		return -EBADMSG;
	*ret = r->pos;
	return 0;
}

int
tcs_struct_len_key(const uint8_t *p, size_t len, size_t *ret)
{
	size_t n = read_key(p, len, NULL);

	if (n == 0)
		return -EBADMSG;
	*ret = n;
	return 0;
}

int
tcs_struct_len_pubkey(const uint8_t *p, size_t len, size_t *ret)
{
	size_t n = read_pubkey(p, len, NULL);

	if (n == 0)
		return -EBADMSG;
	*ret = n;
	return 0;
}

/* TPM_PCR_SELECTION */
static void
skip_pcr_selection(TcsRbuf *r)
{
	uint16_t n = tcs_rbuf_u16(r);

	if (n > TCS_KEY_MAX_PCR_SELECT)
		r->error = true;
	tcs_rbuf_skip(r, n);
}

int
tcs_struct_len_pcr_composite(const uint8_t *p, size_t len, size_t *ret)
{
	TcsRbuf r;
	size_t n;

	tcs_rbuf_init(&r, p, len);
	skip_pcr_selection(&r);
	/* at most one 20-byte value per selectable PCR */
	take_sized32(&r, TCS_KEY_MAX_PCR_SELECT * 8 * TCS_DIGEST_SIZE, &n);
	return walk_result(&r, ret);
}

int
tcs_struct_len_pcr_info_short(const uint8_t *p, size_t len, size_t *ret)
{
	TcsRbuf r;

	tcs_rbuf_init(&r, p, len);
	skip_pcr_selection(&r);
	tcs_rbuf_skip(&r, 1 + TCS_DIGEST_SIZE); /* localityAtRelease, digestAtRelease */
	return walk_result(&r, ret);
}

int
tcs_struct_len_stored_data(const uint8_t *p, size_t len, size_t *ret)
{
	TcsRbuf r;
	size_t n;

	tcs_rbuf_init(&r, p, len);
	if (is_struct_ver_11(&r)) {
		tcs_rbuf_skip(&r, 4);
	} else if (tcs_rbuf_u16(&r) == TPM_TAG_STORED_DATA12) {
		tcs_rbuf_skip(&r, 2); /* et */
	} else {
		return -EBADMSG;
	}
	take_sized32(&r, TCS_KEY_MAX_PCR_INFO, &n);
	take_sized32(&r, TCS_KEY_MAX_ENC_DATA, &n);
	return walk_result(&r, ret);
}

int
tcs_struct_len_current_ticks(const uint8_t *p, size_t len, size_t *ret)
{
	TcsRbuf r;

	tcs_rbuf_init(&r, p, len);
	if (tcs_rbuf_u16(&r) != TPM_TAG_CURRENT_TICKS)
		return -EBADMSG;
	tcs_rbuf_skip(&r, 8 + 2 + TCS_NONCE_SIZE); /* currentTicks, tickRate, tickNonce */
	return walk_result(&r, ret);
}

int
tcs_struct_len_certify_info(const uint8_t *p, size_t len, size_t *ret)
{
	TcsRbuf r;
	bool v2;
	size_t n;

	tcs_rbuf_init(&r, p, len);
	v2 = !is_struct_ver_11(&r);
	if (v2) {
		if (tcs_rbuf_u16(&r) != TPM_TAG_CERTIFY_INFO2)
			return -EBADMSG;
		tcs_rbuf_skip(&r, 2); /* fill, payloadType */
	} else {
		tcs_rbuf_skip(&r, 4); /* version */
	}
	tcs_rbuf_skip(&r, 2 + 4 + 1); /* keyUsage, keyFlags, authDataUsage */
	read_key_parms(&r, NULL);
	tcs_rbuf_skip(&r, TCS_DIGEST_SIZE + TCS_NONCE_SIZE + 1); /* pubkeyDigest, data, parentPCRStatus */
	take_sized32(&r, TCS_KEY_MAX_PCR_INFO, &n);
	if (v2)
		take_sized32(&r, TCS_KEY_MAX_ENC_DATA, &n); /* migrationAuthority */
	return walk_result(&r, ret);
}
