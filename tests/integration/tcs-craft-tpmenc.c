/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tcs-craft-tpmenc: a test helper playing a hostile file author who has no
 * TPM rights beyond reading the RK's public key from tcsd. It makes an RSA
 * bind key in software, wraps it for the RK (tcs_key_wrap: the TPM will load
 * it), binds a data key of its own choosing to it and writes a tpmencrypt
 * file around a plaintext it controls completely - the chunk layout and,
 * for aes-256-cbc, the padding too.
 *
 * Usage:
 *   tcs-craft-tpmenc --cbc-overflow OUT
 *       aes-256-cbc, chunk size 4096: chunk 0 is a full record (4112
 *       ciphertext bytes) whose padding is one byte, so it decrypts to 4111
 *       bytes - 15 past the chunk size; then an empty final chunk.
 *   tcs-craft-tpmenc --tar TAR [--alg NAME] OUT
 *       a well-formed file whose plaintext is TAR (any tar stream).
 * Talks to $TSS_TCSD_HOSTNAME:$TSS_TCSD_PORT. Exit: 0 written, 1 failure, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "tcs-auth.h"
#include "tcs-client.h"
#include "tcs-crypt-format.h"
#include "tcs-bind.h"
#include "tcs-crypt-tpm.h"
#include "tcs-key-wrap.h"
#include "tcs-key.h"
#include "tcs-types.h"

#define CHUNK 4096u

static int
fail(const char *what, int rc)
{
	fprintf(stderr, "tcs-craft-tpmenc: %s: %s\n", what, tcs_crypt_strerror(rc));
	return 1;
}

/* The header of a file whose data key is `key`: bind key wrapped for the RK in software. */
static int
make_header(uint8_t alg, TcsCryptHeader *h, const uint8_t key[TCS_CRYPT_KEY_SIZE])
{
	const TcsKeyWrapParams params = {
		.usage = TPM_KEY_BIND,
		.auth_data_usage = TPM_AUTH_ALWAYS,
		.enc_scheme = TPM_ES_RSAESOAEP_SHA1_MGF1,
	};
	_cleanup_client_ TcsClient *c = NULL;
	_cleanup_free_ uint8_t *rk_blob = NULL;
	_cleanup_key_ TcsKey rk = {0}, bind = {0};
	EVP_PKEY *pk = NULL;
	size_t rk_len = 0;
	int rc;

	rc = tcs_client_connect(NULL, NULL, &c);
	if (rc == 0)
		rc = tcs_client_open_context(c);
	if (rc == 0)
		rc = tcs_client_get_registered_key_blob(c, &TCS_UUID_RK, &rk_blob, &rk_len);
	if (rc != 0)
		return fail("reading the RK's public key from tcsd", rc);
	if (tcs_key_parse(rk_blob, rk_len, &rk, NULL) < 0 ||
	    tcs_key_fingerprint(&rk, h->rk_fingerprint) < 0)
		return fail("the RK blob", -EBADMSG);
	pk = EVP_RSA_gen(2048);
	if (!pk)
		return fail("RSA key generation", -EIO);
	rc = tcs_key_wrap(pk, rk_blob, rk_len, &params, tcs_auth_well_known, tcs_auth_well_known,
			  &h->key_blob, &h->key_blob_len);
	EVP_PKEY_free(pk);
	if (rc < 0)
		return fail("wrapping a bind key for the RK", rc);
	if (tcs_key_parse(h->key_blob, h->key_blob_len, &bind, NULL) < 0 ||
	    (rc = tcs_bind_software(&bind, key, TCS_CRYPT_KEY_SIZE, &h->bound, &h->bound_len)) < 0)
		return fail("binding the data key", rc < 0 ? rc : -EBADMSG);
	h->alg = alg;
	h->comp = TCS_CRYPT_COMP_NONE;
	h->chunk_size = CHUNK;
	h->rk_uuid = TCS_UUID_RK;
	return 0;
}

int
main(int argc, char **argv)
{
	_cleanup_(tcs_crypt_header_free) TcsCryptHeader h = {0};
	_cleanup_(tcs_crypt_stream_freep) TcsCryptStream *s = NULL;
	_cleanup_free_ uint8_t *head = NULL;
	uint8_t key[TCS_CRYPT_KEY_SIZE];
	const char *tar = NULL, *out = NULL;
	uint8_t alg = TCS_CRYPT_ALG_AES256_GCM;
	bool overflow = false;
	size_t head_len = 0;
	int fd, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cbc-overflow"))
			overflow = true;
		else if (!strcmp(argv[i], "--tar") && i + 1 < argc)
			tar = argv[++i];
		else if (!strcmp(argv[i], "--alg") && i + 1 < argc &&
			 (alg = tcs_crypt_alg_from_name(argv[++i])) != 0)
			;
		else if (!out && argv[i][0] != '-')
			out = argv[i];
		else
			out = NULL, argc = -1;
	}
	if (!out || argc < 0 || overflow == !!tar) {
		fprintf(stderr, "usage: tcs-craft-tpmenc --cbc-overflow OUT | --tar TAR [--alg NAME] OUT\n");
		return 2;
	}
	if (overflow)
		alg = TCS_CRYPT_ALG_AES256_CBC_HMAC;
	memset(key, 'A', sizeof(key)); /* the author's choice */
	if (make_header(alg, &h, key) != 0)
		return 1;
	if ((rc = tcs_crypt_header_write(&h, &head, &head_len)) < 0)
		return fail("the header", rc);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(out, -errno);
	if ((rc = tcs_crypt_write_full(fd, head, head_len)) < 0 ||
	    (rc = tcs_crypt_stream_new(&h, key, fd, &s)) < 0)
		return fail(out, rc);
	if (overflow) {
		uint8_t rec[CHUNK + 16], empty[16];

		/* 4111 bytes of junk, then PKCS#7 padding of one byte */
		memset(rec, 0xa5, sizeof(rec));
		rec[sizeof(rec) - 1] = 0x01;
		memset(empty, 16, sizeof(empty)); /* an empty final chunk: one block of padding */
		rc = tcs_crypt_stream_write_raw(s, rec, sizeof(rec), false);
		if (rc == 0)
			rc = tcs_crypt_stream_write_raw(s, empty, sizeof(empty), true);
	} else {
		uint8_t buf[8192];
		ssize_t n;
		int in = open(tar, O_RDONLY | O_CLOEXEC);

		if (in < 0)
			return fail(tar, -errno);
		rc = 0;
		while (rc == 0 && (n = read(in, buf, sizeof(buf))) > 0)
			rc = tcs_crypt_stream_write(s, buf, (size_t)n);
		close(in);
		if (rc == 0)
			rc = tcs_crypt_stream_finish(s);
	}
	if (rc < 0 || close(fd) < 0)
		return fail(out, rc < 0 ? rc : -errno);
	return 0;
}
