/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for system.data (src/tcs-ps.c): tcsd reads it at start-up and
 * it may come from TrouSerS or a restored backup. What parses must
 * serialise, and the serialisation must parse to the same store and
 * serialise to the same bytes; lookups over the parsed store must not fault.
 */
#include <stdlib.h>
#include <string.h>

#include "tcs-ps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TcsPs ps = {0}, again = {0};
	uint8_t *out = NULL, *out2 = NULL;
	size_t len = 0, len2 = 0;

	if (tcs_ps_parse(data, size, &ps) != 0)
		return 0;
	for (size_t i = 0; i < ps.n_keys; i++) {
		const TcsPsKey *k = &ps.keys[i];

		if (tcs_ps_find(&ps, &k->uuid) != k)
			abort(); /* repeated UUIDs were dropped: the first is the one */
		(void)tcs_ps_find_by_pubkey(&ps, k->pub, k->pub_len);
	}
	if (tcs_ps_serialize(&ps, &out, &len) == 0) {
		if (tcs_ps_parse(out, len, &again) != 0 || again.n_keys != ps.n_keys ||
		    tcs_ps_serialize(&again, &out2, &len2) != 0 || len2 != len ||
		    memcmp(out, out2, len) != 0)
			abort();
	}
	free(out);
	free(out2);
	tcs_ps_clear(&again);
	tcs_ps_clear(&ps);
	return 0;
}
