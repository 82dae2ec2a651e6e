/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tcs-tpm2-tool: test helper around src/tcs-tpm2-seal.c and one TPM 2.0
 * command the tests need to change the host's state.
 *   seal TCTI PCRS KEYHEX BLOBFILE   seal a 32-byte key given in hex
 *   unseal TCTI BLOBFILE             print the unsealed key in hex (tests only)
 *   extend TCTI PCR                  extend a SHA-256 PCR with a fixed digest
 * Exit status: 0, or 10 + TcsTpm2Status; the error message on stderr.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "tcs-tpm2-seal.h"

static int
fail(TcsTpm2Status st, const TcsTpm2Error *err)
{
	fprintf(stderr, "tcs-tpm2-tool: %s\n", err->message);
	return 10 + (int)st;
}

static int
do_extend(const char *tcti, unsigned pcr)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *e = NULL;
	TPML_DIGEST_VALUES v = {.count = 1};
	TSS2_RC rc;

	v.digests[0].hashAlg = TPM2_ALG_SHA256;
	memset(v.digests[0].digest.sha256, 0x5a, sizeof(v.digests[0].digest.sha256));
	rc = Tss2_TctiLdr_Initialize(tcti, &t);
	if (rc == 0)
		rc = Esys_Initialize(&e, t, NULL);
	if (rc == 0)
		rc = Esys_PCR_Extend(e, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				     ESYS_TR_NONE, &v);
	Esys_Finalize(&e);
	Tss2_TctiLdr_Finalize(&t);
	if (rc != 0) {
		fprintf(stderr, "tcs-tpm2-tool: PCR_Extend failed: 0x%x\n", rc);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	uint8_t key[TCS_TPM2_STATE_KEY_LEN];
	TcsTpm2Error err = {0};
	TcsTpm2Status st;

	if (argc == 6 && strcmp(argv[1], "seal") == 0) {
		uint8_t *blob = NULL;
		size_t len = 0;
		uint32_t mask;
		FILE *f;

		if (!tcs_tpm2_pcr_list_parse(argv[3], &mask) ||
		    strlen(argv[4]) != 2 * TCS_TPM2_STATE_KEY_LEN) {
			fprintf(stderr, "tcs-tpm2-tool: bad PCR list or key\n");
			return 2;
		}
		for (unsigned i = 0; i < TCS_TPM2_STATE_KEY_LEN; i++)
			sscanf(argv[4] + 2 * i, "%2hhx", &key[i]);
		st = tcs_tpm2_seal(argv[2], mask, key, &blob, &len, &err);
		if (st != TCS_TPM2_OK)
			return fail(st, &err);
		f = fopen(argv[5], "wb");
		if (f == NULL || fwrite(blob, 1, len, f) != len || fclose(f) != 0)
			return 1;
		free(blob);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "unseal") == 0) {
		static uint8_t blob[65536];
		FILE *f = fopen(argv[3], "rb");
		size_t len;

		if (f == NULL)
			return 1;
		len = fread(blob, 1, sizeof(blob), f);
		fclose(f);
		st = tcs_tpm2_unseal(argv[2], blob, len, key, &err);
		if (st != TCS_TPM2_OK)
			return fail(st, &err);
		for (unsigned i = 0; i < TCS_TPM2_STATE_KEY_LEN; i++)
			printf("%02x", key[i]);
		printf("\n");
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "extend") == 0)
		return do_extend(argv[2], (unsigned)atoi(argv[3]));
	fprintf(stderr, "usage: tcs-tpm2-tool seal TCTI PCRS KEYHEX FILE | unseal TCTI FILE | "
			"extend TCTI PCR\n");
	return 2;
}
