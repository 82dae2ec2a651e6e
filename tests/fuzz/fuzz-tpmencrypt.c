/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for tpmdecrypt's reader (cli/tcs-crypt-format.c): header,
 * chunk framing and the decryption of every algorithm. The data key comes
 * from a key source handing out a fixed key instead of the TPM, as a file's
 * author - who chooses the data key - can; so the fuzzer can make every
 * chunk authenticate and control the plaintext, for aes-256-cbc including
 * the padding bytes.
 *
 * Input: byte 0 selects
 *   bits 0-1  the algorithm (0 and 3: aes-256-gcm, 1 chacha20-poly1305, 2 aes-256-cbc)
 *   bit 2     raw: the rest is the whole file, read with the fixed key
 *   bit 3     chunk size 4112 instead of 4096
 * Otherwise the rest is a list of records {u8 flags (bit 0 final), u16 size,
 * u8 n, n bytes}: a file is built with a valid header and each record's
 * plaintext - size bytes (whole blocks for CBC, at most a full record),
 * zeros ending in the n bytes - sealed as it is
 * (tcs_crypt_stream_write_raw), then read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tcs-crypt-format.h"
#include "tcs-types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_key[TCS_CRYPT_KEY_SIZE] = "tpmencrypt fuzz data key 32 byte";

static int
fixed_key(const TcsCryptHeader *h, void *userdata, uint8_t key[TCS_CRYPT_KEY_SIZE])
{
	(void)h;
	(void)userdata;
	memcpy(key, fuzz_key, TCS_CRYPT_KEY_SIZE);
	return 0;
}

static void
build(int fd, uint8_t alg, uint32_t chunk, const uint8_t *p, size_t n)
{
	static uint8_t blob[8] = {1, 2, 3, 4, 5, 6, 7, 8}, bound[256];
	TcsCryptHeader h = {
		.alg = alg,
		.comp = TCS_CRYPT_COMP_NONE,
		.chunk_size = chunk,
		.key_blob = blob,
		.key_blob_len = sizeof(blob),
		.bound = bound,
		.bound_len = sizeof(bound),
	};
	TcsCryptStream *s = NULL;
	uint8_t *head = NULL, *rec = malloc(chunk + 16);
	size_t head_len = 0;

	if (!rec || tcs_crypt_header_write(&h, &head, &head_len) < 0 ||
	    tcs_crypt_write_full(fd, head, head_len) < 0 ||
	    tcs_crypt_stream_new(&h, fuzz_key, fd, &s) < 0)
		goto out;
	while (n >= 4) {
		bool final = p[0] & 1;
		size_t want = (size_t)(p[1] << 8 | p[2]), take = p[3];

		p += 4;
		n -= 4;
		if (alg == TCS_CRYPT_ALG_AES256_CBC_HMAC) {
			want = want > chunk + 16 ? chunk + 16 : want;
			want = want < 16 ? 16 : want - want % 16;
		} else if (want > chunk) {
			want = chunk;
		}
		take = take < n ? take : n;
		take = take < want ? take : want;
		/* the input supplies the record's end: where CBC padding lives */
		memset(rec, 0, want - take);
		memcpy(rec + want - take, p, take);
		p += take;
		n -= take;
		if (tcs_crypt_stream_write_raw(s, rec, want, final) < 0)
			break;
	}
out:
	tcs_crypt_stream_free(s);
	free(head);
	free(rec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t algs[4] = {TCS_CRYPT_ALG_AES256_GCM, TCS_CRYPT_ALG_CHACHA20_POLY1305,
					TCS_CRYPT_ALG_AES256_CBC_HMAC, TCS_CRYPT_ALG_AES256_GCM};
	TcsCryptHeader h = {0};
	TcsCryptStream *s = NULL;
	const char *why = NULL;
	int fd, rc;

	if (size < 1)
		return 0;
	fd = memfd_create("fuzz-tpmencrypt", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (data[0] & 4)
		(void)tcs_crypt_write_full(fd, data + 1, size - 1);
	else
		build(fd, algs[data[0] & 3], data[0] & 8 ? 4112 : 4096, data + 1, size - 1);
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	rc = tcs_crypt_reader_open(fd, fixed_key, NULL, &h, &s, &why);
	if (rc < 0 && !why && rc != -EPROTONOSUPPORT && rc != -ENOMEM)
		abort(); /* every refusal of a file says why */
	while (rc == 0) {
		const uint8_t *chunk;
		size_t len;

		rc = tcs_crypt_stream_read(s, &chunk, &len);
		if (rc == 1) {
			/* a chunk never exceeds the chunk size; touch every byte */
			static volatile uint8_t sink;

			if (len > h.chunk_size)
				abort();
			for (size_t i = 0; i < len; i++)
				sink ^= chunk[i];
			rc = 0;
		} else if (rc == 0) {
			break;
		}
	}
	tcs_crypt_stream_free(s);
	tcs_crypt_header_free(&h);
	close(fd);
	return 0;
}
