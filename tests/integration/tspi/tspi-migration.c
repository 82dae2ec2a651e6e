/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tspi-migration.c - a key moves between TWO TPMs: AUTHORIZEMIGRATIONKEY,
 * CREATEMIGRATIONBLOB, CONVERTMIGRATIONBLOB (run with test-tspi.sh --peer:
 * a second swtpm + tcsd on TCS_PEER_TCSD_PORT).
 *
 *   destination (peer): a storage key under its SRK; its public key leaves
 *   source: a migratable signing key (usage + migration secrets) signs a digest
 *   source: Tspi_TPM_AuthorizeMigrationTicket(destination public key, MIGRATE)
 *   source: Tspi_Key_CreateMigrationBlob -> blob + random (OAEP, XOR)
 *   destination: Tspi_Key_ConvertMigrationBlob under the storage key, load,
 *     sign the same digest: same modulus, OpenSSL verifies both signatures
 *     with the source's public key
 *   the blob does not convert under a storage key it was not made for
 *   a wrong migration secret -> TPM_E_AUTH2FAIL (the second session)
 *   REWRAP: the blob from a REWRAP ticket loads directly on the destination
 *
 * Usage: tspi-migration   (TSS_TCSD_HOSTNAME/PORT, TCS_PEER_TCSD_PORT)
 */
#include <stdlib.h>
#include <string.h>

#include "tspi-common.h"

#define TPM_E_AUTH2FAIL_RC 0x1du

/* connect a context to the peer stack (libtspi reads TSS_TCSD_PORT when it connects) */
static TSS_RESULT
connect_peer(TSS_HCONTEXT *ctx, TSS_HKEY *srk)
{
	const char *peer = getenv("TCS_PEER_TCSD_PORT");
	char *mine = strdup(getenv("TSS_TCSD_PORT") ?: "30003");
	TSS_RESULT rc;

	setenv("TSS_TCSD_PORT", peer, 1);
	rc = tt_connect(ctx, NULL, srk);
	setenv("TSS_TCSD_PORT", mine, 1);
	free(mine);
	return rc;
}

static TSS_RESULT
set_secret(TSS_HCONTEXT ctx, TSS_HOBJECT obj, TSS_FLAG type, const char *secret)
{
	TSS_HPOLICY pol;
	TSS_RESULT rc = Tspi_Context_CreateObject(ctx, TSS_OBJECT_TYPE_POLICY, type, &pol);

	if (rc == 0)
		rc = Tspi_Policy_SetSecret(pol, TSS_SECRET_MODE_PLAIN, (UINT32)strlen(secret),
					   (BYTE *)secret);
	if (rc == 0)
		rc = Tspi_Policy_AssignToObject(pol, obj);
	return rc;
}

/* a migratable 2048-bit signing key under parent, loaded */
static TSS_RESULT
create_migratable(TSS_HCONTEXT ctx, TSS_HKEY parent, const char *mig_secret, TSS_HKEY *key)
{
	TSS_RESULT rc = Tspi_Context_CreateObject(
		ctx, TSS_OBJECT_TYPE_RSAKEY,
		TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 | TSS_KEY_MIGRATABLE | TSS_KEY_AUTHORIZATION,
		key);

	if (rc == 0)
		rc = Tspi_SetAttribUint32(*key, TSS_TSPATTRIB_KEY_INFO,
					  TSS_TSPATTRIB_KEYINFO_SIGSCHEME,
					  TSS_SS_RSASSAPKCS1V15_SHA1);
	if (rc == 0)
		rc = set_secret(ctx, *key, TSS_POLICY_USAGE, "usage secret");
	if (rc == 0)
		rc = set_secret(ctx, *key, TSS_POLICY_MIGRATION, mig_secret);
	if (rc == 0)
		rc = Tspi_Key_CreateKey(*key, parent, 0);
	if (rc == 0)
		rc = Tspi_Key_LoadKey(*key, parent);
	return rc;
}

/* a key object on ctx carrying only pub (a TCPA_PUBKEY-style blob) */
static TSS_RESULT
pub_object(TSS_HCONTEXT ctx, BYTE *pub, UINT32 len, TSS_HKEY *key)
{
	TSS_RESULT rc = Tspi_Context_CreateObject(
		ctx, TSS_OBJECT_TYPE_RSAKEY, TSS_KEY_TYPE_STORAGE | TSS_KEY_SIZE_2048, key);

	if (rc == 0)
		rc = Tspi_SetAttribData(*key, TSS_TSPATTRIB_KEY_BLOB,
					TSS_TSPATTRIB_KEYBLOB_PUBLIC_KEY, len, pub);
	return rc;
}

static int
verify_with(const BYTE *mod, UINT32 mod_len, const BYTE digest[20], BYTE *sig, UINT32 sig_len)
{
	return tt_openssl_verify(mod, mod_len, 65537, digest, sig, sig_len);
}

int
main(void)
{
	TSS_HCONTEXT src, dst;
	TSS_HTPM tpm;
	TSS_HKEY srk, dsrk, dparent, other, key, migkey, moved, rewrapped;
	BYTE digest[20], *pub = NULL, *ticket = NULL, *rnd = NULL, *blob = NULL, *sig = NULL;
	BYTE *sig2 = NULL, *mod = NULL, *mod2 = NULL;
	UINT32 pub_len, ticket_len, rnd_len, blob_len, sig_len, sig2_len, mod_len = 0, mod2_len = 0;
	uint32_t exponent = 0;
	TSS_RESULT rc;

	tt_plan_name("tspi-migration");
	if (!getenv("TCS_PEER_TCSD_PORT")) {
		tt_skip("no second stack", "run through test-tspi.sh --peer");
		return 77;
	}
	if (!tt_rc(tt_connect(&src, &tpm, &srk), 0, "connect to the source stack") ||
	    !tt_rc(connect_peer(&dst, &dsrk), 0, "connect to the destination stack"))
		return tt_done();
	tt_sha1("migrated", 8, digest);

	/* destination: the new parent, and one more that must not work */
	rc = tt_create_key(dst, dsrk, TSS_KEY_TYPE_STORAGE | TSS_KEY_SIZE_2048 |
			   TSS_KEY_NOT_MIGRATABLE | TSS_KEY_NO_AUTHORIZATION, NULL, 1, &dparent);
	if (rc == 0)
		rc = tt_create_key(dst, dsrk, TSS_KEY_TYPE_STORAGE | TSS_KEY_SIZE_2048 |
				   TSS_KEY_NOT_MIGRATABLE | TSS_KEY_NO_AUTHORIZATION, NULL, 1,
				   &other);
	if (rc == 0)
		rc = Tspi_GetAttribData(dparent, TSS_TSPATTRIB_KEY_BLOB,
					TSS_TSPATTRIB_KEYBLOB_PUBLIC_KEY, &pub_len, &pub);
	if (!tt_rc(rc, 0, "destination: storage keys under its SRK, public key exported"))
		return tt_done();

	/* source: the key to move */
	rc = create_migratable(src, srk, "migration secret", &key);
	if (!tt_rc(rc, 0, "source: migratable signing key with usage + migration secrets"))
		return tt_done();
	rc = tt_sign(src, key, digest, &sig, &sig_len);
	tt_rc(rc, 0, "source: the key signs");
	rc = tt_pubkey_modulus(src, key, &mod, &mod_len, &exponent);
	tt_rc(rc, 0, "source: its public key");

	rc = pub_object(src, pub, pub_len, &migkey);
	if (rc == 0)
		rc = Tspi_TPM_AuthorizeMigrationTicket(tpm, migkey, TSS_MS_MIGRATE, &ticket_len,
						       &ticket);
	if (!tt_rc(rc, 0, "source: Tspi_TPM_AuthorizeMigrationTicket (MIGRATE, destination key)"))
		return tt_done();
	rc = Tspi_Key_CreateMigrationBlob(key, srk, ticket_len, ticket, &rnd_len, &rnd, &blob_len,
					  &blob);
	if (!tt_rc(rc, 0, "source: Tspi_Key_CreateMigrationBlob (%u-byte blob, %u-byte random)",
		   blob_len, rnd_len))
		return tt_done();
	tt_ok(rnd_len > 0, "MIGRATE: the blob comes with a random");

	/* destination: convert, load, use */
	rc = Tspi_Context_CreateObject(dst, TSS_OBJECT_TYPE_RSAKEY,
				       TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
					       TSS_KEY_MIGRATABLE | TSS_KEY_AUTHORIZATION,
				       &moved);
	if (rc == 0)
		rc = Tspi_Key_ConvertMigrationBlob(moved, other, rnd_len, rnd, blob_len, blob);
	tt_ok(rc != 0, "destination: the blob does not convert under another storage key (0x%x)",
	      rc);
	Tspi_Context_CloseObject(dst, moved);
	rc = Tspi_Context_CreateObject(dst, TSS_OBJECT_TYPE_RSAKEY,
				       TSS_KEY_TYPE_SIGNING | TSS_KEY_SIZE_2048 |
					       TSS_KEY_MIGRATABLE | TSS_KEY_AUTHORIZATION,
				       &moved);
	if (rc == 0)
		rc = Tspi_Key_ConvertMigrationBlob(moved, dparent, rnd_len, rnd, blob_len, blob);
	if (!tt_rc(rc, 0, "destination: Tspi_Key_ConvertMigrationBlob"))
		return tt_done();
	rc = set_secret(dst, moved, TSS_POLICY_USAGE, "usage secret");
	if (rc == 0)
		rc = Tspi_Key_LoadKey(moved, dparent);
	tt_rc(rc, 0, "destination: the migrated key loads under the new parent");
	rc = tt_sign(dst, moved, digest, &sig2, &sig2_len);
	tt_rc(rc, 0, "destination: the migrated key signs");
	rc = tt_pubkey_modulus(dst, moved, &mod2, &mod2_len, &exponent);
	tt_ok(rc == 0 && mod && mod2_len == mod_len && memcmp(mod, mod2, mod_len) == 0,
	      "destination TPM reports the same public key");
	tt_ok(mod && sig && verify_with(mod, mod_len, digest, sig, sig_len),
	      "OpenSSL verifies the source's signature");
	tt_ok(mod && sig2 && verify_with(mod, mod_len, digest, sig2, sig2_len),
	      "OpenSSL verifies the destination's signature with the source's public key");
	digest[0] ^= 1;
	tt_ok(mod && sig2 && !verify_with(mod, mod_len, digest, sig2, sig2_len),
	      "and rejects it for another digest");

	/* a wrong migration secret */
	{
		TSS_HKEY bad;
		BYTE *r2 = NULL, *b2 = NULL;
		UINT32 r2_len, b2_len;

		rc = create_migratable(src, srk, "migration secret", &bad);
		if (rc == 0)
			rc = set_secret(src, bad, TSS_POLICY_MIGRATION, "wrong");
		if (rc == 0)
			rc = Tspi_Key_CreateMigrationBlob(bad, srk, ticket_len, ticket, &r2_len,
							  &r2, &b2_len, &b2);
		tt_rc(rc, TPM_E_AUTH2FAIL_RC,
		      "CreateMigrationBlob with a wrong migration secret -> TPM_E_AUTH2FAIL");
	}

	/* REWRAP: no random, the blob is a key for the destination as it is */
	Tspi_Context_FreeMemory(src, ticket);
	rc = Tspi_TPM_AuthorizeMigrationTicket(tpm, migkey, TSS_MS_REWRAP, &ticket_len, &ticket);
	tt_rc(rc, 0, "source: Tspi_TPM_AuthorizeMigrationTicket (REWRAP)");
	if (rc == 0)
		rc = Tspi_Key_CreateMigrationBlob(key, srk, ticket_len, ticket, &rnd_len, &rnd,
						  &blob_len, &blob);
	tt_ok(rc == 0 && rnd_len == 0, "REWRAP: Tspi_Key_CreateMigrationBlob, no random (0x%x)",
	      rc);
	if (rc == 0) {
		rc = Tspi_Context_LoadKeyByBlob(dst, dparent, blob_len, blob, &rewrapped);
		if (rc == 0)
			rc = set_secret(dst, rewrapped, TSS_POLICY_USAGE, "usage secret");
		tt_rc(rc, 0, "REWRAP: the blob loads on the destination");
		Tspi_Context_FreeMemory(dst, sig2);
		sig2 = NULL;
		digest[0] ^= 1;
		if (rc == 0)
			rc = tt_sign(dst, rewrapped, digest, &sig2, &sig2_len);
		tt_ok(rc == 0 && mod && verify_with(mod, mod_len, digest, sig2, sig2_len),
		      "REWRAP: the rewrapped key signs for the source's public key");
	}
	free(mod);
	free(mod2);
	Tspi_Context_Close(src);
	Tspi_Context_Close(dst);
	return tt_done();
}
