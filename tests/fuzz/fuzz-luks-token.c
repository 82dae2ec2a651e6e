/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the "tcs" LUKS2 token parser (cli/tcs-luks-token.c): the
 * JSON comes from a LUKS2 header, which any user can craft into an image
 * root opens. Whatever parses must format and parse again to the same
 * token; the PCR-list parser gets the same bytes as a string.
 */
#include <stdlib.h>
#include <string.h>

#include "tcs-luks-token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same_or_abort(const TcsLuksToken *a, const TcsLuksToken *b)
{
	if (a->keyslot != b->keyslot || a->parent != b->parent || a->pin != b->pin ||
	    a->pcr_mask != b->pcr_mask || a->key_blob_len != b->key_blob_len ||
	    a->bound_len != b->bound_len ||
	    memcmp(a->parent_fingerprint, b->parent_fingerprint, sizeof(a->parent_fingerprint)) ||
	    memcmp(a->key_blob, b->key_blob, a->key_blob_len) ||
	    memcmp(a->bound, b->bound, a->bound_len))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TcsLuksToken t = {0}, again = {0};
	char err[256], pcrs[80], *s, *json;
	uint32_t mask;

	if (tcs_luks_token_parse((const char *)data, size, &t, err, sizeof(err)) == 0) {
		json = tcs_luks_token_format(&t);
		if (!json || tcs_luks_token_parse(json, strlen(json), &again, err, sizeof(err)) < 0)
			abort();
		same_or_abort(&t, &again);
		free(json);
		tcs_luks_token_clear(&again);
		tcs_luks_token_clear(&t);
	}
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (tcs_luks_parse_pcr_list(s, &mask) == 0) {
		uint32_t back = 0;

		tcs_luks_format_pcr_list(mask, pcrs, sizeof(pcrs));
		if (tcs_luks_parse_pcr_list(pcrs, &back) < 0 || back != mask)
			abort();
	}
	free(s);
	return 0;
}
