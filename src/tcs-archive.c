/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tcs-archive.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "tcs-buf.h"
#include "tcs-common.h"
#include "tcs-uuid.h"

#define MAGIC "TCSKEYAR"
#define KDF_SCRYPT 1u
#define DEFAULT_LOG2_N 15u
/* bounds on what an archive may ask of us: at most 1 GiB of scrypt memory */
#define MIN_LOG2_N 10u
#define MAX_LOG2_N 20u
#define MAX_R 16u
#define MAX_P 16u
#define SALT_SIZE 16u
#define VERIFIER_SIZE 32u
#define NONCE_SIZE 12u
#define TAG_SIZE 16u
#define HEADER_SIZE (8u + 2 + 1 + 1 + 4 + 4 + SALT_SIZE + VERIFIER_SIZE + NONCE_SIZE + 4)
#define VERIFIER_LABEL "tcs key archive"

typedef struct {
	uint8_t aes[32];
	uint8_t verifier_key[32];
} Keys;

static void
entry_clear(TcsArchiveEntry *e)
{
	free(e->blob);
	if (e->private_der)
		tcs_wipe(e->private_der, e->private_der_len);
	free(e->private_der);
	tcs_wipe(e, sizeof(*e));
}

void
tcs_archive_clear(TcsArchive *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_entries; i++)
		entry_clear(&a->entries[i]);
	free(a->entries);
	a->entries = NULL;
	a->n_entries = 0;
}

static uint8_t *
memdup(const void *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d && n)
		memcpy(d, p, n);
	return d;
}

int
tcs_archive_add(TcsArchive *a, const TcsArchiveEntry *e)
{
	TcsArchiveEntry copy = *e, *n;

	if (a->n_entries >= TCS_ARCHIVE_MAX_ENTRIES)
		return -E2BIG;
	copy.blob = memdup(e->blob, e->blob_len);
	copy.private_der = e->private_der ? memdup(e->private_der, e->private_der_len) : NULL;
	if (!copy.blob || (e->private_der && !copy.private_der)) {
		entry_clear(&copy);
		return -ENOMEM;
	}
	n = realloc(a->entries, (a->n_entries + 1) * sizeof(*n));
	if (!n) {
		entry_clear(&copy);
		return -ENOMEM;
	}
	a->entries = n;
	a->entries[a->n_entries++] = copy;
	return 0;
}

static int
derive(const void *secret, size_t secret_len, const uint8_t salt[SALT_SIZE], unsigned log2_n,
       uint32_t r, uint32_t p, Keys *k, uint8_t verifier[VERIFIER_SIZE])
{
	uint8_t out[64];
	unsigned int vlen = VERIFIER_SIZE;
	int ok = EVP_PBE_scrypt(secret, secret_len, salt, SALT_SIZE, (uint64_t)1 << log2_n, r, p,
				(uint64_t)1100 << 20, out, sizeof(out));

	if (ok == 1) {
		memcpy(k->aes, out, 32);
		memcpy(k->verifier_key, out + 32, 32);
		ok = HMAC(EVP_sha256(), k->verifier_key, 32, (const uint8_t *)VERIFIER_LABEL,
			  strlen(VERIFIER_LABEL), verifier, &vlen) != NULL;
	}
	OPENSSL_cleanse(out, sizeof(out));
	return ok == 1 ? 0 : -EIO;
}

static void
payload_write(const TcsArchive *a, TcsWbuf *w)
{
	tcs_wbuf_u32(w, (uint32_t)a->n_entries);
	for (size_t i = 0; i < a->n_entries; i++) {
		const TcsArchiveEntry *e = &a->entries[i];

		tcs_wbuf_u8(w, e->kind);
		tcs_uuid_write_wire(w, &e->uuid);
		tcs_uuid_write_wire(w, &e->parent);
		tcs_wbuf_u32(w, (uint32_t)e->blob_len);
		tcs_wbuf_bytes(w, e->blob, e->blob_len);
		if (e->kind == TCS_ARCHIVE_ENTRY_ROOT) {
			tcs_wbuf_u32(w, (uint32_t)e->private_der_len);
			tcs_wbuf_bytes(w, e->private_der, e->private_der_len);
			tcs_wbuf_bytes(w, e->usage_secret, 20);
			tcs_wbuf_bytes(w, e->migration_secret, 20);
		}
	}
}

/* AES-256-GCM in one go; archives are small (bounded by TCS_ARCHIVE_MAX_SIZE). */
static int
gcm(bool encrypt, const uint8_t key[32], const uint8_t nonce[NONCE_SIZE], const uint8_t *aad,
    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[TAG_SIZE])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, encrypt) == 1 &&
	     (aad_len == 0 || EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1) &&
	     (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1);
	if (ok && !encrypt)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_SIZE, tag) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, out + n, &n) == 1;
	if (ok && encrypt)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_SIZE, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ctx)
		return -ENOMEM;
	return ok ? 0 : (encrypt ? -EIO : -EBADMSG);
}

int
tcs_archive_seal(const TcsArchive *a, const void *secret, size_t secret_len, unsigned log2_n,
		 uint8_t **ret, size_t *ret_len)
{
	_cleanup_(tcs_wbuf_free_secure) TcsWbuf payload = {0};
	TcsWbuf out = {0};
	uint8_t salt[SALT_SIZE], nonce[NONCE_SIZE], verifier[VERIFIER_SIZE], tag[TAG_SIZE];
	const uint32_t r = 8, p = 1;
	Keys k;
	size_t body_off;
	int rc;

	if (!secret_len || secret_len > TCS_ARCHIVE_MAX_SECRET)
		return -EINVAL;
	log2_n = log2_n ? log2_n : DEFAULT_LOG2_N;
	if (log2_n < MIN_LOG2_N || log2_n > MAX_LOG2_N)
		return -EINVAL;
	tcs_wbuf_init(&payload, TCS_ARCHIVE_MAX_SIZE - HEADER_SIZE - TAG_SIZE);
	payload_write(a, &payload);
	if (!tcs_wbuf_ok(&payload))
		return -E2BIG;
	if (RAND_bytes(salt, sizeof(salt)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1)
		return -EIO;
	rc = derive(secret, secret_len, salt, log2_n, r, p, &k, verifier);
	if (rc < 0)
		return rc;
	tcs_wbuf_init(&out, TCS_ARCHIVE_MAX_SIZE);
	tcs_wbuf_bytes(&out, MAGIC, 8);
	tcs_wbuf_u16(&out, TCS_ARCHIVE_VERSION);
	tcs_wbuf_u8(&out, KDF_SCRYPT);
	tcs_wbuf_u8(&out, (uint8_t)log2_n);
	tcs_wbuf_u32(&out, r);
	tcs_wbuf_u32(&out, p);
	tcs_wbuf_bytes(&out, salt, sizeof(salt));
	tcs_wbuf_bytes(&out, verifier, sizeof(verifier));
	tcs_wbuf_bytes(&out, nonce, sizeof(nonce));
	tcs_wbuf_u32(&out, (uint32_t)payload.len);
	body_off = out.len;
	tcs_wbuf_zeros(&out, payload.len + TAG_SIZE);
	if (!tcs_wbuf_ok(&out)) {
		OPENSSL_cleanse(&k, sizeof(k));
		tcs_wbuf_free(&out);
		return -E2BIG;
	}
	rc = gcm(true, k.aes, nonce, out.data, HEADER_SIZE, payload.data, payload.len,
		 out.data + body_off, tag);
	OPENSSL_cleanse(&k, sizeof(k));
	if (rc < 0) {
		tcs_wbuf_free(&out);
		return rc;
	}
	memcpy(out.data + body_off + payload.len, tag, TAG_SIZE);
	*ret = tcs_wbuf_steal(&out, ret_len);
	return 0;
}

int
tcs_archive_parse_payload(const uint8_t *p, size_t len, TcsArchive *ret)
{
	TcsArchive a = {0};
	TcsRbuf r;
	uint32_t n;
	int rc = 0;

	tcs_rbuf_init(&r, p, len);
	n = tcs_rbuf_u32(&r);
	if (!tcs_rbuf_ok(&r) || n == 0 || n > TCS_ARCHIVE_MAX_ENTRIES)
		return -EBADMSG;
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		TcsArchiveEntry e = {0};
		uint32_t blob_len, der_len = 0;
		const uint8_t *blob, *der = NULL;

		e.kind = tcs_rbuf_u8(&r);
		(void)tcs_uuid_read_wire(&r, &e.uuid);
		(void)tcs_uuid_read_wire(&r, &e.parent);
		blob_len = tcs_rbuf_u32(&r);
		blob = tcs_rbuf_take(&r, blob_len);
		if (e.kind == TCS_ARCHIVE_ENTRY_ROOT) {
			der_len = tcs_rbuf_u32(&r);
			der = tcs_rbuf_take(&r, der_len);
			(void)tcs_rbuf_copy(&r, e.usage_secret, 20);
			(void)tcs_rbuf_copy(&r, e.migration_secret, 20);
		}
		if (!tcs_rbuf_ok(&r) || !blob || blob_len == 0 ||
		    (e.kind != TCS_ARCHIVE_ENTRY_ROOT && e.kind != TCS_ARCHIVE_ENTRY_KEY) ||
		    (e.kind == TCS_ARCHIVE_ENTRY_ROOT && (i != 0 || !der || der_len == 0)) ||
		    (e.kind == TCS_ARCHIVE_ENTRY_KEY && i == 0)) {
			rc = -EBADMSG;
			break;
		}
		e.blob = (uint8_t *)blob;
		e.blob_len = blob_len;
		e.private_der = (uint8_t *)der;
		e.private_der_len = der_len;
		rc = tcs_archive_add(&a, &e);
		tcs_wipe(&e, sizeof(e));
	}
	if (rc == 0 && tcs_rbuf_remaining(&r) != 0)
		rc = -EBADMSG;
	if (rc < 0) {
		tcs_archive_clear(&a);
		return rc;
	}
	*ret = a;
	return 0;
}

int
tcs_archive_open(const uint8_t *data, size_t len, const void *secret, size_t secret_len,
		 TcsArchive *ret)
{
	uint8_t salt[SALT_SIZE], nonce[NONCE_SIZE], verifier[VERIFIER_SIZE], expect[VERIFIER_SIZE];
	const uint8_t *magic, *body, *tag;
	uint8_t *plain;
	uint32_t r_cost, p_cost, body_len;
	unsigned version, kdf, log2_n;
	Keys k;
	TcsRbuf r;
	int rc;

	if (!secret_len || secret_len > TCS_ARCHIVE_MAX_SECRET)
		return -EINVAL;
	if (len > TCS_ARCHIVE_MAX_SIZE)
		return -EBADMSG;
	tcs_rbuf_init(&r, data, len);
	magic = tcs_rbuf_take(&r, 8);
	version = tcs_rbuf_u16(&r);
	kdf = tcs_rbuf_u8(&r);
	log2_n = tcs_rbuf_u8(&r);
	r_cost = tcs_rbuf_u32(&r);
	p_cost = tcs_rbuf_u32(&r);
	(void)tcs_rbuf_copy(&r, salt, sizeof(salt));
	(void)tcs_rbuf_copy(&r, verifier, sizeof(verifier));
	(void)tcs_rbuf_copy(&r, nonce, sizeof(nonce));
	body_len = tcs_rbuf_u32(&r);
	body = tcs_rbuf_take(&r, body_len);
	tag = tcs_rbuf_take(&r, TAG_SIZE);
	if (!tcs_rbuf_ok(&r) || memcmp(magic, MAGIC, 8) != 0 || version != TCS_ARCHIVE_VERSION ||
	    kdf != KDF_SCRYPT || log2_n < MIN_LOG2_N || log2_n > MAX_LOG2_N || r_cost == 0 ||
	    r_cost > MAX_R || p_cost == 0 || p_cost > MAX_P || tcs_rbuf_remaining(&r) != 0)
		return -EBADMSG;
	rc = derive(secret, secret_len, salt, log2_n, r_cost, p_cost, &k, expect);
	if (rc < 0)
		return rc;
	if (CRYPTO_memcmp(expect, verifier, sizeof(expect)) != 0) {
		OPENSSL_cleanse(&k, sizeof(k));
		return -EKEYREJECTED;
	}
	plain = malloc(body_len ? body_len : 1);
	if (!plain) {
		OPENSSL_cleanse(&k, sizeof(k));
		return -ENOMEM;
	}
	rc = gcm(false, k.aes, nonce, data, HEADER_SIZE, body, body_len, plain, (uint8_t *)tag);
	OPENSSL_cleanse(&k, sizeof(k));
	if (rc == 0)
		rc = tcs_archive_parse_payload(plain, body_len, ret);
	tcs_wipe(plain, body_len);
	free(plain);
	return rc;
}
