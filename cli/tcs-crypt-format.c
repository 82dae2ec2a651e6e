/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tpmencrypt file format: header and chunk cipher (see tcs-crypt-format.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "tcs-buf.h"
#include "tcs-crypt-format.h"
#include "tcs-uuid.h"

#define AEAD_NONCE_SIZE 12u
#define AEAD_TAG_SIZE 16u
#define CBC_IV_SIZE 16u
#define CBC_BLOCK 16u
#define HMAC_SIZE 32u
/* header digest, u64 chunk index, u8 final flag */
#define AAD_SIZE (TCS_CRYPT_DIGEST_SIZE + 8u + 1u)
#define KDF_INFO "tpmencrypt v1 keys"

static const struct {
	uint8_t id;
	const char *name;
} algs[] = {
	{TCS_CRYPT_ALG_AES256_GCM, "aes-256-gcm"},
	{TCS_CRYPT_ALG_CHACHA20_POLY1305, "chacha20-poly1305"},
	{TCS_CRYPT_ALG_AES256_CBC_HMAC, "aes-256-cbc"},
};

static const char *const comps[] = {"none", "gzip", "zstd"};

const char *
tcs_crypt_alg_name(uint8_t alg)
{
	for (size_t i = 0; i < TCS_ARRAY_SIZE(algs); i++)
		if (algs[i].id == alg)
			return algs[i].name;
	return NULL;
}

uint8_t
tcs_crypt_alg_from_name(const char *name)
{
	for (size_t i = 0; i < TCS_ARRAY_SIZE(algs); i++)
		if (strcasecmp(algs[i].name, name) == 0)
			return algs[i].id;
	/* the explicit name of the CBC construction */
	if (strcasecmp(name, "aes-256-cbc-hmac-sha256") == 0)
		return TCS_CRYPT_ALG_AES256_CBC_HMAC;
	return 0;
}

const char *
tcs_crypt_comp_name(uint8_t comp)
{
	return comp < TCS_ARRAY_SIZE(comps) ? comps[comp] : NULL;
}

int
tcs_crypt_comp_from_name(const char *name)
{
	for (size_t i = 0; i < TCS_ARRAY_SIZE(comps); i++)
		if (strcasecmp(comps[i], name) == 0)
			return (int)i;
	return -1;
}

void
tcs_crypt_header_free(TcsCryptHeader *h)
{
	if (!h)
		return;
	free(h->key_blob);
	free(h->bound);
	memset(h, 0, sizeof(*h));
}

ssize_t
tcs_crypt_read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (uint8_t *)buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int
tcs_crypt_write_full(int fd, const void *buf, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, buf, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		buf = (const uint8_t *)buf + r;
		n -= (size_t)r;
	}
	return 0;
}

static int
sha256(const void *data, size_t len, uint8_t out[TCS_CRYPT_DIGEST_SIZE])
{
	return EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

static bool
valid_chunk_size(uint8_t alg, uint32_t n)
{
	/* CBC records are sized from it: keep it a whole number of blocks */
	return n >= TCS_CRYPT_CHUNK_MIN && n <= TCS_CRYPT_CHUNK_MAX &&
	       (alg != TCS_CRYPT_ALG_AES256_CBC_HMAC || n % CBC_BLOCK == 0);
}

static void
wbuf_free_p(TcsWbuf *w)
{
	tcs_wbuf_free(w);
}

int
tcs_crypt_header_write(TcsCryptHeader *h, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(wbuf_free_p) TcsWbuf w = {0};
	size_t body_len;
	uint8_t *out;
	size_t out_len = 0;

	if (!tcs_crypt_alg_name(h->alg) || !tcs_crypt_comp_name(h->comp) ||
	    (h->flags & ~TCS_CRYPT_FLAGS_KNOWN) || !valid_chunk_size(h->alg, h->chunk_size) ||
	    h->bound_len == 0 || h->bound_len > TCS_CRYPT_BOUND_MAX ||
	    (!(h->flags & TCS_CRYPT_FLAG_KEY_IN_PS) &&
	     (h->key_blob_len == 0 || h->key_blob_len > TCS_CRYPT_BLOB_MAX)))
		return -EINVAL;
	tcs_wbuf_init(&w, TCS_CRYPT_PREFIX_SIZE + TCS_CRYPT_BODY_MAX + TCS_CRYPT_DIGEST_SIZE);
	tcs_wbuf_bytes(&w, TCS_CRYPT_MAGIC, TCS_CRYPT_MAGIC_SIZE);
	tcs_wbuf_u16(&w, TCS_CRYPT_VERSION);
	tcs_wbuf_u16(&w, 0); /* body length, patched below */
	tcs_wbuf_u8(&w, h->alg);
	tcs_wbuf_u8(&w, h->comp);
	tcs_wbuf_u8(&w, h->flags);
	tcs_wbuf_u8(&w, 0);
	tcs_wbuf_u32(&w, h->chunk_size);
	tcs_uuid_write_wire(&w, &h->rk_uuid);
	tcs_wbuf_bytes(&w, h->rk_fingerprint, sizeof(h->rk_fingerprint));
	if (h->flags & TCS_CRYPT_FLAG_KEY_IN_PS) {
		tcs_uuid_write_wire(&w, &h->key_uuid);
	} else {
		tcs_wbuf_u32(&w, (uint32_t)h->key_blob_len);
		tcs_wbuf_bytes(&w, h->key_blob, h->key_blob_len);
	}
	tcs_wbuf_u32(&w, (uint32_t)h->bound_len);
	tcs_wbuf_bytes(&w, h->bound, h->bound_len);
	if (!tcs_wbuf_ok(&w))
		return -ENOMEM;
	body_len = w.len - TCS_CRYPT_PREFIX_SIZE;
	if (body_len > TCS_CRYPT_BODY_MAX)
		return -EINVAL;
	w.data[10] = (uint8_t)(body_len >> 8);
	w.data[11] = (uint8_t)body_len;
	if (sha256(w.data, w.len, h->digest) < 0)
		return -EIO;
	tcs_wbuf_bytes(&w, h->digest, sizeof(h->digest));
	if (!tcs_wbuf_ok(&w))
		return -ENOMEM;
	out = tcs_wbuf_steal(&w, &out_len);
	if (!out)
		return -ENOMEM;
	*ret = out;
	*ret_len = out_len;
	return 0;
}

int
tcs_crypt_header_read(int fd, TcsCryptHeader *h, const char **why)
{
	uint8_t buf[TCS_CRYPT_PREFIX_SIZE + TCS_CRYPT_BODY_MAX + TCS_CRYPT_DIGEST_SIZE];
	uint8_t digest[TCS_CRYPT_DIGEST_SIZE];
	TcsRbuf r;
	size_t body_len, total;
	ssize_t got;
	uint32_t n;

	memset(h, 0, sizeof(*h));
	*why = NULL;
	got = tcs_crypt_read_full(fd, buf, TCS_CRYPT_PREFIX_SIZE);
	if (got < 0)
		return (int)got;
	if ((size_t)got < TCS_CRYPT_MAGIC_SIZE || memcmp(buf, TCS_CRYPT_MAGIC, TCS_CRYPT_MAGIC_SIZE)) {
		*why = "not a tpmencrypt file (no magic)";
		return -EPROTO;
	}
	if ((size_t)got < TCS_CRYPT_PREFIX_SIZE) {
		*why = "truncated header";
		return -EBADMSG;
	}
	if ((buf[8] << 8 | buf[9]) != TCS_CRYPT_VERSION)
		return -EPROTONOSUPPORT;
	body_len = (size_t)(buf[10] << 8 | buf[11]);
	if (body_len > TCS_CRYPT_BODY_MAX) {
		*why = "header length out of range";
		return -EBADMSG;
	}
	total = TCS_CRYPT_PREFIX_SIZE + body_len + TCS_CRYPT_DIGEST_SIZE;
	got = tcs_crypt_read_full(fd, buf + TCS_CRYPT_PREFIX_SIZE, total - TCS_CRYPT_PREFIX_SIZE);
	if (got < 0)
		return (int)got;
	if ((size_t)got < total - TCS_CRYPT_PREFIX_SIZE) {
		*why = "truncated header";
		return -EBADMSG;
	}
	/* an unkeyed checksum: names accidental damage before any TPM work;
	 * deliberate changes are caught by the chunks' authentication */
	if (sha256(buf, TCS_CRYPT_PREFIX_SIZE + body_len, digest) < 0)
		return -EIO;
	if (CRYPTO_memcmp(digest, buf + TCS_CRYPT_PREFIX_SIZE + body_len, sizeof(digest)) != 0) {
		*why = "header checksum mismatch (damaged or modified)";
		return -EBADMSG;
	}
	memcpy(h->digest, digest, sizeof(digest));

	tcs_rbuf_init(&r, buf + TCS_CRYPT_PREFIX_SIZE, body_len);
	h->alg = tcs_rbuf_u8(&r);
	h->comp = tcs_rbuf_u8(&r);
	h->flags = tcs_rbuf_u8(&r);
	(void)tcs_rbuf_u8(&r);
	h->chunk_size = tcs_rbuf_u32(&r);
	tcs_uuid_read_wire(&r, &h->rk_uuid);
	tcs_rbuf_copy(&r, h->rk_fingerprint, sizeof(h->rk_fingerprint));
	*why = "bad header field";
	if (!tcs_rbuf_ok(&r) || !tcs_crypt_alg_name(h->alg) || !tcs_crypt_comp_name(h->comp) ||
	    (h->flags & ~TCS_CRYPT_FLAGS_KNOWN) || !valid_chunk_size(h->alg, h->chunk_size))
		return -EBADMSG;
	if (h->flags & TCS_CRYPT_FLAG_KEY_IN_PS) {
		tcs_uuid_read_wire(&r, &h->key_uuid);
	} else {
		const uint8_t *p;

		n = tcs_rbuf_u32(&r);
		if (n == 0 || n > TCS_CRYPT_BLOB_MAX || !(p = tcs_rbuf_take(&r, n)))
			return -EBADMSG;
		h->key_blob = malloc(n);
		if (!h->key_blob)
			return -ENOMEM;
		memcpy(h->key_blob, p, n);
		h->key_blob_len = n;
	}
	n = tcs_rbuf_u32(&r);
	{
		const uint8_t *p;

		if (n == 0 || n > TCS_CRYPT_BOUND_MAX || !(p = tcs_rbuf_take(&r, n)))
			return -EBADMSG;
		h->bound = malloc(n);
		if (!h->bound)
			return -ENOMEM;
		memcpy(h->bound, p, n);
		h->bound_len = n;
	}
	if (!tcs_rbuf_ok(&r) || tcs_rbuf_remaining(&r) != 0)
		return -EBADMSG;
	*why = NULL;
	return 0;
}

/* ------------------------------------------------------------------ stream */

struct TcsCryptStream {
	uint8_t alg;
	int fd;
	uint32_t chunk_size;
	size_t record_max; /* a full (non-final) chunk's record */
	EVP_CIPHER_CTX *ctx;
	EVP_MAC_CTX *mac;
	uint8_t enc_key[32];
	uint8_t mac_key[32];
	uint8_t nonce_prefix[4];
	uint8_t header_digest[TCS_CRYPT_DIGEST_SIZE];
	uint64_t index; /* of the next chunk */
	uint64_t bytes;
	uint8_t *plain; /* writer: pending plaintext; reader: last chunk's plaintext */
	size_t plain_len;
	size_t plain_cap; /* chunk_size + 2 blocks: see tcs_crypt_stream_new */
	uint8_t *record;
	bool done;
};

static size_t
record_overhead(uint8_t alg, size_t plain_len)
{
	if (alg == TCS_CRYPT_ALG_AES256_CBC_HMAC)
		return CBC_IV_SIZE + (plain_len / CBC_BLOCK + 1) * CBC_BLOCK - plain_len + HMAC_SIZE;
	return AEAD_TAG_SIZE;
}

static const EVP_CIPHER *
alg_cipher(uint8_t alg)
{
	switch (alg) {
	case TCS_CRYPT_ALG_AES256_GCM:
		return EVP_aes_256_gcm();
	case TCS_CRYPT_ALG_CHACHA20_POLY1305:
		return EVP_chacha20_poly1305();
	case TCS_CRYPT_ALG_AES256_CBC_HMAC:
		return EVP_aes_256_cbc();
	}
	return NULL;
}

static int
derive_keys(TcsCryptStream *s, const uint8_t key[TCS_CRYPT_KEY_SIZE])
{
	uint8_t out[32 + 32 + 4], info[sizeof(KDF_INFO) - 1 + 1];
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5];
	int rc = -EIO;

	memcpy(info, KDF_INFO, sizeof(KDF_INFO) - 1);
	info[sizeof(info) - 1] = s->alg;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key,
						      TCS_CRYPT_KEY_SIZE);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, s->header_digest,
						      sizeof(s->header_digest));
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info));
	params[4] = OSSL_PARAM_construct_end();
	if (kctx && EVP_KDF_derive(kctx, out, sizeof(out), params) == 1) {
		memcpy(s->enc_key, out, 32);
		memcpy(s->mac_key, out + 32, 32);
		memcpy(s->nonce_prefix, out + 64, 4);
		rc = 0;
	}
	OPENSSL_cleanse(out, sizeof(out));
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

void
tcs_crypt_stream_free(TcsCryptStream *s)
{
	if (!s)
		return;
	EVP_CIPHER_CTX_free(s->ctx);
	EVP_MAC_CTX_free(s->mac);
	if (s->plain)
		OPENSSL_cleanse(s->plain, s->plain_cap);
	free(s->plain);
	free(s->record);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

int
tcs_crypt_stream_new(const TcsCryptHeader *h, const uint8_t key[TCS_CRYPT_KEY_SIZE], int fd,
		     TcsCryptStream **ret)
{
	_cleanup_(tcs_crypt_stream_freep) TcsCryptStream *s = calloc(1, sizeof(*s));
	const EVP_CIPHER *cipher = alg_cipher(h->alg);

	if (!s)
		return -ENOMEM;
	if (!cipher || !valid_chunk_size(h->alg, h->chunk_size))
		return -EINVAL;
	s->alg = h->alg;
	s->fd = fd;
	s->chunk_size = h->chunk_size;
	s->record_max = h->chunk_size + record_overhead(h->alg, h->chunk_size);
	memcpy(s->header_digest, h->digest, sizeof(s->header_digest));
	/*
	 * A full CBC record holds chunk_size + 16 ciphertext bytes; its author
	 * chooses the data key and so the padding, and EVP_DecryptFinal_ex writes
	 * up to 15 bytes past chunk_size before any length check can refuse the
	 * chunk. The room EVP_DecryptUpdate documents (input + a block) keeps
	 * those writes inside the buffer.
	 */
	s->plain_cap = (size_t)s->chunk_size + 2 * CBC_BLOCK;
	s->plain = malloc(s->plain_cap);
	s->record = malloc(s->record_max);
	s->ctx = EVP_CIPHER_CTX_new();
	if (!s->plain || !s->record || !s->ctx)
		return -ENOMEM;
	if (derive_keys(s, key) < 0)
		return -EIO;
	/* key once; every chunk only sets its IV */
	if (EVP_CipherInit_ex(s->ctx, cipher, NULL, s->enc_key, NULL, -1) != 1)
		return -EIO;
	if (s->alg == TCS_CRYPT_ALG_AES256_CBC_HMAC) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
			OSSL_PARAM_construct_end(),
		};

		s->mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
		EVP_MAC_free(mac);
		if (!s->mac || EVP_MAC_CTX_set_params(s->mac, params) != 1)
			return -EIO;
	}
	*ret = TCS_TAKE_PTR(s);
	return 0;
}

uint64_t
tcs_crypt_stream_bytes(const TcsCryptStream *s)
{
	return s->bytes;
}

uint64_t
tcs_crypt_stream_chunk(const TcsCryptStream *s)
{
	return s->index;
}

static void
make_aad(const TcsCryptStream *s, bool final, uint8_t aad[AAD_SIZE])
{
	memcpy(aad, s->header_digest, TCS_CRYPT_DIGEST_SIZE);
	for (int i = 0; i < 8; i++)
		aad[TCS_CRYPT_DIGEST_SIZE + i] = (uint8_t)(s->index >> (56 - 8 * i));
	aad[AAD_SIZE - 1] = final ? 1 : 0;
}

static void
make_nonce(const TcsCryptStream *s, uint8_t nonce[AEAD_NONCE_SIZE])
{
	/* the key is fresh for every file, so the counter alone never repeats */
	memcpy(nonce, s->nonce_prefix, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(s->index >> (56 - 8 * i));
}

static int
hmac_record(TcsCryptStream *s, const uint8_t aad[AAD_SIZE], const uint8_t *rec, size_t len,
	    uint8_t out[HMAC_SIZE])
{
	size_t out_len = 0;

	if (EVP_MAC_init(s->mac, s->mac_key, sizeof(s->mac_key), NULL) != 1 ||
	    EVP_MAC_update(s->mac, aad, AAD_SIZE) != 1 || EVP_MAC_update(s->mac, rec, len) != 1 ||
	    EVP_MAC_final(s->mac, out, &out_len, HMAC_SIZE) != 1 || out_len != HMAC_SIZE)
		return -EIO;
	return 0;
}

/*
 * Seal in[0..in_len) as chunk s->index into s->record; the record's length.
 * pad false (tests only): CBC input already a whole number of blocks,
 * encrypted as it is, so the caller chooses the padding bytes.
 */
static int
seal_chunk(TcsCryptStream *s, const uint8_t *in, size_t in_len, bool final, bool pad,
	   size_t *rec_len)
{
	uint8_t aad[AAD_SIZE], iv[AEAD_NONCE_SIZE > CBC_IV_SIZE ? AEAD_NONCE_SIZE : CBC_IV_SIZE];
	int n = 0, m = 0;

	make_aad(s, final, aad);
	if (s->alg == TCS_CRYPT_ALG_AES256_CBC_HMAC) {
		uint8_t *ct = s->record + CBC_IV_SIZE;

		if (RAND_bytes(iv, CBC_IV_SIZE) != 1)
			return -EIO;
		memcpy(s->record, iv, CBC_IV_SIZE);
		/* with the key: AES needs the key schedule of the direction */
		if (EVP_EncryptInit_ex(s->ctx, NULL, NULL, s->enc_key, iv) != 1 ||
		    EVP_CIPHER_CTX_set_padding(s->ctx, pad ? 1 : 0) != 1 ||
		    EVP_EncryptUpdate(s->ctx, ct, &n, in, (int)in_len) != 1 ||
		    EVP_EncryptFinal_ex(s->ctx, ct + n, &m) != 1)
			return -EIO;
		if (hmac_record(s, aad, s->record, CBC_IV_SIZE + (size_t)(n + m),
				s->record + CBC_IV_SIZE + n + m) < 0)
			return -EIO;
		*rec_len = CBC_IV_SIZE + (size_t)(n + m) + HMAC_SIZE;
		return 0;
	}
	make_nonce(s, iv);
	if (EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(s->ctx, NULL, &n, aad, AAD_SIZE) != 1 ||
	    EVP_EncryptUpdate(s->ctx, s->record, &n, in, (int)in_len) != 1 ||
	    EVP_EncryptFinal_ex(s->ctx, s->record + n, &m) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_SIZE,
				s->record + n + m) != 1)
		return -EIO;
	*rec_len = (size_t)(n + m) + AEAD_TAG_SIZE;
	return 0;
}

/* Open record[0..len) as chunk s->index into s->plain. -EBADMSG when it does not authenticate. */
static int
open_chunk(TcsCryptStream *s, bool final, size_t len)
{
	uint8_t aad[AAD_SIZE], nonce[AEAD_NONCE_SIZE], tag[HMAC_SIZE];
	int n = 0, m = 0;

	make_aad(s, final, aad);
	if (s->alg == TCS_CRYPT_ALG_AES256_CBC_HMAC) {
		size_t ct_len;

		if (len < CBC_IV_SIZE + CBC_BLOCK + HMAC_SIZE ||
		    (len - CBC_IV_SIZE - HMAC_SIZE) % CBC_BLOCK != 0)
			return -EBADMSG;
		ct_len = len - CBC_IV_SIZE - HMAC_SIZE;
		/* at most chunk_size + 16 (record_max): plain_cap holds it plus a block */
		if (ct_len + CBC_BLOCK > s->plain_cap)
			return -EBADMSG;
		/* encrypt-then-MAC: nothing is decrypted before the tag checks */
		if (hmac_record(s, aad, s->record, CBC_IV_SIZE + ct_len, tag) < 0)
			return -EIO;
		if (CRYPTO_memcmp(tag, s->record + CBC_IV_SIZE + ct_len, HMAC_SIZE) != 0)
			return -EBADMSG;
		if (EVP_DecryptInit_ex(s->ctx, NULL, NULL, s->enc_key, s->record) != 1 ||
		    EVP_CIPHER_CTX_set_padding(s->ctx, 1) != 1 ||
		    EVP_DecryptUpdate(s->ctx, s->plain, &n, s->record + CBC_IV_SIZE,
				      (int)ct_len) != 1 ||
		    EVP_DecryptFinal_ex(s->ctx, s->plain + n, &m) != 1) {
			OPENSSL_cleanse(s->plain, s->plain_cap);
			return -EBADMSG;
		}
	} else {
		if (len < AEAD_TAG_SIZE || len - AEAD_TAG_SIZE > s->plain_cap)
			return -EBADMSG;
		make_nonce(s, nonce);
		memcpy(tag, s->record + len - AEAD_TAG_SIZE, AEAD_TAG_SIZE);
		if (EVP_DecryptInit_ex(s->ctx, NULL, NULL, NULL, nonce) != 1 ||
		    EVP_DecryptUpdate(s->ctx, NULL, &n, aad, AAD_SIZE) != 1 ||
		    EVP_DecryptUpdate(s->ctx, s->plain, &n, s->record,
				      (int)(len - AEAD_TAG_SIZE)) != 1 ||
		    EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_SIZE, tag) != 1)
			return -EIO;
		if (EVP_DecryptFinal_ex(s->ctx, s->plain + n, &m) != 1) {
			OPENSSL_cleanse(s->plain, (size_t)n);
			return -EBADMSG;
		}
	}
	s->plain_len = (size_t)(n + m);
	/* a final chunk is always short, a non-final one always full */
	if (final ? s->plain_len >= s->chunk_size : s->plain_len != s->chunk_size) {
		OPENSSL_cleanse(s->plain, s->plain_cap);
		s->plain_len = 0;
		return -EBADMSG;
	}
	return 0;
}

static int
emit_chunk(TcsCryptStream *s, bool final)
{
	size_t rec_len = 0;
	int rc = seal_chunk(s, s->plain, s->plain_len, final, true, &rec_len);

	if (rc == 0)
		rc = tcs_crypt_write_full(s->fd, s->record, rec_len);
	if (rc < 0)
		return rc;
	s->index++;
	s->plain_len = 0;
	return 0;
}

int
tcs_crypt_stream_write(TcsCryptStream *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (s->done)
		return -EINVAL;
	while (len > 0) {
		size_t n = s->chunk_size - s->plain_len;
		int rc;

		if (n > len)
			n = len;
		memcpy(s->plain + s->plain_len, p, n);
		s->plain_len += n;
		s->bytes += n;
		p += n;
		len -= n;
		/* full chunks are never final: the final one is always short */
		if (s->plain_len == s->chunk_size && (rc = emit_chunk(s, false)) < 0)
			return rc;
	}
	return 0;
}

int
tcs_crypt_stream_finish(TcsCryptStream *s)
{
	int rc;

	if (s->done)
		return -EINVAL;
	rc = emit_chunk(s, true);
	if (rc == 0)
		s->done = true;
	return rc;
}

int
tcs_crypt_stream_read(TcsCryptStream *s, const uint8_t **data, size_t *len)
{
	ssize_t got;
	bool final;
	int rc;

	if (s->done)
		return 0;
	got = tcs_crypt_read_full(s->fd, s->record, s->record_max);
	if (got < 0)
		return (int)got;
	/* a short record is the final chunk; nothing may follow it */
	final = (size_t)got < s->record_max;
	if (got == 0 || (size_t)got < record_overhead(s->alg, 0))
		return -ENODATA;
	rc = open_chunk(s, final, (size_t)got);
	if (rc < 0)
		return rc;
	s->index++;
	s->bytes += s->plain_len;
	s->done = final;
	*data = s->plain;
	*len = s->plain_len;
	return 1;
}

int
tcs_crypt_stream_write_raw(TcsCryptStream *s, const void *data, size_t len, bool final)
{
	size_t rec_len = 0;
	int rc;

	/* only whole blocks (CBC) and nothing record_max cannot hold */
	if (s->done || s->plain_len != 0 ||
	    (s->alg == TCS_CRYPT_ALG_AES256_CBC_HMAC
		     ? len % CBC_BLOCK != 0 || len > (size_t)s->chunk_size + CBC_BLOCK
		     : len > s->chunk_size))
		return -EINVAL;
	rc = seal_chunk(s, data, len, final, false, &rec_len);
	if (rc == 0)
		rc = tcs_crypt_write_full(s->fd, s->record, rec_len);
	if (rc < 0)
		return rc;
	s->index++;
	s->done = final;
	return 0;
}

int
tcs_crypt_reader_open(int fd, TcsCryptKeySource get_key, void *userdata, TcsCryptHeader *h,
		      TcsCryptStream **ret, const char **why)
{
	uint8_t key[TCS_CRYPT_KEY_SIZE];
	int rc = tcs_crypt_header_read(fd, h, why);

	if (rc != 0)
		return rc;
	rc = get_key(h, userdata, key);
	if (rc != 0) {
		OPENSSL_cleanse(key, sizeof(key));
		return rc;
	}
	rc = tcs_crypt_stream_new(h, key, fd, ret);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0)
		*why = "cannot set up the cipher (OpenSSL)";
	return rc;
}
