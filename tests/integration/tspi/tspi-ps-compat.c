/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-ps-compat.c - helper of tests/integration/test-ps-compat.sh: registers
 * a key hierarchy in the system PS through one tcsd and uses it through
 * another, to prove that system.data written by TrouSerS' tcsd works in ours
 * and the other way round.
 *
 * Usage: tspi-ps-compat create SET   register and use set SET (1..9):
 *            U(SET,1) storage key, usage auth, parent SRK
 *            U(SET,2) signing key, usage auth, parent U(SET,1)  (the SRK's grandchild)
 *            U(SET,3) signing key, no auth, parent SRK
 *          and write the public keys (moduli) to compat-SET-N.mod in the
 *          current directory
 *        tspi-ps-compat use SET      in a fresh context: enumerate, load every
 *          key of the set by UUID, sign, verify with OpenSSL against the saved
 *          public key; the grandchild also through GetKeyByUUID +
 *          Tspi_Key_LoadKey (LoadKeyByUUID of a grandchild fails on TrouSerS
 *          0.3.15 with 0x20ca: a known TrouSerS failure, see tspi-ps.c)
 * Environment: TSS_TCSD_HOSTNAME/PORT, TSPI_TEST_DAEMON (ours|trousers).
 */
#include <stdlib.h>
#include <string.h>

#include "tspi-common.h"

#define KEY_FLAGS(type, auth) ((type) | TSS_KEY_SIZE_2048 | TSS_KEY_NOT_MIGRATABLE | \
			       ((auth) ? TSS_KEY_AUTHORIZATION : TSS_KEY_NO_AUTHORIZATION))
#define STORAGE_SECRET "compat-storage"
#define SIGN_SECRET "compat-sign"

static int set;

static TSS_UUID
U(int n)
{
	return tt_uuid(0x60 + set, n);
}

static int
save_mod(int n, TSS_HKEY key)
{
	BYTE *mod = NULL;
	UINT32 len = 0;
	char path[64];
	FILE *f;
	int ok;

	if (tt_attrib_modulus(key, &mod, &len))
		return 0;
	snprintf(path, sizeof(path), "compat-%d-%d.mod", set, n);
	f = fopen(path, "wb");
	if (!f)
		return 0;
	ok = fwrite(mod, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

static BYTE *
load_mod(int n, UINT32 *len)
{
	static BYTE buf[1024];
	char path[64];
	FILE *f;
	size_t got;

	snprintf(path, sizeof(path), "compat-%d-%d.mod", set, n);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	got = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	*len = got;
	return got ? buf : NULL;
}

/* sign with key, verify with OpenSSL against the public key saved by 'create' */
static int
sign_verify(TSS_HCONTEXT ctx, TSS_HKEY key, int n, const char *what)
{
	BYTE digest[20], *sig = NULL, *mod, *tpm_mod = NULL;
	UINT32 sig_len = 0, mod_len = 0, tpm_mod_len = 0;
	uint32_t exponent = 65537;
	char msg[64];
	TSS_RESULT rc;
	int ok;

	snprintf(msg, sizeof(msg), "ps-compat set %d key %d", set, n);
	tt_sha1(msg, strlen(msg), digest);
	rc = tt_sign(ctx, key, digest, &sig, &sig_len);
	if (!tt_rc(rc, 0, "%s: sign", what))
		return 0;
	mod = load_mod(n, &mod_len);
	rc = tt_pubkey_modulus(ctx, key, &tpm_mod, &tpm_mod_len, &exponent);
	ok = tt_ok(mod && rc == 0 && tpm_mod_len == mod_len && memcmp(mod, tpm_mod, mod_len) == 0,
		   "%s: the TPM's public key (GetPubKey) is the one registered (0x%x)", what, rc);
	ok &= tt_ok(mod && tt_openssl_verify(mod, mod_len, exponent, digest, sig, sig_len),
		    "%s: OpenSSL verifies the signature with the registered public key", what);
	free(tpm_mod);
	Tspi_Context_FreeMemory(ctx, sig);
	return ok;
}

static int
cmd_create(void)
{
	TSS_HCONTEXT ctx;
	TSS_HTPM tpm;
	TSS_HKEY srk, storage, sign, plain;
	TSS_UUID srk_uuid = tt_srk_uuid;
	TSS_RESULT rc;

	rc = tt_connect(&ctx, &tpm, &srk);
	if (!tt_rc(rc, 0, "connect, LoadKeyByUUID(SRK)"))
		return tt_done();
	rc = tt_create_key(ctx, srk, KEY_FLAGS(TSS_KEY_TYPE_STORAGE, 1), STORAGE_SECRET, 1,
			   &storage);
	if (tt_rc(rc, 0, "set %d: create storage key (usage auth)", set)) {
		rc = Tspi_Context_RegisterKey(ctx, storage, TSS_PS_TYPE_SYSTEM, U(1),
					      TSS_PS_TYPE_SYSTEM, srk_uuid);
		tt_rc(rc, 0, "set %d: RegisterKey storage key, parent SRK", set);
		rc = tt_create_key(ctx, storage, KEY_FLAGS(TSS_KEY_TYPE_SIGNING, 1), SIGN_SECRET, 1,
				   &sign);
		if (tt_rc(rc, 0, "set %d: create signing key (usage auth) under it", set)) {
			rc = Tspi_Context_RegisterKey(ctx, sign, TSS_PS_TYPE_SYSTEM, U(2),
						      TSS_PS_TYPE_SYSTEM, U(1));
			tt_rc(rc, 0, "set %d: RegisterKey signing key, parent storage key", set);
			tt_ok(save_mod(2, sign), "set %d: save its public key", set);
			sign_verify(ctx, sign, 2, "grandchild (just created)");
		}
	}
	rc = tt_create_key(ctx, srk, KEY_FLAGS(TSS_KEY_TYPE_SIGNING, 0), NULL, 1, &plain);
	if (tt_rc(rc, 0, "set %d: create signing key (no auth) under the SRK", set)) {
		rc = Tspi_Context_RegisterKey(ctx, plain, TSS_PS_TYPE_SYSTEM, U(3),
					      TSS_PS_TYPE_SYSTEM, srk_uuid);
		tt_rc(rc, 0, "set %d: RegisterKey signing key, parent SRK", set);
		tt_ok(save_mod(3, plain), "set %d: save its public key", set);
		sign_verify(ctx, plain, 3, "child of the SRK (just created)");
	}
	tt_rc(Tspi_Context_Close(ctx), 0, "close");
	return tt_done();
}

static int
cmd_use(void)
{
	TSS_HCONTEXT ctx;
	TSS_HTPM tpm;
	TSS_HKEY srk, k1, k2, k3, k2b;
	TSS_KM_KEYINFO2 *info = NULL;
	UINT32 n = 0, found = 0;
	TSS_UUID srk_uuid = tt_srk_uuid;
	TSS_RESULT rc;

	rc = tt_connect(&ctx, &tpm, &srk);
	if (!tt_rc(rc, 0, "connect, LoadKeyByUUID(SRK)"))
		return tt_done();
	rc = Tspi_Context_GetRegisteredKeysByUUID2(ctx, TSS_PS_TYPE_SYSTEM, NULL, &n, &info);
	if (tt_rc(rc, 0, "GetRegisteredKeysByUUID2 (all)")) {
		TSS_UUID u1 = U(1), u2 = U(2), u3 = U(3);

		for (UINT32 i = 0; i < n; i++) {
			const TSS_UUID *k = &info[i].keyUUID, *p = &info[i].parentKeyUUID;

			found += (!memcmp(k, &u1, 16) && !memcmp(p, &srk_uuid, 16)) ||
				 (!memcmp(k, &u2, 16) && !memcmp(p, &u1, 16)) ||
				 (!memcmp(k, &u3, 16) && !memcmp(p, &srk_uuid, 16));
		}
		tt_ok(found == 3, "set %d: the 3 keys are registered with their parents (%u keys in "
		      "all)", set, n);
	}

	rc = Tspi_Context_LoadKeyByUUID(ctx, TSS_PS_TYPE_SYSTEM, U(3), &k3);
	if (tt_rc(rc, 0, "set %d: LoadKeyByUUID child of the SRK (no auth)", set))
		sign_verify(ctx, k3, 3, "child of the SRK");

	rc = Tspi_Context_LoadKeyByUUID(ctx, TSS_PS_TYPE_SYSTEM, U(1), &k1);
	if (!tt_rc(rc, 0, "set %d: LoadKeyByUUID storage key (SRK auth via LOADKEY_INFO)", set))
		goto out;
	tt_rc(tt_set_usage_secret(ctx, k1, STORAGE_SECRET, NULL), 0, "storage key secret");
	rc = Tspi_Context_LoadKeyByUUID(ctx, TSS_PS_TYPE_SYSTEM, U(2), &k2);
	if (tt_rc_xfail_trousers(rc, 0, TT_TCS_E_KM_LOADFAILED,
				 "LOADKEY_INFO retry for a non-SRK parent fails in 0.3.15",
				 "set %d: LoadKeyByUUID grandchild (storage key auth via LOADKEY_INFO)",
				 set)) {
		tt_rc(tt_set_usage_secret(ctx, k2, SIGN_SECRET, NULL), 0, "grandchild secret");
		sign_verify(ctx, k2, 2, "grandchild loaded by UUID");
	}
	/* the registered blob works with any daemon: fetch it and load it under k1 */
	rc = Tspi_Context_GetKeyByUUID(ctx, TSS_PS_TYPE_SYSTEM, U(2), &k2b);
	if (tt_rc(rc, 0, "set %d: GetKeyByUUID grandchild (registered blob)", set)) {
		tt_rc(tt_set_usage_secret(ctx, k2b, SIGN_SECRET, NULL), 0, "grandchild secret");
		rc = Tspi_Key_LoadKey(k2b, k1);
		if (tt_rc(rc, 0, "set %d: Tspi_Key_LoadKey of the registered grandchild blob", set))
			sign_verify(ctx, k2b, 2, "grandchild loaded from its registered blob");
	}
out:
	tt_rc(Tspi_Context_Close(ctx), 0, "close");
	return tt_done();
}

int
main(int argc, char **argv)
{
	if (argc != 3 || (set = atoi(argv[2])) < 1 || set > 9) {
		fprintf(stderr, "usage: tspi-ps-compat create|use SET(1..9)\n");
		return 2;
	}
	if (strcmp(argv[1], "create") == 0) {
		tt_plan_name("tspi-ps-compat create");
		return cmd_create();
	}
	if (strcmp(argv[1], "use") == 0) {
		tt_plan_name("tspi-ps-compat use");
		return cmd_use();
	}
	fprintf(stderr, "usage: tspi-ps-compat create|use SET(1..9)\n");
	return 2;
}
