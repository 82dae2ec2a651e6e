/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tcs-victim - the other client in the handle-isolation tests: loads a bind
 * key (no usage secret) under the SRK (well-known secret), binds a secret to it
 * in software and keeps its context open while the attacker runs.
 *
 * Prints "KEY <tcs handle>" and "BLOB <bound data, hex>", then "READY", and
 * waits for a line on stdin; then UnBinds the blob again and prints
 * "UNBIND ok" (the secret came back) or "UNBIND fail <rc>". Exit 0 when it
 * came back, 1 otherwise.
 *
 * Usage: tcs-victim SECRET   (TSS_TCSD_HOSTNAME/PORT; owned TPM)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcs-client.h"
#include "tcs-common.h"
#include "tcs-key.h"
#include "tcs-types.h"

#define TPM_PT_BIND 0x02u /* TPM_BOUND_DATA payload type */

static const uint8_t srk_secret[TCS_SECRET_SIZE];

static int
unbind_matches(TcsClient *c, uint32_t key, const uint8_t *enc, size_t enc_len, const char *secret)
{
	_cleanup_free_ uint8_t *plain = NULL;
	size_t plain_len = 0;
	int rc = tcs_client_unbind(c, key, NULL, enc, enc_len, &plain, &plain_len);

	if (rc == 0 && (plain_len != strlen(secret) || memcmp(plain, secret, plain_len) != 0))
		rc = -1;
	return rc;
}

int
main(int argc, char **argv)
{
	const char *host = getenv("TSS_TCSD_HOSTNAME"), *port = getenv("TSS_TCSD_PORT");
	_cleanup_free_ uint8_t *info = NULL, *blob = NULL, *pub = NULL, *bound = NULL, *enc = NULL;
	size_t info_len = 0, len = 0, pub_len = 0, enc_len = 0, n;
	TcsKeyTemplate t = {.usage = TPM_KEY_BIND, .auth_data_usage = TPM_AUTH_NEVER};
	TcsClient *c = NULL;
	uint32_t key = 0;
	char line[16];
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SECRET\n", argv[0]);
		return 2;
	}
	n = strlen(argv[1]);
	rc = tcs_client_connect(host ? host : "127.0.0.1", port ? port : "30003", &c);
	if (rc == 0)
		rc = tcs_client_open_context(c);
	if (rc == 0)
		rc = tcs_client_key_template(&t, &info, &info_len);
	if (rc == 0)
		rc = tcs_client_create_wrap_key(c, TPM_KH_SRK, srk_secret, NULL, NULL, info,
						info_len, &blob, &len);
	if (rc == 0)
		rc = tcs_client_load_key_by_blob(c, TPM_KH_SRK, srk_secret, blob, len, &key);
	if (rc == 0)
		rc = tcs_client_get_pub_key(c, key, NULL, &pub, &pub_len);
	/* TPM_BOUND_DATA: version 1.1.0.0, TPM_PT_BIND, the payload */
	bound = malloc(5 + n);
	if (rc == 0 && !bound)
		rc = -1;
	if (rc == 0) {
		memcpy(bound, (const uint8_t[]){1, 1, 0, 0, TPM_PT_BIND}, 5);
		memcpy(bound + 5, argv[1], n);
		rc = tcs_client_encrypt_oaep_tcpa(pub, pub_len, bound, 5 + n, &enc, &enc_len);
	}
	if (rc == 0)
		rc = unbind_matches(c, key, enc, enc_len, argv[1]);
	if (rc != 0) {
		fprintf(stderr, "tcs-victim: setting up failed (key 0x%08x, %zu bytes bound): %d\n",
			key, enc_len, rc);
		tcs_client_free(c);
		return 1;
	}
	printf("KEY %08x\nBLOB ", key);
	for (size_t i = 0; i < enc_len; i++)
		printf("%02x", enc[i]);
	printf("\nREADY\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = 0;
	rc = unbind_matches(c, key, enc, enc_len, argv[1]);
	if (rc == 0)
		printf("UNBIND ok\n");
	else
		printf("UNBIND fail %d\n", rc);
	tcs_client_free(c);
	return rc == 0 ? 0 : 1;
}
