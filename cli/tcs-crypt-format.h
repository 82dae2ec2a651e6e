/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tpmencrypt file format, version 1 (docs/tpmencrypt-format.md): a
 * header naming the TPM key that protects a 32-byte data key, then the
 * archive stream cut into chunks, each sealed on its own with an AEAD (or
 * AES-CBC + HMAC-SHA256). Every chunk's associated data is the header's
 * SHA-256, the chunk index and a final flag, so a changed header, reordered,
 * dropped or appended chunks and a cut-off tail all fail authentication.
 *
 * Everything here is CPU-side; the TPM part is tcs-crypt-tpm.h.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "tcs-common.h"
#include "tcs-types.h"

#define TCS_CRYPT_MAGIC "\x89TPMENC\n"
#define TCS_CRYPT_MAGIC_SIZE 8u
#define TCS_CRYPT_VERSION 1u
#define TCS_CRYPT_PREFIX_SIZE 12u /* magic, u16 version, u16 body length */
#define TCS_CRYPT_DIGEST_SIZE 32u /* SHA-256 */
#define TCS_CRYPT_BODY_MAX 8192u
#define TCS_CRYPT_BLOB_MAX 4096u
#define TCS_CRYPT_BOUND_MAX 1024u
#define TCS_CRYPT_KEY_SIZE 32u /* the data key bound to the TPM key */
#define TCS_CRYPT_CHUNK_DEFAULT (1u << 20)
#define TCS_CRYPT_CHUNK_MIN 4096u
#define TCS_CRYPT_CHUNK_MAX (16u << 20)

typedef enum {
	TCS_CRYPT_ALG_AES256_GCM = 1,
	TCS_CRYPT_ALG_CHACHA20_POLY1305 = 2,
	TCS_CRYPT_ALG_AES256_CBC_HMAC = 3,
} TcsCryptAlg;

typedef enum {
	TCS_CRYPT_COMP_NONE = 0,
	TCS_CRYPT_COMP_GZIP = 1,
	TCS_CRYPT_COMP_ZSTD = 2,
} TcsCryptComp;

#define TCS_CRYPT_FLAG_PASSPHRASE 0x01u /* key usage secret = SHA-1(passphrase) */
#define TCS_CRYPT_FLAG_KEY_IN_PS 0x02u  /* key registered in system PS, by UUID */
#define TCS_CRYPT_FLAGS_KNOWN 0x03u

typedef struct {
	uint8_t alg;
	uint8_t comp;
	uint8_t flags;
	uint32_t chunk_size;
	TcsUuid rk_uuid;
	uint8_t rk_fingerprint[TCS_CRYPT_DIGEST_SIZE]; /* SHA-256 of the RK's modulus */
	TcsUuid key_uuid;                              /* KEY_IN_PS */
	uint8_t *key_blob;                             /* otherwise: the wrapped TPM_KEY */
	size_t key_blob_len;
	uint8_t *bound;                                /* RSA-OAEP(TPM_BOUND_DATA{data key}) */
	size_t bound_len;
	uint8_t digest[TCS_CRYPT_DIGEST_SIZE];         /* SHA-256 of the serialised header */
} TcsCryptHeader;

void tcs_crypt_header_free(TcsCryptHeader *h);

/* Names as on the command line ("aes-256-gcm", …); NULL / 0 when unknown. */
const char *tcs_crypt_alg_name(uint8_t alg);
uint8_t tcs_crypt_alg_from_name(const char *name);
const char *tcs_crypt_comp_name(uint8_t comp);
int tcs_crypt_comp_from_name(const char *name); /* -1 when unknown */

/* Serialise (and fill h->digest); *ret malloc'd. -EINVAL for out-of-range fields. */
int tcs_crypt_header_write(TcsCryptHeader *h, uint8_t **ret, size_t *ret_len);

/*
 * Read and check a header from fd. Returns 0, or:
 *   -EPROTO      not a tpmencrypt file (no magic; *why says more)
 *   -EPROTONOSUPPORT  a format version this program does not know
 *   -EBADMSG     damaged: digest mismatch, bad field, truncated header
 *   -errno       read error
 * *why (static string) explains -EBADMSG / -EPROTO.
 */
int tcs_crypt_header_read(int fd, TcsCryptHeader *h, const char **why);

/* ---- the chunked stream ---- */

typedef struct TcsCryptStream TcsCryptStream;

/*
 * A stream for one file: keys derived from the data key and the header
 * digest by HKDF-SHA256. The writer encrypts to fd, the reader decrypts from
 * fd (positioned after the header). The data key is not kept.
 */
int tcs_crypt_stream_new(const TcsCryptHeader *h, const uint8_t key[TCS_CRYPT_KEY_SIZE], int fd,
			 TcsCryptStream **ret);
void tcs_crypt_stream_free(TcsCryptStream *s);
TCS_DEFINE_CLEANUP(TcsCryptStream *, tcs_crypt_stream_free)

/* Writer: buffer data, emitting full chunks; -errno on write errors. */
int tcs_crypt_stream_write(TcsCryptStream *s, const void *data, size_t len);
/* Writer: emit the final (short, possibly empty) chunk. */
int tcs_crypt_stream_finish(TcsCryptStream *s);
/* Plaintext bytes written or read so far. */
uint64_t tcs_crypt_stream_bytes(const TcsCryptStream *s);

/*
 * Reader: the next authenticated chunk's plaintext (valid until the next
 * call). Returns 1 with a chunk (possibly empty), 0 once the final chunk has
 * been returned and the file ends there, or:
 *   -EBADMSG  a chunk failed authentication (modified, reordered, wrong key)
 *   -ENODATA  the file ends before the final chunk (truncated)
 *   -errno    read error
 */
int tcs_crypt_stream_read(TcsCryptStream *s, const uint8_t **data, size_t *len);
/* The index of the chunk the last error was about. */
uint64_t tcs_crypt_stream_chunk(const TcsCryptStream *s);

/*
 * Tests and fuzzing only: seal len bytes as the next chunk, final or not, as
 * they are - for aes-256-cbc a whole number of blocks (at most chunk_size +
 * 16) encrypted without adding padding, so the caller chooses the padding a
 * reader will find. A writer that has buffered data refuses (-EINVAL).
 */
int tcs_crypt_stream_write_raw(TcsCryptStream *s, const void *data, size_t len, bool final);

/*
 * Where a reader gets the data key for a header: the TPM in tpmdecrypt, a
 * known key in the fuzzer and tests. Returns 0 with key filled, or a value
 * (> 0: an exit code, message printed) that tcs_crypt_reader_open returns.
 */
typedef int (*TcsCryptKeySource)(const TcsCryptHeader *h, void *userdata,
				 uint8_t key[TCS_CRYPT_KEY_SIZE]);

/*
 * Open a tpmencrypt file on fd: read and check its header into h (free it
 * with tcs_crypt_header_free), get the data key from get_key, and set up the
 * reading stream. Returns 0, tcs_crypt_header_read's errors (*why set as
 * there), the key source's value (> 0), or -errno from tcs_crypt_stream_new
 * (*why says so).
 */
int tcs_crypt_reader_open(int fd, TcsCryptKeySource get_key, void *userdata, TcsCryptHeader *h,
			  TcsCryptStream **ret, const char **why);

/* ---- small I/O helpers ---- */
/* Read exactly n bytes unless EOF comes first: returns the count, or -errno. */
ssize_t tcs_crypt_read_full(int fd, void *buf, size_t n);
int tcs_crypt_write_full(int fd, const void *buf, size_t n);
