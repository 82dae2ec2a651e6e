/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for key archives (src/tcs-archive.c, tpmadm restore). Byte 0
 * even: the rest is a whole archive opened with the secret "fuzz" (inputs
 * asking for more than the cheapest scrypt cost, N = 2^10, r = p = 1, are
 * skipped: the cost bounds are tested elsewhere and would only slow the
 * fuzzer). Byte 0 odd: the rest is a decrypted payload, which GCM keeps out
 * of reach otherwise; a parsed archive must seal and open again unchanged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcs-archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "fuzz"

static void
check_round_trip(const TcsArchive *a)
{
	TcsArchive b = {0};
	uint8_t *sealed = NULL;
	size_t len = 0;

	if (tcs_archive_seal(a, SECRET, 4, 10, &sealed, &len) != 0)
		return; /* too big for the format: fine */
	if (tcs_archive_open(sealed, len, SECRET, 4, &b) != 0 || b.n_entries != a->n_entries)
		abort();
	for (size_t i = 0; i < a->n_entries; i++) {
		const TcsArchiveEntry *x = &a->entries[i], *y = &b.entries[i];

		if (x->kind != y->kind || x->blob_len != y->blob_len ||
		    memcmp(x->blob, y->blob, x->blob_len) != 0 ||
		    x->private_der_len != y->private_der_len ||
		    (x->private_der_len && memcmp(x->private_der, y->private_der, x->private_der_len)))
			abort();
	}
	tcs_archive_clear(&b);
	free(sealed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TcsArchive a = {0};

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (tcs_archive_parse_payload(data + 1, size - 1, &a) == 0) {
			if (a.n_entries == 0 || a.entries[0].kind != TCS_ARCHIVE_ENTRY_ROOT)
				abort();
			/* sealing costs a scrypt: only for small archives */
			if (a.n_entries <= 4)
				check_round_trip(&a);
		}
	} else {
		/* header: magic 8, version 2, kdf 1, log2 N at 11, r at 12, p at 16 */
		if (size - 1 >= 20 &&
		    (data[1 + 11] > 10 || memcmp(data + 1 + 12, "\0\0\0\1\0\0\0\1", 8) != 0))
			return 0;
		(void)tcs_archive_open(data + 1, size - 1, SECRET, 4, &a);
	}
	tcs_archive_clear(&a);
	return 0;
}
