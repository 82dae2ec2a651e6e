/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for tcs-key: TPM_KEY / TPM_KEY12 / TPM_PUBKEY parsing and the struct length walkers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "tcs-buf.h"
#include "tcs-key.h"
#include "tcs-tap.h"



typedef struct {
	bool key12;
	uint16_t fill;
	uint32_t alg;
	size_t exp_len;
	uint32_t parm_extra; /* bytes appended to the RSA parms (should be refused) */
	size_t pcr_len;
	size_t mod_len;
	size_t enc_len;
	const uint8_t *mod; /* NULL: a pattern */
	const uint8_t *exp;
} KeySpec;

static void
pattern(TcsWbuf *w, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		tcs_wbuf_u8(w, (uint8_t)(seed + i * 7));
}

/* Serialise a key per spec; the caller frees *out. */
static size_t
build_key(const KeySpec *s, uint8_t **out)
{
	TcsWbuf w;
	size_t len;

	tcs_wbuf_init(&w, 0);
	if (s->key12) {
		tcs_wbuf_u16(&w, TPM_TAG_KEY12);
		tcs_wbuf_u16(&w, s->fill);
	} else {
		tcs_wbuf_bytes(&w, (const uint8_t[]){1, 1, 0, 0}, 4);
	}
	tcs_wbuf_u16(&w, TPM_KEY_SIGNING);
	tcs_wbuf_u32(&w, 0x00000002);
	tcs_wbuf_u8(&w, 1);
	tcs_wbuf_u32(&w, s->alg);
	tcs_wbuf_u16(&w, TPM_ES_NONE);
	tcs_wbuf_u16(&w, TPM_SS_RSASSAPKCS1v15_SHA1);
	if (s->alg == TPM_ALG_RSA) {
		tcs_wbuf_u32(&w, 12 + (uint32_t)s->exp_len + s->parm_extra);
		tcs_wbuf_u32(&w, (uint32_t)s->mod_len * 8);
		tcs_wbuf_u32(&w, 2);
		tcs_wbuf_u32(&w, (uint32_t)s->exp_len);
		if (s->exp)
			tcs_wbuf_bytes(&w, s->exp, s->exp_len);
		else
			pattern(&w, s->exp_len, 3);
		tcs_wbuf_zeros(&w, s->parm_extra);
	} else {
		tcs_wbuf_u32(&w, 5);
		pattern(&w, 5, 9);
	}
	tcs_wbuf_u32(&w, (uint32_t)s->pcr_len);
	pattern(&w, s->pcr_len, 0x40);
	tcs_wbuf_u32(&w, (uint32_t)s->mod_len);
	if (s->mod)
		tcs_wbuf_bytes(&w, s->mod, s->mod_len);
	else
		pattern(&w, s->mod_len, 0x80);
	tcs_wbuf_u32(&w, (uint32_t)s->enc_len);
	pattern(&w, s->enc_len, 0xc0);
	if (!tcs_wbuf_ok(&w))
		abort();
	*out = tcs_wbuf_steal(&w, &len);
	return len;
}

static const KeySpec default_spec = {
	.alg = TPM_ALG_RSA, .pcr_len = 45, .mod_len = 256, .enc_len = 256,
};

/* Every proper prefix of a structure must be refused, never read past. */
static bool
all_truncations_fail(const uint8_t *p, size_t len, int (*walk)(const uint8_t *, size_t, size_t *))
{
	for (size_t i = 0; i < len; i++) {
		/* a private copy of exactly i bytes so ASan/valgrind catch over-reads */
		uint8_t *c = malloc(i ? i : 1);
		size_t n = 12345;
		int rc;

		memcpy(c, p, i);
		rc = walk(c, i, &n);
		free(c);
		if (rc != -EBADMSG || n != 12345)
			return false;
	}
	return true;
}

static bool
all_key_truncations_fail(const uint8_t *p, size_t len, bool pubkey)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t *c = malloc(i ? i : 1);
		TcsKey k = {0};
		int rc;

		memcpy(c, p, i);
		rc = pubkey ? tcs_pubkey_parse(c, i, &k, NULL) : tcs_key_parse(c, i, &k, NULL);
		free(c);
		if (rc != -EBADMSG || k.raw)
			return false;
	}
	return true;
}

static int
spec_rc(const KeySpec *s)
{
	_cleanup_free_ uint8_t *b = NULL;
	_cleanup_key_ TcsKey k = {0};
	size_t len = build_key(s, &b), n = 0;
	int rc = tcs_key_parse(b, len, &k, &n);

	if (rc == 0 && n != len)
		return -ERANGE;
	return rc;
}

static void
test_key11(void)
{
	_cleanup_free_ uint8_t *b = NULL;
	_cleanup_free_ uint8_t *padded = NULL;
	_cleanup_key_ TcsKey k = {0};
	size_t len = build_key(&default_spec, &b), n = 0, sl = 0;
	const uint8_t *mod;
	size_t mod_len;

	CHECK(tcs_key_parse(b, len, &k, &n) == 0, "TPM_KEY parses");
	CHECK(n == len && k.raw_len == len && memcmp(k.raw, b, len) == 0, "consumed == length, raw is a copy");
	CHECK(k.raw != b, "raw is owned, not borrowed");
	CHECK(k.kind == TCS_KEY_KIND_KEY && k.ver[0] == 1 && k.ver[1] == 1, "kind KEY, version 1.1");
	CHECK(k.key_usage == TPM_KEY_SIGNING && k.key_flags == 2 && k.auth_data_usage == 1, "usage, flags, authDataUsage");
	CHECK(k.algorithm_id == TPM_ALG_RSA && k.enc_scheme == TPM_ES_NONE &&
	      k.sig_scheme == TPM_SS_RSASSAPKCS1v15_SHA1, "algorithm parms");
	CHECK(k.parms_len == 12 && k.rsa_key_bits == 2048 && k.rsa_num_primes == 2 && k.exponent_len == 0,
	      "RSA parms");
	CHECK(k.pcr_info_len == 45 && k.pcr_info[0] == 0x40, "PCR info located");
	CHECK(k.modulus_len == 256 && k.modulus[0] == 0x80 && k.modulus[1] == 0x87, "modulus located");
	CHECK(k.enc_data_len == 256 && k.enc_data[0] == 0xc0, "encData located");
	CHECK(k.enc_data + k.enc_data_len == k.raw + k.raw_len, "encData ends the structure");
	CHECK(tcs_key_modulus(&k, &mod, &mod_len) == 0 && mod == k.modulus && mod_len == 256, "tcs_key_modulus");
	CHECK(!tcs_key_modulus_is_zero(&k), "modulus is not zero");
	CHECK(tcs_struct_len_key(b, len, &sl) == 0 && sl == len, "tcs_struct_len_key");

	/* trailing bytes (the rest of a TPM reply) are not part of the key */
	padded = malloc(len + 100);
	memcpy(padded, b, len);
	memset(padded + len, 0xee, 100);
	CHECK(tcs_struct_len_key(padded, len + 100, &sl) == 0 && sl == len, "length ignores trailing bytes");
	CHECK(all_truncations_fail(b, len, tcs_struct_len_key), "every truncation of TPM_KEY: -EBADMSG (walker)");
	CHECK(all_key_truncations_fail(b, len, false), "every truncation of TPM_KEY: -EBADMSG (parse)");

	/* TPM 1.1 chips (and TrouSerS' shipped SRK templates) put a revision in the version */
	b[2] = 1;
	b[3] = 6;
	tcs_key_free(&k);
	CHECK(tcs_key_parse(b, len, &k, NULL) == 0 && k.ver[3] == 6, "TPM_STRUCT_VER revision is accepted");
	b[1] = 2;
	CHECK(tcs_struct_len_key(b, len, &sl) == -EBADMSG, "version 1.2 without tag is refused");

	tcs_key_zero_modulus(&k);
	CHECK(tcs_key_modulus_is_zero(&k) && k.modulus_len == 256 && k.raw[k.raw_len - 257 - 4] == 0,
	      "tcs_key_zero_modulus zeroes it inside raw");
	tcs_key_free(&k);
	tcs_key_free(&k);
	CHECK(k.raw == NULL && k.modulus_len == 0, "tcs_key_free is idempotent");
}

static void
test_key12(void)
{
	KeySpec s = default_spec;
	_cleanup_free_ uint8_t *b = NULL;
	_cleanup_key_ TcsKey k = {0};
	size_t len, n = 0;

	s.key12 = true;
	s.pcr_len = 0;
	len = build_key(&s, &b);
	CHECK(tcs_key_parse(b, len, &k, &n) == 0 && n == len, "TPM_KEY12 parses");
	CHECK(k.kind == TCS_KEY_KIND_KEY12 && k.key_usage == TPM_KEY_SIGNING && k.pcr_info_len == 0 &&
	      k.modulus_len == 256, "TPM_KEY12 fields");
	CHECK(all_key_truncations_fail(b, len, false), "every truncation of TPM_KEY12: -EBADMSG");

	s.fill = 1;
	CHECK(spec_rc(&s) == -EBADMSG, "TPM_KEY12 with non-zero fill is refused");
	b[1] = 0x29;
	CHECK(tcs_struct_len_key(b, len, &n) == -EBADMSG, "wrong tag is refused");
	CHECK(tcs_key_parse(NULL, 0, &k, &n) == -EBADMSG, "empty input is refused");
}

static void
test_limits(void)
{
	KeySpec s = default_spec;

	s.mod_len = TCS_KEY_MAX_MODULUS;
	CHECK(spec_rc(&s) == 0, "modulus of %u bytes accepted", TCS_KEY_MAX_MODULUS);
	s.mod_len++;
	CHECK(spec_rc(&s) == -EBADMSG, "modulus of %u bytes refused", TCS_KEY_MAX_MODULUS + 1);

	s = default_spec;
	s.pcr_len = TCS_KEY_MAX_PCR_INFO;
	CHECK(spec_rc(&s) == 0, "PCR info at the limit accepted");
	s.pcr_len++;
	CHECK(spec_rc(&s) == -EBADMSG, "PCR info over the limit refused");

	s = default_spec;
	s.enc_len = TCS_KEY_MAX_ENC_DATA;
	CHECK(spec_rc(&s) == 0, "encData at the limit accepted");
	s.enc_len++;
	CHECK(spec_rc(&s) == -EBADMSG, "encData over the limit refused");

	s = default_spec;
	s.exp_len = TCS_KEY_MAX_EXPONENT;
	CHECK(spec_rc(&s) == 0, "exponent at the limit accepted");
	s.exp_len++;
	CHECK(spec_rc(&s) == -EBADMSG, "exponent over the limit refused");

	s = default_spec;
	s.parm_extra = 1;
	CHECK(spec_rc(&s) == -EBADMSG, "RSA parms not filling parmSize refused");

	s = default_spec;
	s.alg = 6; /* AES128: parms are opaque */
	CHECK(spec_rc(&s) == 0, "non-RSA algorithm: parms kept opaque");

	/* a huge declared size must not be trusted */
	{
		_cleanup_free_ uint8_t *b = NULL;
		size_t len = build_key(&default_spec, &b), n;
		size_t enc_off = len - 256 - 4;

		b[enc_off] = 0x7f;
		CHECK(tcs_struct_len_key(b, len, &n) == -EBADMSG, "encSize 0x7f000100 refused");
	}
}

static void
test_pubkey(void)
{
	KeySpec s = default_spec;
	_cleanup_free_ uint8_t *b = NULL;
	_cleanup_free_ uint8_t *pub = NULL;
	_cleanup_key_ TcsKey k = {0};
	_cleanup_key_ TcsKey p = {0};
	size_t len, pub_len, n = 0, sl = 0;

	s.exp_len = 3;
	s.exp = (const uint8_t[]){1, 0, 1};
	len = build_key(&s, &b);
	CHECK(tcs_key_parse(b, len, &k, NULL) == 0, "key for TPM_PUBKEY parses");
	CHECK(tcs_key_to_pubkey(&k, &pub, &pub_len) == 0, "tcs_key_to_pubkey");
	CHECK(pub_len == 12 + 12 + 3 + 4 + 256, "TPM_PUBKEY length");
	CHECK(tcs_pubkey_parse(pub, pub_len, &p, &n) == 0 && n == pub_len, "TPM_PUBKEY parses back");
	CHECK(p.kind == TCS_KEY_KIND_PUBKEY && p.algorithm_id == k.algorithm_id &&
	      p.enc_scheme == k.enc_scheme && p.sig_scheme == k.sig_scheme &&
	      p.rsa_key_bits == 2048 && p.exponent_len == 3 && memcmp(p.exponent, "\1\0\1", 3) == 0,
	      "TPM_PUBKEY parms match");
	CHECK(p.modulus_len == k.modulus_len && memcmp(p.modulus, k.modulus, k.modulus_len) == 0,
	      "TPM_PUBKEY modulus matches");
	CHECK(tcs_struct_len_pubkey(pub, pub_len, &sl) == 0 && sl == pub_len, "tcs_struct_len_pubkey");
	CHECK(all_truncations_fail(pub, pub_len, tcs_struct_len_pubkey), "every truncation of TPM_PUBKEY: -EBADMSG");
	CHECK(all_key_truncations_fail(pub, pub_len, true), "every truncation of TPM_PUBKEY: -EBADMSG (parse)");
}

static void
test_evp(void)
{
	_cleanup_free_ uint8_t *mod = NULL;
	_cleanup_free_ uint8_t *b = NULL;
	_cleanup_key_ TcsKey k = {0};
	EVP_PKEY *ref = EVP_RSA_gen(1024);
	EVP_PKEY *got = NULL;
	BIGNUM *n = NULL;
	KeySpec s = default_spec;
	size_t len;
	int mod_len;

	if (!ref || !EVP_PKEY_get_bn_param(ref, OSSL_PKEY_PARAM_RSA_N, &n))
		abort();
	mod_len = BN_num_bytes(n);
	mod = malloc((size_t)mod_len);
	BN_bn2bin(n, mod);
	s.mod = mod;
	s.mod_len = (size_t)mod_len;
	len = build_key(&s, &b);
	CHECK(tcs_key_parse(b, len, &k, NULL) == 0, "key with an OpenSSL modulus parses");
	CHECK(tcs_key_to_evp(&k, &got) == 0 && got, "tcs_key_to_evp (default exponent)");
	CHECK(got && EVP_PKEY_eq(got, ref) == 1, "EVP key equals the original public key");
	CHECK(got && EVP_PKEY_get_bits(got) == 1024, "EVP key is 1024 bits");
	EVP_PKEY_free(got);
	got = NULL;

	tcs_key_zero_modulus(&k);
	CHECK(tcs_key_to_evp(&k, &got) == -ENODATA && !got, "zeroed modulus: -ENODATA");
	tcs_key_free(&k);

	s.alg = 6;
	free(b);
	len = build_key(&s, &b);
	tcs_key_parse(b, len, &k, NULL);
	CHECK(tcs_key_to_evp(&k, &got) == -EINVAL && !got, "non-RSA key: -EINVAL");
	{
		const uint8_t *m;
		size_t ml;
		CHECK(tcs_key_modulus(&k, &m, &ml) == -EINVAL, "tcs_key_modulus on non-RSA: -EINVAL");
	}
	BN_free(n);
	EVP_PKEY_free(ref);
}

/* ---- other structures ---- */

static uint8_t *
steal(TcsWbuf *w, size_t *len)
{
	if (!tcs_wbuf_ok(w))
		abort();
	return tcs_wbuf_steal(w, len);
}

static void
check_walker(const char *name, int (*walk)(const uint8_t *, size_t, size_t *), TcsWbuf *w)
{
	_cleanup_free_ uint8_t *b = NULL;
	_cleanup_free_ uint8_t *padded = NULL;
	size_t len, n = 0;

	b = steal(w, &len);
	padded = calloc(1, len + 7);
	memcpy(padded, b, len);
	CHECK(walk(b, len, &n) == 0 && n == len, "%s: length %zu", name, len);
	CHECK(walk(padded, len + 7, &n) == 0 && n == len, "%s: trailing bytes ignored", name);
	CHECK(all_truncations_fail(b, len, walk), "%s: every truncation -EBADMSG", name);
}

static void
put_pcr_selection(TcsWbuf *w)
{
	tcs_wbuf_u16(w, 3);
	tcs_wbuf_bytes(w, (const uint8_t[]){0x80, 0, 0}, 3);
}

static void
put_key_parms(TcsWbuf *w)
{
	tcs_wbuf_u32(w, TPM_ALG_RSA);
	tcs_wbuf_u16(w, TPM_ES_NONE);
	tcs_wbuf_u16(w, TPM_SS_RSASSAPKCS1v15_SHA1);
	tcs_wbuf_u32(w, 12);
	tcs_wbuf_u32(w, 2048);
	tcs_wbuf_u32(w, 2);
	tcs_wbuf_u32(w, 0);
}

static void
test_walkers(void)
{
	TcsWbuf w;
	size_t n;

	tcs_wbuf_init(&w, 0);
	put_pcr_selection(&w);
	tcs_wbuf_u32(&w, 20);
	tcs_wbuf_zeros(&w, 20);
	check_walker("TPM_PCR_COMPOSITE", tcs_struct_len_pcr_composite, &w);

	tcs_wbuf_init(&w, 0);
	tcs_wbuf_u16(&w, TCS_KEY_MAX_PCR_SELECT + 1);
	tcs_wbuf_zeros(&w, TCS_KEY_MAX_PCR_SELECT + 1);
	tcs_wbuf_u32(&w, 0);
	{
		_cleanup_free_ uint8_t *b = NULL;
		size_t len;

		b = steal(&w, &len);
		CHECK(tcs_struct_len_pcr_composite(b, len, &n) == -EBADMSG, "TPM_PCR_COMPOSITE: oversized select refused");
	}

	tcs_wbuf_init(&w, 0);
	put_pcr_selection(&w);
	tcs_wbuf_u8(&w, 1);
	tcs_wbuf_zeros(&w, 20);
	check_walker("TPM_PCR_INFO_SHORT", tcs_struct_len_pcr_info_short, &w);

	tcs_wbuf_init(&w, 0);
	tcs_wbuf_bytes(&w, (const uint8_t[]){1, 1, 0, 0}, 4);
	tcs_wbuf_u32(&w, 45);
	tcs_wbuf_zeros(&w, 45);
	tcs_wbuf_u32(&w, 256);
	tcs_wbuf_zeros(&w, 256);
	check_walker("TPM_STORED_DATA", tcs_struct_len_stored_data, &w);

	tcs_wbuf_init(&w, 0);
	tcs_wbuf_u16(&w, TPM_TAG_STORED_DATA12);
	tcs_wbuf_u16(&w, 0x0006);
	tcs_wbuf_u32(&w, 54);
	tcs_wbuf_zeros(&w, 54);
	tcs_wbuf_u32(&w, 256);
	tcs_wbuf_zeros(&w, 256);
	check_walker("TPM_STORED_DATA12", tcs_struct_len_stored_data, &w);
	{
		const uint8_t bad[] = {0x00, 0x17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
		CHECK(tcs_struct_len_stored_data(bad, sizeof(bad), &n) == -EBADMSG, "TPM_STORED_DATA: unknown tag refused");
	}

	tcs_wbuf_init(&w, 0);
	tcs_wbuf_u16(&w, TPM_TAG_CURRENT_TICKS);
	tcs_wbuf_u64(&w, 123456789);
	tcs_wbuf_u16(&w, 1);
	tcs_wbuf_zeros(&w, 20);
	check_walker("TPM_CURRENT_TICKS", tcs_struct_len_current_ticks, &w);
	{
		uint8_t bad[TCS_CURRENT_TICKS_SIZE] = {0, 0x15};
		CHECK(tcs_struct_len_current_ticks(bad, sizeof(bad), &n) == -EBADMSG, "TPM_CURRENT_TICKS: wrong tag refused");
	}

	tcs_wbuf_init(&w, 0);
	tcs_wbuf_bytes(&w, (const uint8_t[]){1, 1, 0, 0}, 4);
	tcs_wbuf_u16(&w, TPM_KEY_SIGNING);
	tcs_wbuf_u32(&w, 0);
	tcs_wbuf_u8(&w, 1);
	put_key_parms(&w);
	tcs_wbuf_zeros(&w, 20 + 20 + 1);
	tcs_wbuf_u32(&w, 45);
	tcs_wbuf_zeros(&w, 45);
	check_walker("TPM_CERTIFY_INFO", tcs_struct_len_certify_info, &w);

	tcs_wbuf_init(&w, 0);
	tcs_wbuf_u16(&w, TPM_TAG_CERTIFY_INFO2);
	tcs_wbuf_u8(&w, 0);
	tcs_wbuf_u8(&w, 1);
	tcs_wbuf_u16(&w, TPM_KEY_SIGNING);
	tcs_wbuf_u32(&w, 0);
	tcs_wbuf_u8(&w, 1);
	put_key_parms(&w);
	tcs_wbuf_zeros(&w, 20 + 20 + 1);
	tcs_wbuf_u32(&w, 0);
	tcs_wbuf_u32(&w, 20);
	tcs_wbuf_zeros(&w, 20);
	check_walker("TPM_CERTIFY_INFO2", tcs_struct_len_certify_info, &w);
}

int
main(void)
{
	test_key11();
	test_key12();
	test_limits();
	test_pubkey();
	test_evp();
	test_walkers();
	return tap_done();
}
