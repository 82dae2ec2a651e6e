/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Key archives (tpmadm backup / restore): the RK with its private key and
 * the registered keys below it, encrypted with a key derived from a secret.
 * The format is described in docs/key-archive.md:
 *
 *   header  "TCSKEYAR" | u16 version (1) | u8 kdf (1 = scrypt) | u8 log2(N)
 *           | u32 r | u32 p | salt[16] | verifier[32] | nonce[12] | u32 length
 *   body    AES-256-GCM(payload), the header as additional data | tag[16]
 *
 * scrypt(secret, salt) gives 64 bytes: the AES key and a verifier key;
 * verifier = HMAC-SHA256(verifier key, "tcs key archive"), so a wrong secret
 * is told apart from a damaged archive. The payload is a u32 entry count and
 * entries: u8 kind | uuid[16] | parent uuid[16] | u32 + TPM_KEY blob, and for
 * the RK (kind 1) also u32 + PKCS#1 DER private key | usage secret[20] |
 * migration secret[20]. Integers are big-endian.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcs-types.h"

#define TCS_ARCHIVE_VERSION 1u
#define TCS_ARCHIVE_MAX_SIZE (16u * 1024 * 1024)
#define TCS_ARCHIVE_MAX_ENTRIES 4096u
#define TCS_ARCHIVE_MAX_SECRET 1024u

enum {
	TCS_ARCHIVE_ENTRY_ROOT = 1, /* the RK, with its private key */
	TCS_ARCHIVE_ENTRY_KEY = 2,  /* a registered key, wrapped by its parent */
};

typedef struct {
	uint8_t kind;
	TcsUuid uuid;
	TcsUuid parent;
	uint8_t *blob; /* TPM_KEY / TPM_KEY12 */
	size_t blob_len;
	/* ROOT only */
	uint8_t *private_der; /* PKCS#1 RSAPrivateKey: wipe */
	size_t private_der_len;
	uint8_t usage_secret[20];
	uint8_t migration_secret[20];
} TcsArchiveEntry;

typedef struct {
	TcsArchiveEntry *entries;
	size_t n_entries;
} TcsArchive;

/* Wipes the private parts. NULL-safe. */
void tcs_archive_clear(TcsArchive *a);
/* Append a copy of e (its buffers are copied). */
int tcs_archive_add(TcsArchive *a, const TcsArchiveEntry *e);

/*
 * Encrypt. log2_n 0 = the default cost (2^15, 32 MiB). *ret malloc'd.
 * Returns 0, -EINVAL (empty or over-long secret), -ENOMEM, -EIO (OpenSSL).
 */
int tcs_archive_seal(const TcsArchive *a, const void *secret, size_t secret_len, unsigned log2_n,
		     uint8_t **ret, size_t *ret_len);
/*
 * Decrypt and parse. Returns 0, -EBADMSG (not an archive, unknown version,
 * damaged, inconsistent), -EKEYREJECTED (wrong secret), -EINVAL, -ENOMEM, -EIO.
 */
int tcs_archive_open(const uint8_t *data, size_t len, const void *secret, size_t secret_len,
		     TcsArchive *ret);
/*
 * The second half of tcs_archive_open: parse a decrypted payload (the
 * fuzzer reaches it directly; GCM keeps it from anyone without the secret).
 * 0 or -EBADMSG, -ENOMEM.
 */
int tcs_archive_parse_payload(const uint8_t *p, size_t len, TcsArchive *ret);
