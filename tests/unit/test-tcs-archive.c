/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Key archives: round trip, and every kind of damage gives its own error, never data. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcs-archive.h"
#include "tcs-tap.h"

static const uint8_t blob_rk[] = {1, 1, 0, 0, 0, 0x11, 0xaa, 0xbb};
static const uint8_t blob_k[] = {1, 1, 0, 0, 0, 0x10, 0xcc};
static const uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x05};

static void
build(TcsArchive *a)
{
	TcsArchiveEntry rk = {
		.kind = TCS_ARCHIVE_ENTRY_ROOT,
		.uuid = {.node = {0, 0, 0, 0, 0, 3}},
		.parent = {.node = {0, 0, 0, 0, 0, 1}},
		.blob = (uint8_t *)blob_rk,
		.blob_len = sizeof(blob_rk),
		.private_der = (uint8_t *)der,
		.private_der_len = sizeof(der),
	};
	TcsArchiveEntry k = {
		.kind = TCS_ARCHIVE_ENTRY_KEY,
		.uuid = {.time_low = 0x12345678},
		.parent = rk.uuid,
		.blob = (uint8_t *)blob_k,
		.blob_len = sizeof(blob_k),
	};

	memset(rk.usage_secret, 0x11, 20);
	memset(rk.migration_secret, 0x22, 20);
	tcs_archive_add(a, &rk);
	tcs_archive_add(a, &k);
}

int
main(void)
{
	TcsArchive a = {0}, b = {0};
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	build(&a);
	rc = tcs_archive_seal(&a, "secret", 6, 10, &data, &len);
	CHECK(rc == 0, "seal (rc %d, %zu bytes)", rc, len);
	rc = tcs_archive_open(data, len, "secret", 6, &b);
	CHECK(rc == 0 && b.n_entries == 2, "open with the right secret (rc %d)", rc);
	CHECK(b.n_entries == 2 && b.entries[0].kind == TCS_ARCHIVE_ENTRY_ROOT &&
		      b.entries[0].private_der_len == sizeof(der) &&
		      memcmp(b.entries[0].private_der, der, sizeof(der)) == 0 &&
		      b.entries[0].migration_secret[19] == 0x22 &&
		      b.entries[1].blob_len == sizeof(blob_k) &&
		      memcmp(b.entries[1].blob, blob_k, sizeof(blob_k)) == 0 &&
		      b.entries[1].uuid.time_low == 0x12345678,
	      "entries come back as written");
	tcs_archive_clear(&b);
	CHECK(tcs_archive_open(data, len, "Secret", 6, &b) == -EKEYREJECTED,
	      "a wrong secret is told apart");
	CHECK(tcs_archive_open(data, len, "", 0, &b) == -EINVAL, "an empty secret is refused");
	for (size_t off = 0; off < len; off += len / 13 + 1) {
		data[off] ^= 0x40;
		rc = tcs_archive_open(data, len, "secret", 6, &b);
		data[off] ^= 0x40;
		CHECK(rc == -EBADMSG || rc == -EKEYREJECTED, "byte %zu flipped: rc %d", off, rc);
	}
	data[len - 1] ^= 1;
	CHECK(tcs_archive_open(data, len, "secret", 6, &b) == -EBADMSG, "a flipped tag: damaged");
	data[len - 1] ^= 1;
	for (size_t cut = 0; cut < len; cut += len / 7 + 1)
		CHECK(tcs_archive_open(data, cut, "secret", 6, &b) == -EBADMSG, "truncated to %zu",
		      cut);
	CHECK(tcs_archive_open(data, len, "secret", 6, &b) == 0, "still opens after all that");
	tcs_archive_clear(&b);
	data[11] = 40; /* log2(N): an archive must not make us allocate terabytes */
	CHECK(tcs_archive_open(data, len, "secret", 6, &b) == -EBADMSG, "absurd scrypt cost");
	free(data);
	tcs_archive_clear(&a);
	return tap_done();
}
