/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tcs-pcr-extend: a test helper that extends one PCR (TPM_Extend through
 * $TSS_TCSD_HOSTNAME:$TSS_TCSD_PORT) with SHA-1 of a word, to change the
 * platform state a PCR-bound key depends on. Prints the new value in hex.
 * Usage: tcs-pcr-extend INDEX [WORD]. Exit 0, 1 failure, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcs-auth.h"
#include "tcs-client-pcr.h"

int
main(int argc, char **argv)
{
	_cleanup_client_ TcsClient *c = NULL;
	uint8_t digest[TCS_DIGEST_SIZE], out[TCS_DIGEST_SIZE];
	const char *word = argc > 2 ? argv[2] : "tcs-test";
	char *end;
	long idx;
	int rc;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: tcs-pcr-extend INDEX [WORD]\n");
		return 2;
	}
	idx = strtol(argv[1], &end, 10);
	if (*end || idx < 0 || idx >= (long)TCS_PCR_COUNT) {
		fprintf(stderr, "tcs-pcr-extend: bad PCR index\n");
		return 2;
	}
	rc = tcs_sha1(word, strlen(word), digest);
	if (rc == 0)
		rc = tcs_client_connect(NULL, NULL, &c);
	if (rc == 0)
		rc = tcs_client_open_context(c);
	if (rc == 0)
		rc = tcs_client_pcr_extend(c, (uint32_t)idx, digest, out);
	if (rc != 0) {
		fprintf(stderr, "tcs-pcr-extend: failed: %d\n", rc);
		return 1;
	}
	for (size_t i = 0; i < sizeof(out); i++)
		printf("%02x", out[i]);
	putchar('\n');
	return 0;
}
