/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tcs-make-rk: a test helper that creates the roaming key (RK) the way the
 * project defines it, for tests that need one before tpmctl exists in them:
 * a 2048-bit RSA TPM_KEY_STORAGE, authDataUsage TPM_AUTH_NEVER, well-known
 * usage secret, migratable with the well-known migration secret, created
 * under the SRK (well-known SRK secret) and registered in system persistent
 * storage as 00000000-0000-0000-0000-000000000003 under the SRK.
 *
 * Usage: tcs-make-rk [--replace | --remove]
 *   --replace  unregister an existing RK first (its descendants stay
 *              registered but can no longer be loaded)
 *   --remove   only unregister the RK (for "no RK" tests)
 * Talks to $TSS_TCSD_HOSTNAME:$TSS_TCSD_PORT. The TPM must be owned.
 * Exit: 0 created, 1 failure, 2 usage, 3 an RK exists (without --replace).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcs-auth.h"
#include "tcs-client.h"
#include "tcs-key.h"
#include "tcs-keyblob.h"
#include "tcs-rc.h"
#include "tcs-types.h"

static int
fail(const char *what, int rc)
{
	char buf[160];

	if (rc < 0)
		fprintf(stderr, "tcs-make-rk: %s: %s\n", what, strerror(-rc));
	else
		fprintf(stderr, "tcs-make-rk: %s: %s\n", what,
			tcs_rc_describe((uint32_t)rc, buf, sizeof(buf)));
	return 1;
}

int
main(int argc, char **argv)
{
	const TcsKeyTemplate rk = {
		.usage = TPM_KEY_STORAGE,
		.flags = TPM_KEY_FLAG_MIGRATABLE,
		.auth_data_usage = TPM_AUTH_NEVER,
		.bits = 2048,
	};
	_cleanup_client_ TcsClient *c = NULL;
	_cleanup_free_ uint8_t *info = NULL;
	_cleanup_free_ uint8_t *blob = NULL;
	_cleanup_free_ uint8_t *old = NULL;
	size_t info_len, len, old_len;
	uint32_t srk = 0;
	bool replace = argc == 2 && !strcmp(argv[1], "--replace");
	bool remove_only = argc == 2 && !strcmp(argv[1], "--remove");
	int rc;

	if (argc > 2 || (argc == 2 && !replace && !remove_only)) {
		fprintf(stderr, "usage: tcs-make-rk [--replace | --remove]\n");
		return 2;
	}
	rc = tcs_client_connect(NULL, NULL, &c);
	if (rc == 0)
		rc = tcs_client_open_context(c);
	if (rc != 0)
		return fail("connecting to tcsd", rc);

	rc = tcs_client_get_registered_key_blob(c, &TCS_UUID_RK, &old, &old_len);
	/* one tcsd refuses to hand out (not the RK it recorded) is there all the same */
	if (TCS_RC_IS_RK_MISMATCH(rc))
		rc = 0;
	if (remove_only) {
		rc = rc ? rc : tcs_client_unregister_key(c, &TCS_UUID_RK);
		return rc ? fail("unregistering the RK", rc) : 0;
	}
	if (rc == 0 && !replace) {
		fprintf(stderr, "tcs-make-rk: an RK is registered already (use --replace)\n");
		return 3;
	}
	if (rc == 0 && (rc = tcs_client_unregister_key(c, &TCS_UUID_RK)) != 0)
		return fail("unregistering the old RK", rc);

	/* TrouSerS' tcsd wants the SRK loaded in the context before it is used as a parent */
	rc = tcs_client_load_key_by_uuid(c, &TCS_UUID_SRK, NULL, NULL, &srk);
	if (rc != 0)
		return fail("loading the SRK", rc);
	rc = tcs_client_key_template(&rk, &info, &info_len);
	if (rc == 0)
		rc = tcs_client_create_wrap_key(c, srk, tcs_auth_well_known,
						tcs_auth_well_known, tcs_auth_well_known, info,
						info_len, &blob, &len);
	if (rc != 0)
		return fail("CreateWrapKey under the SRK", rc);
	rc = tcs_client_register_key(c, &TCS_UUID_SRK, &TCS_UUID_RK, blob, len);
	if (rc != 0)
		return fail("RegisterKey 00000000-0000-0000-0000-000000000003", rc);
	printf("RK 00000000-0000-0000-0000-000000000003 created and registered under the SRK\n");
	return 0;
}
