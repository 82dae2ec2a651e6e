/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-auth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

const uint8_t tcs_auth_well_known[TCS_SECRET_SIZE] = {0};

int
tcs_sha1(const void *data, size_t len, uint8_t out[TCS_DIGEST_SIZE])
{
	unsigned int n = 0;

	if (!EVP_Digest(data, len, out, &n, EVP_sha1(), NULL) || n != TCS_DIGEST_SIZE)
		return -EIO;
	return 0;
}

static void
mac_freep(EVP_MAC **p)
{
	EVP_MAC_free(*p);
}

static void
mac_ctx_freep(EVP_MAC_CTX **p)
{
	/* the context holds the key */
	EVP_MAC_CTX_free(*p);
}

int
tcs_hmac_sha1(const void *key, size_t key_len, const void *data, size_t len,
	      uint8_t out[TCS_DIGEST_SIZE])
{
	_cleanup_(mac_freep) EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	_cleanup_(mac_ctx_freep) EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t n = 0;

	if (!mac)
		return -EIO;
	ctx = EVP_MAC_CTX_new(mac);
	if (!ctx || !EVP_MAC_init(ctx, key, key_len, params) || !EVP_MAC_update(ctx, data, len) ||
	    !EVP_MAC_final(ctx, out, &n, TCS_DIGEST_SIZE) || n != TCS_DIGEST_SIZE)
		return -EIO;
	return 0;
}

int
tcs_auth_secret_plain(const void *pass, size_t len, uint8_t out[TCS_SECRET_SIZE])
{
	return tcs_sha1(pass, len, out);
}

/* Next code point of a UTF-8 string; -1 when malformed, overlong or a surrogate. */
static int32_t
utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	int32_t cp, min;
	int n;

	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0)
		n = 1;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 2;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 3;
	else
		return -1;
	cp = p[0] & (0x3f >> n);
	min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*s = p + n + 1;
	return cp;
}

int
tcs_auth_secret_utf16(const char *utf8, uint8_t out[TCS_SECRET_SIZE])
{
	const unsigned char *p = (const unsigned char *)utf8;
	size_t len = strlen(utf8);
	_cleanup_free_ uint8_t *buf = NULL;
	size_t n = 0;
	int rc;

	/* at most two UTF-16 units per input byte, plus the terminator */
	if (len > (SIZE_MAX - 2) / 4)
		return -EINVAL;
	buf = malloc(len * 4 + 2);
	if (!buf)
		return -ENOMEM;
	while (*p) {
		int32_t cp = utf8_next(&p);
		uint16_t units[2];
		int nunits = 1;

		if (cp < 0) {
			tcs_wipe(buf, len * 4 + 2);
			return -EINVAL;
		}
		if (cp >= 0x10000) {
			units[0] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
			units[1] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
			nunits = 2;
		} else {
			units[0] = (uint16_t)cp;
		}
		for (int i = 0; i < nunits; i++) {
			buf[n++] = units[i] & 0xff;
			buf[n++] = units[i] >> 8;
		}
	}
	buf[n++] = 0;
	buf[n++] = 0;
	rc = tcs_sha1(buf, n, out);
	tcs_wipe(buf, len * 4 + 2);
	return rc;
}

int
tcs_auth_random_nonce(uint8_t out[TCS_NONCE_SIZE])
{
	return RAND_bytes(out, TCS_NONCE_SIZE) == 1 ? 0 : -EIO;
}

int
tcs_auth_hmac(const uint8_t secret[TCS_SECRET_SIZE], const uint8_t digest[TCS_DIGEST_SIZE],
	      const uint8_t nonce_even[TCS_NONCE_SIZE], const uint8_t nonce_odd[TCS_NONCE_SIZE],
	      bool cont, uint8_t out[TCS_DIGEST_SIZE])
{
	uint8_t blob[TCS_DIGEST_SIZE + 2 * TCS_NONCE_SIZE + 1];

	memcpy(blob, digest, TCS_DIGEST_SIZE);
	memcpy(blob + TCS_DIGEST_SIZE, nonce_even, TCS_NONCE_SIZE);
	memcpy(blob + TCS_DIGEST_SIZE + TCS_NONCE_SIZE, nonce_odd, TCS_NONCE_SIZE);
	blob[sizeof(blob) - 1] = cont ? 1 : 0;
	return tcs_hmac_sha1(secret, TCS_SECRET_SIZE, blob, sizeof(blob), out);
}

int
tcs_auth_osap_shared_secret(const uint8_t entity_secret[TCS_SECRET_SIZE],
			    const uint8_t nonce_even_osap[TCS_NONCE_SIZE],
			    const uint8_t nonce_odd_osap[TCS_NONCE_SIZE],
			    uint8_t out[TCS_SECRET_SIZE])
{
	uint8_t blob[2 * TCS_NONCE_SIZE];

	memcpy(blob, nonce_even_osap, TCS_NONCE_SIZE);
	memcpy(blob + TCS_NONCE_SIZE, nonce_odd_osap, TCS_NONCE_SIZE);
	return tcs_hmac_sha1(entity_secret, TCS_SECRET_SIZE, blob, sizeof(blob), out);
}

int
tcs_auth_adip(const uint8_t shared_secret[TCS_SECRET_SIZE], const uint8_t nonce[TCS_NONCE_SIZE],
	      const uint8_t secret[TCS_SECRET_SIZE], uint8_t out[TCS_SECRET_SIZE])
{
	uint8_t blob[TCS_SECRET_SIZE + TCS_NONCE_SIZE], pad[TCS_DIGEST_SIZE];
	int rc;

	memcpy(blob, shared_secret, TCS_SECRET_SIZE);
	memcpy(blob + TCS_SECRET_SIZE, nonce, TCS_NONCE_SIZE);
	rc = tcs_sha1(blob, sizeof(blob), pad);
	tcs_wipe(blob, sizeof(blob));
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < TCS_SECRET_SIZE; i++)
		out[i] = secret[i] ^ pad[i];
	tcs_wipe(pad, sizeof(pad));
	return 0;
}

void
tcs_auth_session_wipe(TcsAuthSession *s)
{
	if (s)
		tcs_wipe(s, sizeof(*s));
}

void
tcs_auth_session_oiap(TcsAuthSession *s, uint32_t handle, const uint8_t nonce_even[TCS_NONCE_SIZE],
		      const uint8_t usage_secret[TCS_SECRET_SIZE])
{
	tcs_auth_session_wipe(s);
	s->handle = handle;
	memcpy(s->nonce_even, nonce_even, TCS_NONCE_SIZE);
	memcpy(s->secret, usage_secret, TCS_SECRET_SIZE);
}

int
tcs_auth_session_osap(TcsAuthSession *s, uint32_t handle, const uint8_t nonce_even[TCS_NONCE_SIZE],
		      const uint8_t nonce_even_osap[TCS_NONCE_SIZE],
		      const uint8_t nonce_odd_osap[TCS_NONCE_SIZE],
		      const uint8_t entity_secret[TCS_SECRET_SIZE])
{
	TcsAuthSession n = {
		.handle = handle,
		.osap = true,
	};
	int rc;

	memcpy(n.nonce_even, nonce_even, TCS_NONCE_SIZE);
	memcpy(n.nonce_even_osap, nonce_even_osap, TCS_NONCE_SIZE);
	memcpy(n.nonce_odd_osap, nonce_odd_osap, TCS_NONCE_SIZE);
	rc = tcs_auth_osap_shared_secret(entity_secret, nonce_even_osap, nonce_odd_osap, n.secret);
	if (rc == 0)
		*s = n;
	tcs_auth_session_wipe(&n);
	return rc;
}

int
tcs_auth_session_next_nonce(TcsAuthSession *s)
{
	return tcs_auth_random_nonce(s->nonce_odd);
}

int
tcs_auth_session_command(TcsAuthSession *s, const uint8_t in_digest[TCS_DIGEST_SIZE], bool cont,
			 TcsAuthIn *ret)
{
	TcsAuthIn a = {
		.handle = s->handle,
		.cont = cont ? 1 : 0,
	};
	int rc;

	memcpy(a.nonce_odd, s->nonce_odd, TCS_NONCE_SIZE);
	rc = tcs_auth_hmac(s->secret, in_digest, s->nonce_even, s->nonce_odd, cont, a.hmac);
	if (rc < 0)
		return rc;
	s->cont = cont;
	*ret = a;
	return 0;
}

int
tcs_auth_session_check_reply(TcsAuthSession *s, const uint8_t out_digest[TCS_DIGEST_SIZE],
			     const TcsAuthOut *reply)
{
	uint8_t want[TCS_DIGEST_SIZE];
	int rc;

	rc = tcs_auth_hmac(s->secret, out_digest, reply->nonce_even, s->nonce_odd, reply->cont != 0,
			   want);
	if (rc < 0)
		return rc;
	if (CRYPTO_memcmp(want, reply->hmac, TCS_DIGEST_SIZE) != 0)
		return -EBADMSG;
	memcpy(s->nonce_even, reply->nonce_even, TCS_NONCE_SIZE);
	s->cont = reply->cont != 0;
	return 0;
}

int
tcs_auth_srk_secret(uint8_t out[TCS_SECRET_SIZE])
{
	const char *pass = getenv(TCS_SRK_PASSWORD_ENV);

	if (pass && tcs_auth_secret_plain(pass, strlen(pass), out) == 0)
		return 1;
	memcpy(out, tcs_auth_well_known, TCS_SECRET_SIZE);
	return 0;
}
